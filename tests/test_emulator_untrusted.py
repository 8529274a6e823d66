"""What one careless or hostile client can send the emulator, and what it must not break:
a message that one of Ably's two encodings cannot carry is refused at publish (40013), so
history and other subscribers live on; an internal error answers a generic 50000 and
keeps its Python details in the log."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import aiohttp
import httpx
import msgpack
import pytest
from ably import AblyRealtime, AblyRest
from ably.util.exceptions import AblyException

from ably_authkit import mint_jwt
from ably_authkit.testing import AblyEmulator

MSGPACK = "application/x-msgpack"
CHAT = {"chat:*": ["publish", "subscribe", "history"]}


def basic(emu: AblyEmulator) -> str:
    key = emu.create_key()
    return "Basic " + base64.b64encode(f"{key.name}:{key.secret}".encode()).decode()


def history(emu: AblyEmulator, channel: str, auth: str, accept: str) -> httpx.Response:
    return httpx.get(
        f"{emu.url}/channels/{channel}/messages",
        headers={"Authorization": auth, "Accept": accept},
        timeout=10,
    )


# -- a message one encoding cannot carry: 40013 at publish --------------------------------

#: Lone surrogates in each field a reader decodes: JSON text can spell them (\ud800),
#: UTF-8 (msgpack strings, a JSON answer's bytes) cannot.
SURROGATES = [
    {"name": "m", "data": "\ud800"},
    {"name": "\udfff", "data": "x"},
    {"name": "m", "data": "x", "extras": {"headers": {"k": "\ud800"}}},
    {"name": "m", "data": {"\ud800": 1}},
    {"name": "m", "data": "x", "id": "id-\ud800"},
    {"name": "m", "data": "x", "clientId": "\ud800"},
]


@pytest.mark.parametrize(
    "message", SURROGATES, ids=["data", "name", "extras", "key", "id", "clientId"]
)
def test_a_lone_surrogate_is_refused_at_rest_publish_and_history_lives_on(
    ably_emulator: AblyEmulator, message: dict[str, Any]
) -> None:
    emu = ably_emulator
    auth = basic(emu)
    url = f"{emu.url}/channels/chat:text/messages"
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    # json.dumps writes a lone surrogate as the escape \ud800, valid JSON text.
    answer = httpx.post(url, content=json.dumps(message), headers=headers, timeout=10)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40013), answer.text
    assert "lone surrogate" in answer.json()["error"]["message"]
    fine = httpx.post(url, json={"name": "m", "data": "fine"}, headers=headers, timeout=10)
    assert fine.status_code == 201
    for accept in ("application/json", MSGPACK):
        read = history(emu, "chat:text", auth, accept)
        assert read.status_code == 200, read.content
        decoded = read.json() if accept != MSGPACK else msgpack.unpackb(read.content)
        assert [m["data"] for m in decoded] == ["fine"]


def test_a_msgpack_extension_type_is_refused_and_json_history_lives_on(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    auth = basic(emu)
    url = f"{emu.url}/channels/chat:ext/messages"
    headers = {"Authorization": auth, "Content-Type": MSGPACK}
    extensions: list[object] = [
        msgpack.ExtType(5, b"ab"),
        [1, msgpack.ExtType(1, b"")],
        {"t": msgpack.Timestamp(0)},  # msgpack's own extension -1
    ]
    for data in extensions:
        body = msgpack.packb({"name": "m", "data": data}, use_bin_type=True)
        answer = httpx.post(url, content=body, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40013), data
    ext_name = msgpack.packb({"name": msgpack.ExtType(2, b"n"), "data": "x"})
    answer = httpx.post(url, content=ext_name, headers=headers, timeout=10)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40013)
    fine = msgpack.packb({"name": "m", "data": b"\x00\x01"}, use_bin_type=True)
    assert httpx.post(url, content=fine, headers=headers, timeout=10).status_code == 201
    read = history(emu, "chat:ext", auth, "application/json")
    assert read.status_code == 200, read.text
    assert [(m["data"], m["encoding"]) for m in read.json()] == [("AAE=", "base64")]


def test_the_ably_package_publishing_a_lone_surrogate_gets_40013_over_rest_and_realtime(
    ably_emulator: AblyEmulator,
) -> None:
    """The `ably` package in JSON mode sends what Python strings hold; a lone surrogate
    is refused with 40013 (REST 400, realtime NACK) and the connection carries on."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    jwt = mint_jwt(key, client_id="alice", capability=CHAT, now=emu.now())

    async def scenario() -> None:
        rest = AblyRest(token=jwt, use_binary_protocol=False, **emu.client_options())
        realtime = AblyRealtime(token=jwt, use_binary_protocol=False, **emu.client_options())
        try:
            with pytest.raises(AblyException) as refused:
                await rest.channels.get("chat:sdk").publish("m", "\ud800")
            assert (refused.value.code, refused.value.status_code) == (40013, 400)
            channel = realtime.channels.get("chat:sdk")
            await asyncio.wait_for(channel.attach(), 10)
            with pytest.raises(AblyException) as nacked:
                await asyncio.wait_for(channel.publish("m", "bad \udc00"), 10)
            assert nacked.value.code == 40013
            await asyncio.wait_for(channel.publish("m", "fine"), 10)
            page = await rest.channels.get("chat:sdk").history()
            assert [m.data for m in page.items] == ["fine"]
        finally:
            await realtime.close()
            await rest.close()

    asyncio.run(scenario())


def test_json_subscribers_live_on_when_a_realtime_publisher_sends_what_json_cannot_carry(
    ably_emulator: AblyEmulator,
) -> None:
    """Lone surrogates over JSON and extension types over msgpack are NACKed with 40013;
    a JSON subscriber of the channel gets the next good message, still connected."""
    emu = ably_emulator
    key = emu.create_key()
    url = f"ws://{emu.host}:{emu.port}/"
    params = {"v": "6", "format": "json", "key": f"{key.name}:{key.secret}"}

    async def receive(ws: aiohttp.ClientWebSocketResponse[bool]) -> dict[str, Any]:
        frame = await asyncio.wait_for(ws.receive(), 5)
        assert frame.type == aiohttp.WSMsgType.TEXT, frame
        message: dict[str, Any] = json.loads(frame.data)
        return message

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            reader = await session.ws_connect(url, params=params)
            writer = await session.ws_connect(url, params=params)
            for ws in (reader, writer):
                assert (await receive(ws))["action"] == 4
                await ws.send_str(json.dumps({"action": 10, "channel": "chat:s"}))
                assert (await receive(ws))["action"] == 11
            bad = [{"data": "\ud800"}, {"name": "\ud800"}, {"data": {"k\udfff": 1}}]
            for serial, message in enumerate(bad):
                frame = {"action": 15, "channel": "chat:s", "msgSerial": serial}
                await writer.send_str(json.dumps({**frame, "messages": [message]}))
                nack = await receive(writer)
                assert (nack["action"], nack["error"]["code"]) == (2, 40013), nack
            packer = await session.ws_connect(url, params={**params, "format": "msgpack"})
            assert msgpack.unpackb((await packer.receive()).data)["action"] == 4
            await packer.send_bytes(msgpack.packb({"action": 10, "channel": "chat:s"}))
            assert msgpack.unpackb((await packer.receive()).data)["action"] == 11
            for serial, data in enumerate([msgpack.ExtType(3, b"x"), {"t": msgpack.Timestamp(1)}]):
                frame = {"action": 15, "channel": "chat:s", "msgSerial": serial}
                message = {**frame, "messages": [{"data": data}]}
                await packer.send_bytes(msgpack.packb(message, use_bin_type=True))
                nack = msgpack.unpackb((await packer.receive()).data)
                assert (nack["action"], nack["error"]["code"]) == (2, 40013), nack
            good = {"action": 15, "channel": "chat:s", "msgSerial": 9, "messages": [{"data": "ok"}]}
            await writer.send_str(json.dumps(good))
            delivered = await receive(reader)
            assert (delivered["action"], delivered["messages"][0]["data"]) == (15, "ok")
            assert len(emu.connections) == 3
            await packer.close()
            await reader.close()
            await writer.close()

    asyncio.run(scenario())


# -- an internal error: a generic 50000, the details in the log ---------------------------


def test_an_internal_error_answers_a_generic_50000_and_logs_the_traceback(
    ably_emulator: AblyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu = ably_emulator
    auth = basic(emu)

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("secret-internal-detail")

    original = emu.service.history
    emu.service.history = broken  # type: ignore[method-assign,assignment]
    try:
        with caplog.at_level(logging.ERROR, logger="ably_authkit.testing"):
            for accept in ("application/json", MSGPACK):
                answer = history(emu, "chat:x", auth, accept)
                assert answer.status_code == 500
                body = answer.json() if accept != MSGPACK else msgpack.unpackb(answer.content)
                assert body["error"]["code"] == 50000
                text = answer.content.decode("utf-8", "replace") + str(answer.headers)
                for leak in ("secret-internal-detail", "KeyError", "Traceback"):
                    assert leak not in text
    finally:
        emu.service.history = original  # type: ignore[method-assign]
    logged = [r for r in caplog.records if r.name == "ably_authkit.testing"]
    assert logged and logged[0].exc_info is not None
    assert "secret-internal-detail" in caplog.text  # the traceback, in the log


def test_a_realtime_internal_error_says_nothing_of_python(
    ably_emulator: AblyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/",
                params={"v": "6", "format": "json", "key": f"{key.name}:{key.secret}"},
            )
            await ws.receive()
            (live,) = emu.realtime._connections.values()
            # Something the JSON writer cannot write (a set): an internal fault.
            await asyncio.to_thread(emu.call, lambda: live.send({"action": 15, "x": {1}}))
            frame = await asyncio.wait_for(ws.receive(), 5)
            error = json.loads(frame.data)
            assert (error["action"], error["error"]["code"]) == (9, 50000)
            for leak in ("TypeError", "set", "serializable"):
                assert leak not in error["error"]["message"]
            await ws.close()

    with caplog.at_level(logging.ERROR, logger="ably_authkit.testing"):
        asyncio.run(scenario())
    assert "TypeError" in caplog.text
