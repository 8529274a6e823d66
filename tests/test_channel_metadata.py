"""Channel metadata in the emulator: ``GET /channels/{id}`` answers ChannelDetails (spec
RSL8, CHD2, CHS2, CHM2) counted from the live realtime attachments and the presence set,
for a credential with ``channel-metadata`` (else 40160/401); read by the ``ably``
package's and ably-js's ``channel.status()``, in JSON and msgpack."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from ably import AblyRealtime, AblyRest
from ably.types.channeloptions import ChannelOptions
from ably.util.exceptions import AblyException

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .peers import AblyJs, AblyJsError, js_options

CHANNEL = "lobby:metrics"


def token(emu: AblyEmulator, key: ApiKey, operations: list[str], client: str | None) -> str:
    return mint_jwt(key, capability={CHANNEL: operations}, client_id=client, now=emu.now())


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
def test_status_counts_attachments_and_members(
    emu: AblyEmulator, key: ApiKey, ably_js: AblyJs, binary: bool
) -> None:
    """Three attachments: one that may do everything and entered two members, one that
    may only subscribe, one that asked only for the publish mode. Each metric counts
    the attachments whose mode and capability allow it (CHM2)."""

    async def scenario() -> None:
        def client(operations: list[str], client_id: str | None) -> AblyRealtime:
            return AblyRealtime(
                token=token(emu, key, operations, client_id),
                use_binary_protocol=binary,
                **emu.client_options(),
            )

        # A key (the ably package enters other clients with a key, not a wildcard token).
        full = emu.create_key({CHANNEL: ["publish", "subscribe", "presence"]})
        everything = AblyRealtime(
            key=f"{full.name}:{full.secret}", use_binary_protocol=binary, **emu.client_options()
        )
        listener = client(["subscribe"], "sub")
        narrow = client(["publish", "subscribe"], "pub")
        reader = AblyRest(
            token=token(emu, key, ["channel-metadata"], None),
            use_binary_protocol=binary,
            **emu.client_options(),
        )
        outsider = AblyRest(
            token=token(emu, key, ["subscribe", "history", "presence"], None),
            use_binary_protocol=binary,
            **emu.client_options(),
        )
        try:
            presence = everything.channels.get(CHANNEL).presence
            await presence.enter_client("amy", "a")
            await presence.enter_client("ben", "b")
            await listener.channels.get(CHANNEL).attach()
            await narrow.channels.get(CHANNEL, ChannelOptions(params={"modes": "publish"})).attach()
            details = await reader.channels.get(CHANNEL).status()
            assert details.channel_id == CHANNEL
            assert details.status.is_active is True
            metrics = details.status.occupancy.metrics
            assert (
                metrics.connections,
                metrics.publishers,
                metrics.subscribers,
                metrics.presence_connections,
                metrics.presence_subscribers,
                metrics.presence_members,
            ) == (3, 2, 2, 1, 2, 2)
            ably_js.call(
                "restCreate",
                id=f"meta-{binary}",
                options=js_options(
                    emu, token=token(emu, key, ["channel-metadata"], None), useBinaryProtocol=binary
                ),
            )
            seen = ably_js.call("restStatus", id=f"meta-{binary}", channel=CHANNEL)
            assert seen == {
                "channelId": CHANNEL,
                "status": {
                    "isActive": True,
                    "occupancy": {
                        "metrics": {
                            "connections": 3,
                            "publishers": 2,
                            "subscribers": 2,
                            "presenceConnections": 1,
                            "presenceSubscribers": 2,
                            "presenceMembers": 2,
                            "objectPublishers": 0,
                            "objectSubscribers": 0,
                        }
                    },
                },
            }
            with pytest.raises(AblyException) as denied:
                await outsider.channels.get(CHANNEL).status()
            assert (denied.value.code, denied.value.status_code) == (40160, 401)
            ably_js.call(
                "restCreate",
                id=f"nometa-{binary}",
                options=js_options(
                    emu, token=token(emu, key, ["subscribe"], None), useBinaryProtocol=binary
                ),
            )
            with pytest.raises(AblyJsError) as refused:
                ably_js.call("restStatus", id=f"nometa-{binary}", channel=CHANNEL)
            assert (refused.value.code, refused.value.status_code) == (40160, 401)
        finally:
            for realtime in (everything, listener, narrow):
                await realtime.close()
            await reader.close()
            await outsider.close()
            for name in ("meta", "nometa"):
                ably_js.call("restClose", id=f"{name}-{binary}")
        emptied = await_status(emu, key)
        assert emptied["connections"] == 0 and emptied["presenceMembers"] == 0

    asyncio.run(scenario())


def await_status(emu: AblyEmulator, key: ApiKey) -> dict[str, int]:
    """The channel's metrics over plain HTTP, once its closed clients are gone."""
    headers = {"Authorization": f"Bearer {token(emu, key, ['channel-metadata'], None)}"}
    for _ in range(250):
        answer = httpx.get(f"{emu.url}/channels/{CHANNEL}", headers=headers)
        metrics: dict[str, int] = answer.json()["status"]["occupancy"]["metrics"]
        if metrics["connections"] == 0:
            return metrics
        time.sleep(0.02)
    return metrics
