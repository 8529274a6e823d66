"""The emulator's memory is bounded as Ably's is: history kept 2 minutes (24 hours in a
persisted namespace) on the emulator's clock, channels dropped when nothing is left of
them, expired tokens forgotten, and a realtime client that cannot keep up disconnected."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
import pytest
from ably.sync import AblyRestSync
from ably.sync.util.exceptions import AblyException as SyncAblyException

from ably_authkit import request_token
from ably_authkit.testing import AblyEmulator, _auth, _channels


def basic_for(key_text: str) -> str:
    return "Basic " + base64.b64encode(key_text.encode()).decode()


def test_history_keeps_messages_two_minutes_on_the_emulators_clock(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key()
    auth = {"Authorization": basic_for(f"{key.name}:{key.secret}")}
    url = f"{emu.url}/channels/chat:short/messages"
    assert httpx.post(url, json={"name": "m", "data": "first"}, headers=auth).status_code == 201
    emu.advance(timedelta(minutes=1, seconds=59))
    assert [m["data"] for m in httpx.get(url, headers=auth).json()] == ["first"]
    emu.advance(timedelta(seconds=2))
    assert httpx.get(url, headers=auth).json() == []
    assert httpx.post(url, json={"name": "m", "data": "second"}, headers=auth).status_code == 201
    assert [m["data"] for m in httpx.get(url, headers=auth).json()] == ["second"]
    # published() still lists the latest messages past history, for assertions.
    assert [m["data"] for m in emu.published("chat:short")] == ["first", "second"]


def test_a_persisted_namespace_keeps_history_24_hours(ably_emulator: AblyEmulator) -> None:
    """ably-common test-app-setup.json's ``{"id": "persisted", "persisted": true}``."""
    emu = ably_emulator
    app = emu.create_app({"keys": [{}], "namespaces": [{"id": "persisted", "persisted": True}]})
    auth = {"Authorization": basic_for(app["keys"][0]["keyStr"])}
    for channel in ("persisted:room", "plain:room"):
        url = f"{emu.url}/channels/{channel}/messages"
        assert httpx.post(url, json={"data": channel}, headers=auth).status_code == 201

    def history(channel: str) -> list[Any]:
        answer = httpx.get(f"{emu.url}/channels/{channel}/messages", headers=auth)
        return [m["data"] for m in answer.json()]

    emu.advance(timedelta(hours=23, minutes=59))
    assert history("persisted:room") == ["persisted:room"]
    assert history("plain:room") == []
    emu.advance(timedelta(minutes=2))
    assert history("persisted:room") == []


def test_channels_with_nothing_left_are_dropped(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key()
    credential = emu.service.basic(
        base64.b64encode(f"{key.name}:{key.secret}".encode()).decode(), None
    )
    with emu.service.lock:
        for number in range(2000):
            emu.service.publish(credential, f"room:{number}", {"data": "x"})
        assert len(emu.service.messages) == 2000
    emu.advance(timedelta(minutes=2, seconds=1))
    with emu.service.lock:
        assert emu.service.messages == {}
        assert len(emu.service._expired_messages) <= _channels.EXPIRED_MESSAGES_KEPT


def test_expired_tokens_are_forgotten_and_still_answered_as_expired(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_auth, "EXPIRED_TOKENS_KEPT", 2)
    emu = ably_emulator
    key = emu.create_key(capability={"chat:*": ["publish"]})
    issued = [
        request_token(key, ttl=timedelta(minutes=1 + number), endpoint=emu.url)
        for number in range(4)
    ]
    live = request_token(key, ttl=timedelta(hours=1), endpoint=emu.url)
    assert emu.issued_tokens == [*issued, live]
    emu.advance(timedelta(minutes=10))
    # The two latest to expire, and every one still valid.
    assert emu.issued_tokens == [issued[2], issued[3], live]
    with emu.service.lock:
        assert len(emu.service.tokens) == 3

    def publish_with(token: str) -> tuple[int, int]:
        bearer = "Bearer " + base64.b64encode(token.encode()).decode()
        answer = httpx.post(
            f"{emu.url}/channels/chat:a/messages",
            json={"data": "x"},
            headers={"Authorization": bearer},
        )
        if answer.status_code == 201:
            return 0, 201
        return answer.json()["error"]["code"], answer.status_code

    forgotten = issued[0].token
    never = forgotten.rpartition("~")[0] + "~" + "A" * 36
    not_ours = "emulatorApp.not-a-token-of-this-emulator"
    assert publish_with(forgotten) == (40142, 401)  # Ably's answer: expired, not unknown
    assert publish_with(never) == (40142, 401)  # expired by its own text
    assert publish_with(not_ours) == (40101, 401)
    assert publish_with(live.token) == (0, 201)
    with AblyRestSync(token=forgotten, **emu.client_options()) as client:
        with pytest.raises(SyncAblyException) as renewal:
            client.channels.get("chat:a").publish("m", "x")
        # A token error: the SDK wants to renew, and says it has no way to (40171).
        assert renewal.value.code == 40171


def stalled_subscriber(emu: AblyEmulator, key_text: str, channel: str) -> socket.socket:
    """A WebSocket client that connects, attaches ``channel`` and then reads no more."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect((emu.host, emu.port))
    nonce = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            f"GET /?v=6&format=json&key={key_text} HTTP/1.1\r\n"
            f"Host: {emu.host}:{emu.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    deadline = time.monotonic() + 10
    while not emu.connections and time.monotonic() < deadline:
        time.sleep(0.02)
    payload = json.dumps({"action": 10, "channel": channel}).encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    raw.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    while time.monotonic() < deadline:
        (connection,) = emu.connections
        if connection.channels:
            break
        time.sleep(0.02)
    return raw


def test_a_subscriber_that_stops_reading_is_disconnected_and_others_get_everything(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    key = emu.create_key()
    key_text = f"{key.name}:{key.secret}"
    stalled = stalled_subscriber(emu, key_text, "chat:big")
    (stuck,) = emu.connections
    count, size = 600, 60 * 1024  # 36 MB, over the 16 MiB an outbox may hold

    async def scenario() -> list[Any]:
        async with aiohttp.ClientSession() as session:
            reader = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/", params={"v": "6", "key": key_text}
            )
            assert json.loads((await reader.receive()).data)["action"] == 4
            await reader.send_str(json.dumps({"action": 10, "channel": "chat:big"}))
            assert json.loads((await reader.receive()).data)["action"] == 11
            auth = {"Authorization": basic_for(key_text)}
            async with httpx.AsyncClient(headers=auth, timeout=30) as client:

                async def publish() -> None:
                    body = {"name": "m", "data": "x" * size}
                    for _ in range(count):
                        answer = await client.post(
                            f"{emu.url}/channels/chat:big/messages", json=body
                        )
                        assert answer.status_code == 201

                async def read() -> list[Any]:
                    got: list[Any] = []
                    while len(got) < count:
                        frame = json.loads((await asyncio.wait_for(reader.receive(), 30)).data)
                        if frame["action"] == 15:
                            got.extend(frame["messages"])
                    return got

                results = await asyncio.gather(publish(), read())
                got: list[Any] = results[1]
            await reader.close()
            return got

    try:
        got = asyncio.run(scenario())
        assert len(got) == count
        live = [c.connection_id for c in emu.connections]
        assert stuck.connection_id not in live
        (closed,) = [c for c in emu.closed_connections if c.connection_id == stuck.connection_id]
        assert closed.channels == {"chat:big"}
    finally:
        stalled.close()


def test_a_connection_attaches_at_most_1000_channels(ably_emulator: AblyEmulator) -> None:
    """Ably's 90010 ("Maximum number of channels per connection (<n>) exceeded") on the
    channel; the connection stays up, and a detach makes room."""
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/",
                params={"v": "6", "key": f"{key.name}:{key.secret}"},
            )

            async def receive() -> dict[str, Any]:
                while True:
                    frame = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
                    if frame["action"] != 0:  # not a HEARTBEAT
                        return dict(frame)

            assert (await receive())["action"] == 4
            for number in range(1000):
                await ws.send_str(json.dumps({"action": 10, "channel": f"room:{number}"}))
            for _ in range(1000):
                assert (await receive())["action"] == 11
            await ws.send_str(json.dumps({"action": 10, "channel": "room:one-more"}))
            refused = await receive()
            assert (refused["action"], refused["channel"]) == (9, "room:one-more")
            assert (refused["error"]["code"], refused["error"]["statusCode"]) == (90010, 400)
            await ws.send_str(json.dumps({"action": 10, "channel": "room:0"}))  # attached
            assert (await receive())["action"] == 11
            await ws.send_str(json.dumps({"action": 12, "channel": "room:0"}))
            assert (await receive())["action"] == 13
            await ws.send_str(json.dumps({"action": 10, "channel": "room:one-more"}))
            assert (await receive())["action"] == 11
            await ws.close()

    asyncio.run(scenario())
