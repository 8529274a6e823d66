"""Realtime occupancy events in the emulator: a client that attaches with the channel
param ``occupancy`` (``metrics`` or ``metrics.<category>``) and has the
``channel-metadata`` capability is sent ``[meta]occupancy`` messages, action META, whose
``data`` is ``{"metrics": {...}}``: one after the attach, one whenever the metrics change
(docs, channels/options "Occupancy"; presence-occupancy/occupancy "Occupancy payload
structure"). Proven with ably-js and the ``ably`` package over real sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from ably import AblyRealtime
from ably.types.channeloptions import ChannelOptions
from ably.types.message import Message, MessageAction

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .peers import AblyJs, js_options
from .realtime_peers import AblyJsRealtime, until

EVENT = "[meta]occupancy"
WATCH = ["subscribe", "channel-metadata"]
EVERYTHING = ["publish", "subscribe", "presence"]


def token(emu: AblyEmulator, key: ApiKey, channel: str, operations: list[str], client: str) -> str:
    return mint_jwt(key, capability={channel: operations}, client_id=client, now=emu.now())


def realtime(emu: AblyEmulator, jwt: str, binary: bool = False) -> AblyRealtime:
    return AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())


async def watch(client: AblyRealtime, channel: str, params: dict[str, str]) -> list[Message]:
    """Subscribe (attaching) with ``params``; every message the channel is sent."""
    seen: list[Message] = []
    chan = client.channels.get(channel, ChannelOptions(params=params))

    def listener(message: Message) -> None:
        seen.append(message)

    await chan.subscribe(listener)
    return seen


def events(seen: list[Message]) -> list[dict[str, Any]]:
    return [message.data for message in seen if message.name == EVENT]


def test_ably_js_is_sent_the_metrics_as_they_change(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """An ably-js watcher (params occupancy=metrics) is sent the metrics after its attach,
    then when a second client attaches, enters presence and closes."""
    emu = ably_emulator
    key = emu.create_key()
    channel = "room:js-watch"
    realtime_js.call(
        "connect", options=js_options(emu, token=token(emu, key, channel, WATCH, "watcher"))
    )
    realtime_js.call("subscribeWith", channel=channel, options={"params": {"occupancy": "metrics"}})
    first = realtime_js.call("waitMessages", name=EVENT, count=1)
    assert first == [
        {
            "name": EVENT,
            "action": "meta",
            "data": {
                "metrics": {
                    "connections": 1,
                    "publishers": 0,
                    "subscribers": 1,
                    "presenceConnections": 0,
                    "presenceMembers": 0,
                    "presenceSubscribers": 1,
                    "objectPublishers": 0,
                    "objectSubscribers": 0,
                }
            },
        }
    ]

    async def other_client() -> None:
        other = realtime(emu, token(emu, key, channel, EVERYTHING, "amy"), binary=True)
        try:
            await other.channels.get(channel).attach()
            realtime_js.call("waitMessages", name=EVENT, count=2)
            await other.channels.get(channel).presence.enter("here")
            realtime_js.call("waitMessages", name=EVENT, count=3)
        finally:
            await other.close()

    asyncio.run(other_client())
    seen = realtime_js.call("waitMessages", name=EVENT, count=4)
    metrics = [event["data"]["metrics"] for event in seen]
    assert [
        (m["connections"], m["publishers"], m["presenceConnections"], m["presenceMembers"])
        for m in metrics
    ] == [(1, 0, 0, 0), (2, 1, 1, 0), (2, 1, 1, 1), (1, 0, 0, 0)]
    assert {event["action"] for event in seen} == {"meta"}


def test_the_ably_package_is_sent_the_metrics_as_they_change(
    ably_emulator: AblyEmulator, ably_js: AblyJs
) -> None:
    """The ``ably`` package's AblyRealtime (ChannelOptions params occupancy=metrics), in
    msgpack, is sent the metrics when an ably-js client attaches and when it closes."""
    emu = ably_emulator
    key = emu.create_key()
    channel = "room:py-watch"
    other = AblyJsRealtime()

    async def scenario() -> list[Message]:
        client = realtime(emu, token(emu, key, channel, WATCH, "watcher"), binary=True)
        try:
            seen = await watch(client, channel, {"occupancy": "metrics"})
            await until(lambda: len(events(seen)) == 1, "the first event")
            other.call(
                "connect", options=js_options(emu, token=token(emu, key, channel, WATCH, "js"))
            )
            assert other.call("attach", channel=channel) == "attached"
            await until(lambda: len(events(seen)) == 2, "the attach's event")
            other.call("close")
            await until(lambda: len(events(seen)) == 3, "the close's event")
            return seen
        finally:
            other.close()
            await client.close()

    seen = asyncio.run(scenario())
    metrics = [event["metrics"] for event in events(seen)]
    assert [(m["connections"], m["subscribers"], m["presenceSubscribers"]) for m in metrics] == [
        (1, 1, 1),
        (2, 2, 2),
        (1, 1, 1),
    ]
    assert all(len(m) == 8 for m in metrics)
    occupancy = [message for message in seen if message.name == EVENT]
    assert {message.action for message in occupancy} == {MessageAction.META}
    assert all(message.id and message.timestamp for message in occupancy)


def test_one_category_is_sent_only_when_it_changes(ably_emulator: AblyEmulator) -> None:
    """``metrics.connections``: data holds that metric only, and a presence enter (which
    leaves it unchanged) sends nothing; a detach and a close each count once."""
    emu = ably_emulator
    key = emu.create_key()
    channel = "room:one-metric"

    async def scenario() -> list[dict[str, Any]]:
        client = realtime(emu, token(emu, key, channel, WATCH, "watcher"))
        full = realtime(emu, token(emu, key, channel, WATCH, "full"))
        other = realtime(emu, token(emu, key, channel, EVERYTHING, "amy"))
        try:
            seen = await watch(client, channel, {"occupancy": "metrics.connections"})
            control = await watch(full, channel, {"occupancy": "metrics"})
            await until(lambda: len(events(seen)) == 2, "the second attach's event")
            await other.channels.get(channel).attach()
            await until(lambda: len(events(control)) == 2, "the third attach's event")
            await other.channels.get(channel).presence.enter("here")
            await until(lambda: len(events(control)) == 3, "the enter's event")
            await other.channels.get(channel).detach()
            await until(lambda: len(events(control)) == 4, "the detach's event")
            await other.close()  # detached already: no change, no event
            await full.close()
            await until(lambda: len(events(seen)) == 5, "the close's event")
            await asyncio.sleep(0.2)
            assert [event["metrics"]["presenceMembers"] for event in events(control)] == [
                0,
                0,
                1,
                0,
            ]
            return events(seen)
        finally:
            for each in (client, full, other):
                await each.close()

    assert asyncio.run(scenario()) == [
        {"metrics": {"connections": 1}},
        {"metrics": {"connections": 2}},
        {"metrics": {"connections": 3}},
        {"metrics": {"connections": 2}},
        {"metrics": {"connections": 1}},
    ]


def test_no_events_without_the_param_or_the_capability(ably_emulator: AblyEmulator) -> None:
    """A client that does not ask gets no events; nor does one that asks without the
    ``channel-metadata`` capability (docs: "Clients require the channel-metadata
    capability to subscribe to occupancy metrics"), while one that may is sent them."""
    emu = ably_emulator
    key = emu.create_key()
    channel = "room:quiet"

    async def scenario() -> tuple[list[Message], list[Message], list[Message]]:
        allowed = realtime(emu, token(emu, key, channel, WATCH, "allowed"))
        unasked = realtime(emu, token(emu, key, channel, WATCH, "unasked"))
        denied = realtime(emu, token(emu, key, channel, EVERYTHING, "denied"))
        other = realtime(emu, token(emu, key, channel, EVERYTHING, "amy"))
        try:
            quiet = await watch(unasked, channel, {})
            refused = await watch(denied, channel, {"occupancy": "metrics"})
            sent = await watch(allowed, channel, {"occupancy": "metrics"})
            await until(lambda: len(events(sent)) == 1, "the first event")
            await other.channels.get(channel).attach()
            await until(lambda: len(events(sent)) == 2, "the attach's event")
            await other.channels.get(channel).publish("hello", "world")
            await until(lambda: any(m.name == "hello" for m in refused), "the message")
            await until(lambda: any(m.name == "hello" for m in quiet), "the message")
            return sent, quiet, refused
        finally:
            for each in (allowed, unasked, denied, other):
                await each.close()

    sent, quiet, refused = asyncio.run(scenario())
    assert [event["metrics"]["connections"] for event in events(sent)] == [3, 4]
    assert [message.name for message in quiet] == ["hello"]
    assert [message.name for message in refused] == ["hello"]


def test_a_dropped_connection_counts_as_it_goes(ably_emulator: AblyEmulator) -> None:
    """A connection whose transport drops (its WebSocket closed without a CLOSE) leaves
    the metrics at once: the watcher is sent the lower count."""
    emu = ably_emulator
    key = emu.create_key()
    channel = "room:dropped"

    async def scenario() -> list[dict[str, Any]]:
        client = realtime(emu, token(emu, key, channel, WATCH, "watcher"))
        try:
            seen = await watch(client, channel, {"occupancy": "metrics.connections"})
            await until(lambda: len(events(seen)) == 1, "the first event")
            query = {"v": "6", "format": "json", "key": f"{key.name}:{key.secret}"}
            async with aiohttp.ClientSession() as session:
                socket = await session.ws_connect(f"ws://{emu.host}:{emu.port}/", params=query)
                assert (await socket.receive_json())["action"] == 4  # CONNECTED
                await socket.send_json({"action": 10, "channel": channel})  # ATTACH
                await until(lambda: len(events(seen)) == 2, "the raw socket's attach")
                await socket.close()
            await until(lambda: len(events(seen)) == 3, "the drop's event")
            return events(seen)
        finally:
            await client.close()

    assert asyncio.run(scenario()) == [{"metrics": {"connections": n}} for n in (1, 2, 1)]
