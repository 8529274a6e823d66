"""The realtime side of the emulator: the subset of Ably's WebSocket protocol that
authentication touches, enough for real ably-js and ``ably`` (``AblyRealtime``) clients.

Connections open a WebSocket on ``/`` with the query parameters the SDKs send (reference
section 8; spec RTN2): ``key=``, ``access_token=`` (ably-js) or ``accessToken=`` (spec,
ably-python), ``v=``, ``format=json|msgpack``, ``clientId=``, ``echo=false`` and
``heartbeats=``. JSON travels in text frames, msgpack in binary frames. The emulator
answers:

- ``CONNECTED`` (4) with a full ``connectionDetails`` (CD2), or ``ERROR`` (9) with the
  code of what is wrong with the credential (4014x, 40101, 40102) and then closes: the
  socket upgrade itself always succeeds, as ably-js and ably-python expect (RTN14b);
- ``HEARTBEAT`` (0) echoed with its ``id``; ``ATTACH`` (10) → ``ATTACHED`` (11, with a
  ``channelSerial``, RTL15b, as MESSAGE frames) or
  ``ERROR`` with ``channel`` and 40160 (the connection stays up, RTL14); ``DETACH`` (12)
  → ``DETACHED`` (13); ``MESSAGE`` (15) → ``ACK`` (1) / ``NACK`` (2) by ``msgSerial``,
  and delivery to the connections attached to the channel (REST publishes too);
  ``PRESENCE`` (14) → ``ACK``/``NACK``, and the presence set in ``SYNC`` (16) after
  ``ATTACHED`` (the rules are in ``_presence.py``);
  ``ANNOTATION`` (21) → ``ACK`` / ``NACK``, and delivery to the connections attached
  with the ``annotation_subscribe`` mode (``_annotations.py``); ``CLOSE`` (7) → ``CLOSED`` (8);
- expiry on the emulator's clock (RTN22, RTN15h): 30 seconds before a connection's token
  expires the emulator sends ``AUTH`` (17), as Ably's sandbox does; the client answers
  with ``AUTH`` and a new token, and gets a new ``CONNECTED`` with the same
  ``connectionId`` (RTN24). A token that has 30 seconds or less to live when the
  connection takes it gets no ``AUTH``. A connection whose token expires unrenewed gets
  ``DISCONNECTED`` (6) with 40142, one whose token is revoked gets ``DISCONNECTED`` with
  40141 (both token errors, so the SDKs renew and reconnect, RTN15h2);
- a key revoked as in Ably's dashboard (``emu.revoke_key``): ``ERROR`` with 40131 and the
  close for every connection of that key or of a credential it issued.

Everything here runs on the emulator's event loop. The service's listeners
(``on_publish``, ``on_revoke``) may be called from another thread and hop onto the loop.
The choices made where Ably's behaviour is not documented are marked ``Choice:``.

This module is the hub: the WebSocket endpoint, the registry of live connections,
the dispatch of each protocol message, delivery, and the AUTH/expiry timers. One
connection's state, its frames and the protocol's vocabulary are in ``_connection``.
Uses ``_common``, ``_connection``, ``_service``, ``_presence``, ``_annotations``,
``_mutable`` and ``_rewind``; ``emulator`` and the routes (``_routes``) use it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections import deque
from collections.abc import Mapping
from datetime import datetime

import msgpack
from aiohttp import WSMsgType, web

from ably_authkit.errors import AblyApiError

from ._annotations import annotate, deliver
from ._common import INTERNAL_ERROR, Credential, ably_error, json_text
from ._connection import (
    _CLOSE,
    _CONCRETE,
    ACK,
    ALL_MODES,
    ANNOTATION,
    ATTACH,
    ATTACHED,
    AUTH,
    CHANNEL_PARAMS,
    CLOSE,
    CLOSED,
    CLOSED_KEPT,
    CONNECT_LATENCY,
    DEFAULT_MODES,
    DETACH,
    DETACHED,
    DISCONNECT,
    DISCONNECTED,
    ERROR,
    HEARTBEAT,
    HEARTBEAT_EVERY,
    MAX_CHANNELS,
    MAX_FRAME_SIZE,
    MESSAGE,
    MODE_FLAGS,
    PRESENCE,
    READ_LIMIT,
    SYNC,
    RealtimeConnection,
    _channel,
    _Connection,
    _connection_client_id,
    _error_frame,
    _frame_size,
    _frame_too_big,
    _granted_modes,
    _nack,
    _Socket,
    _use,
    auth_due,
)
from ._metadata import Occupancy
from ._mutable import Attachments, changed_serials
from ._rewind import Rewinds
from ._service import Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Realtime"]

_log = logging.getLogger("ably_authkit.testing")


class Realtime:
    """The WebSocket endpoint and the live connections of one emulator."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._connections: dict[str, _Connection] = {}
        #: Snapshots of the latest connections to close, oldest first.
        self._closed: deque[RealtimeConnection] = deque(maxlen=CLOSED_KEPT)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._publisher: _Connection | None = None
        service.on_publish.append(self._published)
        #: What each attachment was sent, so appends reach it as Ably sends them.
        self.attachments = Attachments(service.mutable)
        self.rewinds = Rewinds(service, self.attachments)
        service.on_revoke.append(self._revoked)
        from ._presence import PresenceRelay

        #: Presence: the channels' presence sets, and PRESENCE/SYNC on these connections.
        self.presence = PresenceRelay(self)
        self.occupancy = Occupancy(self)  # [meta]occupancy events (its hooks: in presence)
        service.annotations.listeners.append(self._annotated)

    # -- what the emulator and tests use ---------------------------------------------

    def connections(self) -> list[RealtimeConnection]:
        """Snapshots of the live connections, oldest first (call on the loop)."""
        return [connection.snapshot() for connection in self._connections.values()]

    def closed_connections(self) -> list[RealtimeConnection]:
        """Snapshots of the latest connections to close, as they were then (call on the
        loop)."""
        return list(self._closed)

    def check_all(self) -> None:
        """Re-check every connection's credential against the clock (after advance())."""
        for connection in list(self._connections.values()):
            self._check(connection)
        self.presence.check()

    def drop_all(self) -> None:
        """Close every connection's transport, with no protocol message, as a server that
        lost its state would (``reset()``): a client reconnects, and is judged afresh."""
        for connection in list(self._connections.values()):
            connection.close()
            self._forget(connection)
        self._closed.clear()
        self.presence.clear()

    async def shutdown(self, app: web.Application) -> None:
        """Close every connection (the server is stopping)."""
        sockets = [connection.socket for connection in self._connections.values()]
        for connection in list(self._connections.values()):
            connection.close()
        self.presence.on_stop(list(self._connections.values()))
        for socket in sockets:
            await socket.close(code=1001, message=b"emulator stopping")
        self._connections.clear()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /``: the realtime WebSocket endpoint."""
        # Choice: with heartbeats=false (ably-js in Node) the emulator pings at the
        # WebSocket level, as Ably does; otherwise it sends HEARTBEAT messages.
        pings = HEARTBEAT_EVERY if request.query.get("heartbeats") == "false" else None
        binary = request.query.get("format") == "msgpack"
        socket = _Socket(binary=binary, max_msg_size=READ_LIMIT, heartbeat=pings)
        if not socket.can_prepare(request).ok:
            raise ably_error(
                40000,
                400,
                "This is the emulator's realtime endpoint: open a WebSocket here "
                "(GET / with Upgrade: websocket), as Ably's realtime SDKs do",
            )
        self._loop = loop = asyncio.get_running_loop()
        answer_at = loop.time() + CONNECT_LATENCY
        await socket.prepare(request)
        await asyncio.sleep(max(answer_at - loop.time(), 0.0))
        try:
            connection = self._open(request.query, socket, binary)
        except AblyApiError as error:
            # The upgrade succeeded; the refusal is an ERROR frame, then the close.
            frame = _error_frame(error, ERROR)
            if binary:
                await socket.send_bytes(msgpack.packb(frame, use_bin_type=True))
            else:
                await socket.send_str(json.dumps(frame, separators=(",", ":")))
            await socket.close()
            return socket
        connection.transport = request.transport
        self._connections[connection.id] = connection
        self.presence.on_open(connection, request.query)
        writer = asyncio.ensure_future(self._write(connection))
        try:
            connection.send(connection.connected())
            self._check(connection)
            await self._read(connection)
        finally:
            self._forget(connection)
            connection.close()
            try:
                await asyncio.wait_for(writer, timeout=5)
            except (asyncio.TimeoutError, ConnectionError):
                writer.cancel()
        return socket

    # -- connecting -------------------------------------------------------------------

    def _open(
        self, query: Mapping[str, str], socket: web.WebSocketResponse, binary: bool
    ) -> _Connection:
        version = query.get("v")
        if version is not None:
            try:
                number = float(version)
            except ValueError:
                number = 0.0
            if not number >= 1:
                raise ably_error(40017, 400, f"Unsupported protocol version {version!r}")
        kind = query.get("format", "json")
        if kind not in ("json", "msgpack"):
            raise ably_error(40000, 400, f"format must be json or msgpack, not {kind!r}")
        key_text = query.get("key")
        token = query.get("accessToken") or query.get("access_token")
        requested = query.get("clientId")
        with self.service.lock:
            if key_text and token:
                raise ably_error(40000, 400, "Send either key or accessToken, not both")
            if key_text:
                credential = self.service.basic(
                    base64.b64encode(key_text.encode("utf-8")).decode("ascii"), None
                )
            elif token:
                credential = self.service.token(token)
            else:
                raise ably_error(40101, 401, "No authentication: connect with key= or accessToken=")
            adopted = self.service.now()
        client_id = _connection_client_id(credential, requested)
        return _Connection(
            socket,
            binary=binary,
            credential=credential,
            adopted=adopted,
            client_id=client_id,
            echo=query.get("echo") != "false",
            protocol_heartbeats=query.get("heartbeats") != "false",
        )

    # -- reading and writing ---------------------------------------------------------

    async def _write(self, connection: _Connection) -> None:
        socket = connection.socket
        while True:
            try:
                item = await asyncio.wait_for(connection.outbox.get(), timeout=HEARTBEAT_EVERY)
            except asyncio.TimeoutError:
                if not connection.protocol_heartbeats:
                    continue
                item = {"action": HEARTBEAT}
            else:
                connection.taken(item)
            if socket.closed:
                return
            if item is _CLOSE:
                await socket.close()
                return
            if not isinstance(item, dict):
                continue
            try:
                frame = connection.encode(item)
            except Exception:  # the connection ends with an ERROR, never half alive
                _log.exception("emulator error encoding a message for a connection")
                self._forget(connection)
                connection.closing = True
                failure = ably_error(50000, 500, INTERNAL_ERROR)
                last = connection.encode(_error_frame(failure, ERROR))
                if isinstance(last, bytes):
                    await socket.send_bytes(last)
                else:
                    await socket.send_str(last)
                await socket.close()
                return
            if isinstance(frame, bytes):
                await socket.send_bytes(frame)
            else:
                await socket.send_str(frame)

    async def _read(self, connection: _Connection) -> None:
        async for frame in connection.socket:
            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY) and (
                _frame_size(frame.data) > MAX_FRAME_SIZE
            ):
                connection.close(_error_frame(_frame_too_big(), ERROR))
                continue
            if frame.type == WSMsgType.TEXT:
                try:
                    message = json.loads(frame.data)
                except ValueError:
                    message = None
            elif frame.type == WSMsgType.BINARY:
                try:
                    message = msgpack.unpackb(frame.data, raw=False, strict_map_key=False)
                except (ValueError, msgpack.UnpackException, TypeError):
                    message = None
            else:
                break
            if not isinstance(message, dict):
                connection.close(
                    _error_frame(ably_error(40000, 400, "not a protocol message"), ERROR)
                )
                continue
            try:
                self._receive(connection, message)
            except AblyApiError as error:  # a fault of the connection as a whole
                connection.close(_error_frame(error, ERROR))

    def _receive(self, connection: _Connection, message: dict[str, Any]) -> None:
        action = message.get("action")
        if connection.closing:
            return
        if action == HEARTBEAT:
            answer: dict[str, Any] = {"action": HEARTBEAT}
            if message.get("id") is not None:
                answer["id"] = message["id"]
            connection.send(answer)
        elif action == ATTACH:
            self._attach(connection, message)
        elif action == DETACH:
            channel = _channel(message)
            connection.channels.pop(channel, None)
            connection.send({"action": DETACHED, "channel": channel})
            self.presence.on_detach(connection, channel)
        elif action == MESSAGE:
            self._publish(connection, message)
        elif action == ANNOTATION:
            connection.send(annotate(self.service, connection, message))
        elif action == PRESENCE:
            self.presence.on_presence(connection, message)
        elif action == SYNC:
            self.presence.on_sync_request(connection, message)
        elif action == AUTH:
            self._reauthorize(connection, message)
        elif action == CLOSE:
            connection.close({"action": CLOSED})
            self.presence.on_close(connection)
        elif action == DISCONNECT:
            connection.close()

    # -- channels ---------------------------------------------------------------------

    def _attach(self, connection: _Connection, message: dict[str, Any]) -> None:
        try:
            channel = _channel(message)
        except AblyApiError as bad_name:
            # A bad name fails that channel, not the connection (as 40160 does, RTL14).
            named = message.get("channel")
            if not isinstance(named, str):
                raise  # no channel to fail: the connection's fault, as before
            # An empty name too (ably-js channel.test.js, channelattachempty: the
            # connection stays up).
            connection.send({**_error_frame(bad_name, ERROR), "channel": named})
            return
        capability = connection.credential.capability
        # Choice: a channel can be attached when the capability grants any operation on
        # it; ATTACHED's mode flags say which of publish/subscribe/presence it grants.
        if not any(capability.allows(channel, operation) for operation in _CONCRETE):
            error = ably_error(
                40160,
                401,
                f"Channel denied access based on given capability; "
                f"channelName = {channel}; the credential's capability does not allow it",
            )
            connection.send({**_error_frame(error, ERROR), "channel": channel})
            return
        if channel not in connection.channels and len(connection.channels) >= MAX_CHANNELS:
            too_many = ably_error(
                90010,
                400,
                f"Maximum number of channels per connection ({MAX_CHANNELS}) exceeded",
            )
            connection.send({**_error_frame(too_many, ERROR), "channel": channel})
            return
        granted = _granted_modes(capability, channel)
        asked_params = message.get("params")
        params: dict[str, str] | None = None
        if isinstance(asked_params, Mapping) and asked_params:
            # RTL4k1: ATTACHED carries the params the server recognised; the others are
            # dropped (ably-python realtimechannel_test.py: "foo" is skipped).
            params = {
                name: str(value)
                for name, value in asked_params.items()
                if name in CHANNEL_PARAMS and isinstance(value, (str, int, bool))
            }
        asked = message.get("flags")
        if params is not None and "modes" in params:
            # params.modes wins over the flags (ably-js channel.test.js,
            # attachWithChannelParamsModesAndChannelModes); unknown names are ignored.
            wanted = sum(
                MODE_FLAGS.get(name.strip().lower(), 0) for name in params["modes"].split(",")
            )
        elif isinstance(asked, int) and asked & ALL_MODES:
            wanted = asked & ALL_MODES
        else:
            wanted = DEFAULT_MODES
        try:  # the rewind param: the channel's past, after ATTACHED (_rewind)
            backlog = self.rewinds.backlog(connection, channel, wanted, params, message)
        except AblyApiError as bad_param:
            connection.send({**_error_frame(bad_param, ERROR), "channel": channel})
            return
        connection.channels[channel] = wanted
        self.attachments.attached(connection, channel)
        with self.service.lock:  # RTL15b: where the channel is; @ably/chat needs it
            position = self.service.mutable.position()
        attached: dict[str, Any] = {
            "action": ATTACHED,
            "channel": channel,
            "flags": granted & wanted,
            "channelSerial": position,
        }
        if params is not None:
            attached["params"] = params
            connection.echo_off.discard(channel)
            if params.get("echo") == "false":
                connection.echo_off.add(channel)
        backlog.mark(attached)
        self.presence.on_attach(connection, channel, attached)  # sends it, then SYNC
        self.rewinds.send(connection, channel, backlog)

    def _publish(self, connection: _Connection, message: dict[str, Any]) -> None:
        items = message.get("messages")
        serial = message.get("msgSerial")
        try:
            channel = _channel(message)
            if not isinstance(items, list) or not items:
                raise ably_error(40000, 400, "MESSAGE needs a non-empty messages array")
        except AblyApiError as error:
            connection.send(_nack(message, error))
            return
        modes = connection.channels.get(channel)
        if modes is not None and not modes & MODE_FLAGS["publish"]:
            # Attached without asking for the publish mode (ably-js channel.test.js,
            # checkCantPublish); the capability is the service's to check.
            refused = ably_error(
                40160,
                401,
                f"Unable to publish on {channel}: it was attached without 'publish' mode",
            )
            connection.send(_nack(message, refused))
            return
        messages = [dict(item) if isinstance(item, Mapping) else item for item in items]
        identity = connection.credential.acting_as(connection.client_id)
        service = self.service
        try:
            with service.lock:
                self._publisher = connection
                try:
                    # An update, delete or append (RTL32) is ACKed with its version serial.
                    change = changed_serials(service, identity, channel, messages)
                    # Messages with no id get connectionId:msgSerial:index, as Ably's do.
                    serials = change or [
                        stored["serial"]
                        for stored in service.publish(
                            identity, channel, messages, id_prefix=f"{connection.id}:{serial}"
                        )
                    ]
                finally:
                    self._publisher = None
        except AblyApiError as error:
            connection.send(_nack(message, error))
            return
        # TR4s: one PublishResult per acknowledged ProtocolMessage, with its serials.
        ack = {"action": ACK, "msgSerial": serial, "count": 1, "res": [{"serials": serials}]}
        # After the delivery scheduled above, so the publisher's echo comes before its ACK,
        # as from Ably: ably-python's realtimeannotations_test.py subscribes once publish()
        # returns and expects the next message to be the summary, not its own echo.
        loop = self._loop
        if loop is None:
            connection.send(ack)
        else:
            loop.call_soon(connection.send, ack)

    def _published(self, app_id: str, channel: str, messages: list[dict[str, Any]]) -> None:
        """``service.on_publish``: deliver to the app's attached connections (any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        publisher = self._publisher
        copied = [dict(message) for message in messages]
        with self.service.lock:  # the channelSerial its frame carries (RTL15b)
            position = self.service.mutable.position()
        loop.call_soon_threadsafe(self._deliver, app_id, channel, copied, publisher, position)

    def _annotated(self, app_id: str, channel: str, annotations: list[dict[str, Any]]) -> None:
        """``service.annotations.listeners``: deliver as ANNOTATION (any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(deliver, self._connections, app_id, channel, annotations)

    def check_connection_keys(self, credential: Credential, body: object) -> None:
        """A REST message published on behalf of a realtime connection names its
        ``connectionKey`` (TM2h): one that names no live connection of the credential's
        app is refused with 40006; a good one becomes the message's ``connectionId``, and
        is never passed on (TM2h: never populated for messages received). Call it on the
        emulator's loop."""
        app_id = credential.key.app_id
        for message in body if isinstance(body, list) else [body]:
            if not isinstance(message, dict) or "connectionKey" not in message:
                continue
            key = message.pop("connectionKey")
            owner = next(
                (
                    connection
                    for connection in self._connections.values()
                    if connection.key == key and connection.credential.key.app_id == app_id
                ),
                None,
            )
            if owner is None:
                raise ably_error(
                    40006,
                    400,
                    "Invalid connectionKey: it names no live realtime connection of this app",
                )
            message["connectionId"] = owner.id

    def _deliver(
        self,
        app_id: str,
        channel: str,
        messages: list[dict[str, Any]],
        publisher: _Connection | None,
        position: str,
    ) -> None:
        timestamp = messages[0].get("timestamp") if messages else None
        frame: dict[str, Any] = {"action": MESSAGE, "channel": channel, "messages": messages}
        frame["channelSerial"] = position
        if timestamp is not None:
            frame["timestamp"] = timestamp
        if publisher is not None:
            frame["connectionId"] = publisher.id
            for message in messages:
                message["connectionId"] = publisher.id
        size = 0  # what the frame holds in an outbox, about: measured once, if sent
        for connection in list(self._connections.values()):
            if channel not in connection.channels or connection.credential.key.app_id != app_id:
                continue
            if connection is publisher and (not connection.echo or channel in connection.echo_off):
                continue
            if not connection.channels[channel] & MODE_FLAGS["subscribe"]:
                continue
            if self.rewinds.sent_already(connection, channel, position):
                continue
            if not connection.credential.capability.allows(channel, "subscribe"):
                continue
            if not size:
                try:
                    size = len(json_text(frame))
                except (TypeError, ValueError):
                    size = MAX_FRAME_SIZE
            connection.send(self.attachments.frame(connection, app_id, channel, frame), size)
            if connection.closing:  # it could not keep up
                self._forget(connection)

    # -- authentication over the life of a connection ---------------------------------

    def _reauthorize(self, connection: _Connection, message: dict[str, Any]) -> None:
        """The client's AUTH (RTC8a): a new token for the same connection."""
        auth = message.get("auth")
        token = auth.get("accessToken") if isinstance(auth, Mapping) else None
        try:
            if not isinstance(token, str) or not token:
                raise ably_error(40101, 401, "AUTH needs auth.accessToken")
            with self.service.lock:
                credential = self.service.token(token)
                adopted = self.service.now()
            if credential.key.app_id != connection.credential.key.app_id:
                raise ably_error(40102, 401, "the new token belongs to another app")
            granted = credential.client_id
            if granted != "*" and granted != connection.client_id:
                raise ably_error(
                    40102,
                    401,
                    f"Incompatible clientId: the connection's is {connection.client_id!r}, "
                    f"the new token's is {granted!r}; a connection's clientId cannot change",
                )
        except AblyApiError as error:
            # RTC8a2: a failed reauthorisation fails the connection.
            connection.close(_error_frame(error, ERROR))
            self._forget(connection)
            return
        connection.credential = credential
        connection.credentials.append(_use(credential))
        connection.auth_due = auth_due(credential, adopted)
        connection.auth_requested = False
        # RTC8a1: a capability that no longer covers an attached channel fails it. One
        # that grows counts at once (ably-js test/realtime/reauth.test.js,
        # reauthCapabilityUpgradeAddPublish: publish works after the upgrade, with no
        # new attach), as each operation checks the current capability.
        for channel in sorted(connection.channels):
            if not any(credential.capability.allows(channel, op) for op in _CONCRETE):
                del connection.channels[channel]
                self.presence.on_detach(connection, channel)
                denied = ably_error(
                    40160, 401, f"Channel denied access based on given capability; {channel}"
                )
                connection.send({**_error_frame(denied, ERROR), "channel": channel})
        connection.send(connection.connected())
        self._check(connection)

    def _revoked(self, key_name: str) -> None:
        """``service.on_revoke`` (any thread): re-check that key's connections (after a
        token revocation, or the key's own)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def check() -> None:
            for connection in list(self._connections.values()):
                if connection.credential.key.name == key_name:
                    self._check(connection)

        loop.call_soon_threadsafe(check)

    def _check(self, connection: _Connection) -> None:
        """Disconnect, ask for a new token, or wait, as the clock and revocations say;
        then set the timer for the next moment that can change the answer."""
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None
        if connection.closing:
            return
        credential = connection.credential
        with self.service.lock:
            now = self.service.now()
            key_revoked = credential.key.name in self.service.revoked_keys
            revoked = self.service.revoked(credential, now)
            pending = self.service.pending_revocation(credential, now)
        if key_revoked:
            # Ably: "if a key is revoked entirely, ... all connections using that key (or a
            # token derived from that key) will be forcibly terminated" (docs, Capabilities).
            # Choice: ERROR 40131, not a token error, so the SDKs go FAILED, not renew.
            error = ably_error(40131, 401, "key/token status changed (revoke)")
            connection.close(_error_frame(error, ERROR))
            self._forget(connection)
            return
        if revoked:
            self._disconnect(connection, ably_error(40141, 401, "Token revoked"))
            return
        expires = credential.expires
        if expires is not None and expires <= now:
            self._disconnect(connection, ably_error(40142, 401, "Token expired"))
            return
        wake: list[datetime] = []
        if pending is not None:
            # allowReauthMargin: a hint to renew now, enforcement at appliesAt.
            self._request_auth(connection)
            wake.append(pending)
        if expires is not None:
            ask_at = connection.auth_due
            if ask_at is not None and now < ask_at:
                wake.append(ask_at)
            else:
                if ask_at is not None:
                    self._request_auth(connection)
                wake.append(expires)
        if wake and self._loop is not None:
            delay = max((min(wake) - now).total_seconds(), 0.0)
            connection.timer = self._loop.call_later(delay, self._check, connection)

    def _request_auth(self, connection: _Connection) -> None:
        if not connection.auth_requested:
            connection.auth_requested = True
            connection.send({"action": AUTH})

    def _disconnect(self, connection: _Connection, error: AblyApiError) -> None:
        connection.close(_error_frame(error, DISCONNECTED))
        self._forget(connection)

    def _forget(self, connection: _Connection) -> None:
        if self._connections.pop(connection.id, None) is not None:
            self._closed.append(connection.snapshot())
            self.presence.on_gone(connection)
        if connection.timer is not None:
            connection.timer.cancel()
            connection.timer = None
