from __future__ import annotations

from datetime import timedelta

import pytest

from ably_authkit import (
    ApiKey,
    MalformedTokenError,
    TokenDetails,
    create_token_request,
    explain,
    mint_jwt,
)

from .conftest import NOW, SECRET

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
