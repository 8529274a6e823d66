"""Ably Chat's user claims in the emulator: a JWT's ``ably.room.<room>`` claim (docs,
chat/setup "User claims"; ``mint_jwt(room_claims=...)``) becomes the ``userClaim`` of
what its holder does in the room (spec CHA-M2h, CHA-PR6g, CHA-T13a1, CHA-ER2a,
CHA-MR7d): Chat messages (the REST answer, history, get, and ``extras.userClaim`` of the
realtime event), an update's or delete's (the updater's or deleter's), presence
members, typing and room reaction messages, and raw message reactions. Proven with the
``ably`` package (REST ``request()`` as @ably/chat calls it, and realtime) and with
@ably/chat under Node, as @ably/chat's own suite checks it against Ably."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.types.message import Message as SyncMessage
from ably.types.message import Message

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .chat_clients import appender, call, room_path, send
from .mutable_clients import rest
from .peers import js_options
from .realtime_peers import AblyChatUser

EVERYTHING = {"*": ["*"]}
_ids = itertools.count()


def new_room() -> str:
    return f"support:claims-{next(_ids)}"


def jwt_for(
    emu: AblyEmulator, key: ApiKey, client_id: str | None, room_claims: dict[str, str] | None
) -> str:
    return mint_jwt(
        key,
        capability=EVERYTHING,
        client_id=client_id,
        now=emu.now(),
        ttl=timedelta(hours=1),
        room_claims=room_claims,
    )


def watching(
    emu: AblyEmulator, key: ApiKey, channel: str, action: Callable[[], None], count: int
) -> list[Message]:
    """What a realtime client attached to ``channel`` is sent while ``action`` runs,
    once it has ``count`` messages."""

    async def scenario() -> list[Message]:
        watcher = AblyRealtime(token=jwt_for(emu, key, "watcher", None), **emu.client_options())
        seen: list[Message] = []
        try:
            await watcher.channels.get(channel).subscribe(appender(seen))
            await asyncio.to_thread(action)
            deadline = time.monotonic() + 10
            while len(seen) < count:
                assert time.monotonic() < deadline, f"not {count} messages: {seen}"
                await asyncio.sleep(0.02)
            return seen
        finally:
            await watcher.close()

    return asyncio.run(scenario())


# -- Chat messages over REST ---------------------------------------------------------------


def test_a_message_carries_its_sender_s_claim_everywhere(emu: AblyEmulator, key: ApiKey) -> None:
    """@ably/chat messages.integration.test.ts, "should be able to send and receive chat
    messages with a user claim": the send's answer, the realtime event
    (``extras.userClaim``), get and history all carry the claim; a sender with no claim
    for the room sends messages without one."""
    room = new_room()
    answers: dict[str, Any] = {}

    def act() -> None:
        with rest(emu, key, "ada", EVERYTHING, room_claims={room: '{"display_name":"Ada"}'}) as ada:
            sent = send(ada, room, "hello")
            answers["sent"] = sent
            answers["get"] = call(ada, "GET", room_path(room, serial=sent["serial"])).items[0]
        with rest(emu, key, "bob", EVERYTHING, room_claims={"sales:*": "not this room"}) as bob:
            answers["plain"] = send(bob, room, "hi")
            answers["history"] = call(bob, "GET", room_path(room, "/messages")).items

    seen = watching(emu, key, f"{room}::$chat", act, 2)
    claim = '{"display_name":"Ada"}'
    assert answers["sent"]["userClaim"] == answers["get"]["userClaim"] == claim
    assert "userClaim" not in answers["plain"]
    assert [m.get("userClaim") for m in answers["history"]] == [None, claim]
    assert [m.extras for m in seen] == [
        {"headers": {}, "userClaim": claim},
        {"headers": {}},
    ]
    assert [m["userClaim"] for m in emu.chat_messages(room) if "userClaim" in m] == [claim]


def test_an_update_and_a_delete_carry_their_author_s_claim(emu: AblyEmulator, key: ApiKey) -> None:
    """@ably/chat messages.integration.test.ts, "should return the deleting clients user
    claim when deleting an updated message": the update's answer and history carry the
    updater's claim, the delete's the deleter's; the message's first version keeps the
    sender's."""
    room = new_room()
    answers: dict[str, Any] = {}

    def act() -> None:
        with rest(emu, key, "sender", EVERYTHING, room_claims={room: "sender-claim"}) as sender:
            serial = send(sender, room, "first")["serial"]
        with rest(emu, key, "updater", EVERYTHING, room_claims={room: "updater-claim"}) as updater:
            body = {"message": {"text": "edited"}}
            answers["update"] = call(updater, "PUT", room_path(room, serial=serial), body=body)
        with rest(emu, key, "deleter", EVERYTHING, room_claims={room: "deleter-claim"}) as deleter:
            path = room_path(room, "/delete", serial=serial)
            answers["delete"] = call(deleter, "POST", path, body={})
            answers["history"] = call(deleter, "GET", room_path(room, "/messages")).items
            path = room_path(room, "/versions", serial=serial)
            answers["versions"] = call(deleter, "GET", path).items

    seen = watching(emu, key, f"{room}::$chat", act, 3)
    assert answers["update"].items[0]["userClaim"] == "updater-claim"
    assert answers["delete"].items[0]["userClaim"] == "deleter-claim"
    assert [m["userClaim"] for m in answers["history"]] == ["deleter-claim"]
    assert [v["userClaim"] for v in answers["versions"]] == [
        "sender-claim",
        "updater-claim",
        "deleter-claim",
    ]
    assert [m.extras["userClaim"] for m in seen] == [
        "sender-claim",
        "updater-claim",
        "deleter-claim",
    ]


def test_the_most_specific_claim_applies_and_a_client_s_own_is_dropped(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """docs, chat/setup "User claims": ``ably.room.support:*`` applies to the support
    rooms, ``ably.room.*`` to all, "the most specific claim is used". A client cannot
    set ``extras.userClaim`` itself ("Clients cannot send this field", spec CHA-M2h): a
    publish on the room's channel that carries one is stored with the credential's
    claim, or none."""
    room = new_room()  # support:claims-N
    claims = {"*": "anywhere", "support:*": "support", room: "this room"}
    with rest(emu, key, "ada", EVERYTHING, room_claims=claims) as ada:
        exact = send(ada, room, "a")
        other = send(ada, "support:elsewhere", "b")
        lobby = send(ada, "lobby", "c")
        channel = ada.channels.get(f"{room}::$chat")
        forged = {"headers": {}, "userClaim": "forged"}
        channel.publish(SyncMessage(name="chat.message", data="{}", extras=forged))
    with rest(emu, key, "bob", EVERYTHING) as bob:
        bob.channels.get(f"{room}::$chat").publish(
            SyncMessage(name="chat.message", data="{}", extras={"userClaim": "forged"})
        )
    assert (exact["userClaim"], other["userClaim"], lobby["userClaim"]) == (
        "this room",
        "support",
        "anywhere",
    )
    stored = emu.chat_messages(room)
    assert [m.get("userClaim") for m in stored] == ["this room", "this room", None]


def test_a_pub_sub_channel_s_messages_carry_the_channel_claim(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """docs, ai-transport identifying-users-and-agents "User claims": with
    ``ably.channel.*`` claims (``mint_jwt(channel_claims=...)``), "the most specific user
    claim matching the channel is automatically included under ``extras.userClaim`` in all
    messages the client publishes", REST and realtime alike. A credential with no claim
    for the channel publishes its extras as they are, and ``ably.room.*`` claims are for
    rooms only."""
    room = new_room()
    claims = {"org:acme:*": "editor", "*": "guest"}
    jwt = mint_jwt(key, capability=EVERYTHING, now=emu.now(), channel_claims=claims)

    async def scenario() -> list[Message]:
        client = AblyRealtime(token=jwt, **emu.client_options())
        seen: list[Message] = []
        try:
            channel = client.channels.get("org:acme:docs")
            await channel.subscribe(appender(seen))
            await channel.publish(Message(name="m", data="1", extras={"userClaim": "forged"}))
            deadline = time.monotonic() + 10
            while not seen:
                assert time.monotonic() < deadline, "no message came"
                await asyncio.sleep(0.02)
            return seen
        finally:
            await client.close()

    (seen,) = asyncio.run(scenario())
    assert seen.extras == {"userClaim": "editor"}
    client = AblyRestSync(token=jwt, **emu.client_options())
    try:
        client.channels.get("lobby").publish(SyncMessage(name="m", data="2"))
    finally:
        client.close()
    with rest(emu, key, "ada", EVERYTHING, room_claims={room: "room claim"}) as ada:
        ada.channels.get(room).publish(
            SyncMessage(name="m", data="3", extras={"userClaim": "mine"})
        )
    assert [m.get("extras") for m in emu.published("lobby")] == [{"userClaim": "guest"}]
    assert [m.get("extras") for m in emu.published(room)] == [{"userClaim": "mine"}]


# -- realtime: presence, typing, room reactions, message reactions (with @ably/chat) -------


def chat_user(emu: AblyEmulator, key: ApiKey, name: str, claims: dict[str, str]) -> AblyChatUser:
    user = AblyChatUser()
    try:
        user.call("connect", options=js_options(emu, token=jwt_for(emu, key, name, claims)))
    except BaseException:
        user.close()
        raise
    return user


def test_chat_users_see_the_claim_on_presence_typing_and_reactions(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """@ably/chat's own suites ("should receive presence events with a user claim",
    "should receive typing events with a user claim", "sends and receives a reaction with
    a user claim", "should be able to send and receive raw message reactions with a user
    claim"), between two @ably/chat users: what ada does carries her claim, and bob, who
    has none for the room, does nothing that carries one."""
    room = new_room()
    options = {"messages": {"rawMessageReactions": True}}
    ada = chat_user(emu, key, "ada", {room: "Ada (agent)"})
    try:
        bob = chat_user(emu, key, "bob", {"lobby": "Bob"})
        try:
            for user in (ada, bob):
                user.call("attach", room=room, options=options)
            ada.call("enter", room=room, data={"status": "here"})
            ada.call("keystroke", room=room)
            ada.call("roomReaction", room=room, params={"name": "like"})
            sent = bob.call("send", room=room, text="question")
            ada.call("react", room=room, serial=sent["serial"], params={"name": "👍"})
            bob.call("react", room=room, serial=sent["serial"], params={"name": "❤️"})
            presence = bob.call("waitEvents", room=room, kind="presence", match={"type": "enter"})
            typing = bob.call(
                "waitEvents", room=room, kind="typing", match={"type": "typing.set.changed"}
            )
            reactions = bob.call("waitEvents", room=room, kind="reaction", match={"name": "like"})
            raw = bob.call("waitEvents", room=room, kind="raw", match={"reaction.clientId": "bob"})
        finally:
            bob.close()
    finally:
        ada.close()
    assert [(e["clientId"], e["userClaim"]) for e in presence] == [("ada", "Ada (agent)")]
    assert typing[0]["change"] == {
        "clientId": "ada",
        "type": "typing.started",
        "userClaim": "Ada (agent)",
    }
    assert [(e["clientId"], e["userClaim"]) for e in reactions] == [("ada", "Ada (agent)")]
    assert sent["serial"] and "userClaim" not in sent
    assert [(e["reaction"]["clientId"], e["reaction"].get("userClaim")) for e in raw] == [
        ("ada", "Ada (agent)"),
        ("bob", None),
    ]


def test_a_renewed_jwt_s_claim_applies_from_then_on(emu: AblyEmulator, key: ApiKey) -> None:
    """A connection's claim is its current credential's: after the client
    reauthorises (RTC8) with a JWT carrying another claim, what it publishes carries the
    new one."""
    room = new_room()
    channel = f"{room}::$chat"
    # Anonymous: ably-python cannot read a JWT's clientId, and refuses a renewal that
    # seems to change it.
    tokens = iter(
        [jwt_for(emu, key, None, {room: "first"}), jwt_for(emu, key, None, {room: "second"})]
    )

    async def scenario() -> list[Message]:
        async def callback(_params: object) -> str:
            return next(tokens)

        ada = AblyRealtime(auth_callback=callback, **emu.client_options())
        seen: list[Message] = []
        try:
            chan = ada.channels.get(channel)
            await chan.subscribe(appender(seen))
            await chan.publish("typing.started", None)
            await ada.auth.authorize()
            await chan.publish("typing.started", None)
            deadline = time.monotonic() + 10
            while len(seen) < 2:
                assert time.monotonic() < deadline, f"not 2 messages: {seen}"
                await asyncio.sleep(0.02)
            return seen
        finally:
            await ada.close()

    seen = asyncio.run(scenario())
    assert [m.extras for m in seen] == [{"userClaim": "first"}, {"userClaim": "second"}]
