"""Ably Chat grants by feature (ably_authkit.chat): the docs' feature table as code, the
capability it builds, and what a client holding it may do in a room's channel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from datetime import timedelta

import pytest
from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.util.exceptions import AblyException
from ably.types.message import Message
from ably.util.exceptions import AblyException as AsyncAblyException
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    Capability,
    CapabilityTypeError,
    ChatFeature,
    InvalidCapabilityError,
    chat_capability,
    chat_room,
    create_token_request,
    mint_jwt,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.capability import OPERATIONS
from ably_authkit.chat import (
    FEATURE_OPERATIONS,
    MEMBER,
    MODERATOR,
    chat_features,
    room_channel,
)
from ably_authkit.endpoint import Grant
from ably_authkit.testing import AblyEmulator

from .conftest import NOW
from .strategies import hostile_ids

# Ably docs, "Chat authentication" -> "Chat capabilities" (the same rows in "SDK setup"),
# written out again here rather than read from the module under test.
DOCS_TABLE = {
    "send": {"publish"},  # Send messages
    "receive": {"subscribe"},  # Receive messages
    "update-own": {"message-update-own"},  # Update messages: ... or message-update-own
    "update-any": {"message-update-any"},  # Update messages: message-update-any or ...
    "delete-own": {"message-delete-own"},
    "delete-any": {"message-delete-any"},
    "history": {"subscribe", "history"},  # Message history
    "message-reactions": {"annotation-publish"},  # Message reactions
    "raw-message-reactions": {"annotation-subscribe"},  # ... optionally annotation-subscribe
    "presence": {"subscribe", "presence"},
    "typing": {"publish", "subscribe"},  # Typing indicators
    "room-reactions": {"publish", "subscribe"},
    "occupancy": {"subscribe", "channel-metadata"},
}
# The docs' "All Chat features" row.
ALL_CHAT_FEATURES_ROW = {
    "publish",
    "subscribe",
    "presence",
    "history",
    "channel-metadata",
    "annotation-publish",
    "annotation-subscribe",
    "message-update-own",
    "message-delete-own",
}
CONCRETE = sorted(OPERATIONS - {"*"})

# --- the table ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "operations"), sorted(DOCS_TABLE.items()))
def test_each_feature_needs_exactly_the_docs_operations(value: str, operations: set[str]) -> None:
    feature = ChatFeature(value)
    assert FEATURE_OPERATIONS[feature] == operations
    assert chat_capability({"room": [feature]}) == Capability({"room": sorted(operations)})


def test_the_features_are_the_docs_rows_and_read_as_their_values() -> None:
    assert [feature.value for feature in ChatFeature] == list(DOCS_TABLE)
    assert set(FEATURE_OPERATIONS) == set(ChatFeature)
    assert ChatFeature("update-own") is ChatFeature.UPDATE_OWN
    assert {"update-own": 1}[ChatFeature.UPDATE_OWN] == 1  # equal, and hashed alike
    assert str(ChatFeature.UPDATE_OWN) == f"{ChatFeature.UPDATE_OWN}" == "update-own"
    with pytest.raises(TypeError):
        FEATURE_OPERATIONS[ChatFeature.SEND] = frozenset()  # type: ignore[index]


def test_member_and_moderator_capabilities_byte_for_byte() -> None:
    assert chat_capability({"support:*": MEMBER}).to_json() == (
        '{"support:*":["annotation-publish","channel-metadata","history","message-delete-own",'
        '"message-update-own","presence","publish","subscribe"]}'
    )
    assert chat_capability({"support:*": MODERATOR}).to_json() == (
        '{"support:*":["annotation-publish","annotation-subscribe","channel-metadata",'
        '"history","message-delete-any","message-delete-own","message-update-any",'
        '"message-update-own","presence","publish","subscribe"]}'
    )
    # A member has the docs' "All Chat features" row but raw reactions' annotation-subscribe.
    member = set(chat_capability({"r": MEMBER})["r"])
    assert member == ALL_CHAT_FEATURES_ROW - {"annotation-subscribe"}
    assert set(chat_capability({"r": MEMBER | {"raw-message-reactions"}})["r"]) == (
        ALL_CHAT_FEATURES_ROW
    )
    added = {ChatFeature.UPDATE_ANY, ChatFeature.DELETE_ANY, ChatFeature.RAW_MESSAGE_REACTIONS}
    assert added == MODERATOR - MEMBER


def test_rooms_and_patterns_become_resources_as_given() -> None:
    capability = chat_capability(
        {
            "support:42": ["send", ChatFeature.RECEIVE],  # strings and members alike
            "support:*": {ChatFeature.RECEIVE},
            "*": [ChatFeature.PRESENCE, ChatFeature.TYPING],  # overlapping operations
        }
    )
    assert capability.to_dict() == {
        "*": ["presence", "publish", "subscribe"],
        "support:*": ["subscribe"],
        "support:42": ["publish", "subscribe"],
    }


def test_a_pattern_grants_its_rooms_channels_and_no_other() -> None:
    capability = chat_capability({"support:*": MEMBER})
    assert capability.allows("support:42::$chat", "publish")
    assert capability.allows("support:42:urgent::$chat", "history")
    assert not capability.allows("sales:1::$chat", "publish")
    assert not capability.allows("sales:1::$chat", "subscribe")
    assert chat_features(capability, "support:42") == MEMBER
    assert chat_features(capability, "sales:1") == frozenset()
    assert chat_features(capability, "support") == frozenset()  # `*` needs a segment


def test_chat_features_reads_any_capability() -> None:
    hand_made = {"*": ["subscribe"], "dms:*": ["publish", "presence"]}
    assert chat_features(hand_made, "dms:ann-bob") == {
        ChatFeature.SEND,
        ChatFeature.RECEIVE,
        ChatFeature.PRESENCE,
        ChatFeature.TYPING,
        ChatFeature.ROOM_REACTIONS,
    }
    assert chat_features('{"lobby":["subscribe","history"]}', "lobby") == {
        ChatFeature.RECEIVE,
        ChatFeature.HISTORY,
    }
    assert chat_features({"[*]*": ["*"]}, "any") == set(ChatFeature)
    # A resource naming the channel (not the room) matches nothing.
    assert chat_features({"lobby::$chat": ["*"]}, "lobby") == frozenset()


def test_room_channel_appends_the_chat_qualifier() -> None:
    assert room_channel("support:42") == "support:42::$chat"
    with pytest.raises(InvalidCapabilityError, match="room name, not the channel name"):
        room_channel("support:42::$chat")


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rooms", "words"),
    [
        ({"r": ["sned"]}, "'sned' (for room 'r') is not a Chat feature. Did you mean 'send'?"),
        ({"r": ["UPDATE_OWN"]}, "Did you mean 'update-own'?"),
        ({"r": ["publish"]}, "the features that use it: send, typing, room-reactions"),
        ({"r": []}, "room 'r' has no Chat features, so it would grant nothing"),
        ({}, "no rooms"),
        ({"r::$chat": MEMBER}, "it is the channel of Chat room 'r'. Give the room name, not"),
        ({"a::b": MEMBER}, "'a::b' is not a Chat room name"),
        ({"[meta]r": MEMBER}, "'[meta]r' is not a Chat room"),
        ({"[queue]r": MEMBER}, "'[queue]r' is not a Chat room"),
        ({"[*]*": MEMBER}, "'[*]*' is not a Chat room"),
        ({"": MEMBER}, "capability resource '' is invalid: it is empty"),
        ({":r": MEMBER}, "capability resource ':r' is invalid: it starts with ':'"),
        ({"a\nb": MEMBER}, "line break"),
    ],
)
def test_what_cannot_be_granted_is_refused_naming_it_and_the_fix(
    rooms: dict[str, Iterable[str]], words: str
) -> None:
    with pytest.raises(InvalidCapabilityError, match=re.escape(words)) as caught:
        chat_capability(rooms)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == 40000


@pytest.mark.parametrize(
    ("rooms", "words"),
    [
        ({"r": "send"}, "must be a collection such as ['send'], not str"),
        ({"r": ChatFeature.SEND}, "must be a collection such as ['send'], not ChatFeature"),
        ({"r": [1]}, "must be a ChatFeature or its str value"),
        ({1: MEMBER}, "must be a str such as 'support:42', not int"),
        (["r"], "takes a mapping of room name to Chat features"),
    ],
)
def test_wrong_types_are_type_errors(rooms: object, words: str) -> None:
    with pytest.raises(CapabilityTypeError, match=re.escape(words)) as caught:
        chat_capability(rooms)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)


def test_the_caller_s_mapping_is_only_read() -> None:
    features = ["send", "receive"]
    rooms = {"support:*": features, "lobby": MEMBER}
    chat_capability(rooms)
    assert rooms == {"support:*": ["send", "receive"], "lobby": MEMBER}
    assert rooms["support:*"] is features


# --- untrusted ids ------------------------------------------------------------------------


def test_chat_room_makes_one_room_of_untrusted_ids() -> None:
    assert chat_room("support", "T-42") == "support:T-42"
    assert chat_room("dms", "alice", "bob") == "dms:alice:bob"
    for hostile in ("*", "42:*", "[meta]x", "", "a\nb", "%2A"):
        with pytest.raises(InvalidCapabilityError, match="cannot be put in a resource name"):
            chat_room("support", hostile)
    assert chat_room("support", "42:*", escape=True) == "support:42%3A%2A"
    with pytest.raises(InvalidCapabilityError, match="at least one segment"):
        chat_room()
    with pytest.raises(CapabilityTypeError):
        chat_room("support", 42)  # type: ignore[arg-type]


# --- where a capability goes --------------------------------------------------------------


def test_a_jwt_carries_the_exact_chat_capability(key: ApiKey) -> None:
    import jwt as pyjwt

    capability = chat_capability({chat_room("support", "T-42"): MEMBER, "news": ["receive"]})
    token = mint_jwt(key, capability=capability, client_id="agent-7", now=NOW)
    claims = verify_jwt(token, key, now=NOW)
    assert claims.capability == capability
    raw = pyjwt.decode(token, options={"verify_signature": False})
    assert raw["x-ably-capability"] == capability.to_json()
    request = create_token_request(key, capability=capability, now=NOW)
    assert request.capability == capability.to_json()
    verify_token_request(request, key, now=NOW)
    assert Grant(client_id="agent-7", capability=capability).capability == capability


@pytest.fixture
def emulator_key(ably_emulator: AblyEmulator) -> ApiKey:
    return ably_emulator.create_key()


def test_ably_grants_the_features_room_by_room(
    ably_emulator: AblyEmulator, emulator_key: ApiKey
) -> None:
    """The `ably` package's REST client with a JWT from chat_capability, over a real
    socket: Ably (here the emulator) matches each room's channel by its room name."""
    capability = chat_capability(
        {"support:*": {ChatFeature.SEND, ChatFeature.HISTORY}, "news": {ChatFeature.RECEIVE}}
    )
    token = mint_jwt(
        emulator_key, capability=capability, now=ably_emulator.now(), ttl=timedelta(hours=1)
    )
    client = AblyRestSync(token=token, **ably_emulator.client_options())
    try:
        support = client.channels.get(room_channel("support:42"))
        support.publish("chat.message", {"text": "hello"})
        assert [message.name for message in support.history().items] == ["chat.message"]
        for refused in (room_channel("sales:1"), room_channel("news")):
            with pytest.raises(AblyException) as caught:
                client.channels.get(refused).publish("chat.message", {"text": "no"})
            assert caught.value.code == 40160
        with pytest.raises(AblyException) as caught:
            client.channels.get(room_channel("news")).history()  # receive is not history
        assert caught.value.code == 40160
    finally:
        client.close()


def test_ably_realtime_clients_get_their_features_in_the_room(
    ably_emulator: AblyEmulator, emulator_key: ApiKey
) -> None:
    """Two `ably` AblyRealtime clients on a room's channel: a member enters presence and
    sends; a reader (RECEIVE only) gets the message and is refused presence (40160)."""
    emu = ably_emulator
    channel = room_channel(chat_room("support", "T-42"))

    def client(features: Iterable[ChatFeature], client_id: str) -> AblyRealtime:
        token = mint_jwt(
            emulator_key,
            capability=chat_capability({"support:*": features}),
            client_id=client_id,
            now=emu.now(),
            ttl=timedelta(hours=1),
        )
        return AblyRealtime(token=token, **emu.client_options())

    async def scenario() -> None:
        member = client(MEMBER, "agent-7")
        reader = client([ChatFeature.RECEIVE], "visitor")
        try:
            received: list[Message] = []

            def on_message(message: Message) -> None:
                received.append(message)

            heard = reader.channels.get(channel)
            await heard.subscribe(on_message)
            room = member.channels.get(channel)
            await room.presence.enter("here")
            await room.publish("chat.message", {"text": "hello"})
            for _ in range(500):
                if received:
                    break
                await asyncio.sleep(0.02)
            assert [(m.name, m.client_id) for m in received] == [("chat.message", "agent-7")]
            assert [m.client_id for m in emu.present(channel)] == ["agent-7"]
            with pytest.raises(AsyncAblyException) as caught:
                await heard.presence.enter("me too")
            assert (caught.value.code, caught.value.status_code) == (40160, 401)
        finally:
            await member.close()
            await reader.close()

    asyncio.run(scenario())


# --- properties ---------------------------------------------------------------------------

feature_sets = st.frozensets(st.sampled_from(list(ChatFeature)), min_size=1)
segment_lists = st.lists(hostile_ids, min_size=1, max_size=3)


def _room(segments: list[str]) -> str | None:
    try:
        return chat_room(*segments, escape=True)
    except InvalidCapabilityError:
        return None  # empty, or not UTF-8: refused, so nothing is granted


@given(mine=segment_lists, other=segment_lists, features=feature_sets)
def test_a_room_s_grant_allows_its_features_there_and_nothing_elsewhere(
    mine: list[str], other: list[str], features: frozenset[ChatFeature]
) -> None:
    room, elsewhere = _room(mine), _room(other)
    if room is None:
        return
    capability = chat_capability({room: features})
    needed = set().union(*(FEATURE_OPERATIONS[feature] for feature in features))
    for operation in needed:
        assert capability.allows(room_channel(room), operation)
    allowed = chat_features(capability, room)
    assert allowed >= features
    for feature in allowed:
        assert FEATURE_OPERATIONS[feature] <= needed
    if elsewhere is not None and elsewhere != room:
        for operation in CONCRETE:
            assert not capability.allows(room_channel(elsewhere), operation)
        assert chat_features(capability, elsewhere) == frozenset()


@given(features=feature_sets, ticket=hostile_ids)
def test_a_namespace_pattern_covers_its_rooms_only(
    features: frozenset[ChatFeature], ticket: str
) -> None:
    room = _room(["support", ticket])
    if room is None:
        return
    capability = chat_capability({"support:*": features})
    assert chat_features(capability, room) >= features
    assert chat_features(capability, room.replace("support", "sales", 1)) == frozenset()
