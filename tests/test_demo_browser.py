"""The demo page's live panel: ably-js's browser bundle served by the app, found (or not)
in node_modules, and the whole seed scenario in headless Chromium: the page connects
through the app's authUrl to the emulator and is renewed before its credential expires."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ably_authkit import ApiKey, create_token_request, mint_jwt
from ably_authkit.endpoint.demo import ABLY_JS_INSTALL, find_ably_js
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR, AblyJs
from .test_examples import serving
from .test_realtime_apps import CountingEndpoint

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
NODE_MODULES = JS_DIR / "node_modules"
CHAT = {"chat:*": ["publish", "subscribe"]}
ALICE = Grant(client_id="alice", capability={"chat:*": ["publish", "subscribe"]})


# -- finding ably-js -------------------------------------------------------------------------


def make_bundle(folder: Path, name: str = "ably.min.js") -> Path:
    bundle = folder / "node_modules" / "ably" / "build" / name
    bundle.parent.mkdir(parents=True)
    bundle.write_text("var Ably = {};")
    return bundle


def test_find_ably_js_looks_in_the_env_then_node_modules(tmp_path: Path) -> None:
    assert find_ably_js({}, cwd=tmp_path) is None
    local = make_bundle(tmp_path, "ably.js")
    assert find_ably_js({}, cwd=tmp_path) == local.resolve()
    (local.parent / "ably.min.js").write_text("var Ably = {};")
    assert find_ably_js({}, cwd=tmp_path) == (local.parent / "ably.min.js").resolve()

    elsewhere = tmp_path / "elsewhere"
    other = make_bundle(elsewhere)
    for configured in (other, elsewhere, elsewhere / "node_modules", other.parent.parent):
        assert find_ably_js({"ABLY_JS_PATH": str(configured)}, cwd=tmp_path) == other.resolve()
    relative = {"ABLY_JS_PATH": "elsewhere/node_modules"}
    assert find_ably_js(relative, cwd=tmp_path) == other.resolve()
    # A wrong ABLY_JS_PATH falls back to the usual places.
    assert (
        find_ably_js({"ABLY_JS_PATH": "missing"}, cwd=tmp_path)
        == (local.parent / "ably.min.js").resolve()
    )


def test_find_ably_js_finds_the_test_suites_copy_in_a_checkout() -> None:
    found = find_ably_js({}, cwd=ROOT)
    assert found is not None
    assert found.parent == (NODE_MODULES / "ably" / "build").resolve()


# -- the page and /ably.js through the FastAPI example ------------------------------------


@pytest.fixture
def fastapi_client(ably_emulator: AblyEmulator) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from examples.fastapi_app.app import create_app

    with (
        AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth,
        TestClient(create_app(auth)) as client,
    ):
        yield client


def test_without_ably_js_the_page_says_how_to_add_it(
    fastapi_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ABLY_JS_PATH", raising=False)
    page = fastapi_client.get("/")
    assert page.status_code == 200
    assert "ably-js is not installed here" in page.text
    assert ABLY_JS_INSTALL in page.text
    assert ABLY_JS_INSTALL == "npm install --prefix . ably@2"
    assert "<script src=" not in page.text
    script = fastapi_client.get("/ably.js")
    assert script.status_code == 404
    assert ABLY_JS_INSTALL in script.text

    make_bundle(tmp_path)  # the one command's result: ./node_modules/ably/build/...
    page = fastapi_client.get("/")
    assert "ably-js is not installed here" not in page.text.split("<div id=install hidden>")[0]
    assert "<script src='/ably.js'></script>" in page.text
    script = fastapi_client.get("/ably.js")
    assert (script.status_code, script.text) == (200, "var Ably = {};")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert '"explainUrl":"/explain"' in page.text
    explained = fastapi_client.post("/explain", content=b"an-opaque-token")
    assert (explained.status_code, explained.text.splitlines()[0]) == (200, "Ably token")


def test_the_live_panel_is_configured_from_client_options(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABLY_JS_PATH", str(NODE_MODULES))
    with AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth:
        html = auth.demo_page(
            Grant(client_id="</script><b>", capability={"chat:*": ["subscribe"]}),
            auth_path="/credentials",
            ably_js_url="/static/ably.js",
        ).text
        assert "<script src='/static/ably.js'></script>" in html
        assert '"authPath":"/credentials/jwt"' in html
        assert f'"port":{ably_emulator.port}' in html
        assert '"X-User-Id":"\\u003c/script\\u003e\\u003cb\\u003e"' in html
        assert "</script><b>" not in html
        assert auth.key.secret not in html
        # Without ably_js_url the page is the static one.
        assert "id=live" not in auth.demo_page(ALICE).text


def test_explain_response_verifies_with_the_endpoints_key(
    ably_emulator: AblyEmulator, other_key: ApiKey
) -> None:
    emu = ably_emulator
    with AuthEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as auth:
        emu.advance(timedelta(days=2))  # explain() reads the endpoint's clock
        genuine = mint_jwt(auth.key, client_id="alice", capability=CHAT, now=emu.now())
        answer = auth.explain_response(genuine.encode())
        assert (answer.status, answer.content_type) == (200, "text/plain; charset=utf-8")
        assert answer.header("Cache-Control") == "no-store"
        assert answer.text.startswith(f"Ably JWT for key {auth.key.name}\n")
        assert "verified:    yes" in answer.text
        assert "(in 59 min" in answer.text
        forged = mint_jwt(other_key, client_id="alice", capability=CHAT, now=emu.now())
        assert "verified:    NO" in auth.explain_response(forged).text
        request = create_token_request(auth.key, client_id="bob", now=emu.now())
        assert "verified:    yes" in auth.explain_response(request.to_json()).text
        for bad in ("", "  ", "{not json", "a.b.c", b"\xff", "x" * 70_000):
            refused = auth.explain_response(bad)
            assert refused.status == 400
            assert refused.json()["error"]["code"] in (40003, 40144)
            assert auth.key.secret not in refused.text


# -- the browser -------------------------------------------------------------------------


class Browser(AblyJs):
    """Headless Chromium with one page, driven by tests/js/browser_peer.js."""

    script = "browser_peer.js"

    def close(self) -> None:
        try:
            self.call("close")
        finally:
            super().close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    if not (NODE_MODULES / "playwright-core").is_dir():
        pytest.fail("playwright-core is not installed: run `npm ci --prefix tests/js`")
    peer = Browser()
    yield peer
    peer.close()


def countdown_minutes(text: str) -> int:
    match = re.fullmatch(r"(\d+) min (\d\d) s", text.strip())
    assert match, text
    return int(match.group(1))


def test_the_demo_page_connects_and_renews_in_chromium(
    ably_emulator: AblyEmulator, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = ably_emulator
    monkeypatch.setenv("ABLY_JS_PATH", str(NODE_MODULES))
    user_data = tempfile.mkdtemp(prefix="ably-authkit-chromium-")
    with (
        CountingEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as auth,
        serving("fastapi", auth) as url,
    ):
        try:
            opened = browser.call(
                "open", url=f"{url}/?user=alice", userDataDir=user_data, executablePath=CHROMIUM
            )
            assert opened == {"status": 200}
            browser.call("waitText", selector="#state", text="connected")
            # The credential the page holds, through the server's explain().
            credential = browser.call("waitText", selector="#credential", text="verified:")
            assert credential.startswith(f"Ably JWT for key {auth.key.name}")
            assert "client id:   alice" in credential
            assert "verified:    yes" in credential
            assert "(in 59 min" in credential
            (connection,) = emu.connections
            assert connection.client_id == "alice"
            # The page itself asked each mode once; the browser asked /auth/jwt once more.
            assert auth.calls.count("jwt") == 2
            # Renewal 30 s before the hour is up, on the emulator's clock: 59 min from now.
            assert countdown_minutes(browser.call("text", selector="#countdown")) in (58, 59)

            browser.call("publish", text="hello from chromium")
            browser.call("waitText", selector="#messages", text="alice: hello from chromium")

            emu.advance(timedelta(minutes=59, seconds=35))
            browser.call("waitText", selector="#renewals", text="1", timeoutMs=15_000)
            assert auth.calls.count("jwt") == 3
            assert browser.call("text", selector="#state") == "connected"
            (renewed,) = emu.connections
            assert renewed.connection_id == connection.connection_id
            assert renewed.expires is not None and connection.expires is not None
            assert renewed.expires > connection.expires
            renewed_credential = browser.call("waitText", selector="#credential", text="verified:")
            for _ in range(100):
                if renewed_credential != credential:
                    break
                time.sleep(0.05)
                renewed_credential = browser.call("text", selector="#credential")
            assert renewed_credential != credential  # a new JWT, issued 59.5 min later
            assert "verified:    yes" in renewed_credential
            assert "(in 59 min" in renewed_credential  # on the emulator's clock
            # The countdown restarts from the new credential, on the emulator's clock
            # (a browser clock would say the new credential is due in 119 min).
            browser.call("waitText", selector="#countdown", text="min")
            for _ in range(100):
                if countdown_minutes(browser.call("text", selector="#countdown")) in (58, 59):
                    break
                time.sleep(0.05)
            assert countdown_minutes(browser.call("text", selector="#countdown")) in (58, 59)

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "demo.png"
            browser.call("screenshot", path=str(shot))
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        finally:
            browser.call("close")
            shutil.rmtree(user_data, ignore_errors=True)


def test_the_demo_command_live_panel_in_chromium(browser: Browser) -> None:
    """``ably-authkit demo``, as a user runs it in a checkout: the page's ably-js connects
    through the app's authUrl to the embedded emulator and chats on chat:lobby."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ABLY_JS_PATH": ""},  # found in ./tests/js/node_modules
    )
    user_data = tempfile.mkdtemp(prefix="ably-authkit-chromium-")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Demo app: http://127.0.0.1:"), line
        url = line.split()[2]
        opened = browser.call("open", url=url, userDataDir=user_data, executablePath=CHROMIUM)
        assert opened == {"status": 200}
        assert browser.call("waitText", selector="#state", text="connected") == "connected"
        credential = browser.call("waitText", selector="#credential", text="verified:")
        assert "client id:   demo-user" in credential
        assert "verified:    yes" in credential
        assert countdown_minutes(browser.call("text", selector="#countdown")) in (
            58,
            59,
        )  # AUTH 30 s before the hour is up
        browser.call("publish", text="hi from the demo")
        browser.call("waitText", selector="#messages", text="demo-user: hi from the demo")
    finally:
        browser.call("close")
        shutil.rmtree(user_data, ignore_errors=True)
        process.terminate()
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
