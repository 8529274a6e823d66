"""Channel metadata: ``GET /channels/{channelId}`` answers the channel's ChannelDetails
(spec RSL8, CHD2, CHS2, CHO2, CHM2; docs, metadata-stats/metadata/rest "Retrieve metadata
for a channel" and api/realtime-sdk/channel-metadata), counted from the emulator's live
realtime connections and the channel's presence set, for a credential with the
``channel-metadata`` capability on the channel (else 40160/401).

Runs on the emulator's event loop (the realtime side owns the connections). Uses
``_common`` and ``_connection``; the routes (``_routes``) use it."""

from __future__ import annotations

from ._common import Credential
from ._connection import MODE_FLAGS, PRESENCE_SUBSCRIBE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._realtime import Realtime

__all__ = ["channel_details"]

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


def channel_details(realtime: Realtime, credential: Credential, channel: str) -> dict[str, Any]:
    """The ChannelDetails of ``channel`` in the credential's app (docs, channel-metadata:
    ``channelId`` and ``status`` with ``isActive`` and ``occupancy.metrics``)."""
    service = realtime.service
    with service.lock:
        service.require(credential, channel, "channel-metadata")
    app_id = credential.key.app_id
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
    # CHS2a: isActive is true (asking for the metrics activates the channel).
    return {"channelId": channel, "status": {"isActive": True, "occupancy": {"metrics": metrics}}}
