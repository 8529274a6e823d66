"""Presence, as Ably does it: the presence set of each channel of each app, its history,
and every rule for entering, updating and leaving, in one place for the realtime protocol
(PRESENCE and SYNC) and the REST routes (``GET /channels/{id}/presence`` and
``.../presence/history``) alike.

- A member is one ``clientId`` on one connection (the ``memberKey``,
  ``connectionId:clientId``, TP3h); entering again is an update (docs, realtime-sdk
  presence: "Entering when already entered is treated as an update"); updating when not
  entered enters (RTP9b); leaving when not entered is acknowledged and does nothing (RTP10d).
- Entering, updating and leaving need the ``presence`` capability and the ``presence``
  mode (40160/401); a connection with no clientId of its own (anonymous, or a wildcard
  that names none) gets 91000/400 (ably-common errors/codes/91000.md); a clientId other
  than the connection's, or one an anonymous token names, gets 40012/400 (40012.md). A
  key or a wildcard token may enter any clientId (RTP15a). The channel must be attached
  (91001/400).
- Presence events and the presence set (ATTACHED's HAS_PRESENCE flag, then SYNC with a
  ``<sync id>:<cursor>`` channelSerial ending with an empty cursor, RTP1, RTP18) go to
  connections attached with the ``presence_subscribe`` mode and the ``subscribe``
  capability; a connection always hears about its own members (RTP17a).
- A connection's members leave at once when it closes (CLOSE) or detaches the channel,
  and 15 seconds after its transport drops otherwise (docs, presence "Handle unstable
  connections": 15 s, ``remainPresentFor`` down to 1 s); on the emulator's clock, so
  ``advance()`` brings it forward.

Everything here runs on the emulator's event loop. Choices where Ably says nothing are
marked ``Choice:`` and listed in ``docs/emulator.md``.

Uses ``_common``, ``_connection`` and ``_metadata`` (occupancy, and the hub as it
sees it, ``Hub``); the realtime hub (``_realtime``), the routes
(``_routes``) and ``emulator`` use it.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ably_authkit._time import ONE_MS, to_ms
from ably_authkit.errors import AblyApiError

from ._common import Credential, HistoryQuery, _unportable, ably_error, claim_extras
from ._connection import ACK, MODE_FLAGS, PRESENCE, PRESENCE_SUBSCRIBE, SYNC, _channel, _nack

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

    from ._connection import _Connection
    from ._metadata import Hub

__all__ = ["Member", "PresenceRelay"]

# PresenceMessage actions (TP2; ably-js presencemessage.ts, ably-python PresenceAction).
ABSENT, PRESENT, ENTER, LEAVE, UPDATE = range(5)
_VERBS = {ENTER: "enter", LEAVE: "leave", UPDATE: "update"}
#: ATTACHED's flag saying a SYNC of the presence set follows (TR3, RTP1).
HAS_PRESENCE = 1 << 0
#: Members per SYNC message. Choice: Ably sends the set in pages; 100 per page.
SYNC_PAGE = 100
#: How long the members of a connection that dropped stay present (docs, presence:
#: "remain present for 15 seconds after they are abruptly disconnected"), and the least
#: a ``remainPresentFor`` transport parameter can make it ("a minimum of 1 second").
REMAIN_PRESENT = timedelta(seconds=15)
MIN_REMAIN_PRESENT = timedelta(seconds=1)
#: Choice: the most members one channel holds (Ably limits it too: 91003).
MAX_MEMBERS = 10_000
#: Choice: the most presence events kept per channel for presence history, newest
#: (within the history retention: 2 minutes, 24 h in a persisted namespace).
HISTORY_LIMIT = 1_000
#: How often (emulator ms) every channel's presence events past their retention are
#: forgotten, and the channels left with no member and no event with them.
SWEEP_MS = 2 * 60 * 1000
#: The fields of a PresenceMessage a client may send (TP3).
_FIELDS = ("id", "clientId", "data", "encoding", "extras")


class Member(Mapping[str, Any]):
    """One member of a channel's presence set, for tests (``emu.present(channel)``): a
    read-only mapping of the PresenceMessage as the emulator holds it (``clientId``,
    ``connectionId``, ``data`` as sent with its ``encoding``, ``timestamp``, ``id``);
    ``client_id``, ``connection_id`` and ``data`` (decoded from ``json``, ``utf-8`` and
    ``base64``, as the SDKs decode it; an encrypted payload stays as sent)."""

    __slots__ = ("_message",)

    def __init__(self, message: Mapping[str, Any]) -> None:
        self._message = dict(message)

    def __getitem__(self, name: str) -> Any:
        return self._message[name]

    def __iter__(self) -> Any:
        return iter(self._message)

    def __len__(self) -> int:
        return len(self._message)

    def __repr__(self) -> str:
        return f"Member(client_id={self.client_id!r}, connection_id={self.connection_id!r})"

    @property
    def client_id(self) -> str:
        return str(self._message["clientId"])

    @property
    def connection_id(self) -> str:
        return str(self._message["connectionId"])

    @property
    def data(self) -> Any:
        return _decoded(self._message.get("data"), self._message.get("encoding"))


def _decoded(data: Any, encoding: object) -> Any:
    """``data`` with the ``json``, ``utf-8`` and ``base64`` steps of its ``encoding``
    undone, last first (RSL6); it stops at any other step (a cipher)."""
    steps = encoding.split("/") if isinstance(encoding, str) and encoding else []
    while steps:
        step = steps[-1]
        if step == "base64" and isinstance(data, str):
            data = base64.b64decode(data)
        elif step == "utf-8" and isinstance(data, bytes):
            data = data.decode("utf-8")
        elif step == "json" and isinstance(data, (str, bytes)):
            data = json.loads(data)
        else:
            break
        steps.pop()
    return data


class _Channel:
    """The presence set of one channel of one app, and its presence history."""

    __slots__ = ("events", "members")

    def __init__(self) -> None:
        #: memberKey -> (serial, the member as a PRESENT message); the newest last.
        self.members: dict[str, tuple[int, dict[str, Any]]] = {}
        #: (serial, event) of the channel's presence events, oldest first.
        self.events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=HISTORY_LIMIT)


class PresenceRelay:
    """The presence sets of every app's channels, and presence over the realtime
    connections of ``realtime`` (which calls the ``on_*`` hooks)."""

    def __init__(self, realtime: Hub) -> None:
        self.realtime = realtime
        self.service = realtime.service
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._serial = 0
        #: connection id -> how long its members stay after its transport drops.
        self._remain: dict[str, timedelta] = {}
        #: connection id -> (app id, when its members leave): connections gone abruptly.
        self._leaving: dict[str, tuple[str, datetime]] = {}
        self._timer: asyncio.TimerHandle | None = None
        #: When (ms) every channel was last swept (SWEEP_MS).
        self._swept = 0

    # -- what tests and REST routes read ----------------------------------------------

    def present(self, channel: str, app_id: str | None) -> list[Member]:
        """The members of ``channel`` (in every app, or in ``app_id``'s), oldest first."""
        found = [
            (serial, message)
            for (app, name), state in self._channels.items()
            if name == channel and (app_id is None or app == app_id)
            for serial, message in state.members.values()
        ]
        return [Member(message) for _, message in sorted(found, key=lambda item: item[0])]

    def rest_get(
        self,
        credential: Credential,
        channel: str,
        *,
        limit: int,
        client_id: str | None,
        connection_id: str | None,
        after: int | None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """``GET /channels/{id}/presence`` (RSP3): one page of the members, newest first,
        filtered by ``clientId`` and ``connectionId``; and where the next page starts.
        The ``subscribe`` capability gets the presence set (docs, Capabilities)."""
        self.service.require(credential, channel, "subscribe")
        state = self._channels.get((credential.key.app_id, channel))
        members = sorted(state.members.values(), reverse=True) if state else []
        selected = [
            (serial, message)
            for serial, message in members
            if (client_id is None or message["clientId"] == client_id)
            and (connection_id is None or message["connectionId"] == connection_id)
            and (after is None or serial < after)
        ]
        page = selected[:limit]
        following = page[-1][0] if len(selected) > limit else None
        return [dict(message) for _, message in page], following

    def rest_history(
        self, credential: Credential, channel: str, query: HistoryQuery
    ) -> tuple[list[dict[str, Any]], int | None]:
        """``GET /channels/{id}/presence/history`` (RSP4): one page of the presence
        events, as message history pages (``start``/``end``/``direction``/``limit``).
        The ``history`` capability reads it (docs, Capabilities: "message and presence
        state history")."""
        self.service.require(credential, channel, "history")
        app_id = credential.key.app_id
        state = self._channels.get((app_id, channel))
        with self.service.lock:
            oldest = to_ms(self.service.now()) - self.service._retention_ms(app_id, channel)
        selected = [
            (serial, event)
            for serial, event in (state.events if state else ())
            if max(query.start, oldest) <= event["timestamp"] <= query.end
            and (
                query.after is None
                or (serial > query.after if query.forwards else serial < query.after)
            )
        ]
        if not query.forwards:
            selected.reverse()
        page = selected[: query.limit]
        following = page[-1][0] if len(selected) > query.limit else None
        return [dict(event) for _, event in page], following

    def add_fixtures(self, app_id: str, spec: object) -> None:
        """The ``presence`` members that a test-app spec's ``channels`` declare (ably-common
        test-app-setup.json: ``persisted:presence_fixtures``), present for good as if
        entered by one connection of the app's own when the app is made."""
        channels = spec.get("channels") if isinstance(spec, Mapping) else None
        now = to_ms(self.service.now())
        for spec_channel in channels if isinstance(channels, list) else ():
            if not isinstance(spec_channel, Mapping) or not isinstance(
                spec_channel.get("name"), str
            ):
                continue
            members = spec_channel.get("presence")
            entries = []
            connection_id = f"{app_id}-fixtures"
            for index, member in enumerate(members if isinstance(members, list) else ()):
                if isinstance(member, Mapping) and isinstance(member.get("clientId"), str):
                    entry = {
                        "id": f"{connection_id}:0:{index}",
                        "action": ENTER,
                        "clientId": member["clientId"],
                        "connectionId": connection_id,
                        "timestamp": now,
                    }
                    for field in ("data", "encoding"):
                        if field in member:
                            entry[field] = member[field]
                    entries.append(entry)
            self._apply(app_id, spec_channel["name"], entries)

    def clear(self) -> None:
        """Forget every presence set and event (``emu.reset()``)."""
        self._channels.clear()
        self._remain.clear()
        self._leaving.clear()
        self._swept = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- the realtime hooks ------------------------------------------------------------

    def on_open(self, connection: _Connection, query: Mapping[str, str]) -> None:
        """A connection opened: how long its members stay if its transport drops (the
        ``remainPresentFor`` transport parameter, in ms, at least 1 s; docs, presence)."""
        text = query.get("remainPresentFor")
        if text is not None and text.isascii() and text.isdigit() and len(text) < 10:
            self._remain[connection.id] = max(int(text) * ONE_MS, MIN_REMAIN_PRESENT)

    def on_presence(self, connection: _Connection, message: Mapping[str, Any]) -> None:
        """A PRESENCE (14) from a client: ACK and the events, or NACK (RTP8h, RTP8i)."""
        credential = connection.credential
        app_id = credential.key.app_id
        try:
            channel = _channel(message)
            items = message.get("presence")
            if not isinstance(items, list) or not items:
                raise ably_error(40000, 400, "PRESENCE needs a non-empty presence array")
            modes = connection.channels.get(channel)
            if modes is None:
                raise ably_error(
                    91001,
                    400,
                    f"Unable to enter presence channel (invalid channel state: {channel} "
                    "is not attached); attach it first",
                )
            with self.service.lock:
                self.service.require(credential, channel, "presence")
                now = to_ms(self.service.now())
            if not modes & MODE_FLAGS["presence"]:
                raise ably_error(
                    40160,
                    401,
                    f"Unable to enter presence on {channel}: it was attached without "
                    "'presence' mode",
                )
            serial = message.get("msgSerial")
            entries = [
                self._entry(connection, item, f"{connection.id}:{serial}:{index}", now)
                for index, item in enumerate(items)
            ]
            for entry in entries:  # Ably Chat's userClaim on a room's members (CHA-PR6g)
                claim_extras(credential, channel, entry)
            state = self._channels.get((app_id, channel))
            present = state.members if state else {}
            joining = {
                f"{entry['connectionId']}:{entry['clientId']}"
                for entry in entries
                if entry["action"] != LEAVE
            }.difference(present)
            if joining and len(present) + len(joining) > MAX_MEMBERS:
                raise ably_error(
                    91003,
                    400,
                    "Unable to enter member to presence channel; maximum number of "
                    f"{MAX_MEMBERS} members exceeded",
                )
        except AblyApiError as error:
            connection.send(_nack(message, error))
            return
        self._publish(app_id, channel, self._apply(app_id, channel, entries))
        # After the events, so the client's own presence set has the member when its
        # enter() resolves.
        connection.send({"action": ACK, "msgSerial": message.get("msgSerial"), "count": 1})

    def on_attach(self, connection: _Connection, channel: str, attached: dict[str, Any]) -> None:
        """Send ATTACHED, with HAS_PRESENCE when the channel has members this connection
        is sent, then the set in SYNC (16) pages (RTP1, RTP18): ``channelSerial``
        ``<sync id>:<cursor>``, the last with an empty cursor (RTP18b)."""
        state = self._channels.get((connection.credential.key.app_id, channel))
        members = (
            [message for _, message in state.members.values()]
            if state is not None and self._subscribed(connection, channel)
            else []
        )
        if members:
            attached["flags"] = attached.get("flags", 0) | HAS_PRESENCE
        connection.send(attached)
        if members:
            self._sync(connection, channel, members)
        self.realtime.occupancy.on_attach(connection, channel, attached.get("params"))

    def on_sync_request(self, connection: _Connection, message: Mapping[str, Any]) -> None:
        """A SYNC (16) from a client asks for the presence set again (ably-js
        ``channel.sync()``; its suite's leave_published_for_member_missing_from_sync,
        RTP19): the set in SYNC pages, one with an empty ``presence`` when there is no
        one, so the client's sync ends. Choice: ignored on a channel not attached, or
        whose presence this connection is not sent."""
        channel = message.get("channel")
        if not isinstance(channel, str) or not self._subscribed(connection, channel):
            return
        state = self._channels.get((connection.credential.key.app_id, channel))
        members = [member for _, member in state.members.values()] if state else []
        self._sync(connection, channel, members)

    def _sync(self, connection: _Connection, channel: str, members: list[dict[str, Any]]) -> None:
        """Send ``members`` in SYNC pages: ``channelSerial`` ``<sync id>:<cursor>``, the
        last with an empty cursor (RTP18a, RTP18b)."""
        sync_id = secrets.token_hex(4)
        for start in range(0, max(len(members), 1), SYNC_PAGE):
            page = members[start : start + SYNC_PAGE]
            last = start + SYNC_PAGE >= len(members)
            cursor = "" if last else str(start + SYNC_PAGE)
            connection.send(
                {
                    "action": SYNC,
                    "channel": channel,
                    "channelSerial": f"{sync_id}:{cursor}",
                    "presence": [dict(member) for member in page],
                }
            )

    def on_detach(self, connection: _Connection, channel: str) -> None:
        """The connection left the channel (DETACH, or a capability that no longer
        covers it): its members there leave at once (docs, presence: "implicitly when
        detaching from the channel")."""
        self._leave(connection.credential.key.app_id, connection.id, channel)
        self.realtime.occupancy.on_detach(connection, channel)

    def on_close(self, connection: _Connection) -> None:
        """CLOSE: the connection's members leave at once (docs, presence: "If a client
        calls leave() or close() they immediately send a leave event")."""
        self._remain.pop(connection.id, None)
        self._leave(connection.credential.key.app_id, connection.id, None)
        self.realtime.occupancy.on_gone(connection)

    def on_gone(self, connection: _Connection) -> None:
        """The connection is gone any other way (its transport dropped, DISCONNECTED,
        ERROR): its members leave after ``remainPresentFor`` (15 s), on the emulator's
        clock (docs, presence "Handle unstable connections")."""
        self.realtime.occupancy.on_gone(connection)
        remain = self._remain.pop(connection.id, REMAIN_PRESENT)
        app_id = connection.credential.key.app_id
        if not any(
            message["connectionId"] == connection.id
            for (app, _), state in self._channels.items()
            if app == app_id
            for _, message in state.members.values()
        ):
            return
        with self.service.lock:
            now = self.service.now()
        self._leaving[connection.id] = (app_id, now + remain)
        self.check()

    def on_stop(self, connections: list[_Connection]) -> None:
        """The server is stopping: every connection's members leave now, those of
        connections gone before too (a restarted emulator has no connections)."""
        for connection in connections:
            self._remain.pop(connection.id, None)
            self._leave(connection.credential.key.app_id, connection.id, None)
        for connection_id, (app_id, _) in sorted(self._leaving.items()):
            self._leave(app_id, connection_id, None)
        self._leaving.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def check(self) -> None:
        """Let the members of connections gone abruptly leave once their time has come
        (after ``emu.advance()`` too), and set the timer for the next."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with self.service.lock:
            now = self.service.now()
        for connection_id, (app_id, due) in sorted(self._leaving.items()):
            if due <= now:
                del self._leaving[connection_id]
                self._leave(app_id, connection_id, None)
        loop = self.realtime._loop
        if self._leaving and loop is not None and not loop.is_closed():
            due = min(moment for _, moment in self._leaving.values())
            delay = max((due - now).total_seconds(), 0.0)
            self._timer = loop.call_later(delay, self.check)

    # -- the rules -----------------------------------------------------------------------

    def _entry(self, connection: _Connection, item: object, ident: str, now: int) -> dict[str, Any]:
        """The presence event one PresenceMessage of ``connection`` asks for, checked."""
        if not isinstance(item, Mapping):
            raise ably_error(40000, 400, "a presence message must be an object")
        action = item.get("action")
        if isinstance(action, bool) or action not in _VERBS:
            raise ably_error(
                40000,
                400,
                f"a presence message's action must be 2 (enter), 3 (leave) or 4 (update), "
                f"not {action!r}",
            )
        verb = _VERBS[action]
        own = connection.client_id
        client_id = item.get("clientId")
        if client_id is None:
            if own is None or own == "*":
                # ably-common errors/codes/91000.md: "unable to enter presence channel
                # (no clientId)", 400; also for a wildcard connection naming nobody.
                raise ably_error(91000, 400, f"Unable to {verb} presence channel (no clientId)")
            client_id = own
        elif not isinstance(client_id, str) or not client_id or client_id == "*":
            raise ably_error(40012, 400, "a presence message's clientId must name one client")
        elif own is not None and own != "*" and client_id != own:
            raise ably_error(
                40012,
                400,
                f"Unable to {verb} presence channel as {client_id!r}: the connection's "
                f"clientId is {own!r}",
            )
        elif own is None and connection.credential.kind != "basic":
            # Choice: an anonymous token may not name a client, as for messages (RSA7).
            raise ably_error(
                40012,
                400,
                f"Unable to {verb} presence channel as {client_id!r}: this credential has "
                "no clientId, so it cannot name one",
            )
        problem = _unportable(
            {field: item[field] for field in ("data", "extras") if field in item}, "presence"
        )
        if problem is not None:
            raise ably_error(40013, 400, f"Invalid presence message data: {problem}")
        given = item.get("id")
        entry: dict[str, Any] = {
            # A client's own id (RTP17g: re-entry on the same connection), else
            # connectionId:msgSerial:index (RTP2b2).
            "id": given if isinstance(given, str) and given else ident,
            "action": action,
            "clientId": client_id,
            "connectionId": connection.id,
            "timestamp": now,
        }
        for field in ("data", "encoding", "extras"):
            if item.get(field) is not None:
                entry[field] = item[field]
        return entry

    def _apply(
        self, app_id: str, channel: str, entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Apply checked presence messages to the channel's set; return the events."""
        state = self._channels.setdefault((app_id, channel), _Channel())
        events = []
        for entry in entries:
            key = f"{entry['connectionId']}:{entry['clientId']}"
            current = state.members.get(key)
            if entry["action"] == LEAVE:
                if current is None:
                    continue  # RTP10d: acknowledged, nothing happens
                del state.members[key]
                if "data" not in entry:
                    # RTP8e: a leave without data carries the member's last data.
                    for field in ("data", "encoding"):
                        if field in current[1]:
                            entry[field] = current[1][field]
            else:
                entry["action"] = ENTER if current is None else UPDATE
            self._serial += 1
            if entry["action"] != LEAVE:
                state.members.pop(key, None)  # the newest member last
                state.members[key] = (self._serial, {**entry, "action": PRESENT})
            state.events.append((self._serial, entry))
            events.append(entry)
        with self.service.lock:
            now = to_ms(self.service.now())
        self._forget_old(app_id, channel, state, now)
        if now - self._swept >= SWEEP_MS:
            self._swept = now
            for (app, name), other in list(self._channels.items()):
                self._forget_old(app, name, other, now)
        return events

    def _forget_old(self, app_id: str, channel: str, state: _Channel, now: int) -> None:
        """Forget the channel's presence events past their retention, and the channel
        once it has no member and no event left. Presence history keeps what message
        history keeps: 2 minutes, 24 h in a persisted namespace (docs, presence
        "Presence history"); older events are not read (:meth:`rest_history`)."""
        with self.service.lock:
            oldest = now - self.service._retention_ms(app_id, channel)
        while state.events and state.events[0][1]["timestamp"] < oldest:
            state.events.popleft()
        if not state.members and not state.events:
            self._channels.pop((app_id, channel), None)

    def _leave(self, app_id: str, connection_id: str, channel: str | None) -> None:
        """The members of a connection (on one channel, or on all) leave: LEAVE events
        the realtime system makes (their ids are not the connection's, RTP2b1)."""
        with self.service.lock:
            now = to_ms(self.service.now())
        for (app, name), state in list(self._channels.items()):
            if app != app_id or (channel is not None and name != channel):
                continue
            leaving = [
                {
                    **message,
                    "id": f"{secrets.token_hex(6)}:0:{index}",
                    "action": LEAVE,
                    "timestamp": now,
                }
                for index, (_, message) in enumerate(state.members.values())
                if message["connectionId"] == connection_id
            ]
            if leaving:
                self._publish(app, name, self._apply(app, name, leaving))

    def _subscribed(self, connection: _Connection, channel: str) -> bool:
        """Whether ``connection`` is sent the channel's presence: attached with the
        ``presence_subscribe`` mode and allowed ``subscribe`` (docs, Capabilities:
        "subscribe ... presence state change messages ... and get the presence set")."""
        modes = connection.channels.get(channel, 0)
        return bool(modes & PRESENCE_SUBSCRIBE) and connection.credential.capability.allows(
            channel, "subscribe"
        )

    def _publish(self, app_id: str, channel: str, events: list[dict[str, Any]]) -> None:
        """Send presence events to the app's connections attached to the channel that
        subscribe to presence, and to each member's own connection (RTP17a)."""
        if not events:
            return
        for connection in list(self.realtime._connections.values()):
            if connection.credential.key.app_id != app_id or channel not in connection.channels:
                continue
            if self._subscribed(connection, channel):
                sent = events
            else:
                sent = [event for event in events if event["connectionId"] == connection.id]
            if sent:
                connection.send(
                    {
                        "action": PRESENCE,
                        "channel": channel,
                        "presence": [dict(event) for event in sent],
                    }
                )
        self.realtime.occupancy.changed(app_id, channel)
