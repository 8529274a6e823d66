"""What Ably Chat (@ably/chat) needs of Ably's realtime channels, in the emulator:
ephemeral messages (typing indicators, room reactions) that reach subscribers and are
never stored; ATTACHED and MESSAGE frames carrying the channel's ``channelSerial``
(RTL15b), which @ably/chat's ``historyBeforeSubscribe`` passes back as ``fromSerial``;
and a room's channel ``{room}::$chat`` with the mutable-messages rule always. Proven with
the ``ably`` package (REST and realtime, JSON and msgpack), ably-js under Node, and bare
protocol frames where only the frame shows it."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any
from urllib.parse import quote

import aiohttp
import msgpack
from ably import AblyRealtime
from ably.sync.types.message import Message as SyncMessage
from ably.sync.types.operations import MessageOperation
from ably.types.message import Message

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .mutable_clients import refusal, rest
from .peers import js_options
from .realtime_peers import AblyChatUser, AblyJsRealtime, until

MEMBER = ["publish", "subscribe", "history", "message-update-own"]
_ids = itertools.count()
# ``emu`` (tests/conftest.py) is made with no mutable_messages: a room's channel has the
# rule anyway.


def room() -> str:
    return f"support:{next(_ids)}"


def realtime(
    emu: AblyEmulator, key: ApiKey, client_id: str, capability: dict[str, list[str]], binary: bool
) -> AblyRealtime:
    jwt = mint_jwt(key, capability=capability, client_id=client_id, now=emu.now())
    return AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())


async def collect(client: AblyRealtime, channel: str) -> list[Message]:
    """Subscribe (attaching) to ``channel``; every message it is sent."""
    seen: list[Message] = []

    def listener(message: Message) -> None:
        seen.append(message)

    await client.channels.get(channel).subscribe(listener)
    return seen


# -- ephemeral messages ------------------------------------------------------------------


@BINARY
def test_ephemeral_messages_reach_subscribers_and_are_never_stored(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """Typing indicators and room reactions, as @ably/chat publishes them (name
    ``typing.started`` or ``roomReaction``, ``extras.ephemeral``), reach a subscriber
    in order with a chat message, which alone is in history and ``published()``."""
    name = room()
    channel = f"{name}::$chat"
    capability = {name: ["publish", "subscribe", "history"]}

    async def scenario() -> list[Message]:
        watcher = realtime(emu, key, "watcher", capability, binary)
        typist = realtime(emu, key, "typist", capability, binary)
        try:
            seen = await collect(watcher, channel)
            chan = typist.channels.get(channel)
            await chan.attach()
            ephemeral = {"ephemeral": True}
            await chan.publish(Message(name="typing.started", extras=ephemeral))
            reaction = {"name": "👍", "metadata": {}}
            await chan.publish(
                Message(name="roomReaction", data=reaction, extras={"headers": {}, **ephemeral})
            )
            await chan.publish(Message(name="stored", data="kept"))
            await until(lambda: len(seen) == 3, "the three messages")
            return seen
        finally:
            await watcher.close()
            await typist.close()

    seen = asyncio.run(scenario())
    assert [(m.name, m.client_id) for m in seen] == [
        ("typing.started", "typist"),
        ("roomReaction", "typist"),
        ("stored", "typist"),
    ]
    assert seen[0].extras == {"ephemeral": True}
    assert seen[1].data == {"name": "👍", "metadata": {}}
    assert [m["name"] for m in emu.published(channel)] == ["stored"]
    with rest(emu, key, "reader", capability, binary) as client:
        history = client.channels.get(channel).history().items
    assert [m.name for m in history] == ["stored"]


@BINARY
def test_a_rest_publish_with_the_ephemeral_param_is_delivered_and_not_stored(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """``?ephemeral=true`` on a REST publish (docs, pub-sub/advanced "Ephemeral
    messages") makes the whole publish ephemeral, on any channel."""
    channel = f"plain:{next(_ids)}"
    capability = {channel: ["publish", "subscribe", "history"]}

    async def scenario() -> list[Message]:
        watcher = realtime(emu, key, "watcher", capability, binary)
        try:
            seen = await collect(watcher, channel)
            with rest(emu, key, "poster", capability, binary) as client:
                chan = client.channels.get(channel)
                chan.publish_messages([SyncMessage("pulse", "1")], params={"ephemeral": True})
                chan.publish("kept", "2")
            await until(lambda: len(seen) == 2, "both messages")
            return seen
        finally:
            await watcher.close()

    assert [(m.name, m.data) for m in asyncio.run(scenario())] == [("pulse", "1"), ("kept", "2")]
    assert [m["name"] for m in emu.published(channel)] == ["kept"]


def test_ephemeral_needs_publish_and_cannot_be_mixed(emu: AblyEmulator, key: ApiKey) -> None:
    """An ephemeral message is still a publish (40160 without ``publish``); a publish
    mixing ephemeral and stored messages is refused, 40003 (docs: "If they are mixed,
    the publish will be rejected"), and nothing of it is stored."""
    name = room()
    channel = f"{name}::$chat"
    ephemeral = SyncMessage("typing.started", extras={"ephemeral": True})
    with rest(emu, key, "reader", {name: ["subscribe"]}) as client:
        assert refusal(lambda: client.channels.get(channel).publish(ephemeral)) == (40160, 401)
    with rest(emu, key, "typist", {name: ["publish"]}) as client:
        mixed = [ephemeral, SyncMessage("chat.message", "x")]
        assert refusal(lambda: client.channels.get(channel).publish(mixed)) == (40003, 400)
    assert emu.published(channel) == []


def test_ably_js_receives_an_ephemeral_typing_message(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    name = room()
    channel = f"{name}::$chat"
    capability = {name: ["publish", "subscribe"]}
    jwt = mint_jwt(key, capability=capability, client_id="js-watcher", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    realtime_js.call("subscribe", channel=channel)
    with rest(emu, key, "typist", capability) as client:
        client.channels.get(channel).publish(
            SyncMessage("typing.started", extras={"ephemeral": True})
        )
    seen = realtime_js.call("waitMessage", name="typing.started")
    assert (seen["channel"], seen["clientId"]) == (channel, "typist")
    assert emu.published(channel) == []


# -- channelSerial -------------------------------------------------------------------------


@BINARY
def test_attached_and_message_frames_carry_the_channel_serial(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """ATTACHED's ``channelSerial`` sorts at or after every message published before
    the attach and before every one published after it; each MESSAGE frame's is at or
    after its message. @ably/chat fails ``historyBeforeSubscribe`` without it."""
    name = room()
    channel = f"{name}::$chat"
    capability = {name: ["publish", "subscribe", "history"]}
    with rest(emu, key, "poster", capability) as client:
        before = client.channels.get(channel).publish("chat.message", "1").serials[0]
    jwt = mint_jwt(key, capability=capability, client_id="bare", now=emu.now())

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        query = {"v": "6", "format": "msgpack" if binary else "json", "accessToken": jwt}
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"ws://{emu.host}:{emu.port}/", params=query)

            async def receive(action: int) -> dict[str, Any]:
                while True:
                    frame = await asyncio.wait_for(ws.receive(), 5)
                    raw = frame.data
                    message: dict[str, Any] = msgpack.unpackb(raw) if binary else json.loads(raw)
                    if message["action"] == action:
                        return message

            await receive(4)  # CONNECTED
            attach = {"action": 10, "channel": channel}
            await (ws.send_bytes(msgpack.packb(attach)) if binary else ws.send_json(attach))
            attached = await receive(11)
            await asyncio.to_thread(publish_after)
            delivered = await receive(15)
            await ws.close()
            return attached, delivered

    after: list[str] = []

    def publish_after() -> None:
        with rest(emu, key, "poster", capability) as client:
            after.append(client.channels.get(channel).publish("chat.message", "2").serials[0])

    attached, delivered = asyncio.run(scenario())
    position = attached["channelSerial"]
    assert before <= position < after[0]
    assert delivered["messages"][0]["serial"] == after[0] <= delivered["channelSerial"]
    # The channel's history bounded by it, as ably-js asks for history({untilAttach:
    # true}) (RTL10b: ``from_serial``, the attach serial): the message before the attach.
    with rest(emu, key, "reader", capability, binary) as client:
        path = f"/channels/{quote(channel, safe='')}/messages"
        for name in ("from_serial", "fromSerial"):
            bounded = client.request("GET", path, "3", {name: position, "limit": 1})
            assert [m["serial"] for m in bounded.items] == [before]
            assert bounded.is_last()


def test_a_second_listener_s_history_holds_the_messages_already_received(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """@ably/chat's own suite (messages.integration.test.ts, "should be able to get
    history for listener with latest message serial"), against the emulator: a user
    attached to a room sends two messages; the first listener's historyBeforeSubscribe
    (from the attach serial) has neither, and a listener subscribed afterwards starts at
    the channelSerial the messages' frames set, so its history has both. The emulator
    answers a Chat send once the message is written to the room's attached connections,
    as Ably's sandbox has the message reach them before the sender's answer."""
    name = room()
    jwt = mint_jwt(key, capability={name: ["*"]}, client_id="alice", now=emu.now())
    user = AblyChatUser()
    try:
        user.call("connect", options=js_options(emu, token=jwt))
        user.call("attach", room=name)
        result = user.call("sendThenSubscribe", room=name, texts=["Hello there!", "high ground"])
    finally:
        user.close()
    sent = [message["serial"] for message in result["sent"]]
    assert result["first"] == []
    assert [message["serial"] for message in result["second"]] == sent[::-1]


# -- a room's channel has the mutable-messages rule ------------------------------------------


def test_a_room_channel_has_the_mutable_messages_rule_without_configuration(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """docs, chat/rooms: message edits, deletes and reactions are on for chat rooms; a
    channel of the same name without ``::$chat`` keeps the app's rule (none here):
    93002. Its messages are kept 24 hours, as the rule's are."""
    name = room()
    capability = {name: MEMBER}
    with rest(emu, key, "alice", capability) as client:
        for channel, allowed in ((f"{name}::$chat", True), (name, False)):
            chan = client.channels.get(channel)
            serial = chan.publish("chat.message", "first").serials[0]
            change = SyncMessage(data="edited", serial=serial)

            def update(chan: Any = chan, change: SyncMessage = change) -> Any:
                return chan.update_message(change, MessageOperation(description="typo"))

            if allowed:
                update()
                assert chan.get_message(serial).data == "edited"
            else:
                assert refusal(update) == (93002, 400)
