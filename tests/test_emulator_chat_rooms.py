"""Ably Chat rooms in the emulator beyond messages: occupancy over the Chat REST API and
as realtime events on the room's channel, presence there, and a message's versions, as
@ably/chat uses them (spec "Occupancy", CHA-O; chat-api.ts ``getOccupancy``,
``getMessageVersions``; occupancy.ts, presence.ts), with the ``ably`` package and
ably-js under Node."""

from __future__ import annotations

import asyncio

from ably import AblyRealtime

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .chat_clients import call, new_room, refused, room_path, send
from .conftest import BINARY
from .mutable_clients import rest
from .peers import js_options
from .realtime_peers import AblyJsRealtime

MEMBER = ["publish", "subscribe", "presence", "history", "message-update-own"]
MEMBER += ["message-delete-own"]


@BINARY
def test_occupancy_counts_the_room_s_connections_and_members(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """GET .../occupancy answers ``{connections, presenceMembers}`` of the room's
    channel; it needs ``channel-metadata`` (docs, chat/authentication "Occupancy"),
    else 40160/401."""
    room = new_room()
    channel = f"{room}::$chat"

    async def scenario() -> tuple[object, tuple[int, int]]:
        clients = [
            AblyRealtime(
                token=mint_jwt(key, capability={room: MEMBER}, client_id=name, now=emu.now()),
                use_binary_protocol=binary,
                **emu.client_options(),
            )
            for name in ("alice", "bob")
        ]
        try:
            for client in clients:
                await client.channels.get(channel).attach()
            await clients[0].channels.get(channel).presence.enter({"status": "here"})

            def ask() -> tuple[object, tuple[int, int]]:
                watcher = {room: ["subscribe", "channel-metadata"]}
                with rest(emu, key, "watcher", watcher, binary) as client:
                    counts = call(client, "GET", room_path(room, "/occupancy")).items[0]
                with rest(emu, key, "member", {room: MEMBER}, binary) as client:
                    denied = refused(call(client, "GET", room_path(room, "/occupancy")))
                return counts, denied

            return await asyncio.to_thread(ask)
        finally:
            for client in clients:
                await client.close()

    counts, denied = asyncio.run(scenario())
    assert counts == {"connections": 2, "presenceMembers": 1}
    assert denied == (40160, 401)


def test_ably_js_attaches_a_room_as_chat_does(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    """@ably/chat's channel options (version.ts: params ``agent``, ``occupancy:
    metrics`` with occupancy events on, modes): the attach succeeds with the modes
    granted, occupancy events come, and presence works on the room's channel."""
    room = new_room()
    channel = f"{room}::$chat"
    capability = {room: [*MEMBER, "channel-metadata"]}
    jwt = mint_jwt(key, capability=capability, client_id="js", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    options = {
        "params": {"agent": "chat-js/1.4.0", "occupancy": "metrics"},
        "modes": ["PUBLISH", "SUBSCRIBE", "PRESENCE", "PRESENCE_SUBSCRIBE"],
        "attachOnSubscribe": False,
    }
    attached = realtime_js.call("attachWith", channel=channel, options=options)
    assert attached["state"] == "attached"
    assert sorted(attached["modes"]) == ["presence", "presence_subscribe", "publish", "subscribe"]
    assert attached["params"] == {"occupancy": "metrics"}
    realtime_js.call("subscribe", channel=channel)
    realtime_js.call("presence", channel=channel, method="enter", data={"x": 1})
    events = realtime_js.call("waitMessages", name="[meta]occupancy", count=2)
    assert events[-1]["data"] == {
        "metrics": {**events[-1]["data"]["metrics"], "presenceMembers": 1}
    }
    assert [m.client_id for m in emu.present(channel)] == ["js"]


@BINARY
def test_versions_are_the_message_s_versions_oldest_first(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}, binary) as alice:
        serial = send(alice, room, "one")["serial"]
        call(alice, "PUT", room_path(room, serial=serial), body={"message": {"text": "two"}})
        call(alice, "POST", room_path(room, "/delete", serial=serial))
        versions = call(alice, "GET", room_path(room, "/versions", serial=serial)).items
    with rest(emu, key, "bob", {room: ["subscribe"]}, binary) as bob:
        denied = refused(call(bob, "GET", room_path(room, "/versions", serial=serial)))
    assert [(v["action"], v["text"], v["serial"]) for v in versions] == [
        ("message.create", "one", serial),
        ("message.update", "two", serial),
        ("message.delete", "", serial),  # a delete empties it (Ably Chat)
    ]
    version_serials = [v["version"]["serial"] for v in versions]
    assert version_serials == sorted(version_serials) and version_serials[0] == serial
    assert denied == (40160, 401)
