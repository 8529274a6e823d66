"""Explain any Ably credential in plain words: what it is, for whom, what it allows,
when it expires, and, given the key, whether it verifies.

Nothing here prints a key secret or the credential itself (both are bearer secrets).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ._frozen import Frozen
from ._time import ZERO, check_now, describe, from_seconds
from .capability import Capability
from .chat import _features_by_resource
from .errors import AuthKitError, InvalidCapabilityError, MalformedTokenError, TokenError
from .jwt_tokens import read_unverified, verify_jwt
from .token_details import TokenDetails
from .token_requests import TIMESTAMP_WINDOW, TokenRequest, verify_token_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime, timedelta
    from typing import Any

    from .keys import ApiKey, KeyRing

__all__ = ["Explanation", "explain"]

JWT = "Ably JWT"
TOKEN_REQUEST = "TokenRequest"
TOKEN_DETAILS = "TokenDetails"
ABLY_TOKEN = "Ably token"


class Explanation(Frozen):
    """What :func:`explain` found. ``str()`` gives the report; ``to_dict()`` the facts."""

    __slots__ = (
        "capability",
        "client_id",
        "expires",
        "issued",
        "key_name",
        "kind",
        "notes",
        "now",
        "problems",
        "verified",
    )

    kind: str
    key_name: str | None
    client_id: str | None
    capability: str | None
    issued: datetime | None
    expires: datetime | None
    verified: bool | None
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    now: datetime

    def __init__(
        self,
        *,
        kind: str,
        now: datetime,
        key_name: str | None = None,
        client_id: str | None = None,
        capability: str | None = None,
        issued: datetime | None = None,
        expires: datetime | None = None,
        verified: bool | None = None,
        problems: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> None:
        self._set("kind", kind)
        self._set("key_name", key_name)
        self._set("client_id", client_id)
        self._set("capability", capability)
        self._set("issued", issued)
        self._set("expires", expires)
        self._set("verified", verified)
        self._set("problems", tuple(problems))
        self._set("notes", tuple(notes))
        self._set("now", now)

    @property
    def ok(self) -> bool:
        """No problem found (a credential not checked against a key can still be ``ok``)."""
        return not self.problems

    @property
    def chat_features(self) -> Mapping[str, tuple[str, ...]]:
        """The Ably Chat features (:class:`~ably_authkit.ChatFeature` values) the capability
        allows in the rooms each of its channel resources names, read as a room name or
        pattern: ``{"support:*": ("send", "receive", ...)}``. Grants on wider patterns
        count; resources that allow no feature, and ``[queue]``/``[meta]`` ones, are left
        out; empty when the capability is not set or cannot be read."""
        if self.capability is None:
            return MappingProxyType({})
        try:
            capability = Capability.parse(self.capability, allow_unknown_operations=True)
        except InvalidCapabilityError:
            return MappingProxyType({})
        return MappingProxyType(
            {
                resource: tuple(feature.value for feature in features)
                for resource, features in _features_by_resource(capability).items()
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key_name": self.key_name,
            "client_id": self.client_id,
            "capability": self.capability,
            "chat_features": {
                room: list(features) for room, features in self.chat_features.items()
            },
            "issued": None if self.issued is None else self.issued.isoformat(),
            "expires": None if self.expires is None else self.expires.isoformat(),
            "verified": self.verified,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        title = self.kind + (f" for key {self.key_name}" if self.key_name else "")
        rows: list[tuple[str, str]] = []
        if self.kind != ABLY_TOKEN:
            rows.append(("client id", _client_text(self.client_id)))
            rows.append(("capability", self.capability or "not set: all of the key's capability"))
        if self.issued is not None:
            rows.append(("issued", _moment_text(self.issued, self.now)))
        if self.expires is not None:
            rows.append(("expires", _moment_text(self.expires, self.now)))
        if self.issued is not None and self.expires is not None:
            rows.append(("lifetime", describe(self.expires - self.issued)))
        if self.verified is None:
            rows.append(("verified", "not checked (no key given)"))
        else:
            rows.append(("verified", "yes" if self.verified else "NO (see the problems below)"))
        lines = [title] + [f"  {label + ':':<12} {value}" for label, value in rows]
        lines += [
            f"  Chat room {room}: {', '.join(features)}"
            for room, features in self.chat_features.items()
        ]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems]
        return "\n".join(lines)


def _client_text(client_id: str | None) -> str:
    if client_id is None:
        return "none (anonymous: may not claim an identity)"
    if client_id == "*":
        return "* (wildcard: may act as any client id)"
    return client_id


def _moment_text(moment: datetime, now: datetime) -> str:
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    offset = moment - now
    relative = f"in {describe(offset)}" if offset > ZERO else f"{describe(-offset)} ago"
    return f"{stamp} ({'now' if offset == ZERO else relative})"


def explain(
    credential: str | Mapping[str, object] | TokenRequest | TokenDetails,
    key: ApiKey | KeyRing | str | None = None,
    *,
    now: datetime | None = None,
) -> Explanation:
    """Describe an Ably JWT, a TokenRequest or TokenDetails (object, dict or JSON text),
    or an opaque Ably token string. With ``key``, also verify it."""
    moment = check_now(now)
    if isinstance(credential, str):
        text = credential.strip()
        if text.startswith("{"):
            from ._json import loads_strict

            try:
                parsed = loads_strict(text)
            except (ValueError, RecursionError):
                raise MalformedTokenError(
                    "the text starts like JSON but is not valid JSON", code=None
                ) from None
            if not isinstance(parsed, dict):
                raise MalformedTokenError("the JSON is not an object", code=None)
            return explain(parsed, key, now=moment)
        if text.count(".") == 2:
            return _explain_jwt(text, key, moment)
        return _explain_opaque(text, moment)
    if isinstance(credential, TokenRequest):
        return _explain_token_request(credential, key, moment)
    if isinstance(credential, TokenDetails):
        return _explain_token_details(credential, moment)
    if isinstance(credential, Mapping):
        if "mac" in credential or "nonce" in credential:
            return _explain_token_request(credential, key, moment)
        return _explain_token_details(credential, moment)
    raise MalformedTokenError(
        f"explain() takes a JWT, a TokenRequest or TokenDetails, not {type(credential).__name__}",
        code=None,
    )


def _explain_jwt(token: str, key: ApiKey | KeyRing | str | None, moment: datetime) -> Explanation:
    header, claims = read_unverified(token)
    problems: list[str] = []
    notes: list[str] = []
    issued = _seconds_claim(claims, "iat", problems)
    expires = _seconds_claim(claims, "exp", problems)
    capability = claims.get("x-ably-capability")
    if capability is not None and not isinstance(capability, str):
        from ._json import dumps_compact

        capability = dumps_compact(capability)
        notes.append("x-ably-capability is a JSON object; the docs use JSON text")
    if issued is not None and issued > moment:
        notes.append(
            f"issued {describe(issued - moment)} in the future by this machine's clock: the "
            "issuer's clock is ahead of this one, and Ably refuses a JWT issued in the future"
        )
    if expires is not None and expires <= moment:
        problems.append(f"expired {describe(moment - expires)} ago")
    verified = None
    if key is not None:
        verified = _check(lambda: verify_jwt(token, key, now=moment), problems)
    return Explanation(
        kind=JWT,
        now=moment,
        key_name=header.get("kid") if isinstance(header.get("kid"), str) else None,
        client_id=_str_or_none(claims.get("x-ably-clientId")),
        capability=capability,
        issued=issued,
        expires=expires,
        verified=verified,
        problems=_unique(problems),
        notes=tuple(notes),
    )


def _explain_token_request(
    request: TokenRequest | Mapping[str, object],
    key: ApiKey | KeyRing | str | None,
    moment: datetime,
) -> Explanation:
    parsed = request if isinstance(request, TokenRequest) else TokenRequest.from_dict(request)
    problems: list[str] = []
    notes = ["a TokenRequest is good for one exchange at Ably, within 2 min of its timestamp"]
    age = moment - parsed.timestamp
    if age > TIMESTAMP_WINDOW:
        problems.append(
            f"signed {describe(age)} ago: Ably refuses it (40104 'Timestamp not current'); "
            "hand out a fresh one on every request and never cache it"
        )
    elif -age > TIMESTAMP_WINDOW:
        problems.append(
            f"timestamped {describe(-age)} in the future: the signer's clock is ahead, and Ably "
            "refuses it (40104)"
        )
    ttl: timedelta | None = parsed.ttl
    notes.append(
        "token lifetime: " + (describe(ttl) if ttl is not None else "not set: Ably's default, 1 h")
    )
    verified = None
    if key is not None:
        verified = _check(lambda: verify_token_request(parsed, key, now=moment), problems)
    return Explanation(
        kind=TOKEN_REQUEST,
        now=moment,
        key_name=parsed.key_name,
        client_id=parsed.client_id,
        capability=parsed.capability,
        issued=parsed.timestamp,
        verified=verified,
        problems=_unique(problems),
        notes=tuple(notes),
    )


def _explain_token_details(
    details: TokenDetails | Mapping[str, object], moment: datetime
) -> Explanation:
    parsed = details if isinstance(details, TokenDetails) else TokenDetails.from_dict(details)
    problems = []
    if parsed.expires <= moment:
        problems.append(f"expired {describe(moment - parsed.expires)} ago")
    return Explanation(
        kind=TOKEN_DETAILS,
        now=moment,
        key_name=parsed.key_name,
        client_id=parsed.client_id,
        capability=parsed.capability.to_json(),
        issued=parsed.issued,
        expires=parsed.expires,
        problems=tuple(problems),
        notes=("an Ably token is checked by Ably only; its signature cannot be checked here",),
    )


def _explain_opaque(token: str, moment: datetime) -> Explanation:
    if not token or any(char.isspace() for char in token):
        raise MalformedTokenError(
            "that is not an Ably credential: not a JWT, not TokenRequest or TokenDetails JSON",
            code=None,
        )
    return Explanation(
        kind=ABLY_TOKEN,
        now=moment,
        key_name=None,
        notes=(
            "an opaque Ably token: only Ably can read it; its TokenDetails (from "
            "request_token) say what it allows and when it expires",
        ),
    )


def _seconds_claim(claims: Mapping[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = claims.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return from_seconds(value)
        except ValueError:
            pass
    problems.append(f"the {name} claim is missing or not a time in seconds")
    return None


def _check(verify: Any, problems: list[str]) -> bool:
    try:
        verify()
    except TokenError as error:
        problems.append(f"{error.message} (Ably error {error.code})")
        return False
    except AuthKitError as error:
        problems.append(error.message)
        return False
    return True


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
