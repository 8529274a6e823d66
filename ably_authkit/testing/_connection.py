"""One realtime connection, and the vocabulary of Ably's realtime protocol that every
realtime module speaks: the protocol actions (TR2) and channel mode flags (TR3), the
limits ``connectionDetails`` announces (CD2), the ERROR/NACK frames, the state of one
WebSocket (:class:`_Connection`: its outbox, its credential and the ones it used, its
attached channels) and the read-only snapshots tests get (:class:`RealtimeConnection`,
:class:`CredentialUse`).

Uses ``_common``; the hub (``_realtime``), presence (``_presence``), annotations
(``_annotations``), channel metadata (``_metadata``) and ``emulator`` use it. Everything
here runs on the emulator's event loop. The choices made where Ably's behaviour is not
documented are marked ``Choice:``.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import msgpack
from aiohttp import WSCloseCode, web

from ably_authkit._frozen import Frozen
from ably_authkit._time import ONE_MS
from ably_authkit.capability import OPERATIONS, Capability
from ably_authkit.errors import AblyApiError

from ._common import Credential, ably_error, check_channel, json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CredentialUse", "RealtimeConnection"]
# Protocol actions (TR2), as ably-js and ably-python number them.
HEARTBEAT, ACK, NACK, CONNECT, CONNECTED, DISCONNECT, DISCONNECTED = range(7)
CLOSE, CLOSED, ERROR, ATTACH, ATTACHED, DETACH, DETACHED = range(7, 14)
PRESENCE, MESSAGE, SYNC, AUTH = 14, 15, 16, 17
ANNOTATION = 21

# Channel mode flags (TR3): what ATTACHED says the connection may do on the channel, by
# the names ``params.modes`` and ably-js's ``channel.modes`` use (values: ably-js
# protocolmessagecommon.ts).
MODE_FLAGS = {
    "presence": 1 << 16,
    "publish": 1 << 17,
    "subscribe": 1 << 18,
    "presence_subscribe": 1 << 19,
    "annotation_publish": 1 << 21,
    "annotation_subscribe": 1 << 22,
    "object_subscribe": 1 << 24,
    "object_publish": 1 << 25,
}
PRESENCE_SUBSCRIBE = MODE_FLAGS["presence_subscribe"]
ALL_MODES = sum(MODE_FLAGS.values())
#: The modes an ATTACH that asks for none gets, as far as the capability allows (ably-js
#: test/realtime/channel.test.js, attachWithInvalidChannelParams: "presence,publish,
#: subscribe,presence_subscribe,annotation_publish").
DEFAULT_MODES = sum(
    MODE_FLAGS[name]
    for name in ("presence", "publish", "subscribe", "presence_subscribe", "annotation_publish")
)
# The capability operation each mode needs (presence_subscribe: see _granted_modes).
_MODE_OPERATION = {
    "presence": "presence",
    "publish": "publish",
    "subscribe": "subscribe",
    "annotation_publish": "annotation-publish",
    "annotation_subscribe": "annotation-subscribe",
    "object_subscribe": "object-subscribe",
    "object_publish": "object-publish",
}

#: The channel params Ably documents (docs, channels/options: rewind, delta, occupancy,
#: echo, objects; channels/options/rewind: rewindLimit) and ``modes``, which ATTACHED
#: echoes (RTL4k1). ``delta`` and ``objects`` do not act in the emulator.
CHANNEL_PARAMS = frozenset(
    {"rewind", "rewindLimit", "delta", "occupancy", "echo", "objects", "modes"}
)

# connectionDetails (CD2). Ably's production values, except the serverId/siteCode.
CONNECTION_STATE_TTL = timedelta(minutes=2)
MAX_IDLE_INTERVAL = timedelta(seconds=15)
MAX_MESSAGE_SIZE = 65536
MAX_FRAME_SIZE = 524288
#: The largest frame the emulator reads at all. A frame between MAX_FRAME_SIZE and this
#: is read whole, then refused with ERROR 40009 and a normal close; refusing it halfway
#: (aiohttp's own ``max_msg_size``) would close the socket with the rest of the frame
#: unread, which resets the TCP connection and can lose that ERROR before the client
#: reads it.
READ_LIMIT = 8 * MAX_FRAME_SIZE
MAX_INBOUND_RATE = 50
#: How often an idle connection gets a HEARTBEAT (real time: the clients' idle timers
#: run on their own clocks), well inside maxIdleInterval.
HEARTBEAT_EVERY = 10.0
#: The least time from a WebSocket request to the connection's first protocol message
#: (CONNECTED, or the ERROR that refuses it), in seconds: what a connect to Ably always
#: costs in round trips. Ably's SDK suites rely on it: ably-python's
#: realtimeconnection_test.py (test_connection_state_ttl) sets connectionStateTtl to 10 ms
#: and expects SUSPENDED before CONNECTED, then leaves the 10 ms in place for the tests
#: after it when that fails. On loopback a connect can take 5 ms, so those runs passed or
#: lost up to eight tests by the machine's load.
CONNECT_LATENCY = 0.05

#: Ably's sandbox sends AUTH 30 seconds before a connection's token expires, and none
#: to a connection whose token has 30 seconds or less to live: that one is DISCONNECTED
#: with 40142 at expiry (ably-js test/realtime/auth.test.js: "Sandbox sends an auth
#: protocol message 30 seconds before a token expires" in auth_jwt_with_token_that_renews,
#: 40142 for 5 s tokens in auth_token_expires and auth_jwt_with_token_that_expires).
AUTH_MARGIN = timedelta(seconds=30)

_CLOSE = object()  # the outbox sentinel: flush, then close the socket

#: The most a connection's outbox holds (frames sent but not yet written to its socket,
#: estimated as JSON bytes) before the connection is cut as one that cannot keep up.
OUTBOX_LIMIT = 16 * 1024 * 1024
#: What a frame other than a MESSAGE counts for in the outbox (an ACK, a HEARTBEAT, ...).
SMALL_FRAME = 256
#: How long (real seconds) a cut connection has to read its DISCONNECTED before its
#: transport is aborted.
OVERFLOW_GRACE = 5.0
#: The most (real seconds) a Chat REST answer waits for its delivery to be written to
#: the attached connections' sockets (:func:`written`): a connection that is slow to
#: read does not hold it up longer.
WRITTEN_WAIT = 0.5
#: And then how long (real seconds) before it answers, for the clients to read what was
#: written (an SDK inflates a compressed frame off its event loop): a REST call to Ably
#: over a network takes as long, and Ably's sandbox has the message reach the room's
#: connections first (docs/emulator.md, "Ably Chat").
READ_MARGIN = 0.025
#: How many credentials a connection's snapshot lists (its latest), and how many closed
#: connections ``closed_connections`` keeps (the latest to close).
CREDENTIALS_KEPT = 100
CLOSED_KEPT = 100
#: How many channels one connection may have attached: Ably refuses one more with
#: 90010/400, "Maximum number of channels per connection (<n>) exceeded" (docs,
#: platform/errors/codes/90010). Choice: the number, as Ably's depends on the account.
MAX_CHANNELS = 1000


async def written(connections: Mapping[str, _Connection], app_id: str, channel: str) -> None:
    """Wait (at most WRITTEN_WAIT) until each connection of ``app_id`` attached to
    ``channel`` has had written to its socket what was delivered to it so far, deliveries
    scheduled before this call included (the loop runs callbacks in order), then
    READ_MARGIN when there was one. Ably Chat's REST routes answer after it, so an
    attached client holds a Chat message, and the ``channelSerial`` its frame carries,
    before its sender holds the answer."""
    loop = asyncio.get_running_loop()
    markers: asyncio.Future[list[asyncio.Future[None]]] = loop.create_future()

    def mark() -> None:
        attached = [
            connection
            for connection in connections.values()
            if channel in connection.channels
            and connection.credential.key.app_id == app_id
            and not connection.closing
        ]
        pending: list[asyncio.Future[None]] = []
        for connection in attached:
            marker: asyncio.Future[None] = loop.create_future()
            connection._put(marker, 0)
            pending.append(marker)
        markers.set_result(pending)

    loop.call_soon(mark)
    pending = await markers
    if pending:
        await asyncio.wait(pending, timeout=WRITTEN_WAIT)
        await asyncio.sleep(READ_MARGIN)


def auth_due(credential: Credential, adopted: datetime) -> datetime | None:
    """When a connection that took ``credential`` at ``adopted`` is sent AUTH: 30 s
    before expiry, or never (a key; a token with 30 s or less left when taken)."""
    expires = credential.expires
    if expires is None or expires - adopted <= AUTH_MARGIN:
        return None
    return expires - AUTH_MARGIN


class CredentialUse(Frozen):
    """One credential a realtime connection used: the one it connected with, or one it
    took through AUTH. Never the key's secret, nor the token's text."""

    __slots__ = ("kind", "client_id", "issued", "expires", "key_name")

    #: ``"basic"`` (a key), ``"token"`` (an Ably token) or ``"jwt"`` (an Ably JWT).
    kind: str
    #: The credential's clientId (``"*"`` for a wildcard), or None.
    client_id: str | None
    #: When it was issued and when it expires (the emulator's clock); None for a key.
    issued: datetime | None
    expires: datetime | None
    #: The name of the key it is, or was issued by.
    key_name: str

    def __init__(
        self,
        *,
        kind: str,
        client_id: str | None,
        issued: datetime | None,
        expires: datetime | None,
        key_name: str,
    ) -> None:
        self._set("kind", kind)
        self._set("client_id", client_id)
        self._set("issued", issued)
        self._set("expires", expires)
        self._set("key_name", key_name)


def _use(credential: Credential) -> CredentialUse:
    return CredentialUse(
        kind=credential.kind,
        client_id=credential.client_id,
        issued=credential.issued,
        expires=credential.expires,
        key_name=credential.key.name,
    )


class RealtimeConnection(Frozen):
    """A read-only snapshot of one live connection, for tests (``emu.connections``)."""

    __slots__ = (
        "connection_id",
        "client_id",
        "credential_kind",
        "expires",
        "channels",
        "format",
        "key_name",
        "credentials",
    )

    #: The ``connectionId`` the client was given.
    connection_id: str
    #: The connection's clientId (``connectionDetails.clientId``), or None.
    client_id: str | None
    #: ``"basic"`` (a key), ``"token"`` (an Ably token) or ``"jwt"``.
    credential_kind: str
    #: When the current credential expires (the emulator's clock), None for a key.
    expires: datetime | None
    #: The channels this connection is attached to.
    channels: frozenset[str]
    #: ``"json"`` or ``"msgpack"``.
    format: str
    #: The name of the key the current credential is (or was issued by).
    key_name: str
    #: Every credential the connection used, in the order used: the one it connected
    #: with, then each one it took through AUTH (its latest 100).
    credentials: tuple[CredentialUse, ...]

    def __init__(
        self,
        *,
        connection_id: str,
        client_id: str | None,
        credential_kind: str,
        expires: datetime | None,
        channels: Iterable[str],
        format: str,
        key_name: str = "",
        credentials: Iterable[CredentialUse] = (),
    ) -> None:
        self._set("connection_id", connection_id)
        self._set("client_id", client_id)
        self._set("credential_kind", credential_kind)
        self._set("expires", expires)
        self._set("channels", frozenset(channels))
        self._set("format", format)
        self._set("key_name", key_name)
        self._set("credentials", tuple(credentials))


class _Connection:
    """The state of one WebSocket (owned by the emulator's loop)."""

    def __init__(
        self,
        socket: web.WebSocketResponse,
        *,
        binary: bool,
        credential: Credential,
        adopted: datetime,
        client_id: str | None,
        echo: bool,
        protocol_heartbeats: bool,
    ) -> None:
        self.socket = socket
        self.binary = binary
        self.credential = credential
        #: When AUTH is due for the current credential (None: never).
        self.auth_due = auth_due(credential, adopted)
        self.client_id = client_id
        self.echo = echo
        self.protocol_heartbeats = protocol_heartbeats
        self.id = secrets.token_urlsafe(9)
        self.key = f"{secrets.token_hex(4)}!{secrets.token_urlsafe(15)}"
        #: The attached channels, each with the mode flags it asked for (Ably's default
        #: set when it asked for none). What the capability allows is checked at each
        #: operation, so a capability upgraded through AUTH counts at once.
        self.channels: dict[str, int] = {}
        #: The channels attached with the ``echo=false`` channel param.
        self.echo_off: set[str] = set()
        self.outbox: asyncio.Queue[object] = asyncio.Queue()
        #: The estimated bytes waiting in the outbox, and each frame's, in order.
        self.pending = 0
        self._sizes: deque[int] = deque()
        #: The connection's transport, aborted if it cannot take its messages.
        self.transport: asyncio.Transport | None = None
        #: Every credential used, in order (the latest CREDENTIALS_KEPT).
        self.credentials: deque[CredentialUse] = deque([_use(credential)], CREDENTIALS_KEPT)
        self.timer: asyncio.TimerHandle | None = None
        self.auth_requested = False
        self.closing = False

    def send(self, message: dict[str, Any], size: int = SMALL_FRAME) -> None:
        if self.closing:
            return
        if self.pending + size > OUTBOX_LIMIT:
            self._overflow()
            return
        self._put(message, size)

    def _put(self, item: object, size: int) -> None:
        self.pending += size
        self._sizes.append(size)
        self.outbox.put_nowait(item)

    def taken(self, item: object = None) -> None:
        """The writer took ``item``, the next frame, out of the outbox: everything sent
        before it is written to the socket, which a :func:`written` marker waits for."""
        if self._sizes:
            self.pending -= self._sizes.popleft()
        if isinstance(item, asyncio.Future) and not item.done():
            item.set_result(None)

    def _overflow(self) -> None:
        """The client does not read its messages as fast as they come: its outbox is
        dropped and it is sent DISCONNECTED with 80020, and its transport is aborted if
        it has not read that within OVERFLOW_GRACE. Choice: Ably drops what a connection
        cannot take and tells it with 80020, "Continuity lost as message delivery rate
        exceeded" (docs, platform/errors/codes/80020); the emulator disconnects it with
        that code instead, so its memory is bounded and the SDK reconnects."""
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self._sizes.clear()
        self.pending = 0
        error = ably_error(
            80020,
            400,
            "Continuity lost: the connection did not read its messages as fast as they "
            f"came (over {OUTBOX_LIMIT // 2**20} MiB waiting)",
        )
        self.close(_error_frame(error, DISCONNECTED))
        if self.transport is not None:
            asyncio.get_running_loop().call_later(OVERFLOW_GRACE, self.transport.abort)

    def close(self, last: dict[str, Any] | None = None) -> None:
        """Send ``last`` (if any), then close the socket; nothing is sent after it."""
        if self.closing:
            return
        if last is not None:
            self._put(last, SMALL_FRAME)
        self.closing = True
        self._put(_CLOSE, 0)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def encode(self, message: dict[str, Any]) -> str | bytes:
        if self.binary:
            packed: bytes = msgpack.packb(message, use_bin_type=True)
            return packed
        return json_text(message)

    def details(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "connectionKey": self.key,
            "connectionStateTtl": CONNECTION_STATE_TTL // ONE_MS,
            "maxIdleInterval": MAX_IDLE_INTERVAL // ONE_MS,
            "maxMessageSize": MAX_MESSAGE_SIZE,
            "maxFrameSize": MAX_FRAME_SIZE,
            "maxInboundRate": MAX_INBOUND_RATE,
            "serverId": "emulator",
            "siteCode": "local",
        }

    def connected(self) -> dict[str, Any]:
        return {
            "action": CONNECTED,
            "connectionId": self.id,
            "connectionDetails": self.details(),
        }

    def snapshot(self) -> RealtimeConnection:
        return RealtimeConnection(
            connection_id=self.id,
            client_id=self.client_id,
            credential_kind=self.credential.kind,
            expires=self.credential.expires,
            channels=self.channels,  # RealtimeConnection keeps a frozen copy
            format="msgpack" if self.binary else "json",
            key_name=self.credential.key.name,
            credentials=self.credentials,
        )


def _frame_too_big() -> AblyApiError:
    return ably_error(
        40009,
        400,
        f"the frame is over the maximum frame size of {MAX_FRAME_SIZE} bytes "
        "(connectionDetails.maxFrameSize)",
    )


def _frame_size(data: str | bytes) -> int:
    if isinstance(data, bytes) or len(data) > MAX_FRAME_SIZE or 4 * len(data) <= MAX_FRAME_SIZE:
        return len(data)  # a str's UTF-8 size is between len() and 4 * len()
    return len(data.encode())


class _Socket(web.WebSocketResponse):
    """aiohttp closes a socket whose incoming frame is over ``max_msg_size`` (close code
    1009) from inside ``receive()``; this sends the client an ERROR (40009, the frame is
    too large) just before that close, so the SDK is told why. Only frames over
    READ_LIMIT get here; smaller ones over MAX_FRAME_SIZE are refused in ``_read``."""

    def __init__(self, *, binary: bool, max_msg_size: int, heartbeat: float | None) -> None:
        super().__init__(max_msg_size=max_msg_size, heartbeat=heartbeat)
        self._binary = binary
        self._told = False

    async def close(
        self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True
    ) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG and not self._told and not self.closed:
            self._told = True
            frame = _error_frame(_frame_too_big(), ERROR)
            try:
                if self._binary:
                    await self.send_bytes(msgpack.packb(frame, use_bin_type=True))
                else:
                    await self.send_str(json_text(frame))
            except (ConnectionError, RuntimeError):
                pass
        return await super().close(code=code, message=message, drain=drain)


# -- helpers -----------------------------------------------------------------------------

_CONCRETE = sorted(OPERATIONS - {"*"})


def _granted_modes(capability: Capability, channel: str) -> int:
    """The mode flags ``capability`` grants on ``channel``: each mode's operation, and
    presence_subscribe with subscribe (docs, Capabilities: "subscribe: Can subscribe to
    messages, objects, and presence state change messages on channels")."""
    modes = 0
    for name, operation in _MODE_OPERATION.items():
        if capability.allows(channel, operation):
            modes |= MODE_FLAGS[name]
    if capability.allows(channel, "subscribe"):
        modes |= PRESENCE_SUBSCRIBE
    return modes


def _connection_client_id(credential: Credential, requested: str | None) -> str | None:
    """The connection's clientId from the credential and the ``clientId`` parameter
    (RSA7, RSA15): a key or a wildcard token takes the parameter; a token with a
    clientId must agree with it; an anonymous token cannot name one."""
    if requested is not None and (not requested or requested == "*"):
        raise ably_error(40012, 400, "clientId must name one client, not '' or '*'")
    granted = credential.client_id
    if credential.kind == "basic":
        return requested
    if granted == "*":
        # A wildcard token's connection is "*" until it names a client (RSA7b4: the
        # SDK's auth.clientId becomes "*"; ably-js test/realtime/init.test.js,
        # init_usetokenauth_defaulttokenparams_wildcard).
        return "*" if requested is None else requested
    if requested is not None and requested != granted:
        raise ably_error(
            40102,
            401,
            f"Incompatible clientId: the parameter is {requested!r}, the token's is {granted!r}",
        )
    return granted


def _channel(message: Mapping[str, Any]) -> str:
    channel = message.get("channel")
    if not isinstance(channel, str) or not channel:
        raise ably_error(40010, 400, "the protocol message has no channel name")
    check_channel(channel)
    return channel


def _error_body(error: AblyApiError) -> dict[str, Any]:
    return {
        "code": error.code,
        "statusCode": error.status_code or 500,
        "message": error.message,
        "href": error.href,
    }


def _error_frame(error: AblyApiError, action: int) -> dict[str, Any]:
    return {"action": action, "error": _error_body(error)}


def _nack(message: Mapping[str, Any], error: AblyApiError) -> dict[str, Any]:
    return {
        "action": NACK,
        "msgSerial": message.get("msgSerial"),
        "count": 1,
        "error": _error_body(error),
    }
