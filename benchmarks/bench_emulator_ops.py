"""The emulator's channel operations over REST, each as a ratio against a bare aiohttp route
of the same shape, served the same way (an aiohttp app on its own event loop in a
background thread, on 127.0.0.1) and called by the same kind of keep-alive ``httpx.Client``:

- publish one JSON message (``POST /channels/{channel}/messages``, token auth) against a
  route that reads the JSON body, stores the message with an id, a serial and a timestamp,
  and answers 201 with them;
- the presence set of a channel with 20 members (``GET /channels/{channel}/presence``)
  against a route that answers the same 20 members as JSON;
- history, a page of 20 messages (``GET /channels/{channel}/messages?limit=20``) against a
  route that answers 20 stored messages as JSON.

What the ratio measures is what the emulator does beyond the bare route: reading the
credential, the capability check, the checks on what is published, the stored model.

    python benchmarks/bench_emulator_ops.py
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from _measure import Ratio, per_call
from ably import AblyRealtime
from aiohttp import web

from ably_authkit import request_token
from ably_authkit.testing import AblyEmulator

CHANNEL = "bench:room"  # the presence set
#: Where messages are published and read back: a channel no realtime client is attached
#: to, so that a publish is stored and answered, as the bare route does, not delivered.
MESSAGES = "bench:messages"
MEMBERS = 20
TARGET = 1.3


def bare_app() -> web.Application:
    """Routes of the emulator's shape, with nothing of Ably behind them."""
    messages: list[dict[str, Any]] = []
    serial = itertools.count()
    members = [
        {
            "id": f"conn:{n}:0",
            "action": 1,
            "clientId": f"user{n}",
            "connectionId": "conn",
            "data": {"n": n},
            "timestamp": 1_700_000_000_000,
        }
        for n in range(MEMBERS)
    ]

    async def publish(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization"):
            return web.json_response({"error": {"code": 40101}}, status=401)
        body = await request.json()
        number = next(serial)
        message = {
            **body,
            "id": f"msg{number}",
            "serial": f"{number:016d}",
            "timestamp": 1_700_000_000_000,
        }
        messages.append(message)
        return web.json_response(
            {
                "channel": request.match_info["channel"],
                "messageId": message["id"],
                "serials": [message["serial"]],
            },
            status=201,
        )

    async def presence(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization"):
            return web.json_response({"error": {"code": 40101}}, status=401)
        return web.json_response(members)

    async def history(request: web.Request) -> web.Response:
        if not request.headers.get("Authorization"):
            return web.json_response({"error": {"code": 40101}}, status=401)
        limit = int(request.query.get("limit", "100"))
        return web.json_response(messages[-limit:][::-1])

    app = web.Application()
    app.router.add_post("/channels/{channel}/messages", publish)
    app.router.add_get("/channels/{channel}/presence", presence)
    app.router.add_get("/channels/{channel}/messages", history)
    return app


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """``app`` on 127.0.0.1, on an event loop in a background thread, as the emulator is."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


async def enter_members(emu: AblyEmulator, key_text: str) -> AblyRealtime:
    client = AblyRealtime(key=key_text, **emu.client_options(), use_binary_protocol=False)
    presence = client.channels.get(CHANNEL).presence
    for n in range(MEMBERS):
        await presence.enter_client(f"user{n}", {"n": n})
    return client


def calls(base: str, authorization: str) -> dict[str, Callable[[], object]]:
    client = httpx.Client(base_url=base, headers={"Authorization": authorization})
    body = {"name": "greeting", "data": {"text": "hello", "n": 1}}

    def publish() -> object:
        answer = client.post(f"/channels/{MESSAGES}/messages", json=body)
        assert answer.status_code == 201, answer.text
        return answer

    def presence() -> object:
        answer = client.get(f"/channels/{CHANNEL}/presence")
        assert answer.status_code == 200, answer.text
        assert len(answer.json()) == MEMBERS
        return answer

    def history() -> object:
        answer = client.get(f"/channels/{MESSAGES}/messages", params={"limit": "20"})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()) == 20
        return answer

    return {"publish": publish, "presence": presence, "history": history}


def main() -> int:
    with AblyEmulator() as emu:
        key = emu.create_key()
        details = request_token(key, client_id="bench", endpoint=emu.url)
        bearer = "Bearer " + base64.b64encode(details.token.encode()).decode()
        loop = asyncio.new_event_loop()
        members = loop.run_until_complete(enter_members(emu, f"{key.name}:{key.secret}"))
        try:
            with serve(bare_app()) as bare:
                ours, reference = calls(emu.url, bearer), calls(bare, "Bearer x")
                for _ in range(20):  # messages for the history pages
                    ours["publish"]()
                    reference["publish"]()
                results = [
                    Ratio(
                        f"emulator {name}",
                        *per_call(ours[name], reference[name]),
                        f"bare aiohttp {name}",
                        TARGET,
                    )
                    for name in ("publish", "presence", "history")
                ]
        finally:
            loop.run_until_complete(members.close())
            for task in asyncio.all_tasks(loop):  # the ably package's timers
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
