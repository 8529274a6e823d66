"""Every store the emulator keeps is bounded, without changing an answer a client can
observe within Ably's rules: TokenRequest nonces are forgotten once out of the
timestamp window (a key used once and never again too), revocations once nothing they
take can still be valid, the annotations of a message with the message, and presence
channels with nothing left in their history; a flood within a window meets a cap
(42910/429) instead of memory without end."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ably import AblyRealtime

from ably_authkit import ApiKey, create_token_request, mint_jwt
from ably_authkit._time import MAX_REVOCABLE_TTL, from_ms
from ably_authkit.testing import AblyEmulator, _auth

WINDOW = timedelta(minutes=2)  # the TokenRequest timestamp window


def basic(key: ApiKey, client_id: str | None = None) -> dict[str, str]:
    headers = {
        "Authorization": "Basic " + base64.b64encode(f"{key.name}:{key.secret}".encode()).decode()
    }
    if client_id is not None:
        headers["X-Ably-ClientId"] = base64.b64encode(client_id.encode()).decode()
    return headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + base64.b64encode(token.encode()).decode()}


def outcome(answer: httpx.Response) -> tuple[int, int | None]:
    code = answer.json()["error"]["code"] if answer.status_code >= 400 else None
    return answer.status_code, code


def redeem(emu: AblyEmulator, key: ApiKey, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{emu.url}/keys/{key.name}/requestToken", json=body, timeout=10)


def publish(emu: AblyEmulator, headers: dict[str, str]) -> tuple[int, int | None]:
    answer = httpx.post(
        f"{emu.url}/channels/chat:lobby/messages", json={"data": "x"}, headers=headers, timeout=10
    )
    return outcome(answer)


def revoke(emu: AblyEmulator, key: ApiKey, *targets: str) -> httpx.Response:
    return httpx.post(
        f"{emu.url}/keys/{key.name}/revokeTokens",
        json={"targets": list(targets)},
        headers=basic(key),
        timeout=10,
    )


# -- TokenRequest nonces ------------------------------------------------------------------


def test_a_replayed_nonce_is_refused_in_the_window_and_forgotten_after_it(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key()
    used = create_token_request(key, now=emu.now()).to_dict()
    assert redeem(emu, key, used).status_code == 200
    emu.advance(WINDOW - timedelta(seconds=1))
    # Within the window: the replay is refused as Ably refuses it.
    assert outcome(redeem(emu, key, used)) == (401, 40105)
    assert len(emu.service.nonces[key.name]) == 1
    emu.advance(timedelta(seconds=2))
    # Out of it, the key's nonces are forgotten although the key is not used again...
    assert key.name not in emu.service.nonces
    # ...and a replay is refused as not current, before its nonce is looked at.
    assert outcome(redeem(emu, key, used)) == (401, 40104)
    assert key.name not in emu.service.nonces


def test_a_flood_of_token_requests_in_the_window_meets_the_cap(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_auth, "NONCES_KEPT", 2)
    emu = ably_emulator
    key, other = emu.create_key(), emu.create_key()
    first = create_token_request(key, now=emu.now()).to_dict()
    assert redeem(emu, key, first).status_code == 200
    assert redeem(emu, key, create_token_request(key, now=emu.now()).to_dict()).status_code == 200
    refused = redeem(emu, key, create_token_request(key, now=emu.now()).to_dict())
    assert outcome(refused) == (429, 42910)
    assert "TokenRequests" in refused.json()["error"]["message"]
    assert key.secret not in refused.text
    # A replay is still a replay; another key has its own nonces.
    assert outcome(redeem(emu, key, first)) == (401, 40105)
    assert redeem(emu, other, create_token_request(other, now=emu.now()).to_dict()).status_code == (
        200
    )
    emu.advance(WINDOW + timedelta(seconds=1))
    assert redeem(emu, key, create_token_request(key, now=emu.now()).to_dict()).status_code == 200


# -- revocations --------------------------------------------------------------------------


def test_a_revocation_holds_while_a_token_it_takes_is_valid_then_is_forgotten(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key(revocable=True)
    longest = MAX_REVOCABLE_TTL  # 1 h: a token or JWT of a revocable key
    body = create_token_request(key, client_id="alice", ttl=longest, now=emu.now()).to_dict()
    answer = redeem(emu, key, body)
    assert answer.status_code == 200
    token = answer.json()["token"]
    jwt = mint_jwt(key, capability={"*": ["*"]}, client_id="alice", ttl=longest, now=emu.now())
    emu.advance(timedelta(seconds=1))
    revoked = revoke(emu, key, "clientId:alice")
    assert revoked.status_code == 201
    issued_before = from_ms(revoked.json()["results"][0]["issuedBefore"])
    for headers in (bearer(token), bearer(jwt)):
        assert publish(emu, headers) == (401, 40141)
    emu.advance(longest - timedelta(seconds=2))  # the last second of both
    for headers in (bearer(token), bearer(jwt)):
        assert publish(emu, headers) == (401, 40141)
    assert key.name in emu.service.revocations
    emu.advance(timedelta(seconds=2))
    for headers in (bearer(token), bearer(jwt)):
        assert publish(emu, headers) == (401, 40142)  # expired, revoked or not
    # A second short of its end (the clock runs on in real time meanwhile), then its end.
    emu.set_time(issued_before + _auth.REVOCATION_KEPT - timedelta(seconds=1))
    assert key.name in emu.service.revocations
    emu.advance(timedelta(seconds=1))
    assert key.name not in emu.service.revocations
    # Nothing a client sees has changed: the old token is still expired, a new one works.
    assert publish(emu, bearer(token)) == (401, 40142)
    fresh = redeem(emu, key, create_token_request(key, client_id="alice", now=emu.now()).to_dict())
    assert publish(emu, bearer(fresh.json()["token"])) == (201, None)


def test_revocations_in_force_meet_the_cap(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_auth, "REVOCATIONS_KEPT", 3)
    emu = ably_emulator
    key = emu.create_key(revocable=True)
    assert revoke(emu, key, "clientId:a", "clientId:b").status_code == 201
    # Revoking a target again, or with invalid targets, adds nothing to what is kept.
    assert revoke(emu, key, "clientId:a", "clientId:c").status_code == 201
    assert revoke(emu, key, "clientId:a", "nonsense").status_code == 400
    refused = revoke(emu, key, "clientId:d")
    assert outcome(refused) == (429, 42910)
    assert "revocation targets" in refused.json()["error"]["message"]
    assert set(emu.service.revocations[key.name]) == {"clientId:a", "clientId:b", "clientId:c"}
    emu.advance(_auth.REVOCATION_KEPT + timedelta(seconds=1))
    assert revoke(emu, key, "clientId:d").status_code == 201
    assert set(emu.service.revocations[key.name]) == {"clientId:d"}


def test_revoking_the_same_target_again_and_again_keeps_one_revocation(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key(revocable=True)
    token = redeem(emu, key, create_token_request(key, client_id="a", now=emu.now()).to_dict())
    emu.advance(timedelta(seconds=1))
    for _ in range(15):
        assert revoke(emu, key, *["clientId:a"] * 100).status_code == 201
        emu.advance(timedelta(milliseconds=1))
    assert set(emu.service.revocations[key.name]) == {"clientId:a"}
    # What schedules its forgetting stays small too (at most 1024 before it is compacted).
    assert len(emu.service._revocation_ends) <= 1024
    assert publish(emu, bearer(token.json()["token"])) == (401, 40141)


def test_a_deleted_app_leaves_no_nonces_or_revocations(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    app = emu.create_app({"keys": [{"revocableTokens": True}]})
    key_text = app["keys"][0]["keyStr"]
    key = ApiKey.parse(key_text)
    assert redeem(emu, key, create_token_request(key, now=emu.now()).to_dict()).status_code == 200
    assert revoke(emu, key, "clientId:a").status_code == 201
    assert key.name in emu.service.nonces and key.name in emu.service.revocations
    answer = httpx.delete(f"{emu.url}/apps/{app['appId']}", headers=basic(key), timeout=10)
    assert answer.status_code in (200, 204)
    assert key.name not in emu.service.nonces
    assert key.name not in emu.service.revocations


# -- annotations and presence --------------------------------------------------------------


def test_annotations_are_forgotten_with_their_message() -> None:
    with AblyEmulator(mutable_messages=True) as emu:
        key = emu.create_key()
        url = f"{emu.url}/channels/room:1/messages"
        assert httpx.post(url, json={"data": "hi"}, headers=basic(key), timeout=10).is_success
        serial = httpx.get(url, headers=basic(key), timeout=10).json()[0]["serial"]
        annotations = f"{url}/{serial}/annotations"
        reaction = {"type": "reaction:distinct.v1", "name": "+1"}
        headers = basic(key, "alice")
        assert httpx.post(annotations, json=reaction, headers=headers, timeout=10).is_success
        emu.advance(timedelta(hours=23, minutes=59))
        got = httpx.get(annotations, headers=headers, timeout=10)
        assert [a["name"] for a in got.json()] == ["+1"]
        emu.advance(timedelta(minutes=2))
        assert outcome(httpx.get(annotations, headers=headers, timeout=10)) == (404, 40400)
        with emu.service.lock:
            assert emu.service.annotations._events == {}


def test_presence_channels_with_nothing_left_are_forgotten(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key()

    def history(channel: str) -> list[Any]:
        answer = httpx.get(
            f"{emu.url}/channels/{channel}/presence/history", headers=basic(key), timeout=10
        )
        return [event["clientId"] for event in answer.json()]

    async def scenario() -> None:
        client = AblyRealtime(key=f"{key.name}:{key.secret}", **emu.client_options())
        try:
            first = client.channels.get("room:first").presence
            await first.enter_client("alice")
            await first.leave_client("alice")
            assert history("room:first") == ["alice", "alice"]
            emu.advance(timedelta(minutes=2, seconds=1))
            assert history("room:first") == []
            await client.channels.get("room:second").presence.enter_client("bob")
        finally:
            await client.close()

    asyncio.run(scenario())
    channels = set(emu.realtime.presence._channels)
    assert (emu.app_id, "room:first") not in channels
    assert (emu.app_id, "room:second") in channels
