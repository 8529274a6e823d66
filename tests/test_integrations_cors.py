"""docs/operations.md's CORS advice, in a real browser: a page on one origin whose ably-js
(headless Chromium) connects through an authUrl on another origin, served by the FastAPI
integration behind Starlette's CORSMiddleware, to the emulator.

- allowed origin, credentials allowed, ``Authorization`` in authHeaders: connected, as the
  user the bearer names;
- the same app without CORS headers: the browser withholds the answer, and ably-js never
  connects;
- the page's session cookie reaches the other origin only when authHeaders has an
  ``authorization`` key, in lower case (ably-js asks for credentials only then);
- a refusal whose ``X-Ably-ErrorCode`` is exposed reaches ably-js as Ably's own error
  (40100, the cause of the connection's 80019), which the page can show; unexposed, as a
  generic 40170.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any
from urllib.parse import urlencode

import pytest
from fastapi import Cookie, FastAPI, Header
from fastapi.middleware.cors import CORSMiddleware

from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.fastapi import auth_router
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR, AblyJs
from .test_examples import uvicorn_serving

CHROMIUM = "/usr/bin/chromium"
ABLY_JS = JS_DIR / "node_modules" / "ably" / "build" / "ably.min.js"
BEARER = "Bearer alice-session"
SESSION = "alice-cookie-session"

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>a page on another origin than its authUrl</title>
<pre id="state">starting</pre>
<script src="/ably.js"></script>
<script>
  const params = new URLSearchParams(location.search);
  if (params.get("cookie")) document.cookie = params.get("cookie") + "; path=/";
  const options = JSON.parse(params.get("options"));
  const client = new Ably.Realtime(options);
  client.connection.on((change) => {
    const reason = change.reason;
    document.getElementById("state").textContent = [
      change.current,
      "client=" + (client.auth.clientId || ""),
      "code=" + (reason ? reason.code : ""),
      "cause=" + (reason && reason.cause ? reason.cause.code : ""),
    ].join(" ");
  });
</script>
"""


class Browser(AblyJs):
    """Headless Chromium with one page (tests/js/browser_peer.js)."""

    script = "browser_peer.js"


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is not installed: run `npm ci --prefix tests/js`")
    peer = Browser()
    user_data = tempfile.mkdtemp(prefix="ably-authkit-cors-")
    peer.user_data = user_data  # type: ignore[attr-defined]
    try:
        yield peer
    finally:
        try:
            peer.call("close")
        finally:
            peer.close()
            shutil.rmtree(user_data, ignore_errors=True)


@contextmanager
def page_origin() -> Iterator[str]:
    """The page's own origin: the page and ably-js, nothing else."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/ably.js"):
                body, kind = ABLY_JS.read_bytes(), "text/javascript"
            else:
                body, kind = PAGE.encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def current_grant(
    authorization: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie()] = None,
) -> Grant | None:
    # STAND-IN for a real bearer check, or a real session cookie.
    if authorization != BEARER and session != SESSION:
        return None
    return Grant(client_id="alice", capability={"chat:*": ["publish", "subscribe"]})


def make_app(auth: AuthEndpoint, page: str | None, *, expose: bool = True) -> FastAPI:
    """The authUrl app; with ``page``, CORS headers for that origin as operations.md says
    (``expose=False``: all but ``Access-Control-Expose-Headers``)."""
    app = FastAPI()
    app.include_router(auth_router(auth, current_grant), prefix="/auth")
    if page is not None:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[page],
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization"],
            expose_headers=["X-Ably-ErrorCode"] if expose else [],
        )
    return app


def connect(
    browser: Browser,
    page: str,
    auth_url: str,
    emu: AblyEmulator,
    *,
    cookie: str = "",
    **options: Any,
) -> str:
    """Open the page with ably-js connecting through ``auth_url``; its first settled state."""
    client = {
        "authUrl": auth_url,
        **emu.client_options("ably-js"),
        "fallbackHosts": [],
        "disconnectedRetryTimeout": 60_000,  # one attempt is enough to judge
        **options,
    }
    url = f"{page}/?{urlencode({'options': json.dumps(client), 'cookie': cookie})}"
    opened = browser.call(
        "open",
        url=url,
        userDataDir=browser.user_data,  # type: ignore[attr-defined]
        executablePath=CHROMIUM,
    )
    assert opened == {"status": 200}
    for state in ("connected", "disconnected", "failed"):
        try:
            return str(browser.call("waitText", selector="#state", text=state, timeoutMs=4_000))
        except Exception:  # noqa: S112 -- try the next state
            continue
    return str(browser.call("text", selector="#state"))


@pytest.fixture
def auth(ably_emulator: AblyEmulator) -> Iterator[AuthEndpoint]:
    emu = ably_emulator
    with AuthEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as endpoint:
        yield endpoint


def test_a_page_on_another_origin_connects_with_the_cors_headers(
    browser: Browser, ably_emulator: AblyEmulator, auth: AuthEndpoint
) -> None:
    with page_origin() as page, uvicorn_serving(make_app(auth, page)) as api:
        state = connect(
            browser, page, f"{api}/auth/jwt", ably_emulator, authHeaders={"Authorization": BEARER}
        )
    assert state.startswith("connected client=alice"), state
    (connection,) = ably_emulator.connections
    assert connection.client_id == "alice"


def test_without_cors_headers_the_browser_withholds_the_answer(
    browser: Browser, ably_emulator: AblyEmulator, auth: AuthEndpoint
) -> None:
    with page_origin() as page, uvicorn_serving(make_app(auth, None)) as api:
        state = connect(
            browser, page, f"{api}/auth/jwt", ably_emulator, authHeaders={"Authorization": BEARER}
        )
    assert not state.startswith("connected"), state
    assert ably_emulator.connections == []


@pytest.mark.parametrize("expose", [True, False], ids=["exposed", "not-exposed"])
def test_an_exposed_error_code_reaches_ably_js_as_the_ably_error(
    browser: Browser, ably_emulator: AblyEmulator, auth: AuthEndpoint, expose: bool
) -> None:
    with page_origin() as page, uvicorn_serving(make_app(auth, page, expose=expose)) as api:
        state = connect(
            browser, page, f"{api}/auth/jwt", ably_emulator, authHeaders={"Authorization": "no"}
        )
    # ably-js wraps an authUrl failure as 80019; its cause is the server's Ably error only
    # when it can read X-Ably-ErrorCode, else a generic 40170.
    cause = "40100" if expose else "40170"
    assert state.startswith(f"disconnected client= code=80019 cause={cause}"), state
    assert ably_emulator.connections == []


@pytest.mark.parametrize(
    ("auth_headers", "sent"),
    [
        ({}, False),
        ({"authorization": "Bearer of-nothing"}, True),
        # ably-js's browser bundle (XHR) looks for the lower-case key only.
        ({"Authorization": "Bearer of-nothing"}, False),
    ],
    ids=["none", "authorization", "Authorization"],
)
def test_ably_js_sends_cookies_to_another_origin_only_with_an_authorization_header(
    browser: Browser,
    ably_emulator: AblyEmulator,
    auth: AuthEndpoint,
    auth_headers: dict[str, str],
    sent: bool,
) -> None:
    """The page's session cookie (127.0.0.1's, so every port's) reaches the authUrl on
    another origin only when authHeaders has an ``authorization`` key: ably-js then asks
    for credentials, else for same-origin ones only."""
    with page_origin() as page, uvicorn_serving(make_app(auth, page)) as api:
        state = connect(
            browser,
            page,
            f"{api}/auth/jwt",
            ably_emulator,
            cookie=f"session={SESSION}",
            authHeaders=auth_headers,
        )
    if sent:
        assert state.startswith("connected client=alice"), state
    else:  # no cookie, no bearer: nobody signed in
        assert state.startswith("disconnected client= code=80019 cause=40100"), state
