"""What the authUrl tells a client when this server cannot issue what it grants: Ably's
code and no more. The cause (the key's capability, its limits) is the app's mistake, and
goes to this server's log (the ``ably_authkit.endpoint`` logger), not to the client."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from ably_authkit import ApiKey
from ably_authkit.endpoint import AuthEndpoint, Grant

from .conftest import KEY_TEXT, NOW

ALICE = Grant(client_id="alice", capability={"chat:*": ["subscribe"]})
SECRET_CAPABILITY = {"internal-billing:*": ["publish"], "ops-alerts": ["subscribe"]}


@pytest.mark.parametrize("mode", ["jwt", "token-request"])
def test_a_grant_beyond_the_keys_capability_answers_40160_without_listing_it(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    auth = AuthEndpoint(ApiKey.parse(KEY_TEXT, capability=SECRET_CAPABILITY))
    with caplog.at_level(logging.ERROR, logger="ably_authkit.endpoint"):
        answer = auth.respond(mode, ALICE, now=NOW)
    assert answer.status == 500
    error = answer.json()["error"]
    assert (error["code"], error["statusCode"]) == (40160, 500)
    for private in ("internal-billing", "ops-alerts", "chat:*", "appId.keyId"):
        assert private not in answer.text
    # The server's log says what is wrong, and how to fix it.
    (record,) = [r for r in caplog.records if r.name == "ably_authkit.endpoint"]
    assert record.levelno == logging.ERROR
    logged = record.getMessage()
    assert "internal-billing" in logged and "chat:*" in logged
    assert "change the grant or the key" in logged
    assert ApiKey.parse(KEY_TEXT).secret not in logged


def test_a_grant_over_a_revocable_keys_ttl_says_only_its_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = AuthEndpoint(ApiKey.parse(KEY_TEXT, revocable=True))
    with caplog.at_level(logging.ERROR, logger="ably_authkit.endpoint"):
        answer = auth.respond("jwt", ALICE.replace(ttl=timedelta(hours=2)), now=NOW)
    assert answer.status == 500
    assert answer.json()["error"]["code"] == 40003
    assert "revocable" not in answer.text
    assert any("revocable" in r.getMessage() for r in caplog.records)
