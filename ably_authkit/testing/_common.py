"""What every concern of the emulator shares, at the bottom of its imports: Ably's error
(:func:`ably_error`, and the 50000 answer), the :class:`Credential` a request or a
connection authenticated as (and the Ably Chat ``userClaim`` it gives, :func:`user_claim`,
:func:`claim_extras`), the channel-name check, what a published value may hold
(:func:`_unportable`), JSON writing (:func:`json_text`), the parameters of a history page
(:class:`HistoryQuery`) and the time window of nonces and idempotency ids
(:class:`_Recent`). It imports nothing of the emulator; every other module may use it.
"""

from __future__ import annotations

import base64
import heapq
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from ably_authkit._json import is_text
from ably_authkit.capability import Capability
from ably_authkit.errors import AblyApiError, AuthKitError
from ably_authkit.keys import ApiKey

__all__ = ["Credential", "HistoryQuery", "ably_error", "check_channel", "json_text"]

_K = TypeVar("_K", bound=tuple[object, ...])
_V = TypeVar("_V")

HELP = "https://help.ably.io/error/"
#: The message of every 50000: the cause (a Python exception) goes to the
#: ``ably_authkit.testing`` logger, never to the client.
INTERNAL_ERROR = "emulator error: an internal error; its details are in the emulator's log"


def ably_error(code: int, status: int, message: str) -> AblyApiError:
    return AblyApiError(message, code=code, status_code=status, href=f"{HELP}{code}")


class Credential:
    """Who a request or a connection is: the key it belongs to, what it may do, as whom,
    until when, and (for tokens and JWTs) the text that identifies it."""

    __slots__ = (
        "capability",
        "channel_claims",
        "client_id",
        "expires",
        "issued",
        "key",
        "kind",
        "revocation_key",
        "room_claims",
        "token",
    )

    def __init__(
        self,
        *,
        kind: str,
        key: ApiKey,
        capability: Capability,
        client_id: str | None,
        issued: datetime | None = None,
        expires: datetime | None = None,
        token: str | None = None,
        revocation_key: str | None = None,
        room_claims: Mapping[str, str] | None = None,
        channel_claims: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind  # "basic", "token" or "jwt"
        self.key = key
        self.capability = capability
        self.client_id = client_id
        self.issued = issued
        self.expires = expires
        self.token = token
        self.revocation_key = revocation_key
        #: A JWT's ``ably.room.<room>`` and ``ably.channel.<resource>`` claims
        #: (``AblyJwtClaims.room_claims``, ``channel_claims``), read by
        #: :func:`user_claim` alone.
        self.room_claims: Mapping[str, str] = room_claims or {}
        self.channel_claims: Mapping[str, str] = channel_claims or {}

    def acting_as(self, client_id: str | None) -> Credential:
        """This credential as a connection uses it: with the connection's clientId."""
        return Credential(
            kind=self.kind,
            key=self.key,
            capability=self.capability,
            client_id=client_id,
            room_claims=self.room_claims,
            channel_claims=self.channel_claims,
        )


#: What ends the name of the channel behind an Ably Chat room, ``{room}::$chat`` (spec
#: CHA-RC3c; @ably/chat channel.ts).
CHAT_CHANNEL = "::$chat"


def user_claim(credential: Credential, channel: str) -> str | None:
    """The ``userClaim`` Ably gives what ``credential`` publishes on ``channel``: the
    JWT's claim for it, the most specific where several match (the channel's or room's
    own name, then the pattern with the most named segments: ``support:*`` before
    ``*``). For a room's channel ``{room}::$chat``, an ``ably.room.<pattern>`` claim
    matching the room (docs, chat/setup "User claims"); for another channel, an
    ``ably.channel.<pattern>`` claim matching it (docs, ai-transport
    identifying-users-and-agents "User claims"). None without one."""
    if channel.endswith(CHAT_CHANNEL):
        claims, name = credential.room_claims, channel[: -len(CHAT_CHANNEL)]
    else:
        claims, name = credential.channel_claims, channel
    best: tuple[int, int] | None = None
    found = None
    for pattern, value in claims.items():
        try:
            if not Capability({pattern: ["subscribe"]}).allows(name, "subscribe"):
                continue
        except AuthKitError:  # not a resource name: it matches nothing
            continue
        segments = pattern.split(":")
        rank = (0 if "*" in segments else 1, sum(segment != "*" for segment in segments))
        if best is None or rank > best:
            best, found = rank, value
    return found


def claim_extras(
    credential: Credential, channel: str, message: dict[str, Any], *, published: bool = False
) -> None:
    """Give ``message`` (being stored) the ``extras.userClaim`` of :func:`user_claim`.
    On a room's channel, every message, presence message and annotation gets it or none:
    a client's own never stays, as "Clients cannot send this field" (spec CHA-M2h,
    CHA-PR6g, CHA-T13a1, CHA-ER2a, CHA-MR7d). On another channel, a ``published``
    message gets it when the credential has a claim for the channel ("the most specific
    user claim matching the channel is automatically included under
    ``extras.userClaim`` in all messages the client publishes"); otherwise the message
    is left as it is."""
    room = channel.endswith(CHAT_CHANNEL)
    if not room and not published:
        return
    claim = user_claim(credential, channel)
    if not room and claim is None:
        return
    given = message.get("extras")
    extras = dict(given) if isinstance(given, Mapping) else {}
    extras.pop("userClaim", None)
    if claim is not None:
        extras["userClaim"] = claim
    if extras or isinstance(given, Mapping):
        message["extras"] = extras


class _Recent(Generic[_K, _V]):
    """What was seen within a time window: each entry with its time in ms, forgotten
    once :meth:`forget_before` passes it (a heap by time, so forgetting costs only what
    it forgets). The nonces of a key and the ids of idempotent publishing use it."""

    def __init__(self) -> None:
        self._entries: dict[_K, tuple[int, _V]] = {}
        self._ages: list[tuple[int, _K]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ident: object) -> bool:
        return ident in self._entries

    def get(self, ident: _K) -> _V | None:
        entry = self._entries.get(ident)
        return None if entry is None else entry[1]

    def add(self, ident: _K, at_ms: int, value: _V) -> None:
        self._entries[ident] = (at_ms, value)
        heapq.heappush(self._ages, (at_ms, ident))

    def forget_before(self, oldest_ms: int) -> None:
        ages = self._ages
        while ages and ages[0][0] < oldest_ms:
            at_ms, ident = heapq.heappop(ages)
            entry = self._entries.get(ident)
            if entry is not None and entry[0] == at_ms:
                del self._entries[ident]

    def clear(self) -> None:
        self._entries.clear()
        self._ages.clear()


class HistoryQuery(NamedTuple):
    """The parameters of a history request (RSL2b), resolved: ``start`` and ``end`` in
    ms, both inclusive; ``after``, the serial the page continues from."""

    start: int
    end: int
    forwards: bool
    limit: int
    after: int | None = None


def check_channel(channel: str) -> None:
    """Refuse a channel name Ably refuses: empty, starting with ':', or with a line break
    (ably-common errors/codes/40010.md: 40010, status 400, "invalid channel name")."""
    problem = None
    if not channel:
        problem = "it is empty"
    elif channel.startswith(":"):
        problem = "it starts with ':'"
    elif "\n" in channel or "\r" in channel:
        problem = "it contains a line break"
    elif not is_text(channel):
        # Choice: a name UTF-8 cannot write (msgpack, a URL) is not a name.
        problem = "it holds a lone surrogate (not Unicode text)"
    if problem is not None:
        raise ably_error(40010, 400, f"invalid channel name: {problem}")


#: Integers every JSON reader carries exactly (RFC 7493, I-JSON; JavaScript's safe range).
_JSON_INT = 2**53 - 1


def _unportable(value: object, where: str, depth: int = 0) -> str | None:
    """What in a published value one of Ably's two encodings cannot write, or None."""
    if depth > 64:
        return f"{where} is nested too deeply"
    if value is None or isinstance(value, (bytes, bool)):
        return None
    if isinstance(value, str):
        return None if is_text(value) else f"{where} holds a lone surrogate (not Unicode text)"
    if isinstance(value, int):
        return (
            None if -_JSON_INT <= value <= _JSON_INT else f"{where} is an integer beyond ±2**53-1"
        )
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}"
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                return f"{where} has a {type(name).__name__} map key"
            if not is_text(name):
                return f"{where} has a map key that holds a lone surrogate (not Unicode text)"
            problem = _unportable(item, f"{where}.{name}", depth + 1)
            if problem is not None:
                return problem
        return None
    # Only a list: msgpack's ExtType is a tuple, and neither JSON nor every msgpack
    # reader carries an extension type.
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _unportable(item, f"{where}[{index}]", depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, tuple) and type(value).__name__ == "ExtType":
        return f"{where} is a msgpack extension type"
    return f"{where} is a {type(value).__name__}"


def json_text(value: object) -> str:
    """Compact JSON for a client that speaks JSON: binary message data becomes base64,
    with ``base64`` added to its encoding (RSL4). Text UTF-8 cannot carry (an error that
    quotes a client's lone surrogate) is written as JSON escapes."""
    try:  # most values hold no bytes: written as they are, with no copy
        plain = value
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except TypeError:  # bytes somewhere: base64, and the encoding says so
        plain = _jsonable(value)
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return text if is_text(text) else json.dumps(plain, separators=(",", ":"))


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        fixed = {name: _jsonable(item) for name, item in value.items()}
        if isinstance(value.get("data"), bytes):
            encoding = value.get("encoding")
            fixed["encoding"] = f"{encoding}/base64" if encoding else "base64"
        return fixed
    return value
