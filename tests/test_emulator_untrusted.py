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

from .peers import AblyJsError, js_options
from .realtime_peers import AblyJsRealtime

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


# -- a drive-by from a web page: Origin, Host and POST /apps's Content-Type ---------------

SPEC = json.dumps({"keys": [{}]})


def apps(emu: AblyEmulator) -> int:
    with emu.service.lock:
        return len(emu.service.apps)


def test_a_web_page_elsewhere_cannot_provision_apps_or_read_answers(
    ably_emulator: AblyEmulator,
) -> None:
    emu = ably_emulator
    before = apps(emu)
    evil = {"Origin": "https://evil.example"}
    # A "simple" cross-origin request, which a browser sends with no preflight.
    simple = httpx.post(
        f"{emu.url}/apps", content=SPEC, headers={**evil, "Content-Type": "text/plain"}
    )
    assert (simple.status_code, simple.json()["error"]["code"]) == (403, 40300)
    assert "access-control-allow-origin" not in simple.headers
    as_json = httpx.post(
        f"{emu.url}/apps", content=SPEC, headers={**evil, "Content-Type": "application/json"}
    )
    assert (as_json.status_code, as_json.json()["error"]["code"]) == (403, 40300)
    preflight = httpx.options(
        f"{emu.url}/apps",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    for origin in ("null", "http://127.0.0.1.evil.example", "http://localhost.evil.example:80"):
        answer = httpx.get(f"{emu.url}/time", headers={"Origin": origin})
        assert answer.status_code == 403, origin
    # Without an Origin, but not as JSON or msgpack: 415, as any other type.
    plain = httpx.post(f"{emu.url}/apps", content=SPEC, headers={"Content-Type": "text/plain"})
    assert (plain.status_code, plain.json()["error"]["code"]) == (415, 40000)
    form = httpx.post(f"{emu.url}/apps", data={"keys": "x"})
    assert form.status_code == 415
    assert apps(emu) == before
    # The SDK suites' own request: JSON (or msgpack) from Node, Go or Python, no Origin.
    made = httpx.post(f"{emu.url}/apps", content=SPEC, headers={"Content-Type": "application/json"})
    assert made.status_code == 201
    packed = httpx.post(
        f"{emu.url}/apps",
        content=msgpack.packb({"keys": [{}]}),
        headers={"Content-Type": MSGPACK},
    )
    assert packed.status_code == 201
    assert apps(emu) == before + 2


def test_pages_on_this_machine_keep_working_with_cors(ably_emulator: AblyEmulator) -> None:
    """The demo page and ably-js in a page served on loopback, on any port."""
    emu = ably_emulator
    for origin in ("http://127.0.0.1:5173", "http://localhost:8000", "https://[::1]:8443"):
        preflight = httpx.options(
            f"{emu.url}/apps",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204, origin
        assert preflight.headers["access-control-allow-origin"] == origin
        answer = httpx.get(f"{emu.url}/time", headers={"Origin": origin})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == origin
        assert "Origin" in answer.headers["vary"]


def test_allowed_origins_names_the_other_pages_the_emulator_serves() -> None:
    with AblyEmulator(
        allowed_origins=["https://App.Example.com:443/", "http://10.0.0.5:8080"]
    ) as emu:
        for origin in ("https://app.example.com", "http://10.0.0.5:8080"):
            answer = httpx.get(f"{emu.url}/time", headers={"Origin": origin})
            assert answer.status_code == 200, origin
            assert answer.headers["access-control-allow-origin"] == origin
        for origin in ("http://app.example.com", "https://app.example.com:8443", "http://10.0.0.5"):
            assert httpx.get(f"{emu.url}/time", headers={"Origin": origin}).status_code == 403
    for bad in (["https://app.example.com/path"], ["app.example.com"], ["null"], ["ftp://x"]):
        with pytest.raises(ValueError, match="not an origin"):
            AblyEmulator(allowed_origins=bad)
    with pytest.raises(TypeError, match="list of origins"):
        AblyEmulator(allowed_origins="https://app.example.com")


def test_a_host_header_that_names_another_machine_is_refused(
    ably_emulator: AblyEmulator,
) -> None:
    """A page whose domain name was rebound to 127.0.0.1 is same-origin to itself; its
    requests carry its own name in Host."""
    emu = ably_emulator
    for host in ("evil.example", f"evil.example:{emu.port}", "127.0.0.1.nip.io", "192.168.1.9"):
        answer = httpx.get(f"{emu.url}/time", headers={"Host": host})
        assert (answer.status_code, answer.json()["error"]["code"]) == (403, 40300), host
        made = httpx.post(
            f"{emu.url}/apps",
            content=SPEC,
            headers={"Host": host, "Content-Type": "application/json"},
        )
        assert made.status_code == 403
    for host in (
        f"localhost:{emu.port}",
        "127.0.0.1",
        f"127.5.6.7:{emu.port}",
        f"[::1]:{emu.port}",
    ):
        assert httpx.get(f"{emu.url}/time", headers={"Host": host}).status_code == 200, host


def test_a_websocket_from_a_page_elsewhere_is_refused(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key()
    params = {"v": "6", "format": "json", "key": f"{key.name}:{key.secret}"}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(
                    f"ws://{emu.host}:{emu.port}/", params=params, origin="https://evil.example"
                )
            assert refused.value.status == 403
            ws = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/", params=params, origin="http://localhost:3000"
            )
            assert json.loads((await ws.receive()).data)["action"] == 4
            await ws.close()

    asyncio.run(scenario())


def test_ably_js_publishing_a_lone_surrogate_gets_40013_and_stays_connected(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """JavaScript strings may hold lone surrogates, and JSON.stringify writes them as
    escapes (ably-js's msgpack writes U+FFFD instead): over JSON, ably-js's publish is
    NACKed with 40013 and its connection carries on."""
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    options = js_options(emu, key=f"{key.name}:{key.secret}", useBinaryProtocol=False)
    realtime_js.call("connect", options=options)
    assert realtime_js.call("attach", channel="chat:js") == "attached"
    with pytest.raises(AblyJsError) as refused:
        realtime_js.call("publish", channel="chat:js", name="m", data="lone \ud800")
    assert refused.value.code == 40013
    realtime_js.call("publish", channel="chat:js", name="m", data="fine")
    assert realtime_js.call("state")["state"] == "connected"
    assert [m["data"] for m in emu.published("chat:js")] == ["fine"]


def test_listening_on_every_address_takes_ip_hosts_but_not_names() -> None:
    """With host 0.0.0.0 the emulator is reached by this machine's addresses; a name
    other than localhost is still refused (DNS rebinding uses names). The guard alone,
    on aiohttp's own requests, so the test opens no port to the network."""
    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from ably_authkit.testing._routes import _browser_guard

    async def ok(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def status(own: str, host: str) -> int:
        guard = _browser_guard(own, frozenset())
        response = await guard(make_mocked_request("GET", "/time", headers={"Host": host}), ok)
        return int(response.status)

    async def scenario() -> None:
        for host in ("192.168.1.9", "10.1.2.3:8123", "[fe80::1]:8123", "localhost:8123"):
            assert await status("0.0.0.0", host) == 200, host  # noqa: S104
            assert await status("::", host) == 200, host
        for host in ("evil.example", "evil.example:8123", "127.0.0.1.nip.io"):
            assert await status("0.0.0.0", host) == 403, host  # noqa: S104
        assert await status("127.0.0.1", "192.168.1.9") == 403

    asyncio.run(scenario())
