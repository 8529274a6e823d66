"""Ably JWTs: mint them locally, verify them as Ably would.

An Ably JWT (docs: "Ably JWT") is an HS256 JWT signed with the API key's secret, whose
JOSE header names the key (``kid``) and whose claims carry ``iat``/``exp`` in
**seconds**, the capability as JSON text (``x-ably-capability``) and optionally the
client id (``x-ably-clientId``). Clients take it as-is from an ``authUrl`` served as
``application/jwt``; no request to Ably is needed to issue one.

Minting assembles the token directly: the header segment and the prepared HMAC key
are cached on the :class:`~ably_authkit.ApiKey`, and the claims are written in a fixed
order, byte-identical to what ``jwt.encode`` produces for the same claims (the tests
compare). Verification is strict where pyjwt is lenient (one base64url spelling per
token, no claim named twice, a size cap), and picks the key by ``kid`` from a
:class:`~ably_authkit.KeyRing`.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from ._base64 import b64url_decode, b64url_encode
from ._checks import check_client_id, check_grantable, check_text
from ._frozen import Frozen
from ._json import dumps_compact, is_text, quote_ascii
from ._time import (
    EPOCH,
    MAX_REVOCABLE_TTL,
    MAX_TTL,
    ONE_SECOND,
    ZERO,
    check_leeway,
    check_now,
    check_ttl,
    describe,
    from_seconds,
    now_seconds,
    to_seconds,
)
from .capability import Capability, _check_resource
from .errors import (
    InvalidCapabilityError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTokenFieldError,
    InvalidTTLError,
    MalformedTokenError,
    ParameterTypeError,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
)
from .keys import ApiKey, as_keys, key_named, signing_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from typing import Any, Literal

    from .capability import CapabilityLike
    from .keys import KeyRing
    from .token_details import TokenDetails

__all__ = [
    "DEFAULT_JWT_TTL",
    "MAX_JWT_BYTES",
    "MAX_VERIFIED_JWT_BYTES",
    "AblyJwtClaims",
    "mint_jwt",
    "verify_jwt",
]

#: The TTL of a JWT when none is given.
DEFAULT_JWT_TTL = timedelta(hours=1)
#: Larger JWTs are refused: clients send them in HTTP headers, which servers cap near 8 KB.
MAX_JWT_BYTES = 8 * 1024

CAPABILITY_CLAIM = "x-ably-capability"
CLIENT_ID_CLAIM = "x-ably-clientId"
REVOCATION_KEY_CLAIM = "x-ably-revocation-key"
CLIENT_TYPE_CLAIM = "x-ably-clientType"
EMBEDDED_TOKEN_CLAIM = "x-ably-token"
CHANNEL_CLAIM_PREFIX = "ably.channel."
ROOM_CLAIM_PREFIX = "ably.room."
RATE_LIMIT_CLAIM_PREFIX = "ably.limits.publish.perAttachment.maxRate."
CLIENT_TYPES = ("server", "device")
_RESERVED_EXTRA = ("iat", "exp")


class AblyJwtClaims(Frozen):
    """What a verified Ably JWT says, typed. Times are aware ``datetime`` objects.

    ``channel_claims`` and ``room_claims`` hold the ``ably.channel.<resource>`` and
    ``ably.room.<room>`` claims by resource and by Ably Chat room (name or pattern), each
    value the string Ably copies into ``userClaim``; ``publish_rate_limits`` the
    ``ably.limits.publish.perAttachment.maxRate.<resource>`` claims; ``extra_claims``
    every other claim that is not Ably's."""

    __slots__ = (
        "capability",
        "channel_claims",
        "client_id",
        "client_type",
        "embedded_token",
        "expires",
        "extra_claims",
        "issued",
        "key_name",
        "publish_rate_limits",
        "revocation_key",
        "room_claims",
    )

    key_name: str
    issued: datetime
    expires: datetime
    capability: Capability
    client_id: str | None
    revocation_key: str | None
    client_type: str | None
    embedded_token: str | None
    channel_claims: dict[str, str]
    room_claims: dict[str, str]
    publish_rate_limits: dict[str, float]
    extra_claims: dict[str, Any]

    def __init__(
        self,
        *,
        key_name: str,
        issued: datetime,
        expires: datetime,
        capability: Capability,
        client_id: str | None = None,
        revocation_key: str | None = None,
        client_type: str | None = None,
        embedded_token: str | None = None,
        channel_claims: Mapping[str, str] | None = None,
        room_claims: Mapping[str, str] | None = None,
        publish_rate_limits: Mapping[str, float] | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> None:
        self._set("key_name", key_name)
        self._set("issued", issued)
        self._set("expires", expires)
        self._set("capability", capability)
        self._set("client_id", client_id)
        self._set("revocation_key", revocation_key)
        self._set("client_type", client_type)
        self._set("embedded_token", embedded_token)
        self._set("channel_claims", dict(channel_claims or {}))
        self._set("room_claims", dict(room_claims or {}))
        self._set("publish_rate_limits", dict(publish_rate_limits or {}))
        self._set("extra_claims", dict(extra_claims or {}))

    @property
    def ttl(self) -> timedelta:
        return self.expires - self.issued


def mint_jwt(
    key: ApiKey | KeyRing | str,
    *,
    capability: CapabilityLike,
    client_id: str | None = None,
    ttl: timedelta = DEFAULT_JWT_TTL,
    now: datetime | None = None,
    channel_claims: Mapping[str, str | Mapping[str, Any]] | None = None,
    room_claims: Mapping[str, str | Mapping[str, Any]] | None = None,
    publish_rate_limits: Mapping[str, float] | None = None,
    revocation_key: str | None = None,
    client_type: Literal["server", "device"] | None = None,
    embedded_token: TokenDetails | str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
) -> str:
    """Mint an Ably JWT signed with ``key``; no network.

    Args:
        key: the API key (``ApiKey`` or ``"appId.keyId:secret"``), or a
            :class:`~ably_authkit.KeyRing`, whose signer signs.
        capability: what the holder may do, e.g. ``{"chat:*": ["publish", "subscribe"]}``.
            Ably grants its intersection with the key's capability.
        client_id: the identity the holder must use; ``"*"`` lets it choose any.
        ttl: lifetime, whole seconds, at most 24 h (1 h with ``revocation_key`` or a
            revocable key).
        now: the issue time (default: this machine's clock, read once).
        channel_claims: ``ably.channel.<resource>`` claims, which Ably copies into
            ``extras.userClaim`` of messages on matching channels. A mapping value is
            written as its JSON text.
        room_claims: ``ably.room.<room>`` claims, by Ably Chat room name or pattern
            (``support:42``, ``support:*``, ``*``; checked as
            :func:`~ably_authkit.chat.chat_capability` checks a room): Ably copies the
            value into the ``userClaim`` of the holder's messages, presence, typing and
            reactions in matching rooms (Chat docs, "User claims"). The value is a str,
            or a mapping written as its JSON text (``{"display_name": "Ada"}``).
        publish_rate_limits: messages per second per attached channel, by resource
            (``ably.limits.publish.perAttachment.maxRate.<resource>``).
        revocation_key: ``x-ably-revocation-key``, to revoke tokens by this value.
        client_type: ``x-ably-clientType``, e.g. ``"server"`` (see Ably error 40167).
        embedded_token: a token to embed (``x-ably-token``); give its ``TokenDetails``
            or a JWT, so the expiry is known: the outer JWT may not outlive it.
        extra_claims: further claims of your own; names starting ``x-ably-`` are
            Ably's and are refused.
    """
    api_key = signing_key(key)
    granted = check_grantable(api_key, capability)
    span = check_ttl(ttl, revocable=api_key.revocable or revocation_key is not None)
    if span % ONE_SECOND:
        raise InvalidTTLError(
            f"ttl {describe(span)} is not a whole number of seconds, and a JWT's exp is "
            "whole seconds; round it yourself so that nothing is cut silently",
            field="ttl",
        )
    issued_at = now_seconds(now)
    expires_at = issued_at + span // ONE_SECOND
    checked_id = None if client_id is None else check_client_id(client_id)
    claims = _core_claims(issued_at, expires_at, granted, checked_id)
    if revocation_key is not None:
        claims += [
            ',"x-ably-revocation-key":',
            quote_ascii(check_text(revocation_key, "revocation_key", example="group-1")),
        ]
    if client_type is not None:
        claims += [',"x-ably-clientType":', quote_ascii(_check_client_type(client_type))]
    if embedded_token is not None:
        inner = _embeddable(embedded_token, expires_at)
        claims += [',"x-ably-token":', quote_ascii(inner)]
    if channel_claims:
        claims += _claim_parts(CHANNEL_CLAIM_PREFIX, _channel_claim_texts(channel_claims))
    if room_claims:
        claims += _claim_parts(ROOM_CLAIM_PREFIX, _room_claim_texts(room_claims))
    if publish_rate_limits:
        claims += _rate_limit_claims(publish_rate_limits)
    if extra_claims:
        claims += _extra_claims(extra_claims)
    return _signed_bytes(api_key, claims).decode("ascii")


def _mint_granted(
    api_key: ApiKey,
    capability: Capability,
    client_id: str | None,
    seconds: int,
    now: datetime | None,
    channel_claims: Mapping[str, str],
    room_claims: Mapping[str, str],
) -> bytes:
    """:func:`mint_jwt` of what an endpoint's :class:`~ably_authkit.endpoint.Grant`
    already checked (client id, capability, whole seconds within 24 h, the claims as
    :func:`_channel_claim_texts` and :func:`_room_claim_texts` give them), for a key whose
    own capability and revocability add no checks (the caller makes sure of that)."""
    issued_at = now_seconds(now)
    claims = _core_claims(issued_at, issued_at + seconds, capability, client_id)
    if channel_claims:
        claims += _claim_parts(CHANNEL_CLAIM_PREFIX, channel_claims)
    if room_claims:
        claims += _claim_parts(ROOM_CLAIM_PREFIX, room_claims)
    return _signed_bytes(api_key, claims)


def _core_claims(
    issued_at: int, expires_at: int, capability: Capability, client_id: str | None
) -> list[str]:
    """The claims every Ably JWT has, as JSON text pieces of one object still open."""
    claims = [
        '{"iat":',
        str(issued_at),
        ',"exp":',
        str(expires_at),
        ',"x-ably-capability":',
        capability._jwt_claim(),
    ]
    if client_id is not None:
        claims += [',"x-ably-clientId":', quote_ascii(client_id)]
    return claims


def _signed_bytes(api_key: ApiKey, claims: list[str]) -> bytes:
    """Close the claims object, and sign it under the key's JOSE header (HS256)."""
    claims.append("}")
    signing_input = (
        api_key._jwt_header_segment() + b"." + b64url_encode("".join(claims).encode("ascii"))
    )
    token = signing_input + b"." + b64url_encode(api_key.sign(signing_input))
    if len(token) > MAX_JWT_BYTES:
        raise TokenTooLargeError(
            f"the JWT would be {len(token)} bytes, over the {MAX_JWT_BYTES} bytes that "
            "clients can carry in an HTTP header; grant wildcard resources such as 'chat:*' "
            "instead of listing channels, or hand out a TokenRequest, which carries "
            "the capability in its body"
        )
    return token


def _check_client_type(client_type: object) -> str:
    if not isinstance(client_type, str) or client_type not in CLIENT_TYPES:
        raise InvalidParameterError(
            f"client_type must be one of {', '.join(map(repr, CLIENT_TYPES))}, not {client_type!r}",
            field="client_type",
        )
    return client_type


def _embeddable(embedded: object, outer_expires_at: int) -> str:
    """The inner token's text, once the outer JWT is known not to outlive it."""
    from .token_details import TokenDetails

    if isinstance(embedded, TokenDetails):
        token, expires = embedded.token, embedded.expires
    elif isinstance(embedded, str) and embedded.count(".") == 2:
        payload = read_unverified(embedded)[1]
        token, expires = embedded, from_seconds(_numeric_date(payload, "exp"))
    elif isinstance(embedded, str):
        raise InvalidParameterError(
            "embedded_token is an Ably token string, whose expiry cannot be read from it; "
            "pass its TokenDetails instead, so the outer JWT can be kept within it",
            field="embedded_token",
        )
    else:
        raise ParameterTypeError(
            f"embedded_token must be TokenDetails or a JWT str, not {type(embedded).__name__}",
            field="embedded_token",
        )
    if to_seconds(expires) < outer_expires_at:
        raise InvalidTTLError(
            f"the JWT would outlive the token it embeds (which expires at "
            f"{expires.isoformat()}), and Ably refuses that; use a shorter ttl",
            field="ttl",
        )
    return token


def _channel_claim_texts(channel_claims: Mapping[str, object]) -> dict[str, str]:
    """``channel_claims=`` checked: each resource as a capability's, each value a str or
    written as its JSON text. The caller's mapping is only read."""
    texts = {}
    for resource, value in _checked_items(channel_claims, "channel_claims"):
        if not isinstance(value, str):
            value = _json_value(value, f"channel_claims[{resource!r}]")
        texts[resource] = value
    return texts


def _room_claim_texts(room_claims: Mapping[str, object]) -> dict[str, str]:
    """``room_claims=`` checked: each key an Ably Chat room name or pattern, refused as
    :func:`~ably_authkit.chat.chat_capability` refuses a room (a channel name such as
    ``room::$chat``, a ``[queue]``/``[meta]`` resource); each value a str, or a mapping
    written as its JSON text. Anything else (a number, ``None``, a list) is refused: Ably
    Chat's ``userClaim`` is a string, and ``None`` would become the text ``null``."""
    from .chat import _check_room

    texts = {}
    for room, value in _checked_items(room_claims, "room_claims", resources=False):
        try:
            _check_room(room)
        except InvalidCapabilityError as error:
            raise type(error)(error.message, field="room_claims") from None
        where = f"room_claims[{room!r}]"
        if isinstance(value, str):
            if not is_text(value):
                raise InvalidParameterError(
                    f"{where} contains an unpaired surrogate, which cannot be sent as UTF-8",
                    field="room_claims",
                )
        elif hasattr(value, "items"):
            value = _json_value(dict(value.items()), where)
        else:
            raise ParameterTypeError(
                f"{where} must be a str (the claim as Chat clients read it in userClaim) or "
                f"a mapping, written as its JSON text, not {type(value).__name__}",
                field="room_claims",
            )
        texts[room] = value
    return texts


def _claim_parts(prefix: str, texts: Mapping[str, str]) -> list[str]:
    parts = []
    for name, value in texts.items():
        parts += [",", quote_ascii(prefix + name), ":", quote_ascii(value)]
    return parts


def _rate_limit_claims(limits: Mapping[str, object]) -> list[str]:
    parts = []
    for resource, rate in _checked_items(limits, "publish_rate_limits"):
        if (
            not isinstance(rate, (int, float))
            or isinstance(rate, bool)
            or not 0 < rate < float("inf")
        ):
            raise InvalidParameterError(
                f"publish_rate_limits[{resource!r}] must be a positive number of messages "
                f"per second such as 0.5, not {rate!r}",
                field="publish_rate_limits",
            )
        parts += [",", quote_ascii(RATE_LIMIT_CLAIM_PREFIX + resource), ":", repr(rate)]
    return parts


def _extra_claims(extra: Mapping[str, object]) -> list[str]:
    parts = []
    for name, value in _checked_items(extra, "extra_claims", resources=False):
        if name.startswith("x-ably-") or name in _RESERVED_EXTRA:
            raise InvalidParameterError(
                f"extra claim {name!r} is reserved: iat and exp come from now and ttl, and "
                "x-ably-* claims are Ably's (use this function's own arguments for them)",
                field="extra_claims",
            )
        if name.startswith((CHANNEL_CLAIM_PREFIX, ROOM_CLAIM_PREFIX, RATE_LIMIT_CLAIM_PREFIX)):
            raise InvalidParameterError(
                f"extra claim {name!r}: pass channel claims, Chat room claims and rate limits "
                "through channel_claims=, room_claims= and publish_rate_limits=, which "
                "check them",
                field="extra_claims",
            )
        parts += [",", quote_ascii(name), ":", _json_value(value, f"extra_claims[{name!r}]")]
    return parts


def _checked_items(
    claims: Mapping[str, object], field: str, *, resources: bool = True
) -> list[tuple[str, object]]:
    if not hasattr(claims, "items"):
        raise ParameterTypeError(
            f"{field} must be a mapping, not {type(claims).__name__}", field=field
        )
    items = list(claims.items())
    for name, _ in items:
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"{field} keys must be non-empty str, not {name!r}", field=field
            )
        if resources:
            _check_resource(name)
    return items


def _json_value(value: object, where: str) -> str:
    try:
        return dumps_compact(value)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(
            f"{where} cannot be written as JSON: {error}", field=where.partition("[")[0]
        ) from None


# Verification ------------------------------------------------------------------------

#: A longer token is refused before anything of it is read: ably-js refuses token strings
#: over 128 KiB (``MAX_TOKEN_LENGTH``, spec RSA4f), so no client carries a longer one.
MAX_VERIFIED_JWT_BYTES = 2**17


def verify_jwt(
    token: str,
    key: ApiKey | KeyRing | str,
    *,
    now: datetime | None = None,
    leeway: timedelta = ZERO,
) -> AblyJwtClaims:
    """Check an Ably JWT as Ably would, and return its claims.

    Checks: at most 128 KiB; three canonical base64url parts (no padding, no stray
    bits: a strict verifier accepts one encoding of a signature, not several) holding
    strict JSON (a name given twice in the header or the claims is refused); HS256 only
    (``none`` and every other algorithm refused); ``kid`` is this key's name, or with a
    :class:`~ably_authkit.KeyRing` the name of one of its keys, whose secret is then
    used; the signature (constant time); ``iat``/``exp`` present, ``iat`` (and ``nbf``)
    not in the future beyond ``leeway``, not expired, lifetime at most 24 h (1 h for a
    revocable key or a token with a revocation key); a valid capability that the key
    can grant; a valid client id. Raises a :class:`TokenError` subclass.
    """
    keys = as_keys(key)
    moment = check_now(now)
    margin = check_leeway(leeway)
    if not isinstance(token, str):
        raise ParameterTypeError(f"token must be a str, not {type(token).__name__}")
    if len(token) > MAX_VERIFIED_JWT_BYTES:
        raise MalformedTokenError(
            f"the token is {len(token)} characters long, over the {MAX_VERIFIED_JWT_BYTES} "
            "that Ably clients carry (ably-js refuses longer ones); it is not an Ably JWT"
        )
    if not token.isascii():
        # Checked before anything is read: the signing input is the token's ASCII text.
        raise MalformedTokenError(
            "the token holds a character outside ASCII, so it is not a JWT (three base64url "
            "parts joined by '.'); it was mangled on its way here"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedTokenError(
            "the token is not a readable JWT: a JWT is three base64url parts joined by '.'"
        )
    header = _strict_part(parts[0], "header")
    if not isinstance(header, dict):
        raise MalformedTokenError("the JWT's header is not a JSON object")
    algorithm = header.get("alg")
    if algorithm != "HS256":
        raise MalformedTokenError(
            f"the JWT is signed with {algorithm!r}; Ably accepts HS256 only, signed with the "
            "API key's secret"
        )
    if "crit" in header:
        # RFC 7515 section 4.1.11: a verifier must refuse a JWS whose critical extensions
        # it does not understand; Ably JWTs use none, and this verifier knows none.
        raise MalformedTokenError(
            f"the JWT's header lists critical extensions (crit {_shown(header['crit'])}), "
            "which this verifier does not implement, so it must refuse the JWT (RFC 7515 "
            "section 4.1.11); an Ably JWT has no crit header",
            field="crit",
        )
    if "kid" not in header:
        raise MalformedTokenError(
            "the JWT header has no kid; Ably needs the key name there to find the key"
        )
    if header.get("b64", True) is not True:
        # RFC 7797: "b64": false (an unencoded payload) changes what is signed; pyjwt
        # refuses it in a compact JWT, and no Ably JWT carries b64.
        raise MalformedTokenError(
            f"the JWT's header sets b64 to {_shown(header['b64'])} (RFC 7797's unencoded "
            "payload, which changes what is signed); an Ably JWT has no b64 header",
            field="b64",
        )
    api_key = key_named(keys, header["kid"], "the JWT's kid", field="kid", known_app_code=40101)
    signature = _canonical_bytes(parts[2], "signature")
    signing_input = token[: len(parts[0]) + 1 + len(parts[1])].encode("ascii")
    if not hmac.compare_digest(api_key.sign(signing_input), signature):
        raise InvalidSignatureError(
            f"the JWT's signature was not made with the secret of key {api_key.name}: "
            "it was signed with another secret, or changed after signing"
        )
    payload = _strict_part(parts[1], "claims")
    if not isinstance(payload, dict):
        raise MalformedTokenError("the JWT's claims are not a JSON object")
    return _claims(payload, api_key, moment, margin)


def _shown(value: object) -> str:
    """A header value for a message: JSON text, cut short."""
    from ._json import show_json

    return show_json(value)


def _canonical_bytes(part: str, what: str) -> bytes:
    """A JWT part decoded, if it is canonical unpadded base64url (RFC 7515 section 2):
    ``=`` padding, characters outside the alphabet and non-zero unused trailing bits are
    refused, so that one token has exactly one spelling."""
    try:
        raw = b64url_decode(part)
    except ValueError:  # UnicodeEncodeError among them
        raw = None
    if raw is None or b64url_encode(raw) != part.encode("ascii"):
        raise MalformedTokenError(
            f"the JWT's {what} is not canonical base64url (RFC 7515: no '=' padding, only "
            "A-Z, a-z, 0-9, - and _, no stray bits at the end); it was changed or mangled "
            "after signing"
        )
    return raw


def _strict_part(part: str, what: str) -> object:
    """A JWT's header or claims: canonical base64url of strict JSON (no name twice)."""
    from ._json import DuplicateKeyError, loads_strict

    raw = _canonical_bytes(part, what)
    try:
        return loads_strict(raw)
    except DuplicateKeyError as error:
        raise MalformedTokenError(
            f"the JWT's {what} {'holds' if what == 'header' else 'hold'} {error.key!r} twice; "
            "a strict verifier refuses that, as readers disagree on which of the two "
            "counts (pyjwt takes the last; the emulator and explain() refuse it)"
        ) from None
    except (ValueError, RecursionError):
        raise MalformedTokenError(
            f"the JWT's {what} {'is' if what == 'header' else 'are'} not JSON"
        ) from None


def _claims(
    payload: dict[str, Any], api_key: ApiKey, moment: datetime, margin: timedelta
) -> AblyJwtClaims:
    iat = _numeric_date(payload, "iat")
    exp = _numeric_date(payload, "exp")
    # Compared as seconds (exact enough: floats carry a 1e9-second time to 0.1 µs).
    now = (moment - EPOCH) / ONE_SECOND
    slack = margin / ONE_SECOND
    if exp <= iat:
        raise InvalidTokenFieldError(
            f"the JWT expires (exp {exp}) no later than it is issued (iat {iat})",
            field="exp",
            code=40003,
        )
    if iat > now + slack:
        raise TokenNotYetValidError(
            f"the JWT was issued {describe(timedelta(seconds=iat - now))} in the future by this "
            "clock: the issuer's clock is ahead, and Ably refuses it ('issuedAt time must not "
            "be in the future'); sync the issuer's clock (NTP) or mint with now= set to Ably's "
            "time",
            field="iat",
        )
    if "nbf" in payload and _numeric_date(payload, "nbf") > now + slack:
        raise TokenNotYetValidError("the JWT is not valid yet (nbf)", field="nbf")
    if exp <= now - slack:
        raise TokenExpiredError(
            f"the JWT expired {describe(timedelta(seconds=now - exp))} ago "
            f"({from_seconds(exp).isoformat()}); the client must fetch a new one from its authUrl",
            field="exp",
        )
    revocation_key = _optional_str(payload, REVOCATION_KEY_CLAIM)
    limit = MAX_REVOCABLE_TTL if api_key.revocable or revocation_key is not None else MAX_TTL
    if exp - iat > limit / ONE_SECOND:
        raise InvalidTokenFieldError(
            f"the JWT lives {describe(timedelta(seconds=exp - iat))}, longer than the "
            f"{describe(limit)} Ably allows for it",
            field="exp",
            code=40003,
        )
    channel_claims: dict[str, str] = {}
    room_claims: dict[str, str] = {}
    rate_limits: dict[str, float] = {}
    extra: dict[str, Any] = {}
    for name, value in payload.items():
        if name in _RESERVED_EXTRA or name.startswith("x-ably-"):
            continue
        if name.startswith(CHANNEL_CLAIM_PREFIX):
            if not isinstance(value, str):
                raise InvalidTokenFieldError(
                    f"the JWT's {name} claim must be a string, not {value!r}", field=name
                )
            channel_claims[name[len(CHANNEL_CLAIM_PREFIX) :]] = value
        elif name.startswith(ROOM_CLAIM_PREFIX):
            if not isinstance(value, str):
                raise InvalidTokenFieldError(
                    f"the JWT's {name} claim must be a string, not {value!r}", field=name
                )
            room_claims[name[len(ROOM_CLAIM_PREFIX) :]] = value
        elif name.startswith(RATE_LIMIT_CLAIM_PREFIX):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise InvalidTokenFieldError(
                    f"the JWT's {name} claim must be a positive number, not {value!r}",
                    field=name,
                )
            rate_limits[name[len(RATE_LIMIT_CLAIM_PREFIX) :]] = value
        else:
            extra[name] = value
    return AblyJwtClaims(
        key_name=api_key.name,
        issued=from_seconds(iat),
        expires=from_seconds(exp),
        capability=_capability_claim(payload, api_key),
        client_id=_client_id_claim(payload),
        revocation_key=revocation_key,
        client_type=_optional_str(payload, CLIENT_TYPE_CLAIM),
        embedded_token=_optional_str(payload, EMBEDDED_TOKEN_CLAIM),
        channel_claims=channel_claims,
        room_claims=room_claims,
        publish_rate_limits=rate_limits,
        extra_claims=extra,
    )


def _numeric_date(payload: Mapping[str, Any], claim: str) -> int | float:
    value = payload.get(claim)
    if value is None:
        raise MalformedTokenError(
            f"the JWT has no {claim} claim; Ably needs iat and exp (seconds since 1970)",
            field=claim,
        )
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise MalformedTokenError(
            f"the JWT's {claim} is {value!r}; it must be a number of seconds since 1970",
            field=claim,
        )
    if not -1e10 < value < 1e11:
        raise MalformedTokenError(
            f"the JWT's {claim} {value!r} is not a plausible time in seconds "
            "(milliseconds by mistake?)",
            field=claim,
        )
    return value


def _optional_str(payload: Mapping[str, Any], claim: str) -> str | None:
    value = payload.get(claim)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidTokenFieldError(
            f"the JWT's {claim} must be a non-empty string, not {value!r}", field=claim
        )
    return value


def _capability_claim(payload: Mapping[str, Any], api_key: ApiKey) -> Capability:
    value = payload.get(CAPABILITY_CLAIM)
    if value is None:
        raise MalformedTokenError(
            "the JWT has no x-ably-capability claim; Ably's JWT docs require it "
            '(JSON text such as \'{"*":["subscribe"]}\')',
            field=CAPABILITY_CLAIM,
        )
    try:
        # The docs put JSON text here; Ably's own CLI puts the object. Both are read.
        capability = (
            _parsed_capability(value) if isinstance(value, str) else Capability.coerce(value)
        )
        return check_grantable(api_key, capability)
    except InvalidCapabilityError as error:
        raise InvalidTokenFieldError(
            f"the JWT's capability is refused: {error.message}",
            field=CAPABILITY_CLAIM,
            code=error.code,
            status_code=error.status_code,
        ) from None


_capability_memo: Callable[[str], Capability] | None = None


def _parsed_capability(text: str) -> Capability:
    """``Capability.parse``, remembered: a server verifies the same few capabilities
    over and over, and a Capability is immutable. Errors are not remembered."""
    global _capability_memo
    if _capability_memo is None:
        import functools

        _capability_memo = functools.lru_cache(maxsize=1024)(Capability.parse)
    return _capability_memo(text)


def _client_id_claim(payload: Mapping[str, Any]) -> str | None:
    from .errors import InvalidClientIdError

    value = payload.get(CLIENT_ID_CLAIM)
    try:
        return None if value is None else check_client_id(value)
    except InvalidClientIdError as error:
        raise InvalidTokenFieldError(
            f"the JWT's x-ably-clientId is refused: {error.message}",
            field=CLIENT_ID_CLAIM,
            code=40012,
        ) from None


def read_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, **without checking its signature** (for display)."""
    from ._json import loads_strict

    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise MalformedTokenError("not a JWT: a JWT is three base64url parts joined by '.'")
    try:
        header, payload = (loads_strict(b64url_decode(part)) for part in parts[:2])
    except (ValueError, RecursionError):
        raise MalformedTokenError(
            "not a JWT: its header or claims are not base64url JSON"
        ) from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise MalformedTokenError("not a JWT: its header and claims must be JSON objects")
    return header, payload
