"""The endpoint's limits against hostile input: wildcard identities only by name, hostile user
ids through the examples' grants, oversized narrowings, 502 bodies, key rings."""

from __future__ import annotations

import json
import logging
import pickle
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    Capability,
    InvalidApiKeyError,
    InvalidClientIdError,
    KeyRing,
    explain,
    mint_jwt,
    resource_segment,
    verify_jwt,
)
from ably_authkit.capability import MAX_SEGMENT_LENGTH, OPERATIONS
from ably_authkit.endpoint import ANY_CLIENT_ID, AuthEndpoint, Grant
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, NOW, OTHER_SECRET, SECRET
from .strategies import hostile_ids

CHAT = {"chat:*": ["publish", "subscribe"]}
OLD = ApiKey.parse(KEY_TEXT)
NEW = ApiKey.parse(f"appId.otherKey:{OTHER_SECRET}")


def test_a_wildcard_identity_is_granted_only_by_name() -> None:
    with pytest.raises(InvalidClientIdError, match="ANY_CLIENT_ID") as caught:
        Grant(client_id="*", capability=CHAT)
    assert isinstance(caught.value, ValueError) and caught.value.code == 40012
    anyone = Grant(client_id=ANY_CLIENT_ID, capability=CHAT)
    assert anyone.client_id == "*" and repr(ANY_CLIENT_ID) == "ANY_CLIENT_ID"
    assert anyone.replace(ttl=timedelta(minutes=5)).client_id == "*"
    assert pickle.loads(pickle.dumps(anyone)) == anyone
    assert anyone.replace(client_id="bob").client_id == "bob"
    for other in ("**", "a*", " *"):  # not the wildcard: an ordinary (odd) identity
        assert Grant(client_id=other, capability=CHAT).client_id == other


def example_grant_for(framework: str) -> Any:
    import importlib

    return importlib.import_module(f"examples.{framework}_app.app").grant_for


OPS = sorted(OPERATIONS - {"*"})


@pytest.mark.parametrize("framework", ["flask", "django", "fastapi"])
@given(user=hostile_ids, other=hostile_ids, op=st.sampled_from(OPS))
def test_a_hostile_user_id_gets_nothing_outside_its_own_resources(
    framework: str, user: str, other: str, op: str
) -> None:
    """Through each example's own grant_for and the endpoint, as a client would get it."""
    grant = example_grant_for(framework)(user)
    if grant is None:  # empty, "*", an id Ably cannot carry or too long: no credential
        assert user in ("", "*") or "\n" in user or len(user) > MAX_SEGMENT_LENGTH
        return
    answer = AuthEndpoint(OLD).respond("jwt", grant, now=NOW)
    if answer.status != 200:  # an id Ably cannot carry (a line break): refused, 4xx/5xx
        assert "\n" in user or "\r" in user
        return
    claims = verify_jwt(answer.text, OLD, now=NOW)
    assert claims.client_id == user != "*"
    own = f"user:{resource_segment(user, escape=True)}"
    assert claims.capability.allows(own, "subscribe")
    assert not claims.capability.allows(f"{own}:more", "subscribe")
    for kind in ("[meta]", "[queue]"):
        assert not claims.capability.allows(f"{kind}{own}", op)
    if other != user and other:
        try:
            theirs = f"user:{resource_segment(other, escape=True)}"
        except ValueError:
            return
        assert not claims.capability.allows(theirs, op)
        if "\n" not in other and "\r" not in other and not other.startswith(("[", ":")):
            assert not claims.capability.allows(f"user:{other}", op)


@pytest.mark.parametrize("framework", ["flask", "django", "fastapi"])
def test_an_id_too_long_for_a_channel_name_gets_no_grant(framework: str) -> None:
    """resource_segment refuses an id over MAX_SEGMENT_LENGTH: each example answers it as
    no user (401), where the error escaped its grant_for as a 500."""
    grant_for = example_grant_for(framework)
    assert grant_for("u" * MAX_SEGMENT_LENGTH) is not None
    assert grant_for("u" * (MAX_SEGMENT_LENGTH + 1)) is None


def test_a_narrowing_too_large_for_a_jwt_is_the_client_s_400() -> None:
    auth = AuthEndpoint(OLD)
    grant = Grant(client_id="alice", capability=CHAT)
    rooms = {f"chat:room-{number}": ["subscribe"] for number in range(400)}
    answer = auth.respond("jwt", grant, query=urlencode({"capability": json.dumps(rooms)}))
    assert answer.status == 400
    error = answer.json()["error"]
    assert error["code"] == 40003 and "wildcard" in error["message"]
    # The same many rooms fit a TokenRequest, whose capability travels in its body.
    as_request = auth.respond(
        "token-request", grant, query=urlencode({"capability": json.dumps(rooms)})
    )
    assert as_request.status == 200
    # A grant too large by itself is this server's fault: 500.
    assert auth.respond("jwt", Grant(client_id="alice", capability=rooms)).status == 500


def test_a_502_body_names_no_internal_address(
    key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        caplog.at_level(logging.WARNING, logger="ably_authkit.endpoint"),
        AuthEndpoint(key, endpoint=f"http://127.0.0.1:{port}") as auth,
    ):
        answer = auth.respond("token", Grant(client_id="alice", capability=CHAT))
    assert answer.status == 502 and answer.json()["error"]["code"] == 50002
    for leak in ("127.0.0.1", str(port), "Errno", "errno", "refused", SECRET):
        assert leak not in answer.text
    assert f"127.0.0.1:{port}" in caplog.text  # the operator's log keeps the detail
    assert SECRET not in caplog.text


def test_ably_s_own_refusal_keeps_its_code_in_a_502(ably_emulator: AblyEmulator) -> None:
    key = ably_emulator.create_key()
    ably_emulator.revoke_key(key)
    with AuthEndpoint(key, endpoint=ably_emulator.url) as auth:
        answer = auth.respond("token", Grant(client_id="alice", capability=CHAT))
    assert (answer.status, answer.json()["error"]["code"]) == (502, 40131)
    assert key.secret not in answer.text


def test_an_endpoint_with_a_ring_signs_with_its_signer_and_explains_either() -> None:
    auth = AuthEndpoint(KeyRing(keys=[NEW, OLD], signer=NEW))
    grant = Grant(client_id="alice", capability=CHAT)
    assert verify_jwt(auth.respond("jwt", grant, now=NOW).text, NEW, now=NOW).key_name == NEW.name
    assert auth.key == NEW and auth.keys.names == (NEW.name, OLD.name)
    old_jwt = mint_jwt(OLD, capability=CHAT, client_id="alice")
    assert explain(old_jwt, auth.keys).verified is True
    banner = auth.describe("http://127.0.0.1:8000/auth")
    assert f"Ably keys: {NEW.name} signs; {OLD.name} verify only" in banner
    for text in (banner, repr(auth)):
        assert SECRET not in text and OTHER_SECRET not in text
    auth.use_keys(NEW)
    assert explain(old_jwt, auth.keys).verified is False  # OLD is gone
    assert list(auth.keys.names) == [NEW.name]


def test_from_env_reads_a_key_ring() -> None:
    ring_text = f"appId.otherKey:{OTHER_SECRET},{KEY_TEXT}"
    auth = AuthEndpoint.from_env({"ABLY_API_KEYS": ring_text})
    assert auth.keys == KeyRing(keys=[NEW, OLD], signer=NEW) and auth.key == NEW
    with pytest.raises(InvalidApiKeyError, match="both set") as both:
        AuthEndpoint.from_env({"ABLY_API_KEYS": ring_text, "ABLY_API_KEY": KEY_TEXT})
    with pytest.raises(InvalidApiKeyError, match="ABLY_API_KEYS: key #2") as bad:
        AuthEndpoint.from_env({"ABLY_API_KEYS": f"{KEY_TEXT} {KEY_TEXT}"[:-3] + "::x"})
    with pytest.raises(InvalidApiKeyError, match="ABLY_API_KEYS") as missing:
        AuthEndpoint.from_env({})
    for error in (both.value, bad.value, missing.value):
        assert SECRET not in str(error) and OTHER_SECRET not in str(error)
    assert Capability(CHAT)  # (keeps the import honest)
