"""The FastAPI, Flask and Django examples' Ably Chat mode
(examples/{fastapi,flask,django}_app/chat.py), proven end to end: the emulator as Ably,
the example app serving authUrls on a real socket, and two
``@ably/chat`` users under Node in one support room: ``alice``, a member of her own room
(``MEMBER``), connecting through the JWT route, and ``mod``, a moderator of every support
room (``MODERATOR``), through the TokenRequest route (and a second moderator, ``lead``,
joining later). Each feature is used by one and seen by the other; what the grants refuse
is refused with Ably's codes."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.error import HTTPError

import pytest

from ably_authkit import ApiKey, Capability, verify_jwt
from ably_authkit.chat import MEMBER, MODERATOR, chat_capability
from ably_authkit.endpoint import AuthEndpoint
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR, AblyJsError, js_options
from .realtime_peers import AblyChatUser
from .test_examples import serving_app
from .test_printed_snippets import ROOT, free_port, read_until, stop, user_env, wait_listening

ROOM = "support:alice"  # alice's own support room
MODERATORS = {"mod", "lead"}
#: Ably's code for an operation the credential's capability does not allow: a room not
#: granted, or another's message deleted with message-delete-own (docs,
#: messages/updates-deletes "Capabilities"; docs/emulator.md, "Ably Chat", "Who may").
NOT_ALLOWED = 40160
FRAMEWORKS = ("fastapi", "flask", "django")


class Example:
    def __init__(self, url: str, key: ApiKey, emulator: AblyEmulator) -> None:
        self.url = url
        self.key = key
        self.emulator = emulator


def chat_app(framework: str, auth: AuthEndpoint) -> Any:
    if framework == "flask":
        from examples.flask_app.chat import create_app as flask_app

        return flask_app(auth, moderators=MODERATORS)
    if framework == "django":
        from examples.django_app.chat import create_app as django_app

        return django_app(auth, moderators=MODERATORS)
    from examples.fastapi_app.chat import create_app as fastapi_app

    return fastapi_app(auth, moderators=MODERATORS)


@contextmanager
def process_settings(framework: str) -> Iterator[None]:
    """Where the Django example's Chat settings (its GRANT_FOR and CHAT_MODERATORS) last:
    Django's settings are the process's, and the other tests serve app.py's policy."""
    if framework != "django":
        yield
        return
    from django.test import override_settings

    with override_settings():  # whatever is set inside is undone on exit
        yield


@pytest.fixture(scope="module", params=FRAMEWORKS)
def example(request: pytest.FixtureRequest) -> Iterator[Example]:
    """The emulator, and the example's Chat app (FastAPI, then Flask, then Django)
    serving authUrls from one of its keys, on a real socket as its __main__ serves it."""
    framework = request.param
    with AblyEmulator() as emulator:
        key = emulator.create_key()
        with (
            AuthEndpoint(key, endpoint=emulator.url, clock=emulator.now) as auth,
            process_settings(framework),
            serving_app(framework, chat_app(framework, auth)) as url,
        ):
            yield Example(url, key, emulator)


def chat_user(example: Example, user: str, mode: str) -> AblyChatUser:
    peer = AblyChatUser()
    try:
        options = js_options(
            example.emulator, authUrl=f"{example.url}/auth/{mode}", authHeaders={"X-User-Id": user}
        )
        assert peer.call("connect", options=options)["clientId"] == user
    except BaseException:
        peer.close()
        raise
    return peer


class Room:
    def __init__(self, alice: AblyChatUser, mod: AblyChatUser) -> None:
        self.alice = alice
        self.mod = mod
        self.both = (alice, mod)


@pytest.fixture(scope="module")
def room(example: Example) -> Iterator[Room]:
    """alice (JWT) and mod (TokenRequest) attached to alice's support room, every
    subscription in place; occupancy events on, and raw message reactions for mod."""
    alice = chat_user(example, "alice", "jwt")
    try:
        mod = chat_user(example, "mod", "token-request")
        try:
            options = {"occupancy": {"enableEvents": True}}
            raw = {**options, "messages": {"rawMessageReactions": True}}
            assert mod.call("attach", room=ROOM, options=raw) == "attached"
            assert alice.call("attach", room=ROOM, options=options) == "attached"
            yield Room(alice, mod)
            # Nothing @ably/chat raised on its own (say, on ATTACHED) went unseen.
            assert alice.call("unhandled") == []
            assert mod.call("unhandled") == []
        finally:
            mod.close()
    finally:
        alice.close()


def wait(user: AblyChatUser, kind: str, **match: Any) -> dict[str, Any]:
    """The first event of ``kind`` in the room whose fields (dotted paths) equal
    ``match``; fails if none arrives within 5 seconds."""
    events = user.call("waitEvents", room=ROOM, kind=kind, match=match)
    return next(
        event
        for event in events
        if all(_pick(event, path) == value for path, value in match.items())
    )


def _pick(event: Any, path: str) -> Any:
    for key in path.split("."):
        event = event.get(key) if isinstance(event, dict) else None
    return event


def credential(example: Example, user: str | None) -> tuple[int, Any]:
    headers = {"X-User-Id": user} if user else {}
    request = urllib.request.Request(f"{example.url}/auth/jwt", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
            return answer.status, verify_jwt(answer.read().decode(), example.key)
    except HTTPError as refused:
        return refused.code, json.loads(refused.read())["error"]["code"]


def test_each_user_gets_the_chat_grant_the_policy_gives(example: Example) -> None:
    status, alice = credential(example, "alice")
    assert status == 200
    assert (alice.client_id, alice.capability) == ("alice", chat_capability({ROOM: MEMBER}))
    status, mod = credential(example, "mod")
    assert status == 200
    assert (mod.client_id, mod.capability) == ("mod", chat_capability({"support:*": MODERATOR}))
    # An id that would widen the room if pasted in as is names one room only.
    status, wild = credential(example, "a*:b")
    assert status == 200
    assert list(wild.capability) == ["support:a%2A%3Ab"]
    assert credential(example, None) == (401, 40100)
    assert credential(example, "*") == (401, 40100)


def test_an_id_the_policy_refuses_never_connects(example: Example) -> None:
    """The app answers 401 for "*"; ably-js reports the authUrl's failure as 80019/401
    (spec RSA4c1), and the Chat client never connects."""
    peer = AblyChatUser()
    try:
        options = js_options(
            example.emulator, authUrl=f"{example.url}/auth/jwt", authHeaders={"X-User-Id": "*"}
        )
        with pytest.raises(AblyJsError) as refused:
            peer.call("connect", options=options)
        assert (refused.value.code, refused.value.status_code) == (80019, 401)
    finally:
        peer.close()


def test_alice_sends_and_both_receive(room: Room) -> None:
    sent = room.alice.call("send", room=ROOM, text="hello, support", metadata={"order": 42})
    assert (sent["clientId"], sent["text"], sent["action"]) == (
        "alice",
        "hello, support",
        "message.create",
    )
    for user in room.both:
        event = wait(user, "message", **{"message.serial": sent["serial"]})
        assert event["type"] == "message.created"
        message = event["message"]
        assert (message["clientId"], message["text"], message["metadata"]) == (
            "alice",
            "hello, support",
            {"order": 42},
        )


def test_alice_reads_history(room: Room) -> None:
    sent = room.alice.call("send", room=ROOM, text="for the record")
    wait(room.alice, "message", **{"message.serial": sent["serial"]})
    history = room.alice.call("history", room=ROOM, params={"limit": 50})
    found = [m for m in history if m["serial"] == sent["serial"]]
    assert [(m["clientId"], m["text"], m["action"]) for m in found] == [
        ("alice", "for the record", "message.create")
    ]


def test_a_message_reaction_reaches_both_as_a_summary(room: Room) -> None:
    sent = room.mod.call("send", room=ROOM, text="how can we help?")
    wait(room.alice, "message", **{"message.serial": sent["serial"]})
    room.alice.call("react", room=ROOM, serial=sent["serial"], params={"name": "👍"})
    for user in room.both:
        event = wait(user, "summary", messageSerial=sent["serial"])
        assert event["type"] == "reaction.summary"
        assert event["reactions"]["distinct"]["👍"]["total"] == 1
        assert event["reactions"]["distinct"]["👍"]["clientIds"] == ["alice"]
    # The moderator's grant has raw-message-reactions: who reacted with what, as it happened.
    raw = wait(room.mod, "raw", **{"reaction.messageSerial": sent["serial"]})
    assert (raw["type"], raw["reaction"]["name"], raw["reaction"]["clientId"]) == (
        "reaction.create",
        "👍",
        "alice",
    )
    # She takes it back: both see a summary without it.
    room.alice.call("unreact", room=ROOM, serial=sent["serial"], params={"name": "👍"})
    for user in room.both:
        wait(user, "summary", messageSerial=sent["serial"], **{"reactions.distinct": {}})
    wait(room.mod, "raw", **{"reaction.messageSerial": sent["serial"], "type": "reaction.delete"})


def test_alice_is_present(room: Room) -> None:
    room.alice.call("enter", room=ROOM, data={"status": "waiting"})
    event = wait(room.mod, "presence", type="enter", clientId="alice")
    assert event["data"] == {"status": "waiting"}
    alice_connection = room.alice.call("connectionState")["id"]
    members = room.mod.call("presenceGet", room=ROOM)
    alice_member = {
        "clientId": "alice",
        "connectionId": alice_connection,
        "data": {"status": "waiting"},
    }
    assert alice_member in members


def test_occupancy_counts_both_connections(room: Room) -> None:
    present = len(room.mod.call("presenceGet", room=ROOM))
    assert room.alice.call("occupancyGet", room=ROOM) == {
        "connections": 2,
        "presenceMembers": present,
    }
    # With occupancy events on, each user's room hears the count too.
    for user in room.both:
        wait(user, "occupancy", **{"occupancy.connections": 2})
        assert user.call("occupancyCurrent", room=ROOM)["connections"] == 2  # the latest


def test_mod_sees_alice_typing(room: Room) -> None:
    room.alice.call("keystroke", room=ROOM)
    started = wait(
        room.mod, "typing", **{"change.clientId": "alice", "change.type": "typing.started"}
    )
    assert "alice" in started["currentlyTyping"]
    room.alice.call("stopTyping", room=ROOM)
    stopped = wait(
        room.mod, "typing", **{"change.clientId": "alice", "change.type": "typing.stopped"}
    )
    assert "alice" not in stopped["currentlyTyping"]


def test_mod_sees_alice_s_room_reaction(room: Room) -> None:
    room.alice.call("roomReaction", room=ROOM, params={"name": "heart", "metadata": {"n": 1}})
    event = wait(room.mod, "reaction", name="heart", clientId="alice")
    assert (event["type"], event["metadata"], event["isSelf"]) == ("reaction", {"n": 1}, False)


def test_a_member_deletes_her_own_message_not_the_moderator_s(room: Room) -> None:
    theirs = room.mod.call("send", room=ROOM, text="please read our policy")
    wait(room.alice, "message", **{"message.serial": theirs["serial"]})
    with pytest.raises(AblyJsError) as refused:
        room.alice.call("delete", room=ROOM, serial=theirs["serial"])
    assert (refused.value.code, refused.value.status_code) == (NOT_ALLOWED, 401)
    history = room.mod.call("history", room=ROOM, params={"limit": 50})
    assert [m["action"] for m in history if m["serial"] == theirs["serial"]] == ["message.create"]
    # delete-own: her own message she may delete.
    own = room.alice.call("send", room=ROOM, text="sent by mistake")
    deleted = room.alice.call("delete", room=ROOM, serial=own["serial"])
    assert (deleted["action"], deleted["version"]["clientId"]) == ("message.delete", "alice")


def test_the_moderator_s_delete_of_alice_s_message_reaches_both(room: Room) -> None:
    sent = room.alice.call("send", room=ROOM, text="something off-topic")
    wait(room.mod, "message", **{"message.serial": sent["serial"]})
    details = {"description": "off-topic"}
    deleted = room.mod.call("delete", room=ROOM, serial=sent["serial"], details=details)
    assert deleted["action"] == "message.delete"
    for user in room.both:
        deletion = {"message.serial": sent["serial"], "message.action": "message.delete"}
        event = wait(user, "message", **deletion)
        assert event["type"] == "message.deleted"
        assert event["message"]["clientId"] == "alice"  # still alice's message
        version = event["message"]["version"]
        assert (version["clientId"], version["description"]) == ("mod", "off-topic")


def test_alice_edits_her_own_message_and_both_see_it(room: Room) -> None:
    sent = room.alice.call("send", room=ROOM, text="my order is 41")
    wait(room.mod, "message", **{"message.serial": sent["serial"]})
    edit = {"description": "typo"}
    updated = room.alice.call(
        "update", room=ROOM, serial=sent["serial"], text="my order is 42", details=edit
    )
    assert (updated["action"], updated["text"]) == ("message.update", "my order is 42")
    for user in room.both:
        change = {"message.serial": sent["serial"], "message.action": "message.update"}
        event = wait(user, "message", **change)
        assert (event["type"], event["message"]["text"]) == ("message.updated", "my order is 42")
        assert event["message"]["version"]["clientId"] == "alice"


def test_a_moderator_joining_later_reads_what_came_before(example: Example, room: Room) -> None:
    """historyBeforeSubscribe: @ably/chat reads history up to the point its subscription
    began, which the ATTACHED message's channelSerial marks."""
    before = room.alice.call("send", room=ROOM, text="is anyone there?")
    wait(room.mod, "message", **{"message.serial": before["serial"]})
    lead = chat_user(example, "lead", "jwt")
    try:
        assert lead.call("attach", room=ROOM) == "attached"
        after = room.alice.call("send", room=ROOM, text="hello, lead")
        wait(lead, "message", **{"message.serial": after["serial"]})
        earlier = lead.call("historyBeforeSubscribe", room=ROOM, params={"limit": 50})
        serials = [m["serial"] for m in earlier]
        assert before["serial"] in serials
        assert after["serial"] not in serials
        assert lead.call("unhandled") == []
    finally:
        lead.close()


def test_alice_cannot_enter_a_room_she_was_not_granted(room: Room) -> None:
    with pytest.raises(AblyJsError) as refused:
        room.alice.call("attach", room="support:bob")
    assert refused.value.code == NOT_ALLOWED
    assert room.alice.call("status", room="support:bob")["status"] == "failed"
    # Her own room and her connection are unaffected.
    assert room.alice.call("status", room=ROOM)["status"] == "attached"
    assert room.alice.call("connectionState")["state"] == "connected"


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_example_runs_in_chat_mode_with_the_moderators_it_is_given(framework: str) -> None:
    """``python -m examples.fastapi_app --emulator --chat`` as its README runs it (and
    the Flask and Django examples')."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"examples.{framework}_app", "--emulator", "--chat"],
        cwd=ROOT,
        env=user_env(PORT=str(port), CHAT_MODERATORS="mod, lead"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = read_until(process, "Ably Chat mode:")
        assert banner[-1] == (
            "Ably Chat mode: alice is a member of room support:alice; "
            "moderators of support:* (CHAT_MODERATORS): lead, mod"
        )
        wait_listening(process, port, banner)
        granted = {}
        for user in ("alice", "lead", "mod"):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/auth/token-request", headers={"X-User-Id": user}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                granted[user] = Capability.parse(json.loads(answer.read())["capability"])
    finally:
        stop(process)
    assert granted == {
        "alice": chat_capability({ROOM: MEMBER}),
        "lead": chat_capability({"support:*": MODERATOR}),
        "mod": chat_capability({"support:*": MODERATOR}),
    }


def test_the_chat_sdk_the_tests_run_is_the_pinned_one_the_docs_name() -> None:
    pinned = json.loads((JS_DIR / "package.json").read_text(encoding="utf-8"))
    version = pinned["dependencies"]["@ably/chat"]
    lock = json.loads((JS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/@ably/chat"]["version"] == version  # exact pin
    installed = JS_DIR / "node_modules" / "@ably" / "chat" / "package.json"
    assert json.loads(installed.read_text(encoding="utf-8"))["version"] == version
    guide = (ROOT / "docs" / "chat.md").read_text(encoding="utf-8")
    assert f"`@ably/chat` {version} users" in " ".join(guide.split())
