from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    Capability,
    ChatFeature,
    MalformedTokenError,
    TokenDetails,
    chat_capability,
    create_token_request,
    explain,
    mint_jwt,
)
from ably_authkit.chat import MEMBER, chat_features

from .conftest import KEY_TEXT, NOW, SECRET
from .strategies import capability_dicts, resource_names

CHAT = {"chat:*": ["publish", "subscribe"]}


def test_a_jwt_in_plain_words(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, client_id="user-42", now=NOW)
    report = explain(token, key, now=NOW + timedelta(minutes=18))
    text = str(report)
    assert text.splitlines()[0] == "Ably JWT for key appId.keyId"
    assert "user-42" in text
    assert '{"chat:*":["publish","subscribe"]}' in text
    assert "(18 min ago)" in text
    assert "(in 42 min)" in text
    assert "verified:    yes" in text
    assert report.ok and report.verified is True
    assert SECRET not in text and token not in text


def test_an_expired_jwt(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, ttl=timedelta(minutes=1), now=NOW)
    report = explain(token, now=NOW + timedelta(minutes=1, seconds=3))
    assert "expired 3 s ago" in report.problems
    assert report.verified is None and "not checked" in str(report)


def test_a_jwt_issued_ahead_of_this_clock(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, now=NOW + timedelta(minutes=5))
    report = explain(token, key, now=NOW)
    assert any("issuer's clock is ahead" in note for note in report.notes)
    assert report.verified is False
    assert not report.ok


def test_a_jwt_checked_against_the_wrong_key(key: ApiKey, other_key: ApiKey) -> None:
    report = explain(mint_jwt(key, capability=CHAT, now=NOW), other_key, now=NOW)
    assert report.verified is False
    assert any("40101" in problem for problem in report.problems)


def test_a_token_request(key: ApiKey) -> None:
    request = create_token_request(key, client_id="*", now=NOW)
    report = explain(request.to_dict(), key, now=NOW + timedelta(seconds=10))
    text = str(report)
    assert text.startswith("TokenRequest for key appId.keyId")
    assert "wildcard" in text
    assert "not set: all of the key's capability" in text
    assert "Ably's default, 1 h" in text
    assert report.ok
    stale = explain(request, now=NOW + timedelta(minutes=3))
    assert any("40104" in problem for problem in stale.problems)
    assert explain(request.to_json(), key, now=NOW).ok


def test_token_details() -> None:
    details = TokenDetails(
        token="appId.secret-token-text",
        issued=NOW,
        expires=NOW + timedelta(hours=1),
        capability=CHAT,
        client_id="u",
        key_name="appId.keyId",
    )
    report = explain(details.to_dict(), now=NOW)
    assert report.kind == "TokenDetails"
    assert "secret-token-text" not in str(report)
    assert report.to_dict()["expires"] == (NOW + timedelta(hours=1)).isoformat()


def test_an_opaque_token() -> None:
    assert explain("appId.Some-Opaque_Token", now=NOW).kind == "Ably token"


@pytest.mark.parametrize("garbage", ["", "{not json", "a b", 42])
def test_garbage(garbage: object) -> None:
    with pytest.raises(MalformedTokenError):
        explain(garbage, now=NOW)  # type: ignore[arg-type]


def test_the_chat_features_a_jwt_allows_room_by_room(key: ApiKey) -> None:
    capability = chat_capability({"support:*": MEMBER, "news": [ChatFeature.RECEIVE]})
    report = explain(mint_jwt(key, capability=capability, now=NOW), key, now=NOW)
    member = (
        "send, receive, update-own, delete-own, history, message-reactions, presence, "
        "typing, room-reactions, occupancy"
    )
    assert report.chat_features == {"news": ("receive",), "support:*": tuple(member.split(", "))}
    lines = str(report).splitlines()
    assert "  Chat room news: receive" in lines
    assert f"  Chat room support:*: {member}" in lines
    assert report.to_dict()["chat_features"] == {
        "news": ["receive"],
        "support:*": member.split(", "),
    }


def test_chat_features_count_wider_grants_and_skip_what_names_no_room(key: ApiKey) -> None:
    token = mint_jwt(
        key,
        capability={
            "*": ["subscribe"],
            "support:*": ["publish"],
            "[meta]*": ["*"],
            "[queue]q": ["*"],
            "alerts": ["presence"],  # with "*"'s subscribe: presence
            "metrics": ["stats"],  # no Chat feature of its own, but "*"'s
        },
        now=NOW,
    )
    report = explain(token, now=NOW)
    assert report.chat_features == {
        "*": ("receive",),
        "alerts": ("receive", "presence"),
        "metrics": ("receive",),
        "support:*": ("send", "receive", "typing", "room-reactions"),
    }
    everything = explain(mint_jwt(key, capability={"[*]*": ["*"]}, now=NOW), now=NOW)
    assert everything.chat_features == {"[*]*": tuple(feature.value for feature in ChatFeature)}


def test_no_chat_lines_without_a_chat_feature(key: ApiKey) -> None:
    unset = explain(create_token_request(key, now=NOW), now=NOW)
    assert unset.chat_features == {} and "Chat room" not in str(unset)
    assert unset.to_dict()["chat_features"] == {}
    stats = explain(mint_jwt(key, capability={"*": ["stats"]}, now=NOW), now=NOW)
    assert stats.chat_features == {} and "Chat room" not in str(stats)
    assert explain("appId.Some-Opaque_Token", now=NOW).chat_features == {}


@given(grants=capability_dicts, rooms=st.lists(resource_names(), min_size=1, max_size=4))
def test_explain_never_claims_a_chat_feature_a_room_lacks(
    grants: dict[str, list[str]], rooms: list[str]
) -> None:
    capability = Capability(grants)
    report = explain(mint_jwt(KEY_TEXT, capability=capability, now=NOW), now=NOW)
    for resource, features in report.chat_features.items():
        assert not resource.startswith(("[queue]", "[meta]"))
        if "*" not in resource:  # one room: exactly what its channel allows
            assert set(features) == chat_features(capability, resource)
        for room in rooms:
            if room.startswith("[") or not Capability({resource: ["*"]}).allows(room, "*"):
                continue
            assert set(features) <= chat_features(capability, room)
