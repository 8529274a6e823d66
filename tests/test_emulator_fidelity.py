"""The emulator answers as Ably's sandbox does where Ably's own SDK test suites check it
(issue 11): each test drives real SDK clients (the ``ably`` package, ably-js under Node)
over real sockets, and names the SDK test or spec item it follows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.util.exceptions import AblyException as SyncAblyException
from ably.types.connectionstate import ConnectionState
from ably.util.exceptions import AblyException as AsyncAblyException

from ably_authkit.testing import AblyEmulator

from .peers import AblyJs, AblyJsError
from .realtime_peers import AblyJsRealtime, AuthUrlServer

AblyException = (AsyncAblyException, SyncAblyException)
CHAT = {"chat:*": ["publish", "subscribe", "history"]}
BINARY = pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])


@pytest.fixture
def realtime_js() -> Iterator[AblyJsRealtime]:
    peer = AblyJsRealtime()
    yield peer
    peer.close()


def js_options(emu: AblyEmulator, **options: Any) -> dict[str, Any]:
    return {
        "endpoint": emu.host,
        "port": emu.port,
        "tls": False,
        "fallbackHosts": [],
        **options,
    }


def wait_js_state(
    realtime_js: AblyJsRealtime, wanted: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll the ably-js peer's state (real time: the SDK's own reconnection timers)."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = realtime_js.call("state")
    while not wanted(state) and time.monotonic() < deadline:
        time.sleep(0.05)
        state = realtime_js.call("state")
    return state


# -- 2. a token the service never issued: 40101, and the client goes FAILED -------------


@BINARY
def test_ably_python_realtime_unknown_token_fails_with_40101(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    """ably-python test/ably/realtime/realtimeauth_test.py: test_auth_with_invalid_token_string,
    test_auth_with_invalid_token_details and test_auth_with_auth_callback_invalid_token
    expect FAILED with 40101/401 from the sandbox."""
    calls = [0]

    async def callback(params: dict[str, Any]) -> str:
        calls[0] += 1
        return "invalid token"

    async def scenario(**auth: Any) -> tuple[int, int]:
        client = AblyRealtime(use_binary_protocol=binary, **auth, **ably_emulator.client_options())
        try:
            change = await asyncio.wait_for(
                client.connection.once_async(ConnectionState.FAILED), 10
            )
            return change.reason.code, change.reason.status_code
        finally:
            await client.close()

    assert asyncio.run(scenario(token="invalid-token")) == (40101, 401)
    assert asyncio.run(scenario(auth_callback=callback)) == (40101, 401)
    assert calls == [1]  # not renewed: 40101 is not a token error
    assert ably_emulator.connections == []


@BINARY
def test_ably_js_realtime_unknown_token_from_auth_url_fails_once(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, binary: bool
) -> None:
    """With a renewable source (authUrl) an unknown token must not loop DISCONNECTED →
    CONNECTING: 40101 is not a token error (RTN14b, RSA4d), so ably-js goes FAILED."""
    auth = AuthUrlServer(lambda: ("text/plain", "invalid-token"))
    try:
        realtime_js.call(
            "open", options=js_options(ably_emulator, authUrl=auth.url, useBinaryProtocol=binary)
        )
        failed = realtime_js.call("waitState", state="failed", timeoutMs=10_000)
        assert (failed["reason"]["code"], failed["reason"]["statusCode"]) == (40101, 401)
        states = [s["current"] for s in realtime_js.call("state")["states"]]
        assert "disconnected" not in states
        assert auth.calls == 1
    finally:
        auth.close()


@BINARY
def test_rest_unknown_token_is_40101(
    ably_emulator: AblyEmulator, ably_js: AblyJs, binary: bool
) -> None:
    client = AblyRestSync(
        token="invalid-token", use_binary_protocol=binary, **ably_emulator.client_options()
    )
    try:
        with pytest.raises(AblyException) as refused:
            client.channels.get("chat:lobby").publish("m", "x")
        assert (refused.value.code, refused.value.status_code) == (40101, 401)
    finally:
        client.close()
    rest_id = f"unknown-token-{binary}"
    ably_js.call(
        "restCreate",
        id=rest_id,
        options=js_options(ably_emulator, useBinaryProtocol=binary),
        credentials=["invalid-token", "invalid-token"],
    )
    try:
        with pytest.raises(AblyJsError) as js_refused:
            ably_js.call("restPublish", id=rest_id, channel="chat:lobby", name="m", data="x")
        assert (js_refused.value.code, js_refused.value.status_code) == (40101, 401)
        # Not renewed: one call of the authCallback, the second credential left unused.
        assert ably_js.call("restCallbackCalls", id=rest_id) == 1
    finally:
        ably_js.call("restClose", id=rest_id)
    assert ably_emulator.published("chat:lobby") == []
