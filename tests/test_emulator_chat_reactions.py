"""Ably Chat's message reactions in the emulator (spec "Sending message reactions",
"Deleting message reactions", CHA-MR; @ably/chat message-reactions.ts): each is an
annotation ``reaction:{unique,distinct,multiple}.v1`` on the message, published through
the channel's annotations, so its summary reaches subscribers as a ``message.summary``
and the message's ``reactions``; proven with the ``ably`` package's ``request()`` (as
@ably/chat calls the REST API) and realtime client, and with ably-js under Node."""

from __future__ import annotations

from ably.sync import AblyRestSync
from ably.types.message import MessageAction

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .chat_clients import call, new_room, refused, room_path, send, watch_while
from .conftest import BINARY
from .mutable_clients import rest
from .peers import js_options
from .realtime_peers import AblyJsRealtime

REACTOR = ["publish", "subscribe", "history", "annotation-publish"]


def react(client: AblyRestSync, room: str, serial: str, **body: object) -> tuple[int, object]:
    answer = call(client, "POST", room_path(room, "/reactions", serial=serial), body=body)
    return answer.status_code, answer.items[0] if answer.success else int(answer.error_code)


def unreact(client: AblyRestSync, room: str, serial: str, **params: str) -> tuple[int, object]:
    answer = call(client, "DELETE", room_path(room, "/reactions", serial=serial), params=params)
    return answer.status_code, answer.items[0] if answer.success else int(answer.error_code)


def reactions(client: AblyRestSync, room: str, serial: str) -> object:
    return call(client, "GET", room_path(room, serial=serial)).items[0].get("reactions")


@BINARY
def test_reactions_reach_subscribers_as_a_summary_and_the_message(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """Distinct reactions of two clients: each answered 201 with the annotation's
    serial; the watcher gets message.summary events with the message's serial whose
    ``reaction:distinct.v1`` entry counts them; the message's ``reactions`` is that
    summary by type (spec "Messages V4")."""
    room = new_room()
    found: dict[str, object] = {}

    def act() -> None:
        with rest(emu, key, "alice", {room: REACTOR}, binary) as alice:
            serial = send(alice, room, "react to me")["serial"]
            found["serial"] = serial
            found["first"] = react(alice, room, serial, type="distinct", name="❤️")
            with rest(emu, key, "bob", {room: REACTOR}, binary) as bob:
                react(bob, room, serial, type="distinct", name="❤️")
                react(bob, room, serial, type="distinct", name="🚀")
            found["reactions"] = reactions(alice, room, serial)

    (seen,) = watch_while(emu, key, room, ["watcher"], act, 4, binary)
    serial = found["serial"]
    first = found["first"]
    assert isinstance(first, tuple)
    status, answer = first
    assert status == 201 and isinstance(answer, dict) and answer["serial"] > serial
    distinct = {
        "❤️": {"total": 2, "clientIds": ["alice", "bob"], "clipped": False},
        "🚀": {"total": 1, "clientIds": ["bob"], "clipped": False},
    }
    assert found["reactions"] == {"unique": {}, "distinct": distinct, "multiple": {}}
    summaries = [m for m in seen if m.action == MessageAction.MESSAGE_SUMMARY]
    assert {m.serial for m in summaries} == {serial} and len(summaries) == 3
    assert summaries[-1].annotations.summary == {"reaction:distinct.v1": distinct}
    assert emu.chat_messages(room)[0]["reactions"]["distinct"] == distinct


def test_multiple_counts_unique_moves_and_deletes(emu: AblyEmulator, key: ApiKey) -> None:
    room = new_room()
    with rest(emu, key, "alice", {room: REACTOR}) as alice:
        serial = send(alice, room, "vote")["serial"]
        assert react(alice, room, serial, type="multiple", name="👍", count=3)[0] == 201
        assert react(alice, room, serial, type="multiple", name="👍")[0] == 201
        react(alice, room, serial, type="unique", name="🎉")
        react(alice, room, serial, type="unique", name="😀")  # one unique reaction a client
        summary = reactions(alice, room, serial)
        assert summary == {
            "unique": {"😀": {"total": 1, "clientIds": ["alice"], "clipped": False}},
            "distinct": {},
            "multiple": {
                "👍": {
                    "total": 4,
                    "clientIds": {"alice": 4},
                    "totalUnidentified": 0,
                    "totalClientIds": 1,
                    "clipped": False,
                }
            },
        }
        # The name is ignored for unique (spec "Deleting message reactions").
        status, answer = unreact(alice, room, serial, type="unique")
        assert status == 200 and isinstance(answer, dict) and answer["serial"] > serial
        assert unreact(alice, room, serial, type="multiple", name="👍")[0] == 200
        assert reactions(alice, room, serial) is None


def test_reaction_refusals(emu: AblyEmulator, key: ApiKey) -> None:
    """40003/400 for a bad type, a missing name, a count on a reaction that is not
    multiple, or a delete without the name its type needs; 40160/401 without
    annotation-publish; 40400/404 for an unknown serial; nothing is counted."""
    room = new_room()
    with rest(emu, key, "alice", {room: REACTOR}) as alice:
        serial = send(alice, room, "x")["serial"]
        for body in (
            {"type": "like", "name": "👍"},
            {"type": "distinct"},
            {"type": "distinct", "name": "👍", "count": 2},
            {"type": "multiple", "name": "👍", "count": 0},
        ):
            assert react(alice, room, serial, **body) == (400, 40003), body
        assert unreact(alice, room, serial, type="distinct") == (400, 40003)
        assert unreact(alice, room, serial, type="nope", name="x") == (400, 40003)
        unknown = "01000000000000-000000001@emulator"
        assert react(alice, room, unknown, type="distinct", name="👍") == (404, 40400)
    with rest(emu, key, "bob", {room: ["publish", "subscribe", "history"]}) as bob:
        assert react(bob, room, serial, type="distinct", name="👍") == (401, 40160)
        answer = call(
            bob,
            "DELETE",
            room_path(room, "/reactions", serial=serial),
            params={"type": "distinct", "name": "👍"},
        )
        assert refused(answer) == (40160, 401)
    with rest(emu, key, None, {room: REACTOR}) as anonymous:
        # Distinct and unique reactions come from identified clients (docs, annotation
        # types), as for any annotation of those types: 40161.
        assert react(anonymous, room, serial, type="distinct", name="👍") == (401, 40161)
    assert emu.annotations(f"{room}::$chat", serial) == []


def test_ably_js_sees_the_raw_reaction_and_the_summary(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    """@ably/chat's raw reactions are the channel's annotations (ANNOTATION_SUBSCRIBE
    mode, annotation-subscribe), and its summaries the message.summary messages."""
    room = new_room()
    channel = f"{room}::$chat"
    capability = {room: [*REACTOR, "annotation-subscribe"]}
    jwt = mint_jwt(key, capability=capability, client_id="js", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    modes = ["PUBLISH", "SUBSCRIBE", "ANNOTATION_PUBLISH", "ANNOTATION_SUBSCRIBE"]
    realtime_js.call("subscribeWith", channel=channel, options={"modes": modes})
    realtime_js.call("subscribeAnnotations", channel=channel)
    with rest(emu, key, "alice", capability) as alice:
        serial = send(alice, room, "x")["serial"]
        react(alice, room, serial, type="multiple", name="🔥", count=5)
    raw = realtime_js.call("waitAnnotation", name="🔥")
    assert (raw["type"], raw["clientId"], raw["messageSerial"]) == (
        "reaction:multiple.v1",
        "alice",
        serial,
    )
    realtime_js.call("waitAction", serial=serial, action="message.summary")
    (summary,) = realtime_js.call("summaries", serial=serial)
    assert summary["summary"]["reaction:multiple.v1"]["🔥"]["total"] == 5


def test_client_reactions_show_one_client(emu: AblyEmulator, key: ApiKey) -> None:
    """GET .../client-reactions: the summary with only that client in each entry, the
    totals the message's (@ably/chat's integration test); forClientId names another;
    it needs subscribe (40160/401)."""
    room = new_room()

    def path_of(serial: str) -> str:
        return room_path(room, "/client-reactions", serial=serial)

    with rest(emu, key, "alice", {room: REACTOR}) as alice:
        serial = send(alice, room, "x")["serial"]
        react(alice, room, serial, type="distinct", name="❤️")
        react(alice, room, serial, type="multiple", name="👍", count=2)
        with rest(emu, key, "bob", {room: REACTOR}) as bob:
            react(bob, room, serial, type="distinct", name="❤️")
            react(bob, room, serial, type="distinct", name="🚀")
            react(bob, room, serial, type="multiple", name="👍")
        (own,) = call(alice, "GET", path_of(serial)).items
        (bobs,) = call(alice, "GET", path_of(serial), params={"forClientId": "bob"}).items
    assert own == {
        "unique": {},
        "distinct": {"❤️": {"total": 2, "clientIds": ["alice"], "clipped": False}},
        "multiple": {
            "👍": {
                "total": 3,
                "clientIds": {"alice": 2},
                "totalUnidentified": 0,
                "totalClientIds": 1,
                "clipped": False,
            }
        },
    }
    assert bobs["distinct"] == {
        "❤️": {"total": 2, "clientIds": ["bob"], "clipped": False},
        "🚀": {"total": 1, "clientIds": ["bob"], "clipped": False},
    }
    assert bobs["multiple"]["👍"]["clientIds"] == {"bob": 1}
    with rest(emu, key, "carol", {room: ["history"]}) as carol:
        assert refused(call(carol, "GET", path_of(serial))) == (40160, 401)
