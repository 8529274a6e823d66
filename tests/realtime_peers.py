"""Realtime test peers: an ably-js Realtime client in a Node process, a tiny local
authUrl server that mints credentials on the emulator's clock and counts its calls, and
``until``, the realtime tests' wait for what a client is sent."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from .peers import JS_DIR, AblyJs, AblyJsError


async def until(what: Callable[[], bool], description: str) -> None:
    """Return once ``what()`` is true, polled every 20 ms; fail after 10 seconds."""
    deadline = time.monotonic() + 10
    while not what():
        assert time.monotonic() < deadline, f"timed out waiting for {description}"
        await asyncio.sleep(0.02)


class AblyJsRealtime(AblyJs):
    """One ably-js ``Realtime`` client (tests/js/realtime_peer.js) in its own Node process."""

    script = "realtime_peer.js"

    def close(self) -> None:
        try:
            self.call("close")
        finally:
            super().close()


class AuthUrlServer:
    """``GET /auth`` on 127.0.0.1 answers ``mint()``'s ``(content_type, body)``, as a
    backend's authUrl does; ``calls`` counts the requests."""

    def __init__(self, mint: Callable[[], tuple[str, str]]) -> None:
        self.calls = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.calls += 1
                content_type, body = mint()
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/auth"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def check_channels(
    realtime_js: AblyJsRealtime, *, client_id: str, connection_id: str, name: str, data: str
) -> None:
    """The channel checks every ably-js realtime test makes: chat:lobby attaches, a
    published message comes back with the client's identity, admin:x is refused with
    40160 and the connection stays up."""
    assert realtime_js.call("attach", channel="chat:lobby") == "attached"
    realtime_js.call("subscribe", channel="chat:lobby")
    realtime_js.call("publish", channel="chat:lobby", name=name, data=data)
    assert realtime_js.call("waitMessage", name=name) == {
        "channel": "chat:lobby",
        "name": name,
        "data": data,
        "clientId": client_id,
        "connectionId": connection_id,
    }
    with pytest.raises(AblyJsError) as denied:
        realtime_js.call("attach", channel="admin:x")
    assert denied.value.code == 40160
    assert realtime_js.call("channelState", channel="admin:x") == "failed"
    assert realtime_js.call("state")["state"] == "connected"


class AblyChatUser(AblyJsRealtime):
    """One Ably Chat user (tests/js/chat_peer.js): an ``@ably/chat`` ``ChatClient`` over
    an ably-js ``Realtime`` client, in its own Node process."""

    script = "chat_peer.js"

    def __init__(self) -> None:
        if not (JS_DIR / "node_modules" / "@ably" / "chat").is_dir():
            raise RuntimeError(
                "@ably/chat is not installed: run scripts/check (or `npm ci --prefix tests/js`)"
            )
        super().__init__()
