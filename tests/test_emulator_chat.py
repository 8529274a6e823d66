"""Ably Chat's REST API in the emulator (spec "Chat HTTP REST API"; @ably/chat
chat-api.ts): sending, history and get-by-serial of a room's messages, as Message V4
structs, on the room's channel ``{room}::$chat`` with the capability and clientId rules
of that channel. Driven as @ably/chat drives it, with ``request()`` on a real SDK
client (the ``ably`` package, JSON and msgpack), and observed with realtime clients (the
``ably`` package and ably-js under Node)."""

from __future__ import annotations

import asyncio
import time

import pytest
from ably import AblyRealtime
from ably.types.message import Message, MessageAction

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .chat_clients import call, new_room, refused, room_path, send, watch_while
from .conftest import BINARY
from .mutable_clients import rest
from .peers import js_options
from .realtime_peers import AblyJsRealtime

MEMBER = ["publish", "subscribe", "history", "message-update-own", "message-delete-own"]


# -- sending -------------------------------------------------------------------------------


@BINARY
def test_send_answers_the_message_and_a_subscriber_gets_chat_message(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """The 201 answer is the full Message V4; a second client attached to the room's
    channel is sent ``chat.message`` with data ``{text, metadata}`` (JSON-encoded, which
    the SDK decodes), ``extras.headers``, the same serial and action message.create."""
    room = new_room()
    capability = {room: MEMBER}
    jwt = mint_jwt(key, capability=capability, client_id="watcher", now=emu.now())

    async def scenario() -> tuple[dict[str, object], list[Message]]:
        watcher = AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())
        seen: list[Message] = []

        def listener(message: Message) -> None:
            seen.append(message)

        try:
            await watcher.channels.get(f"{room}::$chat").subscribe(listener)
            with rest(emu, key, "alice", capability, binary) as client:
                sent = await asyncio.to_thread(
                    send, client, room, "hello", metadata={"mood": {"n": 1}}, headers={"lang": "en"}
                )
            deadline = time.monotonic() + 10
            while not seen:
                assert time.monotonic() < deadline, "no chat.message came"
                await asyncio.sleep(0.02)
            return sent, seen
        finally:
            await watcher.close()

    sent, seen = asyncio.run(scenario())
    serial = sent["serial"]
    assert isinstance(serial, str) and isinstance(sent["timestamp"], int)
    assert sent == {
        "serial": serial,
        "clientId": "alice",
        "text": "hello",
        "timestamp": sent["timestamp"],
        "metadata": {"mood": {"n": 1}},
        "headers": {"lang": "en"},
        "action": "message.create",
        "version": {"serial": serial, "timestamp": sent["timestamp"]},
    }
    (message,) = seen
    assert (message.name, message.client_id, message.serial) == ("chat.message", "alice", serial)
    assert message.data == {"text": "hello", "metadata": {"mood": {"n": 1}}}
    assert message.extras == {"headers": {"lang": "en"}}
    assert message.action == MessageAction.MESSAGE_CREATE
    assert emu.chat_messages(room) == [sent]


def test_ably_js_decodes_the_chat_message(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    room = new_room()
    capability = {room: MEMBER}
    jwt = mint_jwt(key, capability=capability, client_id="js", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    realtime_js.call("subscribe", channel=f"{room}::$chat")
    with rest(emu, key, "alice", capability) as client:
        send(client, room, "héllo 👋", metadata={"k": [1, 2]})
    seen = realtime_js.call("waitMessage", name="chat.message")
    assert seen["clientId"] == "alice"
    assert seen["data"] == {"text": "héllo 👋", "metadata": {"k": [1, 2]}}


@BINARY
def test_a_room_name_is_percent_decoded(emu: AblyEmulator, key: ApiKey, binary: bool) -> None:
    """Path variables are percent-encoded (CHA-RST6): a room named with ``/``, spaces
    and non-ASCII text is that room, and so is a serial with ``@``."""
    room = f"odd/room {new_room()} ☕"
    with rest(emu, key, "alice", {"*": MEMBER}, binary) as client:
        sent = send(client, room, "x")
        fetched = call(client, "GET", room_path(room, serial=sent["serial"]))
    assert fetched.items == [sent]
    assert emu.chat_messages(room) == [sent]
    assert [m["name"] for m in emu.published(f"{room}::$chat")] == ["chat.message"]


def test_an_idempotency_key_sends_once(emu: AblyEmulator, key: ApiKey) -> None:
    """@ably/chat sends ``?idempotencyKey=`` with idempotent REST publishing: a repeat
    answers the first message, and the room has one (RSL1k, within 2 minutes)."""
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}) as client:
        path = room_path(room, "/messages")
        first = call(client, "POST", path, params={"idempotencyKey": "k1"}, body={"text": "a"})
        again = call(client, "POST", path, params={"idempotencyKey": "k1"}, body={"text": "a"})
    assert first.items == again.items
    assert len(emu.chat_messages(room)) == 1


# -- history and get ----------------------------------------------------------------------


@BINARY
def test_history_newest_first_in_pages_and_up_to_from_serial(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """History is the room's Chat messages (not the channel's other messages), newest
    first unless ``direction=forwards``, in pages of ``limit`` whose next links the SDK
    follows; ``fromSerial`` keeps those at or before it, on every page."""
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}, binary) as client:
        serials = [send(client, room, f"m{n}")["serial"] for n in range(1, 6)]
        client.channels.get(f"{room}::$chat").publish("not-chat", "x")
        path = room_path(room, "/messages")

        first = call(client, "GET", path, params={"limit": 2})
        assert [m["text"] for m in first.items] == ["m5", "m4"]
        assert first.has_next()
        second = first.next()
        assert [m["text"] for m in second.items] == ["m3", "m2"]
        last = second.next()
        assert [m["text"] for m in last.items] == ["m1"] and last.is_last()

        forwards = call(client, "GET", path, params={"direction": "forwards"})
        assert [m["serial"] for m in forwards.items] == serials

        until = {"fromSerial": serials[2], "limit": 2}
        before = call(client, "GET", path, params=until)
        assert [m["text"] for m in before.items] == ["m3", "m2"]
        assert [m["text"] for m in before.next().items] == ["m1"]
        onward = call(client, "GET", path, params={**until, "direction": "forwards"})
        assert [m["text"] for m in onward.items] == ["m1", "m2"]
        tail = onward.next()
        assert [m["text"] for m in tail.items] == ["m3"] and tail.is_last()


@BINARY
def test_get_one_message_or_40400(emu: AblyEmulator, key: ApiKey, binary: bool) -> None:
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}, binary) as client:
        sent = send(client, room, "only")
        assert call(client, "GET", room_path(room, serial=sent["serial"])).items == [sent]
        other = client.channels.get(f"{room}::$chat").publish("not-chat", "x").serials[0]
        for serial in ("01000000000000-000000001@emulator", other):
            assert refused(call(client, "GET", room_path(room, serial=serial))) == (40400, 404)


# -- who may ----------------------------------------------------------------------------------


def test_each_route_needs_its_capability(emu: AblyEmulator, key: ApiKey) -> None:
    """Sending needs ``publish``, history and get ``history``: else 40160/401, the code
    of the channel's own refusals, and nothing is sent."""
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}) as client:
        serial = send(client, room, "kept")["serial"]
    with rest(emu, key, "bob", {room: ["subscribe"]}) as client:
        body = {"text": "refused"}
        assert refused(call(client, "POST", room_path(room, "/messages"), body=body)) == (
            40160,
            401,
        )
        assert refused(call(client, "GET", room_path(room, "/messages"))) == (40160, 401)
        assert refused(call(client, "GET", room_path(room, serial=serial))) == (40160, 401)
    assert [m["text"] for m in emu.chat_messages(room)] == ["kept"]


def test_a_room_scoped_capability_matches_the_room_name(emu: AblyEmulator, key: ApiKey) -> None:
    """docs, chat/authentication "Room-scoped capabilities": ``support:*`` covers room
    ``support:42`` (its channel ``support:42::$chat``) and not ``sales:1``."""
    with rest(emu, key, "alice", {"support:*": MEMBER}) as client:
        send(client, "support:42", "in scope")
        answer = call(client, "POST", room_path("sales:1", "/messages"), body={"text": "no"})
        assert refused(answer) == (40160, 401)


@pytest.mark.parametrize("client_id", [None, "*"], ids=["anonymous", "wildcard"])
def test_sending_needs_an_identified_client(
    emu: AblyEmulator, key: ApiKey, client_id: str | None
) -> None:
    """A Chat message carries its sender's clientId: a credential with none (or a
    wildcard naming none) gets 40161/401, "requires an identified client"."""
    room = new_room()
    with rest(emu, key, client_id, {room: MEMBER}) as client:
        answer = call(client, "POST", room_path(room, "/messages"), body={"text": "who?"})
        assert refused(answer) == (40161, 401)
    assert emu.chat_messages(room) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, 40003),
        ({"text": 7}, 40003),
        ({"text": "x", "metadata": ["a"]}, 40003),
        ({"text": "x", "headers": {"nested": {"no": 1}}}, 40003),
        ({"text": "x", "headers": ["a"]}, 40003),
        ([{"text": "x"}], 40000),
    ],
    ids=["no-text", "text-not-string", "metadata-list", "headers-nested", "headers-list", "array"],
)
def test_a_malformed_message_is_refused(
    emu: AblyEmulator, key: ApiKey, body: object, code: int
) -> None:
    """spec "Common Error Codes": 40003 InvalidArgument, 40000 BadRequest, status 400."""
    room = new_room()
    with rest(emu, key, "alice", {room: MEMBER}) as client:
        answer = call(client, "POST", room_path(room, "/messages"), body=body)
        assert refused(answer) == (code, 400)
    assert emu.chat_messages(room) == []


# -- updates and deletes --------------------------------------------------------------------

MODERATOR = ["publish", "subscribe", "history", "message-update-any", "message-delete-any"]


@BINARY
def test_delete_own_allowed_another_s_refused_and_a_moderator_deletes_any(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """message-delete-own deletes the member's own message and is refused on another's
    (40160/401, the channel's own-vs-any rule); message-delete-any deletes anyone's.
    Both realtime clients see each delete as a message.delete of the same serial. A
    deleted message has empty text, metadata and headers, as Ably's Chat service
    answers (@ably/chat messages.integration.test.ts, "Delete messages have empty
    text"): in the answer, the realtime event, history, get and its latest version."""
    room = new_room()
    sent: dict[str, dict[str, object]] = {}
    answers: list[dict[str, object]] = []
    read: dict[str, object] = {}

    def act() -> None:
        with rest(emu, key, "bob", {room: MEMBER}, binary) as bob:
            sent["bob"] = send(bob, room, "bob's", metadata={"m": 1}, headers={"h": "1"})
        with rest(emu, key, "alice", {room: MEMBER}, binary) as alice:
            sent["alice"] = send(alice, room, "alice's")
            path = room_path(room, "/delete", serial=str(sent["bob"]["serial"]))
            assert refused(call(alice, "POST", path, body={})) == (40160, 401)
            own = room_path(room, "/delete", serial=str(sent["alice"]["serial"]))
            answers.append(call(alice, "POST", own).items[0])
        with rest(emu, key, "mod", {room: MODERATOR}, binary) as mod:
            body = {"description": "spam", "metadata": {"rule": "7"}}
            serial = str(sent["bob"]["serial"])
            path = room_path(room, "/delete", serial=serial)
            answers.append(call(mod, "POST", path, body=body).items[0])
            read["history"] = call(mod, "GET", room_path(room, "/messages")).items
            read["get"] = call(mod, "GET", room_path(room, serial=serial)).items[0]
            read["versions"] = call(mod, "GET", room_path(room, "/versions", serial=serial)).items

    alice_seen, bob_seen = watch_while(emu, key, room, ["alice", "bob"], act, 4, binary)
    own, moderated = answers
    assert own["action"] == moderated["action"] == "message.delete"
    emptied = {"text": "", "metadata": {}, "headers": {}}
    assert own["serial"] == sent["alice"]["serial"]
    assert moderated["serial"] == sent["bob"]["serial"]
    for answer in (own, moderated):
        assert {name: answer[name] for name in emptied} == emptied
    assert own["version"]["clientId"] == "alice"  # type: ignore[index]
    assert read["history"] == [own, moderated]  # newest first, each in its place
    assert read["get"] == moderated
    versions = read["versions"]
    assert isinstance(versions, list) and versions[-1] == moderated
    assert (versions[0]["text"], versions[0]["metadata"]) == ("bob's", {"m": 1})
    version = moderated["version"]
    assert isinstance(version, dict) and version["serial"] > moderated["serial"]
    assert (version["clientId"], version["description"], version["metadata"]) == (
        "mod",
        "spam",
        {"rule": "7"},
    )
    for seen in (alice_seen, bob_seen):
        deletes = [(m.serial, m.action) for m in seen if m.action == MessageAction.MESSAGE_DELETE]
        assert deletes == [
            (sent["alice"]["serial"], MessageAction.MESSAGE_DELETE),
            (sent["bob"]["serial"], MessageAction.MESSAGE_DELETE),
        ]
        for message in seen:
            if message.action == MessageAction.MESSAGE_DELETE:
                assert message.data == {"text": "", "metadata": {}}
                assert message.extras == {"headers": {}}
    assert [m["action"] for m in emu.chat_messages(room)] == ["message.delete"] * 2


@BINARY
def test_update_own_with_put_semantics_and_another_s_refused(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """An update replaces text, metadata and headers (CHA-M8c: what is left out is
    removed); subscribers get a message.update; history and get show the latest version
    in the original's place; message-update-own cannot touch another's message, and
    message-update-any can."""
    room = new_room()
    answers: dict[str, object] = {}

    def act() -> None:
        with rest(emu, key, "alice", {room: MEMBER}, binary) as alice:
            first = send(alice, room, "helo", metadata={"a": 1}, headers={"h": "1"})
            second = send(alice, room, "second")
            path = room_path(room, serial=str(first["serial"]))
            body = {"message": {"text": "hello"}, "description": "typo"}
            answers["update"] = call(alice, "PUT", path, body=body).items[0]
            answers["history"] = call(alice, "GET", room_path(room, "/messages")).items
            answers["get"] = call(alice, "GET", path).items[0]
            answers["first"], answers["second"] = first, second
        with rest(emu, key, "bob", {room: MEMBER}, binary) as bob:
            body = {"message": {"text": "hijack"}}
            answers["bob"] = refused(call(bob, "PUT", path, body=body))
        with rest(emu, key, "mod", {room: MODERATOR}, binary) as mod:
            body = {"message": {"text": "[edited by mod]"}}
            answers["mod"] = call(mod, "PUT", path, body=body).items[0]

    (seen,) = watch_while(emu, key, room, ["watcher"], act, 4, binary)
    first, update = answers["first"], answers["update"]
    assert isinstance(first, dict) and isinstance(update, dict)
    assert {
        name: update[name] for name in ("serial", "clientId", "text", "metadata", "headers")
    } == {
        "serial": first["serial"],
        "clientId": "alice",
        "text": "hello",
        "metadata": {},
        "headers": {},
    }
    assert update["action"] == "message.update"
    assert update["version"]["serial"] > first["serial"]
    assert (update["version"]["clientId"], update["version"]["description"]) == ("alice", "typo")
    assert answers["get"] == update
    assert answers["history"] == [answers["second"], update]
    assert answers["bob"] == (40160, 401)
    moderated = answers["mod"]
    assert isinstance(moderated, dict) and moderated["text"] == "[edited by mod]"
    assert moderated["version"]["clientId"] == "mod"
    updates = [m for m in seen if m.action == MessageAction.MESSAGE_UPDATE]
    assert [m.data["text"] for m in updates] == ["hello", "[edited by mod]"]
    assert {m.serial for m in updates} == {first["serial"]}


def test_changes_need_their_capability_and_a_well_formed_body(
    emu: AblyEmulator, key: ApiKey
) -> None:
    room = new_room()
    with rest(emu, key, "alice", {room: ["publish", "history"]}) as alice:
        serial = send(alice, room, "x")["serial"]
        path = room_path(room, serial=serial)
        assert refused(call(alice, "PUT", path, body={"message": {"text": "y"}})) == (40160, 401)
        assert refused(call(alice, "POST", room_path(room, "/delete", serial=serial))) == (
            40160,
            401,
        )
    with rest(emu, key, "alice", {room: MEMBER}) as alice:
        for body, code in (
            ({"message": {}}, 40003),
            ({"message": {"text": "y"}, "metadata": {"n": 1}}, 40003),
            ({"message": {"text": "y"}, "description": 5}, 40003),
            ({"text": "y"}, 40000),
        ):
            assert refused(call(alice, "PUT", path, body=body)) == (code, 400), body
        unknown = room_path(room, serial="01000000000000-000000001@emulator")
        assert refused(call(alice, "PUT", unknown, body={"message": {"text": "y"}})) == (
            40400,
            404,
        )
    assert [m["text"] for m in emu.chat_messages(room)] == ["x"]
