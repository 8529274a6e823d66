"""Channel metadata: ``GET /channels/{channelId}`` answers the channel's ChannelDetails
(spec RSL8, CHD2, CHS2, CHO2, CHM2; docs, metadata-stats/metadata/rest "Retrieve metadata
for a channel" and api/realtime-sdk/channel-metadata), counted from the emulator's live
realtime connections and the channel's presence set, for a credential with the
``channel-metadata`` capability on the channel (else 40160/401); and the realtime
occupancy events (``[meta]occupancy`` MESSAGEs) sent to the attachments that asked for
them with the ``occupancy`` channel param (docs, channels/options "Occupancy").

Runs on the emulator's event loop (the realtime side owns the connections). Uses
``_common``, ``_connection`` and the type of ``_service``; it sees the realtime hub
through :class:`Hub`, which ``_realtime.Realtime`` has structurally; the
routes (``_routes``), presence (``_presence``), the realtime hub (``_realtime``) and Ably
Chat's occupancy (``_chat``) use it."""

from __future__ import annotations

import secrets
import weakref
from typing import Protocol

from ably_authkit._time import to_ms

from ._common import Credential
from ._connection import MESSAGE, MODE_FLAGS, PRESENCE_SUBSCRIBE

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Mapping, Sequence
    from typing import Any

    from ._connection import _Connection
    from ._service import Service

__all__ = ["Hub", "Occupancy", "channel_details"]


class _Members(Protocol):
    def present(self, channel: str, app_id: str | None) -> Sequence[object]:
        """The members of ``channel`` (in every app, or in ``app_id``'s)."""
        ...


class Hub(Protocol):
    """The realtime hub (``_realtime.Realtime``), as channel metadata and presence see
    it: the service, the live connections, the event loop, presence and occupancy. The
    hub has it all, structurally, so neither names the module above them."""

    @property
    def service(self) -> Service: ...

    @property
    def _connections(self) -> Mapping[str, _Connection]: ...

    @property
    def _loop(self) -> asyncio.AbstractEventLoop | None: ...

    @property
    def presence(self) -> _Members: ...

    @property
    def occupancy(self) -> Occupancy: ...


#: Each attachment metric (CHM2): the mode the ATTACH asked for and the capability
#: operation it needs ("authorised to publish", "receiving messages", ...).
_COUNTED = {
    "publishers": (MODE_FLAGS["publish"], "publish"),
    "subscribers": (MODE_FLAGS["subscribe"], "subscribe"),
    "presenceConnections": (MODE_FLAGS["presence"], "presence"),
    "presenceSubscribers": (PRESENCE_SUBSCRIBE, "subscribe"),
    "objectPublishers": (MODE_FLAGS["object_publish"], "object-publish"),
    "objectSubscribers": (MODE_FLAGS["object_subscribe"], "object-subscribe"),
}


def channel_details(realtime: Hub, credential: Credential, channel: str) -> dict[str, Any]:
    """The ChannelDetails of ``channel`` in the credential's app (docs, channel-metadata:
    ``channelId`` and ``status`` with ``isActive`` and ``occupancy.metrics``)."""
    service = realtime.service
    with service.lock:
        service.require(credential, channel, "channel-metadata")
    metrics = _metrics(realtime, credential.key.app_id, channel)
    # CHS2a: isActive is true (asking for the metrics activates the channel).
    return {"channelId": channel, "status": {"isActive": True, "occupancy": {"metrics": metrics}}}


def _metrics(realtime: Hub, app_id: str, channel: str) -> dict[str, int]:
    """The channel's occupancy metrics now (CHM2)."""
    metrics = {"connections": 0, "presenceMembers": 0, **dict.fromkeys(_COUNTED, 0)}
    for connection in realtime._connections.values():
        modes = connection.channels.get(channel)
        if modes is None or connection.credential.key.app_id != app_id or connection.closing:
            continue
        metrics["connections"] += 1
        capability = connection.credential.capability
        for name, (mode, operation) in _COUNTED.items():
            if modes & mode and capability.allows(channel, operation):
                metrics[name] += 1
    metrics["presenceMembers"] = len(realtime.presence.present(channel, app_id))
    return metrics


#: The occupancy events' name and message action (docs, presence-occupancy/occupancy
#: "Occupancy payload structure"; TM5: META is 3).
OCCUPANCY_EVENT = "[meta]occupancy"
META = 3
#: The metrics an ``occupancy`` param of ``metrics.<category>`` can name.
CATEGORIES = frozenset({"connections", "presenceMembers", *_COUNTED})


class Occupancy:
    """Realtime occupancy events (docs, channels/options "Occupancy"): an attachment whose
    ``occupancy`` channel param is ``metrics`` (or ``metrics.<category>``) and whose
    capability has ``channel-metadata`` on the channel is sent a ``[meta]occupancy``
    MESSAGE with ``data`` ``{"metrics": {...}}`` right after ATTACHED and whenever the
    metrics it asked for change. The realtime hub and presence call the ``on_*`` hooks."""

    def __init__(self, realtime: Hub) -> None:
        self.realtime = realtime
        #: Per connection: channel -> [the categories asked for (None: all), last sent].
        self._watching: weakref.WeakKeyDictionary[_Connection, dict[str, list[Any]]] = (
            weakref.WeakKeyDictionary()
        )

    def on_attach(self, connection: _Connection, channel: str, params: object) -> None:
        """An ATTACH, after ATTACHED: (re)start or stop watching, then send what changed."""
        value = params.get("occupancy") if isinstance(params, dict) else None
        category = value.removeprefix("metrics.") if isinstance(value, str) else ""
        if value == "metrics":
            self._watching.setdefault(connection, {})[channel] = [None, None]
        elif value != category and category in CATEGORIES:
            self._watching.setdefault(connection, {})[channel] = [category, None]
        else:  # Choice: another value (or none) asks for no events
            self.on_detach(connection, channel)
            return
        self.changed(connection.credential.key.app_id, channel)

    def on_detach(self, connection: _Connection, channel: str) -> None:
        watching = self._watching.get(connection)
        if watching is not None:
            watching.pop(channel, None)
            if not watching:
                del self._watching[connection]
        self.changed(connection.credential.key.app_id, channel)

    def on_gone(self, connection: _Connection) -> None:
        """The connection closed or dropped: its channels' metrics changed."""
        for channel in sorted(connection.channels):
            self.changed(connection.credential.key.app_id, channel)
        self._watching.pop(connection, None)

    def changed(self, app_id: str, channel: str) -> None:
        """Send each watcher of ``channel`` its metrics, if they changed since the last.
        Choice: at once, without the debouncing Ably may apply (up to 15 s)."""
        if not self._watching:  # nobody asked: nothing to count
            return
        metrics: dict[str, int] | None = None
        for connection in list(self.realtime._connections.values()):
            watch = self._watching.get(connection, {}).get(channel)
            if watch is None or connection.credential.key.app_id != app_id:
                continue
            if connection.closing or channel not in connection.channels:
                continue
            # Docs (channels/options): "Clients require the channel-metadata capability
            # to subscribe to occupancy metrics"; checked at each event, as AUTH can change it.
            if not connection.credential.capability.allows(channel, "channel-metadata"):
                continue
            if metrics is None:
                metrics = _metrics(self.realtime, app_id, channel)
            sent = metrics if watch[0] is None else {watch[0]: metrics[watch[0]]}
            if sent == watch[1]:
                continue
            watch[1] = sent
            with self.realtime.service.lock:
                now = to_ms(self.realtime.service.now())
            event = {
                "id": f"{secrets.token_urlsafe(8)}:0:0",
                "name": OCCUPANCY_EVENT,
                "action": META,
                "timestamp": now,
                "data": {"metrics": dict(sent)},
            }
            connection.send({"action": MESSAGE, "channel": channel, "messages": [event]})
