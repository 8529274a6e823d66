"""The emulator answers as Ably's sandbox does where Ably's own SDK test suites check it:
each test drives real SDK clients (the ``ably`` package, ably-js under Node)
over real sockets, and names the SDK test or spec item it follows."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import msgpack
import pytest
from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.util.exceptions import AblyException as SyncAblyException
from ably.types.connectionstate import ConnectionState
from ably.util.exceptions import AblyException as AsyncAblyException

from ably_authkit import ApiKey, create_token_request, mint_jwt, request_token
from ably_authkit._time import to_ms
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .peers import AblyJs, AblyJsError, js_options
from .realtime_peers import AblyJsRealtime, AuthUrlServer

AblyException = (AsyncAblyException, SyncAblyException)
CHAT = {"chat:*": ["publish", "subscribe", "history"]}


def failed_reason(emu: AblyEmulator, **options: Any) -> tuple[int, int]:
    """Connect the `ably` package's AblyRealtime with ``options``; the (code, status) of
    the error it goes FAILED with."""

    async def scenario() -> tuple[int, int]:
        client = AblyRealtime(**options, **emu.client_options())
        try:
            change = await asyncio.wait_for(
                client.connection.once_async(ConnectionState.FAILED), 10
            )
            return change.reason.code, change.reason.status_code
        finally:
            await client.close()

    return asyncio.run(scenario())


@contextmanager
def js_rest(ably_js: AblyJs, *, id: str, **create: Any) -> Iterator[str]:
    """An ably-js Rest client in the peer (``restCreate``), closed when the block ends."""
    ably_js.call("restCreate", id=id, **create)
    try:
        yield id
    finally:
        ably_js.call("restClose", id=id)


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

    emu = ably_emulator
    assert failed_reason(emu, token="invalid-token", use_binary_protocol=binary) == (40101, 401)
    assert failed_reason(emu, auth_callback=callback, use_binary_protocol=binary) == (40101, 401)
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
    with closing(
        AblyRestSync(
            token="invalid-token", use_binary_protocol=binary, **ably_emulator.client_options()
        )
    ) as client:
        with pytest.raises(AblyException) as refused:
            client.channels.get("chat:lobby").publish("m", "x")
        assert (refused.value.code, refused.value.status_code) == (40101, 401)
    rest_id = f"unknown-token-{binary}"
    with js_rest(
        ably_js,
        id=rest_id,
        options=js_options(ably_emulator, useBinaryProtocol=binary),
        credentials=["invalid-token", "invalid-token"],
    ):
        with pytest.raises(AblyJsError) as js_refused:
            ably_js.call("restPublish", id=rest_id, channel="chat:lobby", name="m", data="x")
        assert (js_refused.value.code, js_refused.value.status_code) == (40101, 401)
        # Not renewed: one call of the authCallback, the second credential left unused.
        assert ably_js.call("restCallbackCalls", id=rest_id) == 1
    assert ably_emulator.published("chat:lobby") == []


# -- 1. when Ably asks for a new token: AUTH 30 s before expiry, none for shorter tokens --

SHORT = timedelta(seconds=20)  # 30 s or less to live: no AUTH, DISCONNECTED at expiry


def token_request_json(emu: AblyEmulator, key: ApiKey, ttl: timedelta) -> tuple[str, str]:
    request = create_token_request(key, capability=CHAT, ttl=ttl, now=emu.now())
    return "application/json", json.dumps(request.to_dict())


@BINARY
def test_ably_js_short_token_with_auth_url_is_disconnected_then_renewed(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, binary: bool
) -> None:
    """ably-js test/realtime/auth.test.js auth_tokenDetails_expiry_with_authcallback: a 5 s
    token gets no AUTH; at expiry the client is DISCONNECTED with 40142, renews and
    connects again."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    auth = AuthUrlServer(lambda: token_request_json(emu, key, SHORT))
    try:
        realtime_js.call(
            "connect", options=js_options(emu, authUrl=auth.url, useBinaryProtocol=binary)
        )
        (connection,) = emu.connections
        assert connection.expires is not None
        emu.set_time(connection.expires - timedelta(seconds=5))
        time.sleep(0.3)
        assert realtime_js.call("state")["updates"] == 0  # no AUTH for a 20 s token
        emu.advance(timedelta(seconds=6))
        disconnected = realtime_js.call("waitState", state="disconnected")
        assert (disconnected["reason"]["code"], disconnected["reason"]["statusCode"]) == (
            40142,
            401,
        )
        state = wait_js_state(
            realtime_js,
            lambda s: [c["current"] for c in s["states"]].count("connected") >= 2,
        )
        assert [c["current"] for c in state["states"]][:4] == [
            "connecting",
            "connected",
            "disconnected",
            "connecting",
        ]
        assert state["state"] == "connected"
        assert auth.calls >= 2
    finally:
        auth.close()


@BINARY
def test_ably_js_short_bare_token_is_disconnected_then_fails_with_40171(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, binary: bool
) -> None:
    """ably-js auth_token_string_expiry_with_token: DISCONNECTED 40142 first, then FAILED
    40171 (no means to renew, RSA4a2)."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    details = request_token(key, capability=CHAT, ttl=SHORT, endpoint=emu.url)
    realtime_js.call(
        "connect", options=js_options(emu, token=details.token, useBinaryProtocol=binary)
    )
    emu.advance(SHORT + timedelta(seconds=1))
    failed = realtime_js.call("waitState", state="failed")
    assert failed["reason"]["code"] == 40171
    states = realtime_js.call("state")["states"]
    disconnected = [s for s in states if s["current"] == "disconnected"]
    assert disconnected and disconnected[0]["reason"]["code"] == 40142
    assert [s["current"] for s in states].index("disconnected") < [
        s["current"] for s in states
    ].index("failed")


def test_ably_js_35_s_jwt_is_renewed_in_place(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """ably-js auth_jwt_with_token_that_renews: a 35 s JWT is sent AUTH 30 s before expiry
    and renewed on the same connection, with no DISCONNECTED."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    lifetime = timedelta(seconds=35)
    auth = AuthUrlServer(
        lambda: (
            "application/jwt",
            mint_jwt(key, capability=CHAT, ttl=lifetime, now=emu.now()),
        )
    )
    try:
        connected = realtime_js.call("connect", options=js_options(emu, authUrl=auth.url))
        emu.advance(timedelta(seconds=6))
        realtime_js.call("waitUpdates", count=1)
        state = realtime_js.call("state")
        assert (state["state"], state["id"]) == ("connected", connected["connectionId"])
        assert "disconnected" not in [s["current"] for s in state["states"]]
        assert auth.calls == 2
    finally:
        auth.close()


@BINARY
def test_ably_python_short_tokens_are_disconnected_with_40142(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    """The ``ably`` package: a callback's 20 s TokenRequest is renewed after DISCONNECTED
    40142 (RTN15h2); a bare 20 s token ends FAILED with 40171 (RSA4a2)."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    calls = [0]

    async def callback(params: dict[str, Any]) -> dict[str, Any]:
        calls[0] += 1
        return create_token_request(key, capability=CHAT, ttl=SHORT, now=emu.now()).to_dict()

    async def scenario(**auth: Any) -> list[Any]:
        client = AblyRealtime(use_binary_protocol=binary, **auth, **emu.client_options())
        changes: list[Any] = []

        def on_change(change: Any) -> None:
            changes.append(change)

        client.connection.on(on_change)
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 5)
            await asyncio.to_thread(emu.advance, SHORT + timedelta(seconds=1))
            final = ConnectionState.CONNECTED if "auth_callback" in auth else ConnectionState.FAILED
            # ably-python sets connection.state at once but calls listeners on the next
            # loop turn, so wait for the listener to have seen the final state.
            for _ in range(500):
                renewed = any(c.previous == ConnectionState.DISCONNECTED for c in changes)
                if changes[-1].current == final and (renewed or "token" in auth):
                    break
                await asyncio.sleep(0.02)
            return [(c.current, getattr(c.reason, "code", None)) for c in changes]
        finally:
            await client.close()

    renewed = asyncio.run(scenario(auth_callback=callback))
    assert (ConnectionState.DISCONNECTED, 40142) in renewed
    assert renewed[-1][0] == ConnectionState.CONNECTED
    assert calls[0] >= 2

    # ably-python 3.1 turns the DISCONNECTED 40142 of a token it cannot renew straight
    # into FAILED 40171, without emitting DISCONNECTED (ably-js emits both, above).
    details = request_token(key, capability=CHAT, ttl=SHORT, endpoint=emu.url)
    bare = asyncio.run(scenario(token=details.token))
    assert bare[-1] == (ConnectionState.FAILED, 40171)


# -- 5. invalid requested capabilities: 400 with 40000 ----------------------------------

INVALID_CAPABILITIES = [
    {"channel0": ["publish_"]},
    {"channel0": ["*", "publish"]},
    {"channel0": []},
]


@pytest.mark.parametrize(
    "capability", INVALID_CAPABILITIES, ids=["unknown-op", "star-mix", "empty"]
)
def test_invalid_capabilities_are_400_40000(
    ably_emulator: AblyEmulator, ably_js: AblyJs, capability: dict[str, list[str]]
) -> None:
    """ably-python test/ably/rest/restcapability_test.py test_invalid_capabilities 1-3
    (400, 40000); ably-js test/rest/capability.test.js "Invalid capabilities" 1-3 (400)."""
    key = ably_emulator.create_key()
    with closing(
        AblyRestSync(key=f"{key.name}:{key.secret}", **ably_emulator.client_options())
    ) as client:
        with pytest.raises(AblyException) as refused:
            client.auth.request_token(token_params={"capability": capability})
        assert (refused.value.status_code, refused.value.code) == (400, 40000)
    rest_id = f"invalid-capability-{INVALID_CAPABILITIES.index(capability)}"
    with js_rest(
        ably_js,
        id=rest_id,
        options=js_options(ably_emulator, key=f"{key.name}:{key.secret}", useBinaryProtocol=False),
    ):
        with pytest.raises(AblyJsError) as js_refused:
            ably_js.call("restRequestToken", id=rest_id, tokenParams={"capability": capability})
        assert (js_refused.value.status_code, js_refused.value.code) == (400, 40000)
    assert ably_emulator.issued_tokens == []


# -- 3. nonce replay: the nonce/timestamp pair, within the timestamp window ------------


def test_nonce_replay_is_the_pair_and_is_forgotten_after_the_window(
    ably_emulator: AblyEmulator, ably_js: AblyJs
) -> None:
    """ably-python resttoken_test.py test_request_token_with_duplicate_nonce and ably-js
    test/rest/auth.test.js "Token generation with duplicate nonce": the same nonce and
    timestamp twice is refused (401; 40105 "Nonce value replayed"). Ably's docs (Token
    request spec) check "that the nonce/timestamp combination has not been used", so the
    same nonce a second later is a new request."""
    emu = ably_emulator
    key = emu.create_key()
    nonce = "1234567890123456"
    with closing(AblyRestSync(key=f"{key.name}:{key.secret}", **emu.client_options())) as client:
        now = to_ms(emu.now())
        client.auth.request_token({"timestamp": now, "nonce": nonce})
        with pytest.raises(AblyException) as replayed:
            client.auth.request_token({"timestamp": now, "nonce": nonce})
        assert (replayed.value.status_code, replayed.value.code) == (401, 40105)
        client.auth.request_token({"timestamp": now + 1000, "nonce": nonce})
    rest_id = "nonce-replay"
    with js_rest(ably_js, id=rest_id, options=js_options(emu, key=f"{key.name}:{key.secret}")):
        params = {"timestamp": now + 2000, "nonce": nonce}
        ably_js.call("restRequestToken", id=rest_id, tokenParams=params)
        with pytest.raises(AblyJsError) as js_replayed:
            ably_js.call("restRequestToken", id=rest_id, tokenParams=params)
        assert (js_replayed.value.status_code, js_replayed.value.code) == (401, 40105)
    assert len(emu.issued_tokens) == 3
    # Memory is bounded: once the pairs are out of the 2 min window they are forgotten
    # (a replay of one would be refused as not current, 40104).
    assert len(emu.service.nonces[key.name]) == 3
    emu.advance(timedelta(minutes=2, seconds=3))
    fresh = create_token_request(key, now=emu.now()).to_dict()
    assert httpx.post(f"{emu.url}/keys/{key.name}/requestToken", json=fresh).status_code == 200
    assert len(emu.service.nonces[key.name]) == 1


# -- 4. a timestamp as a string of digits -----------------------------------------------


@BINARY
def test_ably_js_token_request_with_a_string_timestamp_connects(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, binary: bool
) -> None:
    """ably-js test/realtime/auth.test.js auth_useAuthUrl_mixed_authParams_qsParams: the
    authUrl (the echo server's /qs_to_body) answers a TokenRequest rebuilt from query
    parameters, so its timestamp is a string; ably-js posts it as is and Ably accepts it."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)

    def rebuilt() -> tuple[str, str]:
        wire: dict[str, Any] = create_token_request(
            key, client_id="qs", capability=CHAT, now=emu.now()
        ).to_dict()
        return "application/json", json.dumps({**wire, "timestamp": str(wire["timestamp"])})

    auth = AuthUrlServer(rebuilt)
    try:
        connected = realtime_js.call(
            "connect", options=js_options(emu, authUrl=auth.url, useBinaryProtocol=binary)
        )
        assert connected["clientId"] == "qs"
        (token,) = emu.issued_tokens
        assert token.client_id == "qs"
    finally:
        auth.close()
    # The same request twice is a replay, whether the timestamp came as text or number.
    wire = create_token_request(key, now=emu.now()).to_dict()
    path = f"{emu.url}/keys/{key.name}/requestToken"
    assert httpx.post(path, json={**wire, "timestamp": str(wire["timestamp"])}).status_code == 200
    replay = httpx.post(path, json=wire)
    assert (replay.status_code, replay.json()["error"]["code"]) == (401, 40105)
    padded = httpx.post(path, json={**wire, "timestamp": "0" + str(wire["timestamp"])})
    assert (padded.status_code, padded.json()["error"]["code"]) == (400, 40001)


# -- 6. a JWT whose kid names no app: 404 with 40400 -------------------------------------


def jwt_for(emu: AblyEmulator, key_name: str) -> str:
    """A well-formed JWT signed for a key the emulator may not know."""
    return mint_jwt(
        ApiKey(name=key_name, secret="aW52YWxpZC1pbnZhbGlkLWludmFsaWQtaW52YWxpZA"),
        capability={"*": ["*"]},
        now=emu.now(),
    )


@BINARY
def test_jwt_of_an_unknown_app_is_404_40400(
    ably_emulator: AblyEmulator, ably_js: AblyJs, binary: bool
) -> None:
    """ably-js test/rest/auth.test.js "JWT request with invalid key" and "Rest JWT with
    authCallback and invalid keys": keyName invalid.invalid → 40400, status 404."""
    emu = ably_emulator
    unknown_app = jwt_for(emu, "invalid.invalid")
    with closing(
        AblyRestSync(token=unknown_app, use_binary_protocol=binary, **emu.client_options())
    ) as client:
        with pytest.raises(AblyException) as refused:
            client.channels.get("chat:lobby").history()
        assert (refused.value.code, refused.value.status_code) == (40400, 404)
    rest_id = f"unknown-app-{binary}"
    with js_rest(
        ably_js,
        id=rest_id,
        options=js_options(emu, useBinaryProtocol=binary),
        credentials=[unknown_app],
    ):
        with pytest.raises(AblyJsError) as js_refused:
            ably_js.call("restHistory", id=rest_id, channel="chat:lobby")
        assert (js_refused.value.code, js_refused.value.status_code) == (40400, 404)
    # An unknown key of a known app keeps its own answer: 40101.
    known_app = jwt_for(emu, f"{emu.app_id}.unknownKey")
    with closing(
        AblyRestSync(token=known_app, use_binary_protocol=binary, **emu.client_options())
    ) as client:
        with pytest.raises(AblyException) as no_key:
            client.channels.get("chat:lobby").history()
        assert (no_key.value.code, no_key.value.status_code) == (40101, 401)


def test_realtime_jwt_of_an_unknown_app_fails_with_40400(ably_emulator: AblyEmulator) -> None:
    unknown_app = jwt_for(ably_emulator, "invalid.invalid")
    assert failed_reason(ably_emulator, token=unknown_app) == (40400, 404)


# -- 7. GET /stats: an empty, paginated answer behind the usual credential checks -------


@BINARY
def test_stats_with_the_ably_package_and_ably_js(
    ably_emulator: AblyEmulator, ably_js: AblyJs, binary: bool
) -> None:
    """ably-js test/rest/auth.test.js (testJWTAuthParams, "Rest JWT with authCallback") and
    ably-go auth_integration_test.go (TestAuth_JWT_Token_RSA8c) prove a JWT by calling
    stats(); the answer is a paginated result (Link rel="first"/"current")."""
    emu = ably_emulator
    key = emu.create_key()
    jwt = mint_jwt(key, capability={"*": ["*"]}, now=emu.now())
    with closing(
        AblyRestSync(token=jwt, use_binary_protocol=binary, **emu.client_options())
    ) as client:
        page = client.stats(limit=10, unit="hour")
        assert page.items == []
        assert page.has_first() and not page.has_next() and page.is_last()
        assert page.first().items == []
    rest_id = f"stats-{binary}"
    with js_rest(
        ably_js, id=rest_id, options=js_options(emu, useBinaryProtocol=binary), credentials=[jwt]
    ):
        answer = ably_js.call("restStats", id=rest_id, params={"limit": 5})
        assert answer == {"items": [], "hasNext": False, "isLast": True, "first": []}

    # The same checks as every route: a JWT of an unknown app, no stats capability, none.
    for token, code, status in [
        (jwt_for(emu, "invalid.invalid"), 40400, 404),
        (mint_jwt(key, capability=CHAT, now=emu.now()), 40160, 401),
    ]:
        with closing(AblyRestSync(token=token, **emu.client_options())) as refused_client:
            with pytest.raises(AblyException) as refused:
                refused_client.stats()
            assert (refused.value.code, refused.value.status_code) == (code, status)
    anonymous = httpx.get(f"{emu.url}/stats")
    assert (anonymous.status_code, anonymous.json()["error"]["code"]) == (401, 40101)
    bad_limit = httpx.get(f"{emu.url}/stats?limit=0", headers={"Authorization": f"Bearer {jwt}"})
    assert (bad_limit.status_code, bad_limit.json()["error"]["code"]) == (400, 40003)


# -- 9. bad input is answered with an Ably error, never a dropped connection -------------


def test_line_breaks_in_channel_names_and_odd_limits_get_ably_errors(
    ably_emulator: AblyEmulator,
) -> None:
    """ably-common errors/codes/40010.md: names "must not contain newline characters",
    40010 with status 400. Before, the name reached X-Ably-ErrorMessage and the answer
    was lost with the connection."""
    emu = ably_emulator
    key = emu.create_key(capability={"*": ["*"]})
    jwt = mint_jwt(key, capability={"*": ["*"]}, now=emu.now())
    with closing(AblyRestSync(token=jwt, **emu.client_options())) as client:
        for name in ("chat:a\nb", "chat:a\r\nb", "chat:a\rb"):
            with pytest.raises(AblyException) as refused:
                client.channels.get(name).publish("m", "x")
            assert (refused.value.code, refused.value.status_code) == (40010, 400)
            with pytest.raises(AblyException) as no_history:
                client.channels.get(name).history()
            assert no_history.value.code == 40010
    headers = {"Authorization": f"Bearer {jwt}"}
    for path in ("/channels/a%0D%0Ab/messages", "/channels/chat:x/messages?limit=%C2%B2"):
        answer = httpx.get(emu.url + path, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.headers["X-Ably-ErrorCode"] == str(answer.json()["error"]["code"])
        assert answer.json()["error"]["code"] in (40010, 40003)
        assert answer.headers["X-Ably-ErrorMessage"].isprintable()
    limit = httpx.get(f"{emu.url}/channels/chat:x/messages?limit=%C2%B2", headers=headers)
    assert limit.json()["error"]["code"] == 40003
    assert emu.published("chat:a\nb") == []


@BINARY
def test_realtime_bad_channel_names_fail_the_channel_and_big_frames_get_an_error(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    emu = ably_emulator
    key = emu.create_key()
    fmt = "msgpack" if binary else "json"

    async def send(ws: aiohttp.ClientWebSocketResponse[bool], message: dict[str, Any]) -> None:
        if binary:
            await ws.send_bytes(msgpack.packb(message, use_bin_type=True))
        else:
            await ws.send_str(json.dumps(message))

    async def receive(ws: aiohttp.ClientWebSocketResponse[bool]) -> dict[str, Any] | None:
        while True:
            frame = await asyncio.wait_for(ws.receive(), 5)
            if frame.type == aiohttp.WSMsgType.TEXT:
                message: dict[str, Any] = json.loads(frame.data)
            elif frame.type == aiohttp.WSMsgType.BINARY:
                message = msgpack.unpackb(frame.data, raw=False)
            else:
                return None
            if message["action"] != 0:
                return message

    async def scenario() -> None:
        url = f"ws://{emu.host}:{emu.port}/"
        params = {"v": "6", "format": fmt, "key": f"{key.name}:{key.secret}"}
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, params=params)
            assert (await receive(ws) or {}).get("action") == 4
            await send(ws, {"action": 10, "channel": "chat:a\nb"})
            refused = await receive(ws)
            assert refused is not None and refused["action"] == 9
            assert (refused["channel"], refused["error"]["code"]) == ("chat:a\nb", 40010)
            await send(ws, {"action": 10, "channel": "chat:fine"})
            assert (await receive(ws) or {}).get("action") == 11  # the connection lives on
            # A frame over maxFrameSize: an ERROR that says so, then the close.
            oversized = {
                "action": 15,
                "channel": "chat:fine",
                "msgSerial": 0,
                "messages": [{"data": "x" * 3_000_000}],  # several socket buffers
            }
            await send(ws, oversized)
            error = await receive(ws)
            assert error is not None and error["action"] == 9, error
            assert error["error"]["code"] == 40009
            assert await receive(ws) is None
            assert ws.closed
        assert emu.connections == []

    asyncio.run(scenario())


# -- 8. one client must not break others --------------------------------------------------


def test_a_message_one_encoding_cannot_write_is_refused_and_readers_live_on(
    ably_emulator: AblyEmulator,
) -> None:
    """A msgpack map with bytes keys, a NaN, an integer beyond JSON's safe range (over
    msgpack), or 2**70 (over JSON) is refused at publish with 40013 (ably-common
    errors/codes/40013.md), by REST (400) and realtime (NACK); JSON readers go on."""
    emu = ably_emulator
    key = emu.create_key()
    basic = "Basic " + base64.b64encode(f"{key.name}:{key.secret}".encode()).decode()
    url = f"{emu.url}/channels/chat:mixed/messages"
    bad_data: list[object] = [{b"k": 1}, float("nan"), 2**60, -(2**60), {"deep": [float("inf")]}]
    for data in bad_data:
        answer = httpx.post(
            url,
            content=msgpack.packb({"name": "m", "data": data}, use_bin_type=True),
            headers={"Authorization": basic, "Content-Type": "application/x-msgpack"},
        )
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40013), data
    too_big = httpx.post(
        url,
        content=b'{"name":"m","data":' + str(2**70).encode() + b"}",
        headers={"Authorization": basic, "Content-Type": "application/json"},
    )
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (400, 40013)

    async def scenario() -> None:
        ws_url = f"ws://{emu.host}:{emu.port}/"
        credentials = {"v": "6", "key": f"{key.name}:{key.secret}"}
        async with aiohttp.ClientSession() as session:
            reader = await session.ws_connect(ws_url, params={**credentials, "format": "json"})
            writer = await session.ws_connect(ws_url, params={**credentials, "format": "msgpack"})
            assert json.loads((await reader.receive()).data)["action"] == 4
            assert msgpack.unpackb((await writer.receive()).data)["action"] == 4
            for ws, pack in ((reader, False), (writer, True)):
                attach = {"action": 10, "channel": "chat:mixed"}
                if pack:
                    await ws.send_bytes(msgpack.packb(attach))
                    assert msgpack.unpackb((await ws.receive()).data)["action"] == 11
                else:
                    await ws.send_str(json.dumps(attach))
                    assert json.loads((await ws.receive()).data)["action"] == 11
            for serial, data in enumerate(bad_data):
                message = {
                    "action": 15,
                    "channel": "chat:mixed",
                    "msgSerial": serial,
                    "messages": [{"data": data}],
                }
                await writer.send_bytes(msgpack.packb(message, use_bin_type=True))
                nack = msgpack.unpackb((await writer.receive()).data, raw=False)
                assert (nack["action"], nack["error"]["code"]) == (2, 40013)
            good = {
                "action": 15,
                "channel": "chat:mixed",
                "msgSerial": 9,
                "messages": [{"data": "fine"}],
            }
            await writer.send_bytes(msgpack.packb(good))
            delivered = json.loads((await asyncio.wait_for(reader.receive(), 5)).data)
            assert delivered["action"] == 15
            assert delivered["messages"][0]["data"] == "fine"
            await reader.close()
            await writer.close()

    asyncio.run(scenario())
    history = httpx.get(url, headers={"Authorization": basic})
    assert history.status_code == 200
    assert [m["data"] for m in history.json()] == ["fine"]


def test_a_connection_whose_writer_fails_is_closed_with_an_error(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/",
                params={"v": "6", "format": "json", "key": f"{key.name}:{key.secret}"},
            )
            connected = json.loads((await ws.receive()).data)
            (live,) = emu.realtime._connections.values()
            assert live.id == connected["connectionId"]
            # Something the JSON writer cannot write (a set), as a poisoned message was.
            await asyncio.to_thread(emu.call, lambda: live.send({"action": 15, "bad": {1}}))
            error = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
            assert (error["action"], error["error"]["code"]) == (9, 50000)
            closing = await asyncio.wait_for(ws.receive(), 5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert emu.connections == []

    asyncio.run(scenario())


# -- 10. the test-app provisioning API (POST /apps, DELETE /apps/{id}) -------------------

FIXTURES = Path(__file__).parent / "fixtures"


def post_apps_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((FIXTURES / "test-app-setup.json").read_text())["post_apps"]
    return spec


def test_post_apps_answers_as_the_sandbox_and_its_keys_work(
    ably_emulator: AblyEmulator, ably_js: AblyJs
) -> None:
    """The request and answer of ably-js test/common/modules/testapp_manager.js,
    ably-python test/ably/testapp.py and ably-go internal/ablytest/sandbox.go: the
    ``post_apps`` body in, 201 with appId and keys (id/value, keyName/keySecret/keyStr,
    capability) and namespaces out, plus endpoint/port/tls for ABLY_LOCAL_SANDBOX_URL."""
    emu = ably_emulator
    spec = post_apps_spec()
    answer = httpx.post(
        f"{emu.url}/apps", json=spec, headers={"Accept": "application/json"}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    app = answer.json()
    assert (app["endpoint"], app["port"], app["tls"]) == (emu.host, emu.port, False)
    assert len(app["keys"]) == len(spec["keys"]) and len(app["namespaces"]) == 2
    for key in app["keys"]:
        assert key["keyName"] == f"{app['appId']}.{key['id']}"
        assert (
            key["keyStr"]
            == f"{key['keyName']}:{key['value']}"
            == f"{key['keyName']}:{key['keySecret']}"
        )
    assert json.loads(app["keys"][0]["capability"]) == {"*": ["*"]}
    assert json.loads(app["keys"][1]["capability"]) == json.loads(spec["keys"][1]["capability"])
    assert app["keys"][3]["revocableTokens"] is True

    # ably-js capability.test.js "Blanket intersection with specified key": a token of
    # keys[1] gets that key's capability; with the ably package too.
    with closing(AblyRestSync(key=app["keys"][1]["keyStr"], **emu.client_options())) as client:
        details = client.auth.request_token()
        granted = {name: sorted(ops) for name, ops in details.capability.items()}
        assert granted == json.loads(app["keys"][1]["capability"])
    rest_id = "provisioned"
    with js_rest(ably_js, id=rest_id, options=js_options(emu, key=app["keys"][4]["keyStr"])):
        assert ably_js.call("restStats", id=rest_id)["items"] == []
        token = ably_js.call("restRequestToken", id=rest_id, tokenParams={"clientId": "x"})
        assert json.loads(token["capability"]) == {"[*]*": ["*"]}

    # Two apps, two sets of keys: a key of app B is not a key of app A.
    other = emu.create_app(spec)
    assert other["appId"] != app["appId"]
    assert {k["keyName"] for k in other["keys"]}.isdisjoint(k["keyName"] for k in app["keys"])
    assert isinstance(other["keys"][0]["apiKey"], ApiKey)
    assert other["keys"][0]["apiKey"].secret not in repr(other["keys"][0]["apiKey"])

    # DELETE /apps/{id} with one of its keys; then a JWT naming it is 404 40400 (point 6).
    basic = "Basic " + base64.b64encode(app["keys"][0]["keyStr"].encode()).decode()
    wrong = "Basic " + base64.b64encode(other["keys"][0]["keyStr"].encode()).decode()
    refused = httpx.delete(f"{emu.url}/apps/{app['appId']}", headers={"Authorization": wrong})
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, 40101)
    deleted = httpx.delete(f"{emu.url}/apps/{app['appId']}", headers={"Authorization": basic})
    assert deleted.status_code == 204
    gone = jwt_for(emu, app["keys"][0]["keyName"])
    answer = httpx.get(f"{emu.url}/stats", headers={"Authorization": f"Bearer {gone}"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, 40400)
    stats_fixture = httpx.post(
        f"{emu.url}/stats",
        json=[{"intervalId": "2024-01-01:00:00"}],
        headers={
            "Authorization": "Basic "
            + base64.b64encode(other["keys"][0]["keyStr"].encode()).decode()
        },
    )
    assert stats_fixture.status_code == 201
