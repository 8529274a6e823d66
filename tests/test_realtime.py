"""The emulator's realtime endpoint with real clients over real sockets: the ``ably``
package's ``AblyRealtime``, ably-js ``Realtime`` under Node, and a bare WebSocket for
the protocol details the SDKs hide."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import msgpack
import pytest
from ably import AblyRealtime
from ably.types.connectionstate import ConnectionEvent

from ably_authkit import ApiKey, create_token_request, mint_jwt, request_token, revoke_tokens
from ably_authkit.testing import AblyEmulator
from ably_authkit.testing._connection import AUTH_MARGIN

from .conftest import BINARY
from .peers import js_options
from .realtime_peers import AblyJsRealtime, AuthUrlServer, check_channels

CHAT = {"chat:*": ["publish", "subscribe"]}
TTL = timedelta(minutes=10)
#: Within Ably's 30 s of expiry, when the emulator sends AUTH (see AUTH_MARGIN).
RENEWAL_DUE = TTL - AUTH_MARGIN + timedelta(seconds=1)


def python_options(emu: AblyEmulator) -> dict[str, Any]:
    """What the emulator says an ``AblyRealtime`` needs: nothing but its client_options."""
    return emu.client_options()


async def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def on_loop(emu: AblyEmulator, action: Callable[[], Any]) -> Any:
    """Run a blocking emulator call (advance, connections) off the test's loop."""
    return await asyncio.to_thread(action)


async def check_python_client(
    emu: AblyEmulator,
    *,
    binary: bool,
    callback: Callable[[dict[str, Any]], Awaitable[Any]],
    calls: list[int],
) -> None:
    client = AblyRealtime(auth_callback=callback, use_binary_protocol=binary, **python_options(emu))
    try:
        await asyncio.wait_for(client.connection.once_async("connected"), 5)
        (connection,) = await on_loop(emu, lambda: emu.connections)
        assert connection.format == ("msgpack" if binary else "json")
        assert connection.connection_id == client.connection.connection_manager.connection_id

        lobby = client.channels.get("chat:lobby")
        await asyncio.wait_for(lobby.attach(), 5)
        received: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_message(message: Any) -> None:
            if not received.done():
                received.set_result(message)

        await lobby.subscribe(on_message)
        await asyncio.wait_for(lobby.publish("greeting", {"text": "hello"}), 5)
        message = await asyncio.wait_for(received, 5)
        assert (message.name, message.data) == ("greeting", {"text": "hello"})
        assert message.connection_id == connection.connection_id

        admin = client.channels.get("admin:x")
        with pytest.raises(Exception) as denied:  # noqa: PT011 - AblyException
            await asyncio.wait_for(admin.attach(), 5)
        assert getattr(denied.value, "code", None) == 40160
        assert str(admin.state) == "ChannelState.FAILED"
        assert str(client.connection.state) == "ConnectionState.CONNECTED"

        # 30 s before expiry the emulator sends AUTH; the client calls back for a new
        # credential and upgrades the same connection with it.
        updates: list[Any] = []

        def on_update(change: Any) -> None:
            updates.append(change)

        client.connection.on(ConnectionEvent.UPDATE, on_update)
        assert calls == [1]
        assert connection.expires is not None  # (mint_jwt floors iat: emu.now() + TTL is late)
        auth_due = connection.expires - AUTH_MARGIN
        await on_loop(emu, lambda: emu.set_time(auth_due - timedelta(seconds=5)))
        await asyncio.sleep(0.3)
        assert calls == [1] and updates == []  # nothing before the 30 s
        await on_loop(emu, lambda: emu.advance(timedelta(seconds=6)))
        await eventually(lambda: calls == [2] and len(updates) == 1, "the renewal")
        (renewed,) = await on_loop(emu, lambda: emu.connections)
        assert renewed.connection_id == connection.connection_id
        assert renewed.expires is not None and connection.expires is not None
        assert renewed.expires > connection.expires
        assert str(client.connection.state) == "ConnectionState.CONNECTED"
        await asyncio.wait_for(lobby.publish("after", "renewal"), 5)
    finally:
        await client.close()


@BINARY
def test_ably_python_with_jwt_callback(ably_emulator: AblyEmulator, binary: bool) -> None:
    key = ably_emulator.create_key(capability=CHAT)
    calls = [0]

    async def callback(params: dict[str, Any]) -> str:
        calls[0] += 1
        # No clientId: ably-python takes a bare token string as clientId None, and then
        # refuses to renew a connection whose clientId the first JWT set (RSA15 check
        # in Auth._configure_client_id). With TokenRequests the clientId is known.
        return mint_jwt(key, capability=CHAT, ttl=TTL, now=ably_emulator.now())

    asyncio.run(check_python_client(ably_emulator, binary=binary, callback=callback, calls=calls))


@BINARY
def test_ably_python_with_token_request_callback(ably_emulator: AblyEmulator, binary: bool) -> None:
    key = ably_emulator.create_key(capability=CHAT)
    calls = [0]

    async def callback(params: dict[str, Any]) -> dict[str, Any]:
        calls[0] += 1
        request = create_token_request(
            key, client_id="alice", capability=CHAT, ttl=TTL, now=ably_emulator.now()
        )
        return request.to_dict()

    asyncio.run(check_python_client(ably_emulator, binary=binary, callback=callback, calls=calls))
    issued = ably_emulator.issued_tokens
    assert [token.client_id for token in issued] == ["alice", "alice"]


def test_ably_python_revoked_token_is_disconnected_with_40141(
    tls_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # revoke_tokens takes the key as basic auth, which ably-python sends over TLS only.
    assert tls_emulator.ca_file
    monkeypatch.setenv("SSL_CERT_FILE", tls_emulator.ca_file)
    tls_emulator.reset()
    emu = tls_emulator
    key = emu.create_key(capability=CHAT, revocable=True)
    calls = [0]

    async def callback(params: dict[str, Any]) -> dict[str, Any]:
        calls[0] += 1
        details = await asyncio.to_thread(
            request_token, key, client_id="mallory", capability=CHAT, endpoint=emu.url
        )
        return details.to_dict()

    async def scenario() -> None:
        client = AblyRealtime(auth_callback=callback, **python_options(emu))
        changes: list[Any] = []

        def on_change(change: Any) -> None:
            changes.append(change)

        client.connection.on(on_change)
        try:
            await asyncio.wait_for(client.connection.once_async("connected"), 5)
            await asyncio.to_thread(revoke_tokens, key, client_ids=["mallory"], endpoint=emu.url)
            await eventually(
                lambda: any(getattr(c.reason, "code", None) == 40141 for c in changes),
                "the revocation",
            )
            # A token error: the client fetches a token issued after the revocation and
            # connects again.
            await eventually(
                lambda: calls[0] == 2 and str(client.connection.state).endswith("CONNECTED"),
                "the reconnection",
            )
        finally:
            await client.close()

    asyncio.run(scenario())


# -- ably-js Realtime under Node, through an authUrl --------------------------------------


@pytest.mark.parametrize("mode", ["jwt", "token-request"])
@BINARY
def test_ably_js_realtime_through_an_auth_url(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, mode: str, binary: bool
) -> None:
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)

    def mint() -> tuple[str, str]:
        if mode == "jwt":
            jwt = mint_jwt(key, client_id="bob", capability=CHAT, ttl=TTL, now=emu.now())
            return "application/jwt", jwt
        request = create_token_request(
            key, client_id="bob", capability=CHAT, ttl=TTL, now=emu.now()
        )
        return "application/json", json.dumps(request.to_dict())

    auth = AuthUrlServer(mint)
    try:
        connected = realtime_js.call(
            "connect", options=js_options(emu, authUrl=auth.url, useBinaryProtocol=binary)
        )
        assert connected["clientId"] == "bob"
        (connection,) = emu.connections
        assert connection.connection_id == connected["connectionId"]
        assert connection.client_id == "bob"
        assert connection.format == ("msgpack" if binary else "json")
        assert auth.calls == 1

        check_channels(
            realtime_js,
            client_id="bob",
            connection_id=connected["connectionId"],
            name="hi",
            data="from js",
        )

        emu.advance(RENEWAL_DUE)
        realtime_js.call("waitUpdates", count=1)
        assert auth.calls == 2
        (renewed,) = emu.connections
        assert renewed.connection_id == connected["connectionId"]
        assert renewed.expires is not None and connection.expires is not None
        assert renewed.expires > connection.expires
        state = realtime_js.call("state")
        assert (state["state"], state["id"]) == ("connected", connected["connectionId"])
    finally:
        auth.close()


def test_ably_js_expired_without_renewal_reconnects_with_a_new_token(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """A credential that expires on the emulator's clock gets DISCONNECTED 40142; ably-js
    treats it as a token error, fetches a new credential and reconnects (RTN15h2)."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    auth = AuthUrlServer(
        lambda: ("application/jwt", mint_jwt(key, capability=CHAT, ttl=TTL, now=emu.now()))
    )
    try:
        realtime_js.call(
            "connect", options=js_options(emu, authUrl=auth.url, useBinaryProtocol=True)
        )
        emu.advance(TTL + timedelta(seconds=1))
        disconnected = realtime_js.call("waitState", state="disconnected")
        assert disconnected["reason"]["code"] == 40142
        state = realtime_js.call("state")
        for _ in range(750):  # polling the reconnection (real time), not the expiry
            if state["state"] == "connected" and auth.calls >= 2:
                break
            time.sleep(0.02)
            state = realtime_js.call("state")
        assert state["state"] == "connected"
        assert auth.calls >= 2
    finally:
        auth.close()


# -- the protocol itself, over a bare WebSocket ------------------------------------------


class Socket:
    """A bare WebSocket to the emulator, speaking JSON or msgpack frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool], binary: bool) -> None:
        self.ws = ws
        self.binary = binary

    async def send(self, message: dict[str, Any]) -> None:
        if self.binary:
            await self.ws.send_bytes(msgpack.packb(message, use_bin_type=True))
        else:
            await self.ws.send_str(json.dumps(message))

    async def receive(self) -> dict[str, Any] | None:
        """The next protocol message other than HEARTBEAT; None once closed."""
        while True:
            frame = await asyncio.wait_for(self.ws.receive(), 5)
            if frame.type == aiohttp.WSMsgType.TEXT:
                assert not self.binary
                message: dict[str, Any] = json.loads(frame.data)
            elif frame.type == aiohttp.WSMsgType.BINARY:
                assert self.binary
                message = msgpack.unpackb(frame.data, raw=False)
            else:
                return None
            if message["action"] != 0:
                return message


async def open_socket(
    emu: AblyEmulator, session: aiohttp.ClientSession, binary: bool = False, **params: str
) -> Socket:
    query = {"v": "6", "format": "msgpack" if binary else "json", **params}
    ws = await session.ws_connect(f"ws://{emu.host}:{emu.port}/", params=query)
    return Socket(ws, binary)


async def expires_of(emu: AblyEmulator, connected: dict[str, Any]) -> datetime:
    """When the emulator expires the connection CONNECTED announced: ``mint_jwt`` floors
    ``iat`` to the second, so ``emu.now() + ttl`` may be up to a second late for it."""
    connections = await asyncio.to_thread(lambda: emu.connections)
    (connection,) = [c for c in connections if c.connection_id == connected["connectionId"]]
    assert connection.expires is not None
    return connection.expires


def run_with_socket(
    emu: AblyEmulator, scenario: Callable[[aiohttp.ClientSession], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            await scenario(session)

    asyncio.run(main())


@BINARY
def test_bad_credentials_get_an_error_frame_then_the_close(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    expired = mint_jwt(
        key, capability=CHAT, ttl=timedelta(minutes=1), now=emu.now() - timedelta(minutes=2)
    )
    bad_signature = mint_jwt(
        ApiKey(name=key.name, secret="x" * 43), capability=CHAT, ttl=TTL, now=emu.now()
    )
    cases = [
        ({"accessToken": expired}, 40142),
        ({"access_token": "emulatorApp.unknown-token"}, 40101),
        ({"accessToken": "eyJ.not-a.jwt"}, 40144),
        ({"accessToken": bad_signature}, 40144),
        ({"key": f"{key.name}:wrong-secret"}, 40101),
        ({}, 40101),
        (
            {
                "accessToken": mint_jwt(
                    key, client_id="amy", capability=CHAT, ttl=TTL, now=emu.now()
                ),
                "clientId": "eve",
            },
            40102,
        ),
    ]

    async def scenario(session: aiohttp.ClientSession) -> None:
        for params, code in cases:
            socket = await open_socket(emu, session, binary, **params)
            error = await socket.receive()
            assert error is not None
            assert error["action"] == 9, params
            assert "channel" not in error
            assert error["error"]["code"] == code, (params, error)
            assert error["error"]["statusCode"] == 401
            assert await socket.receive() is None
            assert socket.ws.closed

    run_with_socket(emu, scenario)
    assert emu.connections == []


@BINARY
def test_protocol_round_trip(ably_emulator: AblyEmulator, binary: bool) -> None:
    emu = ably_emulator
    key = emu.create_key(capability={"chat:*": ["publish", "subscribe"], "news": ["subscribe"]})

    async def scenario(session: aiohttp.ClientSession) -> None:
        token = mint_jwt(
            key,
            client_id="carol",
            capability={"chat:*": ["publish", "subscribe"], "news": ["subscribe"]},
            ttl=TTL,
            now=emu.now(),
        )
        socket = await open_socket(emu, session, binary, access_token=token)
        connected = await socket.receive()
        assert connected is not None and connected["action"] == 4
        details = connected["connectionDetails"]
        assert set(details) >= {
            "connectionKey",
            "clientId",
            "connectionStateTtl",
            "maxIdleInterval",
            "maxMessageSize",
            "maxFrameSize",
            "maxInboundRate",
            "serverId",
            "siteCode",
        }
        assert details["clientId"] == "carol"
        await socket.send({"action": 0, "id": "ping-1"})
        frame = await asyncio.wait_for(socket.ws.receive(), 5)
        echo = msgpack.unpackb(frame.data) if binary else json.loads(frame.data)
        assert echo == {"action": 0, "id": "ping-1"}

        await socket.send({"action": 10, "channel": "news"})
        attached = await socket.receive()
        # subscribe grants the subscribe and presence_subscribe modes (docs, Capabilities:
        # "subscribe ... presence state change messages").
        # ATTACHED carries the channelSerial (RTL15b), the serial the channel is at, which
        # @ably/chat's historyBeforeSubscribe passes back as fromSerial.
        assert attached is not None and isinstance(attached.pop("channelSerial"), str)
        assert attached == {"action": 11, "channel": "news", "flags": 1 << 18 | 1 << 19}
        # Publishing where the capability only allows subscribe: NACK 40160.
        await socket.send(
            {"action": 15, "channel": "news", "msgSerial": 0, "messages": [{"name": "x"}]}
        )
        nack = await socket.receive()
        assert nack is not None and nack["action"] == 2
        assert (nack["msgSerial"], nack["count"], nack["error"]["code"]) == (0, 1, 40160)
        # Publishing as another client: NACK 40012, as over REST.
        await socket.send(
            {
                "action": 15,
                "channel": "chat:a",
                "msgSerial": 1,
                "messages": [{"name": "x", "clientId": "mallory"}],
            }
        )
        nack = await socket.receive()
        assert nack is not None and (nack["action"], nack["error"]["code"]) == (2, 40012)
        await socket.send({"action": 10, "channel": "chat:a"})
        assert (await socket.receive() or {}).get("action") == 11
        await socket.send(
            {"action": 15, "channel": "chat:a", "msgSerial": 2, "messages": [{"data": "d"}]}
        )
        first = await socket.receive()
        second = await socket.receive()
        frames = sorted([first or {}, second or {}], key=lambda m: m["action"])
        delivered = frames[1]
        assert delivered["action"] == 15 and delivered["channel"] == "chat:a"
        (message,) = delivered["messages"]
        assert message["clientId"] == "carol" and message["data"] == "d"
        # The frame's channelSerial (RTL15b) is where the channel is: at its last message.
        assert delivered["channelSerial"] >= message["serial"]
        # The ACK carries the message's serial (TR4s: one PublishResult per ACKed message).
        serials = [message["serial"]]
        assert frames[0] == {"action": 1, "msgSerial": 2, "count": 1, "res": [{"serials": serials}]}
        assert message["connectionId"] == connected["connectionId"]
        assert isinstance(message["timestamp"], int) and message["id"]
        # A REST publish reaches the realtime subscriber too.
        rest_token = mint_jwt(key, client_id="dave", capability=CHAT, ttl=TTL, now=emu.now())
        async with session.post(
            f"{emu.url}/channels/chat:a/messages",
            json={"name": "rest", "data": "r"},
            headers={"Authorization": f"Bearer {rest_token}"},
        ) as answer:
            assert answer.status == 201
        from_rest = await socket.receive()
        assert from_rest is not None and from_rest["messages"][0]["clientId"] == "dave"

        await socket.send({"action": 12, "channel": "chat:a"})
        assert await socket.receive() == {"action": 13, "channel": "chat:a"}
        await socket.send({"action": 7})
        assert await socket.receive() == {"action": 8}
        assert await socket.receive() is None

    run_with_socket(emu, scenario)


def test_auth_before_expiry_renewal_and_refusals(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)

    async def renewal(session: aiohttp.ClientSession) -> None:
        token = mint_jwt(key, client_id="erin", capability=CHAT, ttl=TTL, now=emu.now())
        socket = await open_socket(emu, session, accessToken=token)
        connected = await socket.receive()
        assert connected is not None and connected["action"] == 4
        await asyncio.to_thread(emu.advance, TTL - AUTH_MARGIN - timedelta(seconds=5))
        await socket.send({"action": 10, "channel": "chat:x"})
        assert (await socket.receive() or {}).get("action") == 11  # no AUTH before it
        await asyncio.to_thread(emu.advance, timedelta(seconds=10))
        assert await socket.receive() == {"action": 17}
        fresh = mint_jwt(key, client_id="erin", capability=CHAT, ttl=TTL, now=emu.now())
        await socket.send({"action": 17, "auth": {"accessToken": fresh}})
        again = await socket.receive()
        assert again is not None and again["action"] == 4
        assert again["connectionId"] == connected["connectionId"]
        assert (
            again["connectionDetails"]["connectionKey"]
            == connected["connectionDetails"]["connectionKey"]
        )
        # The old token's expiry no longer matters...
        await asyncio.to_thread(emu.advance, timedelta(minutes=2))
        await socket.send({"action": 10, "channel": "chat:y"})
        assert (await socket.receive() or {}).get("action") == 11
        # ...and a new token for another clientId is refused: ERROR 40102, then the close.
        other = mint_jwt(key, client_id="mallory", capability=CHAT, ttl=TTL, now=emu.now())
        await socket.send({"action": 17, "auth": {"accessToken": other}})
        error = await socket.receive()
        assert error is not None and (error["action"], error["error"]["code"]) == (9, 40102)
        assert await socket.receive() is None

    async def expiry(session: aiohttp.ClientSession) -> None:
        token = mint_jwt(key, capability=CHAT, ttl=TTL, now=emu.now())
        socket = await open_socket(emu, session, accessToken=token)
        connected = await socket.receive()
        assert connected is not None and connected["action"] == 4
        expires = await expires_of(emu, connected)
        await asyncio.to_thread(emu.set_time, expires - timedelta(seconds=1))
        assert await socket.receive() == {"action": 17}
        await asyncio.to_thread(emu.advance, timedelta(seconds=1))
        disconnected = await socket.receive()
        assert disconnected is not None and disconnected["action"] == 6
        assert (disconnected["error"]["code"], disconnected["error"]["statusCode"]) == (40142, 401)
        assert await socket.receive() is None

    async def short_lived(session: aiohttp.ClientSession) -> None:
        # 30 s or less to live when the connection takes it: no AUTH, DISCONNECTED at
        # expiry (ably-js auth_token_expires, auth_jwt_with_token_that_expires).
        token = mint_jwt(key, capability=CHAT, ttl=AUTH_MARGIN, now=emu.now())
        socket = await open_socket(emu, session, accessToken=token)
        connected = await socket.receive()
        assert connected is not None and connected["action"] == 4
        expires = await expires_of(emu, connected)
        await asyncio.to_thread(emu.set_time, expires - timedelta(seconds=5))
        await socket.send({"action": 10, "channel": "chat:x"})
        assert (await socket.receive() or {}).get("action") == 11  # no AUTH before it
        await asyncio.to_thread(emu.advance, timedelta(seconds=5))
        disconnected = await socket.receive()
        assert disconnected is not None and disconnected["action"] == 6
        assert (disconnected["error"]["code"], disconnected["error"]["statusCode"]) == (40142, 401)
        assert await socket.receive() is None

    run_with_socket(emu, renewal)
    run_with_socket(emu, expiry)
    run_with_socket(emu, short_lived)
    assert emu.connections == []


def test_revocation_with_and_without_reauth_margin(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key(capability=CHAT, revocable=True)

    def revoke(client_id: str, margin: bool) -> None:
        # Straight to the service: the HTTP route needs TLS for ably-python's basic auth
        # (covered by the AblyRealtime revocation test above).
        with emu.service.lock:
            emu.service.revoke(
                key, {"targets": [f"clientId:{client_id}"], "allowReauthMargin": margin}
            )

    async def scenario(session: aiohttp.ClientSession) -> None:
        now = emu.now()
        gone = await open_socket(
            emu,
            session,
            accessToken=mint_jwt(key, client_id="g", capability=CHAT, ttl=TTL, now=now),
        )
        warned = await open_socket(
            emu,
            session,
            accessToken=mint_jwt(key, client_id="w", capability=CHAT, ttl=TTL, now=now),
        )
        for socket in (gone, warned):
            assert (await socket.receive() or {}).get("action") == 4
        await asyncio.to_thread(emu.advance, timedelta(seconds=1))
        await asyncio.to_thread(revoke, "g", False)
        disconnected = await gone.receive()
        assert disconnected is not None and disconnected["action"] == 6
        assert disconnected["error"]["code"] == 40141
        assert await gone.receive() is None
        # allowReauthMargin: a hint (AUTH) now, enforcement 30 s later.
        await asyncio.to_thread(revoke, "w", True)
        assert await warned.receive() == {"action": 17}
        await asyncio.to_thread(emu.advance, timedelta(seconds=31))
        disconnected = await warned.receive()
        assert disconnected is not None and disconnected["error"]["code"] == 40141

    run_with_socket(emu, scenario)


def test_stop_closes_live_connections() -> None:
    async def scenario(emu: AblyEmulator) -> None:
        key = emu.create_key()
        async with aiohttp.ClientSession() as session:
            socket = await open_socket(emu, session, key=f"{key.name}:{key.secret}")
            assert (await socket.receive() or {}).get("action") == 4
            assert len(emu.connections) == 1
            await asyncio.to_thread(emu.stop)
            assert await socket.receive() is None

    emu = AblyEmulator().start()
    try:
        asyncio.run(scenario(emu))
    finally:
        emu.stop()


def test_reset_drops_live_connections_and_a_reconnect_is_judged_afresh(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key()

    async def scenario(session: aiohttp.ClientSession) -> None:
        socket = await open_socket(emu, session, key=f"{key.name}:{key.secret}")
        assert (await socket.receive() or {}).get("action") == 4  # CONNECTED
        [snapshot] = emu.connections
        assert (snapshot.credential_kind, snapshot.format, snapshot.channels) == (
            "basic",
            "json",
            frozenset(),
        )
        with pytest.raises(AttributeError, match="immutable"):
            snapshot.format = "msgpack"  # type: ignore[misc]
        await asyncio.to_thread(emu.reset)
        assert await socket.receive() is None  # the transport is closed, no message
        assert emu.connections == []
        # The key went with the reset: connecting again with it is refused.
        again = await open_socket(emu, session, key=f"{key.name}:{key.secret}")
        refusal = await again.receive() or {}
        assert refusal.get("action") == 9, refusal  # ERROR
        assert refusal["error"]["statusCode"] in (401, 404)

    run_with_socket(emu, scenario)


def test_plain_get_on_the_realtime_path_is_an_ably_error(ably_emulator: AblyEmulator) -> None:
    async def scenario(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{ably_emulator.url}/") as answer:
            assert answer.status == 400
            body = await answer.json()
            assert body["error"]["code"] == 40000
            assert "WebSocket" in body["error"]["message"]

    run_with_socket(ably_emulator, scenario)
