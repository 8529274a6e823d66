"""What the endpoint reports about each answer: :class:`IssuedCredential` for a credential
handed out, :class:`RefusedRequest` for a refusal, and the log record of each.

Every answer of :meth:`AuthEndpoint.respond <ably_authkit.endpoint.AuthEndpoint.respond>`
(and its twins) is logged on the ``ably_authkit.endpoint`` logger: an issued credential at
``INFO`` (mode, clientId, key name, TTL, a digest of the capability, how many room and
channel claims a JWT carries), a refusal at
``INFO`` (4xx: the client's or user's doing) or ``WARNING`` (5xx: this server's or Ably's),
with its status, Ably code and message. The record's ``issuance`` attribute holds the value
object, for structured logging. Neither the credential nor the key's secret is in either:
the value objects hold no credential at all.

``AuthEndpoint(on_issue=..., on_refuse=...)`` receives the same value objects, synchronously,
before the answer is returned: to feed an audit log or a metrics counter.
"""

from __future__ import annotations

from ably_authkit._frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import timedelta
    from logging import Logger
    from typing import TypeVar

    from ably_authkit.capability import Capability

    _Record = TypeVar("_Record", "IssuedCredential", "RefusedRequest")

__all__ = ["IssuedCredential", "RefusedRequest"]

#: The endpoint's logger (the token mode's upstream failures are logged there too).
LOGGER_NAME = "ably_authkit.endpoint"
#: ``logging.INFO`` and ``logging.WARNING``, without importing :mod:`logging` (and :mod:`re`
#: behind it) before the first answer: a serverless authUrl pays every import on each cold start.
INFO, WARNING = 20, 30
#: How many hex digits of the capability's SHA-256 :attr:`IssuedCredential.capability_digest`
#: keeps: enough to tell grants apart in a log, short enough to read.
DIGEST_HEX_DIGITS = 16
#: The modes, shown as they are in a log line (any other text a request named is quoted).
_MODES = frozenset({"jwt", "token-request", "token"})
#: The longest mode text a :class:`RefusedRequest` keeps (the mode may be any URL segment).
_MODE_SHOWN = 40


class IssuedCredential(Frozen):
    """A credential the endpoint handed out, described without the credential.

    ``mode`` is ``"jwt"``, ``"token-request"`` or ``"token"``; ``client_id`` the identity it
    carries (``None``: anonymous; ``"*"``: any); ``key_name`` the key that signed it (or,
    in ``token`` mode, asked Ably for it); ``ttl`` its lifetime (a JWT's in whole seconds;
    in ``token`` mode, Ably's ``expires - issued``); ``capability`` what it allows, after
    the client's narrowing. :attr:`capability_digest` names the capability in a log.
    ``claimed_rooms`` and ``claimed_channels`` name the Chat rooms and channel resources
    a JWT carries claims for (the Grant's ``room_claims`` and ``channel_claims``): their
    names only, never the values, which may be personal data such as a display name.
    """

    __slots__ = (
        "mode",
        "client_id",
        "key_name",
        "ttl",
        "capability",
        "claimed_rooms",
        "claimed_channels",
    )

    mode: str
    client_id: str | None
    key_name: str
    ttl: timedelta
    capability: Capability
    claimed_rooms: tuple[str, ...]
    claimed_channels: tuple[str, ...]

    def __init__(
        self,
        *,
        mode: str,
        client_id: str | None,
        key_name: str,
        ttl: timedelta,
        capability: Capability,
        claimed_rooms: tuple[str, ...] = (),
        claimed_channels: tuple[str, ...] = (),
    ) -> None:
        self._set("mode", mode)
        self._set("client_id", client_id)
        self._set("key_name", key_name)
        self._set("ttl", ttl)
        self._set("capability", capability)
        self._set("claimed_rooms", tuple(claimed_rooms))
        self._set("claimed_channels", tuple(claimed_channels))

    @property
    def capability_digest(self) -> str:
        """The first 16 hex digits of the SHA-256 of the capability's canonical JSON text
        (``Capability.to_json()``, as the credential carries it): equal grants have equal
        digests, whatever order the app wrote them in."""
        return capability_digest(self.capability)


class RefusedRequest(Frozen):
    """An authUrl request answered without a credential, and why.

    ``mode`` is the mode as the request named it (cut to 40 characters: it may be any URL
    segment); ``client_id`` the signed-in user's granted identity, ``None`` when nobody
    was signed in (or the app was not asked: a mode the route does not serve); ``status``
    the HTTP status; ``code`` Ably's error code (40100 no user, 40102 another clientId
    asked for, 40160 nothing of the grant asked for, 40400 no such mode; a 502 carries
    Ably's own code); ``message`` the error message the client got.
    """

    __slots__ = ("mode", "client_id", "status", "code", "message")

    mode: str
    client_id: str | None
    status: int
    code: int
    message: str

    def __init__(
        self, *, mode: str, client_id: str | None, status: int, code: int, message: str
    ) -> None:
        self._set("mode", mode[:_MODE_SHOWN])
        self._set("client_id", client_id)
        self._set("status", status)
        self._set("code", code)
        self._set("message", message)


def capability_digest(capability: Capability) -> str:
    """:attr:`IssuedCredential.capability_digest` of ``capability``."""
    from hashlib import sha256

    return sha256(capability.to_json().encode("utf-8")).hexdigest()[:DIGEST_HEX_DIGITS]


def logger() -> Logger:
    """The ``ably_authkit.endpoint`` logger (imported on first use)."""
    import logging

    return logging.getLogger(LOGGER_NAME)


def wanted(level: int) -> bool:
    """Whether the endpoint's logger records ``level`` (a cached lookup in :mod:`logging`)."""
    return logger().isEnabledFor(level)


def report_issued(
    record: IssuedCredential, hook: Callable[[IssuedCredential], object] | None
) -> None:
    """Log ``record`` and hand it to ``hook``; the hook's exception is logged, then raised."""
    if wanted(INFO):
        claims = ""
        if record.claimed_rooms or record.claimed_channels:  # how many, never the values
            rooms, channels = len(record.claimed_rooms), len(record.claimed_channels)
            claims = f" claims: {rooms} room, {channels} channel"
        logger().info(
            "issued %s: clientId=%s key=%s ttl=%ss capability=sha256:%s%s",
            record.mode,
            "(none)" if record.client_id is None else repr(record.client_id),
            record.key_name,
            _seconds(record.ttl),
            record.capability_digest,
            claims,
            extra={"issuance": record},
        )
    if hook is not None:
        _call(hook, record, "on_issue")


def report_refused(record: RefusedRequest, hook: Callable[[RefusedRequest], object] | None) -> None:
    """Log ``record`` (5xx as a warning) and hand it to ``hook``, as :func:`report_issued`."""
    level = WARNING if record.status >= 500 else INFO
    if wanted(level):
        logger().log(
            level,
            "refused %s: status=%s code=%s clientId=%s: %s",
            record.mode if record.mode in _MODES else repr(record.mode),
            record.status,
            record.code,
            "(none)" if record.client_id is None else repr(record.client_id),
            record.message,
            extra={"issuance": record},
        )
    if hook is not None:
        _call(hook, record, "on_refuse")


def _call(hook: Callable[[_Record], object], record: _Record, name: str) -> None:
    try:
        hook(record)
    except Exception:
        # Fail closed: no answer leaves whose report failed. The framework answers 500
        # and its error tracker sees the exception; this line says which answer it was.
        logger().exception("%s raised for %r; the answer was not sent", name, record)
        raise


def _seconds(ttl: timedelta) -> str:
    seconds = ttl.total_seconds()
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:.3f}"
