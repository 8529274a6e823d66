"""A key revoked in the emulator, as in Ably's dashboard: its credentials are refused with
40131 on REST, and its realtime connections are terminated; other keys' are untouched."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ably_authkit import AblyApiError, create_token_request, mint_jwt, request_token
from ably_authkit.testing import AblyEmulator

from .realtime_peers import AblyJsRealtime, AuthUrlServer

CHAT = {"chat:*": ["publish", "subscribe", "history"]}


def publish(emu: AblyEmulator, authorization: str) -> tuple[int, int | None]:
    answer = httpx.post(
        f"{emu.url}/channels/chat:lobby/messages",
        json={"name": "m", "data": "x"},
        headers={"Authorization": authorization},
        timeout=10,
    )
    code = answer.json()["error"]["code"] if answer.status_code >= 400 else None
    return answer.status_code, code


def bearer(token: str) -> str:
    return "Bearer " + base64.b64encode(token.encode()).decode()


def basic(key: Any) -> str:
    return "Basic " + base64.b64encode(f"{key.name}:{key.secret}".encode()).decode()


def test_every_credential_of_a_revoked_key_gets_40131(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    old, new = emu.create_key(capability=CHAT), emu.create_key(capability=CHAT)
    token = request_token(old, client_id="alice", endpoint=emu.url).token
    jwt = mint_jwt(old, capability=CHAT, client_id="alice", now=emu.now())
    new_jwt = mint_jwt(new, capability=CHAT, client_id="alice", now=emu.now())
    for authorization in (basic(old), bearer(token), bearer(jwt), bearer(new_jwt)):
        assert publish(emu, authorization) == (201, None)

    emu.revoke_key(old)
    for authorization in (basic(old), bearer(token), bearer(jwt)):
        assert publish(emu, authorization) == (401, 40131)
    answer = httpx.post(
        f"{emu.url}/keys/{old.name}/requestToken",
        json=create_token_request(old, now=emu.now()).to_dict(),
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == {
        "message": "key/token status changed (revoke)",
        "code": 40131,
        "statusCode": 401,
        "href": "https://help.ably.io/error/40131",
    }
    with pytest.raises(AblyApiError) as refused:
        request_token(old, endpoint=emu.url)
    assert (refused.value.code, refused.value.status_code) == (40131, 401)
    # The other key of the app, and what it issued, are untouched.
    assert publish(emu, bearer(new_jwt)) == (201, None)
    assert publish(emu, basic(new)) == (201, None)
    with pytest.raises(AblyApiError) as again:
        emu.revoke_key(old.name)
    assert again.value.code == 40131
    with pytest.raises(AblyApiError) as unknown:
        emu.revoke_key("emulatorApp.nope")
    assert unknown.value.code == 40400
    emu.reset()  # forgets revocations with the keys


@pytest.fixture
def peers() -> Iterator[list[AblyJsRealtime]]:
    made: list[AblyJsRealtime] = []
    yield made
    for peer in made:
        peer.close()


def test_realtime_connections_of_a_revoked_key_are_terminated(
    ably_emulator: AblyEmulator, peers: list[AblyJsRealtime]
) -> None:
    emu = ably_emulator
    old, new = emu.create_key(capability=CHAT), emu.create_key(capability=CHAT)
    servers = [
        AuthUrlServer(
            lambda key=key: (  # type: ignore[misc]
                "application/jwt",
                mint_jwt(key, capability=CHAT, ttl=timedelta(minutes=10), now=emu.now()),
            )
        )
        for key in (old, new)
    ]
    try:
        for server in servers:
            peer = AblyJsRealtime()
            peers.append(peer)
            peer.call(
                "connect",
                options={
                    "authUrl": server.url,
                    "endpoint": emu.host,
                    "port": emu.port,
                    "tls": False,
                    "fallbackHosts": [],
                },
            )
        assert sorted(c.key_name for c in emu.connections) == sorted([old.name, new.name])
        emu.revoke_key(old)
        failed = peers[0].call("waitState", state="failed", timeoutMs=10_000)
        assert failed["reason"]["code"] == 40131
        assert [c.key_name for c in emu.connections] == [new.name]
        state = peers[1].call("state")
        assert state["state"] == "connected"
        assert [s["current"] for s in state["states"]].count("disconnected") == 0
        assert peers[1].call("attach", channel="chat:lobby") == "attached"
    finally:
        for server in servers:
            server.close()
