"""TokenRequests: signed locally, exchanged by the client at Ably for a token.

Wire form (spec TE1-TE6, docs "Token request spec"): ``keyName``, ``ttl`` (integer
**milliseconds**), ``capability`` (JSON text), ``clientId``, ``timestamp`` (integer
milliseconds since 1970), ``nonce`` (at least 16 characters) and ``mac``: the standard
base64 of HMAC-SHA256, under the key secret, of the UTF-8 text::

    keyName\\nttl\\ncapability\\nclientId\\ntimestamp\\nnonce\\n

where an omitted ttl, capability or client id is the empty string. ``to_dict()``
carries only these seven keys and omits unset ones: ably-js accepts that, and
ably-python refuses any other key.
"""

from __future__ import annotations

import hmac
import os
from datetime import timedelta

from ._base64 import b64_encode
from ._checks import check_client_id, check_grantable
from ._frozen import Frozen
from ._json import is_text
from ._time import (
    EPOCH,
    ONE_MS,
    ZERO,
    check_datetime,
    check_now,
    check_ttl,
    describe,
    from_ms,
    now_ms,
    to_ms,
)
from .capability import Capability
from .errors import (
    AuthKitError,
    InvalidCapabilityError,
    InvalidClientIdError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTokenFieldError,
    InvalidTTLError,
    MalformedTokenError,
    ParameterTypeError,
    TimestampNotCurrentError,
)
from .keys import as_keys, key_named, signing_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from .capability import CapabilityLike
    from .keys import ApiKey, KeyRing

__all__ = [
    "MIN_NONCE_LENGTH",
    "TIMESTAMP_WINDOW",
    "WIRE_KEYS",
    "TokenRequest",
    "create_token_request",
    "verify_token_request",
]

#: Ably refuses a TokenRequest whose timestamp is further than this from its clock (40104).
TIMESTAMP_WINDOW = timedelta(minutes=2)
#: Spec RSA9c: a nonce of at least 16 characters.
MIN_NONCE_LENGTH = 16
#: The seven keys of the wire form, in the order ``to_dict()`` writes them.
WIRE_KEYS = ("keyName", "ttl", "capability", "clientId", "timestamp", "nonce", "mac")


class TokenRequest(Frozen):
    """A TokenRequest as it goes over the wire. ``capability`` is the JSON text exactly
    as signed; read it with ``Capability.parse(tr.capability)``."""

    __slots__ = (
        "_timestamp_ms",
        "capability",
        "client_id",
        "key_name",
        "mac",
        "nonce",
        "timestamp",
        "ttl",
    )

    key_name: str
    ttl: timedelta | None
    capability: str | None
    client_id: str | None
    timestamp: datetime
    nonce: str | None
    mac: str | None
    _timestamp_ms: int

    def __init__(
        self,
        *,
        key_name: str,
        timestamp: datetime,
        nonce: str | None,
        mac: str | None,
        ttl: timedelta | None = None,
        capability: str | None = None,
        client_id: str | None = None,
    ) -> None:
        _require_str(key_name, "key_name", optional=False)
        timestamp = check_datetime(timestamp, "timestamp")
        if (timestamp - EPOCH) % ONE_MS:
            raise InvalidParameterError(
                "timestamp has a fraction of a millisecond; the wire form is whole ms",
                field="timestamp",
            )
        if ttl is not None:
            if not isinstance(ttl, timedelta):
                raise ParameterTypeError(
                    f"ttl must be a datetime.timedelta or None, not {type(ttl).__name__}",
                    field="ttl",
                )
            if ttl <= ZERO or ttl % ONE_MS:
                raise InvalidTTLError(
                    f"ttl must be a positive whole number of milliseconds, not {ttl!r}",
                    field="ttl",
                )
        for name, value in (
            ("capability", capability),
            ("client_id", client_id),
            ("nonce", nonce),
            ("mac", mac),
        ):
            _require_str(value, name)
        self._set("key_name", key_name)
        self._set("ttl", ttl)
        self._set("capability", capability)
        self._set("client_id", client_id)
        self._set("timestamp", timestamp)
        self._set("nonce", nonce)
        self._set("mac", mac)
        self._set("_timestamp_ms", to_ms(timestamp))

    @classmethod
    def _unchecked(
        cls,
        key_name: str,
        ttl: timedelta | None,
        capability: str | None,
        client_id: str | None,
        timestamp_ms: int,
        nonce: str | None,
        mac: str | None,
    ) -> TokenRequest:
        request = object.__new__(cls)
        store = request._set
        store("key_name", key_name)
        store("ttl", ttl)
        store("capability", capability)
        store("client_id", client_id)
        store("timestamp", from_ms(timestamp_ms))
        store("nonce", nonce)
        store("mac", mac)
        store("_timestamp_ms", timestamp_ms)
        return request

    def signing_text(self) -> str:
        """The text the MAC covers: six fields, each followed by a newline."""
        ttl = "" if self.ttl is None else str(self.ttl // ONE_MS)
        return (
            f"{self.key_name}\n{ttl}\n{self.capability or ''}\n{self.client_id or ''}\n"
            f"{self._timestamp_ms}\n{self.nonce or ''}\n"
        )

    def to_dict(self) -> dict[str, str | int]:
        """The wire form: only the seven keys, in the documented order, unset ones left out."""
        wire: dict[str, str | int] = {"keyName": self.key_name}
        if self.ttl is not None:
            wire["ttl"] = self.ttl // ONE_MS
        if self.capability is not None:
            wire["capability"] = self.capability
        if self.client_id is not None:
            wire["clientId"] = self.client_id
        wire["timestamp"] = self._timestamp_ms
        if self.nonce is not None:
            wire["nonce"] = self.nonce
        if self.mac is not None:
            wire["mac"] = self.mac
        return wire

    def to_json(self) -> str:
        """``to_dict()`` as compact JSON text."""
        from ._json import dumps_compact

        return dumps_compact(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TokenRequest:
        """Read the wire form (decoded JSON or msgpack). ``null`` counts as absent, as
        ably-python sends it; any key but the seven is refused. ``timestamp`` may be a
        string of digits in canonical decimal form (``"1700000000000"``, as ably-js
        sends it after an authUrl rebuilt the request from query parameters): it is the
        same timestamp, signed as the same text; any other string is refused (40001)."""
        if not hasattr(data, "items"):
            raise MalformedTokenError(
                f"a TokenRequest must be a JSON object, not {type(data).__name__}", code=40001
            )
        unknown = sorted(str(name) for name in data if name not in WIRE_KEYS)
        if unknown:
            raise MalformedTokenError(
                f"a TokenRequest has exactly the keys {', '.join(WIRE_KEYS)}; "
                f"{unknown[0]!r} is not one of them",
                field=unknown[0],
                code=40001,
                status_code=400,
            )
        present = {name: value for name, value in data.items() if value is not None}
        if "keyName" not in present or "timestamp" not in present:
            missing = "keyName" if "keyName" not in present else "timestamp"
            raise MalformedTokenError(
                f"the TokenRequest has no {missing}", field=missing, code=40001, status_code=400
            )
        try:
            return cls(
                key_name=present["keyName"],  # type: ignore[arg-type]
                ttl=_optional_ttl(present),
                capability=present.get("capability"),  # type: ignore[arg-type]
                client_id=present.get("clientId"),  # type: ignore[arg-type]
                timestamp=_timestamp_field(present),
                nonce=present.get("nonce"),  # type: ignore[arg-type]
                mac=present.get("mac"),  # type: ignore[arg-type]
            )
        except MalformedTokenError:
            raise
        except AuthKitError as error:
            raise MalformedTokenError(
                f"the TokenRequest is malformed: {error.message}",
                field=error.field,
                code=40001,
                status_code=400,
            ) from None


def _require_str(value: object, field: str, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ParameterTypeError(
            f"{field} must be a non-empty str{' or None' if optional else ''}, not {value!r}",
            field=field,
        )
    if not is_text(value):
        # The MAC covers the fields' UTF-8 text, and no UTF-8 text holds a lone
        # surrogate (JSON can spell one, as "\ud800"): nothing could have signed it.
        raise InvalidParameterError(
            f"{field} holds an unpaired surrogate (such as JSON's \\ud800 alone), which "
            "is not text: no UTF-8 can carry it, so no MAC can cover it",
            field=field,
        )


def _ms_field(present: Mapping[str, object], name: str) -> int:
    value = present[name]
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**53) < value < 2**53:
        raise MalformedTokenError(
            f"the TokenRequest's {name} must be an integer of milliseconds, not {value!r}",
            field=name,
            code=40001,
            status_code=400,
        )
    return value


def _timestamp_field(present: Mapping[str, object]) -> datetime:
    value = present["timestamp"]
    if isinstance(value, str) and _is_canonical_decimal(value):
        # Ably takes a timestamp sent as a string of digits: ably-js sends one when an
        # authUrl hands back a TokenRequest rebuilt from query parameters (ably-js
        # test/realtime/auth.test.js, auth_useAuthUrl_mixed_authParams_qsParams). Only
        # the canonical decimal form: the MAC covers the decimal text of the timestamp,
        # so "0017..." or " 17..." would verify a text other than the one that was sent.
        present = {"timestamp": int(value)}
    try:
        return from_ms(_ms_field(present, "timestamp"))
    except ValueError as error:  # beyond the year 9999
        raise MalformedTokenError(
            f"the TokenRequest's timestamp is out of range: {error}",
            field="timestamp",
            code=40001,
            status_code=400,
        ) from None


def _is_canonical_decimal(text: str) -> bool:
    """``"0"`` or ASCII digits without a leading zero: the text ``str(int)`` writes."""
    return text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") and len(text) < 17


def _optional_ttl(present: Mapping[str, object]) -> timedelta | None:
    return timedelta(milliseconds=_ms_field(present, "ttl")) if "ttl" in present else None


def create_token_request(
    key: ApiKey | KeyRing | str,
    *,
    capability: CapabilityLike | None = None,
    client_id: str | None = None,
    ttl: timedelta | None = None,
    now: datetime | None = None,
    nonce: str | None = None,
) -> TokenRequest:
    """Create and sign a TokenRequest; no network.

    Args:
        key: the API key (``ApiKey`` or ``"appId.keyId:secret"``), or a
            :class:`~ably_authkit.KeyRing`, whose signer signs.
        capability: what the token may do; omitted, the token gets all of the key's.
        client_id: the identity the token's holder must use; ``"*"`` for any.
        ttl: the token's lifetime, at most 24 h (1 h for a revocable key); omitted,
            Ably gives 1 h. The request itself must be used within 2 minutes.
        now: the timestamp (default: this machine's clock). Ably refuses a timestamp
            more than 2 minutes from its own clock: see ``query_time`` in ``rest``.
        nonce: for tests only; by default 16 hex characters from the operating
            system's CSPRNG (``os.urandom``, as :mod:`secrets` uses).
    """
    api_key = signing_key(key)
    capability_text = None if capability is None else check_grantable(api_key, capability).to_json()
    span = None if ttl is None else check_ttl(ttl, revocable=api_key.revocable)
    client = None if client_id is None else check_client_id(client_id)
    timestamp_ms = now_ms(now)
    nonce = os.urandom(8).hex() if nonce is None else _check_nonce(nonce)
    text = (
        f"{api_key.name}\n{'' if span is None else span // ONE_MS}\n{capability_text or ''}\n"
        f"{client or ''}\n{timestamp_ms}\n{nonce}\n"
    )
    # Every field is checked above, so the request is built without checking them again.
    return TokenRequest._unchecked(
        api_key.name,
        span,
        capability_text,
        client,
        timestamp_ms,
        nonce,
        b64_encode(api_key.sign(text.encode("utf-8"))),
    )


def _check_nonce(nonce: object) -> str:
    if not isinstance(nonce, str):
        raise ParameterTypeError(f"nonce must be a str, not {type(nonce).__name__}", field="nonce")
    if len(nonce) < MIN_NONCE_LENGTH or not nonce.isprintable() or not nonce.isascii():
        raise InvalidParameterError(
            f"nonce must be at least {MIN_NONCE_LENGTH} printable ASCII characters (spec "
            f"RSA9c), got {len(nonce)}; leave it out and a random one is made",
            field="nonce",
        )
    return nonce


def _mac(api_key: ApiKey, request: TokenRequest) -> str:
    return b64_encode(api_key.sign(request.signing_text().encode("utf-8")))


def verify_token_request(
    data: TokenRequest | Mapping[str, object] | str,
    key: ApiKey | KeyRing | str,
    *,
    now: datetime | None = None,
) -> TokenRequest:
    """Check a TokenRequest as Ably's ``requestToken`` does, and return it.

    Checks, in order: the wire shape, ``keyName`` is this key's (with a
    :class:`~ably_authkit.KeyRing`: one of its keys, which then checks the rest; another
    name is 40400, as Ably answers for a key it does not have), a nonce of 16+
    characters, the MAC (constant time; 40101), the timestamp within 2 minutes of
    ``now`` (40104), the TTL limit (40003), the capability is valid and grantable by
    the key, the client id. Replay of a nonce is for the server to track. Raises a
    :class:`TokenError` subclass.
    """
    keys = as_keys(key)
    moment = check_now(now)
    request = _as_request(data)
    api_key = key_named(
        keys, request.key_name, "the TokenRequest's keyName", field="keyName", known_app_code=40400
    )
    if request.mac is None or request.nonce is None:
        raise MalformedTokenError(
            "the TokenRequest is not signed (no mac or nonce); Ably takes an unsigned request "
            "only with the key itself as basic auth",
            field="mac",
            code=40001,
            status_code=400,
        )
    if len(request.nonce) < MIN_NONCE_LENGTH:
        raise InvalidTokenFieldError(
            f"the TokenRequest's nonce has {len(request.nonce)} characters; at least "
            f"{MIN_NONCE_LENGTH} are required",
            field="nonce",
        )
    # compare_digest takes str only when ASCII; compare bytes so any mac text is safe.
    if not hmac.compare_digest(_mac(api_key, request).encode(), request.mac.encode("utf-8")):
        raise InvalidSignatureError(
            f"the TokenRequest's mac was not made with the secret of key {api_key.name}: "
            "it was signed with another secret, or a field was changed after signing",
            field="mac",
            code=40101,
        )
    skew = request.timestamp - moment
    if abs(skew) > TIMESTAMP_WINDOW:
        direction = "ahead of" if skew > ZERO else "behind"
        raise TimestampNotCurrentError(
            f"Timestamp not current: the TokenRequest's timestamp is {describe(abs(skew))} "
            f"{direction} this clock, and Ably allows {describe(TIMESTAMP_WINDOW)}. The "
            "signer's clock is off, or the request was kept and reused; sync the clock, or "
            "ask Ably's time first (query_time=True)",
            field="timestamp",
        )
    try:
        if request.ttl is not None:
            check_ttl(request.ttl, revocable=api_key.revocable)
        if request.capability is not None:
            check_grantable(api_key, Capability.parse(request.capability))
        if request.client_id is not None:
            check_client_id(request.client_id)
    except (InvalidTTLError, InvalidCapabilityError, InvalidClientIdError) as error:
        raise InvalidTokenFieldError(
            f"the TokenRequest's {error.field} is refused: {error.message}",
            field=error.field,
            code=error.code,
            status_code=error.status_code,
        ) from None
    return request


def _as_request(data: object) -> TokenRequest:
    if isinstance(data, TokenRequest):
        return data
    if isinstance(data, str):
        from ._json import loads_strict

        try:
            data = loads_strict(data)
        except (ValueError, RecursionError) as error:
            raise MalformedTokenError(
                f"the TokenRequest is not JSON: {error}", code=40001, status_code=400
            ) from None
    return TokenRequest.from_dict(data)  # type: ignore[arg-type]
