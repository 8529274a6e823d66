"""Mutable messages in the emulator, as in Ably: serials on every message, get by serial
(RSL11), versions (RSL14), and update, delete and append (RSL15) with the capabilities
message-update-own/-any and message-delete-own/-any and the channel rule (93002). Each
test drives a real SDK over real sockets: the ``ably`` package and ably-js under Node."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import msgpack
import pytest
from ably import AblyRealtime
from ably.sync.types.message import Message
from ably.sync.types.operations import MessageOperation
from ably.types.connectionstate import ConnectionState
from ably.types.message import Message as AsyncMessage
from ably.types.message import MessageAction

from ably_authkit import AblyApiError, ApiKey, mint_jwt
from ably_authkit.errors import ParameterTypeError
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .mutable_clients import refusal, rest
from .peers import AblyJs, AblyJsError, js_options
from .realtime_peers import AblyJsRealtime

MEMBER = ["publish", "subscribe", "history"]
_ids = itertools.count()


@pytest.fixture(scope="module")
def emu() -> Iterator[AblyEmulator]:
    """An emulator whose app has the mutable-messages rule on the ``mutable`` namespace."""
    with AblyEmulator(mutable_messages=["mutable"]) as emulator:
        yield emulator


def channel_name(prefix: str = "mutable") -> str:
    return f"{prefix}:test-{next(_ids)}"


# -- serials ---------------------------------------------------------------------------


@BINARY
def test_publish_answers_serials_that_history_and_get_message_carry(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    channel = channel_name("plain")  # every message has a serial, with or without the rule
    with rest(emu, key, "alice", {"*": MEMBER}, binary) as client:
        chan = client.channels.get(channel)
        result = chan.publish(messages=[Message("a", "1"), Message("b", "2")])
        assert len(result.serials) == 2 and len(set(result.serials)) == 2
        assert sorted(result.serials) == result.serials  # lexicographic, in publish order
        history = chan.history(direction="forwards").items
        assert [m.serial for m in history] == result.serials
        assert [m.action for m in history] == [MessageAction.MESSAGE_CREATE] * 2
        fetched = chan.get_message(result.serials[1])
        assert (fetched.name, fetched.data, fetched.serial) == ("b", "2", result.serials[1])
    assert [m["serial"] for m in emu.published(channel)] == result.serials


# -- the capability matrix ---------------------------------------------------------------

CHANGES = {
    "update": ("update_message", "message-update", MessageAction.MESSAGE_UPDATE),
    "delete": ("delete_message", "message-delete", MessageAction.MESSAGE_DELETE),
    # An append needs message-update-own or -any (docs, updates-deletes "Capabilities").
    "append": ("append_message", "message-update", MessageAction.MESSAGE_UPDATE),
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("grant", ["own", "any", None])
@pytest.mark.parametrize("whose", ["own", "other"])
def test_capability_matrix(
    emu: AblyEmulator, key: ApiKey, change: str, grant: str | None, whose: str
) -> None:
    """-own changes the credential's own messages only, -any every message, and a
    credential with neither is refused: 40160/401, and the message is left as it was."""
    method, capability, action = CHANGES[change]
    channel = channel_name()
    author = "alice" if whose == "own" else "bob"
    with rest(emu, key, author, {"mutable:*": MEMBER}) as publisher:
        serial = publisher.channels.get(channel).publish("greeting", "hello").serials[0]
    granted = MEMBER + ([f"{capability}-{grant}"] if grant else [])
    with rest(emu, key, "alice", {"mutable:*": granted}) as client:
        chan = client.channels.get(channel)

        def attempt() -> Any:
            return getattr(chan, method)(Message(serial=serial, data=" there"))

        allowed = grant == "any" or (grant == "own" and whose == "own")
        if not allowed:
            assert refusal(attempt) == (40160, 401)
            assert [v["action"] for v in emu.message_versions(channel, serial)] == [0]
            assert chan.get_message(serial).data == "hello"
            return
        result = attempt()
        latest = chan.get_message(serial)
        assert latest.action == action
        assert latest.version.serial == result.version_serial > serial
        assert latest.version.client_id == "alice"
        assert latest.client_id == author  # the message stays its publisher's
        assert latest.data == ("hello there" if change == "append" else " there")


def test_a_wildcard_or_anonymous_credential_has_no_own_messages(
    emu: AblyEmulator, key: ApiKey
) -> None:
    """-own needs both clientIds identified (docs, updates-deletes "Capabilities")."""
    channel = channel_name()
    with rest(emu, key, None, {"mutable:*": MEMBER}) as anonymous:
        serial = anonymous.channels.get(channel).publish("n", "d").serials[0]
    for client_id in (None, "*"):
        grant = {"mutable:*": [*MEMBER, "message-update-own"]}
        with rest(emu, key, client_id, grant) as client:
            update = client.channels.get(channel).update_message
            assert refusal(lambda u=update: u(Message(serial=serial, data="x"))) == (40160, 401)


# -- the channel rule, reading, and what is refused ----------------------------------


@BINARY
def test_a_channel_without_the_rule_refuses_changes_with_93002(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    channel = channel_name("plain")
    grant = {"*": [*MEMBER, "message-update-any", "message-delete-any"]}
    with rest(emu, key, "alice", grant, binary) as client:
        chan = client.channels.get(channel)
        serial = chan.publish("n", "d").serials[0]
        for method in ("update_message", "delete_message", "append_message"):
            change = getattr(chan, method)
            assert refusal(lambda c=change: c(Message(serial=serial, data="x"))) == (93002, 400)
        assert chan.get_message(serial).data == "d"


@BINARY
def test_unknown_serials_are_40400(emu: AblyEmulator, key: ApiKey, binary: bool) -> None:
    grant = {"*": [*MEMBER, "message-update-any"]}
    with rest(emu, key, "alice", grant, binary) as client:
        chan = client.channels.get(channel_name())
        serial = chan.publish("n", "d").serials[0]
        missing = serial.replace("@", "0@")
        assert refusal(lambda: chan.get_message(missing)) == (40400, 404)
        assert refusal(lambda: chan.get_message_versions(missing)) == (40400, 404)
        assert refusal(lambda: chan.update_message(Message(serial=missing, data="x"))) == (
            40400,
            404,
        )
        other = client.channels.get(channel_name())  # a serial of another channel
        assert refusal(lambda: other.get_message(serial)) == (40400, 404)


def test_reading_by_serial_needs_history(emu: AblyEmulator, key: ApiKey) -> None:
    """getMessage and getMessageVersions need the history capability (docs,
    updates-deletes "Get the latest version", "Get message versions")."""
    channel = channel_name()
    with rest(emu, key, "alice", {"*": MEMBER}) as publisher:
        serial = publisher.channels.get(channel).publish("n", "d").serials[0]
    with rest(emu, key, "alice", {"*": ["publish", "subscribe", "message-update-any"]}) as c:
        chan = c.channels.get(channel)
        assert refusal(lambda: chan.get_message(serial)) == (40160, 401)
        assert refusal(lambda: chan.get_message_versions(serial)) == (40160, 401)


def test_an_identified_client_cannot_sign_a_version_as_another(
    emu: AblyEmulator, key: ApiKey
) -> None:
    channel = channel_name()
    with rest(emu, key, "alice", {"*": [*MEMBER, "message-update-any"]}) as client:
        chan = client.channels.get(channel)
        serial = chan.publish("n", "d").serials[0]
        forged = MessageOperation(client_id="mallory")
        assert refusal(lambda: chan.update_message(Message(serial=serial, data="x"), forged)) == (
            40012,
            400,
        )
        signed = MessageOperation(client_id="alice", description="typo")
        chan.update_message(Message(serial=serial, data="x"), signed)
    assert emu.message_versions(channel, serial)[-1]["version"]["clientId"] == "alice"


@BINARY
def test_versions_history_and_the_mixin(emu: AblyEmulator, key: ApiKey, binary: bool) -> None:
    """An update replaces only the fields it carries (docs, updates-deletes "Mixin
    semantics"); history shows the latest version in the original's place; the versions
    list every update and delete, oldest first, and no append ("Not stored")."""
    channel = channel_name()
    grant = {"*": [*MEMBER, "message-update-any", "message-delete-any"]}
    with rest(emu, key, "mod", grant, binary) as client:
        chan = client.channels.get(channel)
        first, second = chan.publish(
            messages=[Message("a", "one", extras={"headers": {"k": "v"}}), Message("b", "two")]
        ).serials
        update = chan.update_message(
            Message(serial=first, data="ONE"),
            MessageOperation(description="caps", metadata={"reason": "shout"}),
        )
        chan.append_message(Message(serial=first, data="!"))
        delete = chan.delete_message(Message(serial=first, data=""))
        history = chan.history(direction="forwards").items
        assert [(m.serial, m.name, m.data, m.action) for m in history] == [
            (first, "a", "", MessageAction.MESSAGE_DELETE),
            (second, "b", "two", MessageAction.MESSAGE_CREATE),
        ]
        assert history[0].extras == {"headers": {"k": "v"}}
        versions = chan.get_message_versions(first).items
        assert [(v.action, v.data, v.version.serial) for v in versions] == [
            (MessageAction.MESSAGE_CREATE, "one", first),
            (MessageAction.MESSAGE_UPDATE, "ONE", update.version_serial),
            (MessageAction.MESSAGE_DELETE, "", delete.version_serial),
        ]
        assert versions[1].version.description == "caps"
        assert versions[1].version.metadata == {"reason": "shout"}
    stored = emu.message_versions(channel, first)
    assert [v["action"] for v in stored] == [0, 1, 2]
    assert stored[1]["version"]["metadata"] == {"reason": "shout"}


def test_binary_data_is_appended_as_binary(emu: AblyEmulator, key: ApiKey) -> None:
    channel = channel_name()
    grant = {"*": [*MEMBER, "message-update-any"]}
    with rest(emu, key, "a", grant, binary=True) as packed, rest(emu, key, "a", grant) as text:
        serial = packed.channels.get(channel).publish("b", b"\x00\x01").serials[0]
        text.channels.get(channel).append_message(Message(serial=serial, data=b"\x02"))
        assert packed.channels.get(channel).get_message(serial).data == b"\x00\x01\x02"
        refused = text.channels.get(channel).append_message
        assert refusal(lambda: refused(Message(serial=serial, data="text"))) == (40013, 400)


# -- ably-js, and an app provisioned as the SDK suites do ----------------------------


@pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])
def test_ably_js_rest_on_an_app_with_a_mutable_namespace(ably_js: AblyJs, binary: bool) -> None:
    """The flow of ably-js's test/rest/updates-deletes.test.js, on an app made as its
    suite makes one (POST /apps with ably-common's ``mutable`` namespace)."""
    with AblyEmulator() as emu:
        app = emu.create_app(
            {"keys": [{}], "namespaces": [{"id": "mutable", "mutableMessages": True}]}
        )
        key_text = app["keys"][0]["keyStr"]
        client = f"mutable-{binary}"
        options = js_options(emu, key=key_text, useBinaryProtocol=binary)
        ably_js.call("restCreate", id=client, options=options)
        try:
            channel = "mutable:js"
            published = ably_js.call(
                "restPublishSerials",
                id=client,
                channel=channel,
                messages=[{"name": "original", "data": {"value": "original"}}],
            )
            serial = published["serials"][0]
            original = ably_js.call("restGetMessage", id=client, channel=channel, serial=serial)
            assert original["action"] == "message.create"
            assert original["version"]["serial"] == serial  # TM2s1, filled in by ably-js
            operation = {"clientId": "updater", "description": "d", "metadata": {"r": "t"}}
            result = ably_js.call(
                "restChangeMessage",
                id=client,
                channel=channel,
                method="updateMessage",
                message={"serial": serial, "data": {"value": "updated"}},
                operation=operation,
            )
            latest = ably_js.call("restGetMessage", id=client, channel=channel, serial=serial)
            assert latest["action"] == "message.update"
            assert latest["name"] == "original" and latest["data"] == {"value": "updated"}
            assert latest["version"]["serial"] == result["versionSerial"] > serial
            assert {k: latest["version"][k] for k in operation} == operation
            ably_js.call(
                "restChangeMessage",
                id=client,
                channel=channel,
                method="deleteMessage",
                message={"serial": serial, "data": {}},
            )
            versions = ably_js.call(
                "restMessageVersions", id=client, channel=channel, serial=serial
            )
            assert [v["action"] for v in versions] == [
                "message.create",
                "message.update",
                "message.delete",
            ]
            text = ably_js.call(
                "restPublishSerials",
                id=client,
                channel=channel,
                messages=[{"name": "t", "data": "Hello"}],
            )["serials"][0]
            ably_js.call(
                "restChangeMessage",
                id=client,
                channel=channel,
                method="appendMessage",
                message={"serial": text, "data": " World"},
            )
            appended = ably_js.call("restGetMessage", id=client, channel=channel, serial=text)
            assert (appended["action"], appended["data"]) == ("message.update", "Hello World")
            with pytest.raises(AblyJsError) as refused:
                ably_js.call(
                    "restChangeMessage",
                    id=client,
                    channel="other:js",
                    method="updateMessage",
                    message={"serial": serial, "data": "x"},
                )
            assert (refused.value.code, refused.value.status_code) == (93002, 400)
        finally:
            ably_js.call("restClose", id=client)


def test_mutable_messages_option_is_checked() -> None:
    with pytest.raises(ParameterTypeError, match=r"\['chat'\]"):
        AblyEmulator(mutable_messages="chat")
    with pytest.raises(ParameterTypeError):
        AblyEmulator(mutable_messages=[""])


def test_every_channel_with_mutable_messages_true() -> None:
    with AblyEmulator(mutable_messages=True) as emu:
        key = emu.create_key()
        with rest(emu, key, "a", {"*": [*MEMBER, "message-delete-own"]}) as client:
            chan = client.channels.get("any-name")
            serial = chan.publish("n", "d").serials[0]
            chan.delete_message(Message(serial=serial))
        assert [v["action"] for v in emu.message_versions("any-name", serial)] == [0, 2]
        with pytest.raises(AblyApiError) as missing:
            emu.message_versions("any-name", "nope")
        assert missing.value.code == 40400


# -- realtime ------------------------------------------------------------------------


def test_ably_js_realtime_gets_serials_in_acks_and_changes_delivered(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    """A realtime publish's ACK carries its serials (TR4s, RTL6j); an update and a delete
    made over REST reach a subscriber as MESSAGEs with the action, the message's serial and
    the new version (docs, updates-deletes: "publishes a new message to the channel, with
    an action of message.update or message.delete, with the same serial")."""
    channel = channel_name()
    jwt = mint_jwt(key, capability={"mutable:*": MEMBER}, client_id="alice", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    realtime_js.call("subscribe", channel=channel)
    serial = realtime_js.call("publishSerials", channel=channel, name="n", data="hello")["serials"][
        0
    ]
    created = realtime_js.call("waitAction", serial=serial, action="message.create")
    assert created["data"] == "hello"
    grant = {"mutable:*": [*MEMBER, "message-update-any", "message-delete-any"]}
    with rest(emu, key, "mod", grant) as moderator:
        chan = moderator.channels.get(channel)
        update = chan.update_message(
            Message(serial=serial, data="edited"), MessageOperation(description="typo")
        )
        delete = chan.delete_message(Message(serial=serial, data=""))
    updated = realtime_js.call("waitAction", serial=serial, action="message.update")
    assert updated["data"] == "edited" and updated["name"] == "n"
    assert updated["clientId"] == "alice"
    assert updated["version"]["serial"] == update.version_serial
    assert updated["version"]["clientId"] == "mod"
    assert updated["version"]["description"] == "typo"
    deleted = realtime_js.call("waitAction", serial=serial, action="message.delete")
    assert deleted["version"]["serial"] == delete.version_serial


def test_ably_js_realtime_updates_over_its_connection(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    """RTL32: updateMessage on a realtime channel sends a MESSAGE with the update, and the
    ACK's serial is the versionSerial; -own is checked as on REST (NACK 40160)."""
    channel = channel_name()
    with rest(emu, key, "bob", {"mutable:*": MEMBER}) as bob:
        theirs = bob.channels.get(channel).publish("n", "bob's").serials[0]
    grant = {"mutable:*": [*MEMBER, "message-update-own"]}
    jwt = mint_jwt(key, capability=grant, client_id="alice", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    realtime_js.call("subscribe", channel=channel)
    mine = realtime_js.call("publishSerials", channel=channel, name="n", data="Hello")["serials"][0]
    result = realtime_js.call(
        "changeMessage",
        channel=channel,
        method="appendMessage",
        message={"serial": mine, "data": " World"},
        operation={"description": "more"},
    )
    versions = emu.message_versions(channel, mine)
    assert [v["action"] for v in versions] == [0]  # an append is not a version
    latest = emu.published(channel)[-1]
    assert latest["serial"] == mine and latest["data"] == "Hello World"
    assert latest["version"]["serial"] == result["versionSerial"]
    # This attachment was sent the message, so it gets the append alone (docs,
    # updates-deletes "Append to a message"; ably-js test/realtime/updates-deletes.test.js).
    delivered = realtime_js.call("waitAction", serial=mine, action="message.append")
    assert delivered["data"] == " World" and delivered["name"] == "n"
    assert delivered["version"]["serial"] == result["versionSerial"]
    assert delivered["version"]["description"] == "more"
    with pytest.raises(AblyJsError) as refused:
        realtime_js.call(
            "changeMessage",
            channel=channel,
            method="updateMessage",
            message={"serial": theirs, "data": "mine now"},
        )
    assert (refused.value.code, refused.value.status_code) == (40160, 401)
    assert emu.published(channel)[0]["data"] == "bob's"


@BINARY
def test_the_ably_package_realtime_subscriber_gets_an_update(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    channel = channel_name()
    grant = {"mutable:*": [*MEMBER, "message-update-own"]}

    async def scenario() -> list[Any]:
        jwt = mint_jwt(key, capability=grant, client_id="alice", now=emu.now())
        client = AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            chan = client.channels.get(channel)
            received: list[Any] = []
            updated = asyncio.Event()

            def on_message(message: Any) -> None:
                received.append(message)
                if message.action == MessageAction.MESSAGE_UPDATE:
                    updated.set()

            await chan.subscribe(on_message)
            published = await chan.publish("n", "draft")
            serial = published.serials[0]
            result = await chan.update_message(AsyncMessage(serial=serial, data="final"))
            await asyncio.wait_for(updated.wait(), 10)
            assert result.version_serial == received[-1].version.serial
            return [(m.action, m.serial == serial, m.data) for m in received]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == [
        (MessageAction.MESSAGE_CREATE, True, "draft"),
        (MessageAction.MESSAGE_UPDATE, True, "final"),
    ]


@BINARY
def test_an_attachment_gets_the_first_append_whole_and_the_next_alone(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """An attachment that was not sent the message gets its first append as the whole
    message so far (message.update), and the next appends as their data alone
    (message.append). Source: docs, updates-deletes "Append to a message"; ably-python
    realtimechannelmutablemessages_test.py, test_append_message_with_string_data."""
    channel = channel_name()
    grant = {"mutable:*": [*MEMBER, "message-update-own"]}

    async def scenario() -> list[Any]:
        jwt = mint_jwt(key, capability=grant, client_id="alice", now=emu.now())
        client = AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            chan = client.channels.get(channel)
            serial = (await chan.publish("n", "Hello")).serials[0]  # before attaching
            received: list[Any] = []
            both = asyncio.Event()

            def on_message(message: Any) -> None:
                received.append(message)
                if len(received) == 2:
                    both.set()

            await chan.subscribe(on_message)
            for part in (",", " World"):
                await chan.append_message(AsyncMessage(serial=serial, data=part))
            await asyncio.wait_for(both.wait(), 10)
            return [(m.action, m.serial == serial, m.data) for m in received]
        finally:
            await client.close()

    assert asyncio.run(scenario()) == [
        (MessageAction.MESSAGE_UPDATE, True, "Hello,"),
        (MessageAction.MESSAGE_APPEND, True, " World"),
    ]
    assert emu.published(channel)[0]["data"] == "Hello, World"


def test_reset_keeps_the_rule_and_forgets_the_messages() -> None:
    with AblyEmulator(mutable_messages=["chat"]) as emu:
        grant = {"*": [*MEMBER, "message-update-own"]}
        with rest(emu, emu.create_key(), "a", grant) as client:
            before = client.channels.get("chat:x").publish("n", "d").serials[0]
        emu.reset()
        with rest(emu, emu.create_key(), "a", grant) as client:
            chan = client.channels.get("chat:x")
            assert refusal(lambda: chan.get_message(before)) == (40400, 404)
            serial = chan.publish("n", "d").serials[0]
            chan.update_message(Message(serial=serial, data="e"))
        assert [v["data"] for v in emu.message_versions("chat:x", serial)] == ["d", "e"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([{"action": 1}], 40000),  # not an object
        ({"data": "x"}, 40003),  # no action
        ({"action": 0, "data": "x"}, 40003),  # a create is not a change
        ({"action": True}, 40003),
        ({"action": 1, "serial": "another"}, 40003),
        ({"action": 1, "version": "typo"}, 40003),
        ({"action": 1, "version": {"metadata": {"n": 1}}}, 40003),  # MOP2c: strings
        ({"action": 1, "version": {"description": 5}}, 40003),
        ({"action": 1, "data": float("inf")}, 40013),
    ],
)
def test_a_malformed_change_is_refused_in_words(
    emu: AblyEmulator, key: ApiKey, body: Any, code: int
) -> None:
    channel = channel_name()
    grant = {"*": [*MEMBER, "message-update-any"]}
    jwt = mint_jwt(key, capability=grant, client_id="a", now=emu.now())
    # msgpack, which carries what JSON cannot (an infinity), for the emulator to refuse.
    headers = {"Authorization": f"Bearer {jwt}", "Content-Type": "application/x-msgpack"}
    with rest(emu, key, "a", grant) as client:
        serial = client.channels.get(channel).publish("n", "d").serials[0]
    text = msgpack.packb(body)
    answer = httpx.patch(
        f"{emu.url}/channels/{channel}/messages/{serial}", content=text, headers=headers
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, code)
    assert [v["data"] for v in emu.message_versions(channel, serial)] == ["d"]


def test_a_channel_with_the_rule_keeps_its_messages_a_day() -> None:
    """Messages of a channel with the rule are persisted (docs, updates-deletes), so kept
    24 hours where others are kept 2 minutes (docs, storage-history/storage)."""
    with AblyEmulator(mutable_messages=["chat"]) as emu:
        key = emu.create_key()
        grant = {"*": MEMBER}
        with rest(emu, key, "a", grant) as client:
            serial = client.channels.get("chat:x").publish("n", "kept").serials[0]
            client.channels.get("plain:x").publish("n", "gone")
        emu.advance(timedelta(minutes=3))
        with rest(emu, key, "a", grant) as client:
            assert [m.data for m in client.channels.get("chat:x").history().items] == ["kept"]
            assert client.channels.get("plain:x").history().items == []
            assert client.channels.get("chat:x").get_message(serial).data == "kept"
        emu.advance(timedelta(hours=24))
        with rest(emu, key, "a", grant) as client:
            chan = client.channels.get("chat:x")
            assert chan.history().items == []
            assert refusal(lambda: chan.get_message(serial)) == (40400, 404)
