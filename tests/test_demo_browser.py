"""The demo page's live panel: ably-js's browser bundle shipped with the package and served
by the app, and the whole scenario in headless Chromium: the page connects through the
app's authUrl to the emulator, draws each credential and renewal on its timeline, shows a
refused publish (40160) beside a published one, and is renewed, in place (AUTH) or after a
disconnection (40142)."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ably_authkit import ApiKey, create_token_request, mint_jwt
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.endpoint.demo import ABLY_JS_VERSION, find_ably_js
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR, AblyJs
from .test_examples import FRAMEWORKS, framework_client, serving
from .test_realtime_apps import CountingEndpoint

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
NODE_MODULES = JS_DIR / "node_modules"
CHAT = {"chat:*": ["publish", "subscribe"]}
ALICE = Grant(client_id="alice", capability={"chat:*": ["publish", "subscribe"]})


# -- ably-js, shipped --------------------------------------------------------------------


def make_bundle(folder: Path, name: str = "ably.min.js") -> Path:
    bundle = folder / "node_modules" / "ably" / "build" / name
    bundle.parent.mkdir(parents=True)
    bundle.write_text("var Ably = {};")
    return bundle


def test_the_shipped_ably_js_is_the_one_the_tests_run(tmp_path: Path) -> None:
    shipped = find_ably_js({}, cwd=tmp_path)
    assert shipped is not None
    assert shipped.parent.name == "static" and shipped.parent.parent.name == "endpoint"
    assert f"Ably JavaScript Library v{ABLY_JS_VERSION}\n" in shipped.read_text()[:200]
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/ably"]["version"] == ABLY_JS_VERSION
    assert shipped.read_bytes() == (NODE_MODULES / "ably" / "build" / "ably.min.js").read_bytes()
    licence = shipped.with_name("ably-js.LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence


def test_ably_js_path_serves_another_build_and_a_wrong_one_is_not_replaced(
    tmp_path: Path,
) -> None:
    shipped = find_ably_js({}, cwd=tmp_path)
    local = make_bundle(tmp_path, "ably.js")
    assert find_ably_js({}, cwd=tmp_path) == shipped  # ./node_modules is not looked in
    elsewhere = tmp_path / "elsewhere"
    other = make_bundle(elsewhere)
    for configured in (other, elsewhere, elsewhere / "node_modules", other.parent.parent):
        assert find_ably_js({"ABLY_JS_PATH": str(configured)}, cwd=tmp_path) == other.resolve()
    relative = {"ABLY_JS_PATH": "elsewhere/node_modules"}
    assert find_ably_js(relative, cwd=tmp_path) == other.resolve()
    assert find_ably_js({"ABLY_JS_PATH": str(local.parent)}, cwd=tmp_path) == local.resolve()
    # A wrong ABLY_JS_PATH is reported, not quietly replaced by the shipped copy.
    assert find_ably_js({"ABLY_JS_PATH": "missing"}, cwd=tmp_path) is None


# -- the page, /ably.js, /explain and the clock through each example ----------------------


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_the_page_runs_the_shipped_ably_js_with_no_install(
    ably_emulator: AblyEmulator, framework: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no node_modules anywhere near
    monkeypatch.delenv("ABLY_JS_PATH", raising=False)
    with (
        AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth,
        framework_client(framework, auth) as call,
    ):
        page = call("GET", "/?user=alice")
        assert page.status == 200
        html = page.body.decode()
        assert "<script src='/ably.js'></script>" in html
        assert "npm install" not in html
        script = call("GET", "/ably.js")
        assert script.status == 200
        assert script.content_type == "text/javascript; charset=utf-8"
        assert f"Ably JavaScript Library v{ABLY_JS_VERSION}" in script.body[:200].decode()
        assert list(tmp_path.iterdir()) == []  # nothing written into the user's tree
        assert '"explainUrl":"/explain"' in html
        explained = call("POST", "/explain", body=b"an-opaque-token", content_type="text/plain")
        assert (explained.status, explained.body.decode().splitlines()[0]) == (200, "Ably token")
        # Started without an emulator of its own, the app offers no clock button, and its
        # clock route says why in Ably's shape.
        assert '"clockUrl":null' in html
        no_clock = call("POST", "/emulator/advance?seconds=5")
        assert (no_clock.status, no_clock.json()["error"]["code"]) == (404, 40400)
        assert "no local emulator of its own" in no_clock.json()["error"]["message"]

        monkeypatch.setenv("ABLY_JS_PATH", "missing")
        refused = call("GET", "/ably.js")
        assert refused.status == 404
        assert "$ABLY_JS_PATH names no ably-js bundle" in refused.body.decode()


def test_the_clock_button_moves_the_apps_own_emulator(framework: str) -> None:
    with (
        AuthEndpoint.from_env({}, emulator=True) as auth,
        framework_client(framework, auth) as call,
    ):
        emulator = auth.emulator
        assert emulator is not None
        assert '"clockUrl":"/emulator/advance"' in call("GET", "/").body.decode()
        before = emulator.now()
        moved = call("POST", "/emulator/advance?seconds=90")
        assert moved.status == 200, moved.body
        assert moved.content_type == "application/json"
        assert moved.headers["cache-control"] == "no-store"
        # The emulator's new time (its clock runs on from there in real time).
        now = datetime.fromtimestamp(moved.json()["now"] / 1000, timezone.utc)
        assert timedelta(seconds=90) <= now - before < timedelta(seconds=100)
        assert timedelta(0) <= emulator.now() - now < timedelta(seconds=10)
        for bad in (
            "",
            "?seconds=0",
            "?seconds=86401",
            "?seconds=1.5",
            "?seconds=-5",
            "?seconds=%D9%A3",
            "?seconds=9999999999",
        ):
            refused = call("POST", f"/emulator/advance{bad}")
            assert (refused.status, refused.json()["error"]["code"]) == (400, 40003), bad
            assert "whole seconds from 1 to 86400" in refused.json()["error"]["message"]
        assert emulator.now() - before < timedelta(seconds=100)  # nothing moved it
        assert call("GET", "/emulator/advance?seconds=5").status == 405


def test_the_live_panel_is_configured_from_client_options(ably_emulator: AblyEmulator) -> None:
    with AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth:
        html = auth.demo_page(
            Grant(client_id="</script><b>", capability={"chat:*": ["subscribe"]}),
            auth_path="/credentials",
            ably_js_url="/static/ably.js",
            clock_url="/clock",
        ).text
        assert "<script src='/static/ably.js'></script>" in html
        assert '"authPath":"/credentials"' in html
        assert '"modes":["jwt","token-request","token"]' in html
        assert f'"port":{ably_emulator.port}' in html
        assert '"X-User-Id":"\\u003c/script\\u003e\\u003cb\\u003e"' in html
        assert '"refusedChannel":"admin:alerts"' in html
        assert '"grantTtlMs":3600000' in html
        assert '"clockUrl":"/clock"' in html
        assert "</script><b>" not in html
        assert auth.key.secret not in html
        # It says plainly where credentials come from, and how to use a real key.
        assert "Credentials come from the LOCAL ABLY EMULATOR at" in html
        assert "ABLY_API_KEY" in html and "AuthEndpoint.from_env()" in html
        # Without ably_js_url the page is the static one.
        assert "id=live" not in auth.demo_page(ALICE).text
    key = "appId.keyId:a-made-up-secret-of-at-least-32-characters"
    elsewhere = AuthEndpoint(key, endpoint="http://127.0.0.1:9", timeout=timedelta(seconds=2))
    html = elsewhere.demo_page(ALICE, ably_js_url="/a.js").text
    assert "Credentials come from the Ably endpoint http://127.0.0.1:9, signed with key" in html
    assert "EMULATOR" not in html


def test_explain_response_verifies_with_the_endpoints_key(
    ably_emulator: AblyEmulator, other_key: ApiKey
) -> None:
    emu = ably_emulator
    with AuthEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as auth:
        emu.advance(timedelta(days=2))  # explain() reads the endpoint's clock
        # Issued a second ago: explained in the same millisecond of a whole second, a JWT
        # issued now would have exactly 1 h to live ("in 1 h").
        issued = emu.now() - timedelta(seconds=1)
        genuine = mint_jwt(auth.key, client_id="alice", capability=CHAT, now=issued)
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
    monkeypatch.delenv("ABLY_JS_PATH", raising=False)  # the shipped ably-js
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
            # The timeline: one credential, and the authUrl call that fetched it.
            assert browser.call("waitCount", selector="#timeline rect.credential", count=1) == 1
            browser.call("waitCount", selector="#timeline line.request", count=1)

            # One publish the capability allows, one it does not: Ably's 40160.
            browser.call("publish", text="hello from chromium")
            browser.call("waitText", selector="#messages", text="alice: hello from chromium")
            browser.call("click", selector="#publish-refused")
            refused = browser.call("waitText", selector="#publishes", text="refused on")
            assert "published to chat:lobby" in refused
            assert "refused on admin:alerts: Ably error 40160" in refused

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
            # On the timeline: a second credential, the renewal in place, two authUrl calls.
            browser.call("waitCount", selector="#timeline rect.credential", count=2)
            browser.call("waitCount", selector="#timeline line.renewed", count=1)
            browser.call("waitCount", selector="#timeline line.request", count=2)
            assert browser.call("count", selector="#timeline line.disconnected") == 0
            # The countdown restarts from the new credential, on the emulator's clock
            # (a browser clock would say the new credential is due in 119 min).
            browser.call("waitText", selector="#countdown", text="min")
            for _ in range(100):
                if countdown_minutes(browser.call("text", selector="#countdown")) in (58, 59):
                    break
                time.sleep(0.05)
            assert countdown_minutes(browser.call("text", selector="#countdown")) in (58, 59)
        finally:
            browser.call("close")
            shutil.rmtree(user_data, ignore_errors=True)


def test_the_demo_command_shows_a_renewal_in_chromium(browser: Browser) -> None:
    """``ably-authkit demo --ttl 30s``, as a user runs it in a checkout with nothing else
    installed: the page's ably-js (the shipped copy) connects through the app's authUrl to
    the embedded emulator; the page's button moves the emulator's clock to just before
    expiry; Ably disconnects the client with 40142 and it renews through the authUrl; all
    of it on the timeline, kept as artifacts/demo.png."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("ABLY_JS_PATH", "ABLY_API_KEY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", "0", "--ttl", "30s"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    user_data = tempfile.mkdtemp(prefix="ably-authkit-chromium-")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Demo app: http://127.0.0.1:"), line
        url = line.split()[2]
        assert url.endswith("/?ttl=30s")
        opened = browser.call("open", url=url, userDataDir=user_data, executablePath=CHROMIUM)
        assert opened == {"status": 200}
        assert browser.call("waitText", selector="#state", text="connected") == "connected"
        credential = browser.call("waitText", selector="#credential", text="verified:")
        assert "client id:   demo-user" in credential
        assert "verified:    yes" in credential
        assert "lifetime:    30 s" in credential  # asked for 30 s: the grant, narrowed
        assert "LOCAL ABLY EMULATOR" in browser.call("text", selector="#source")
        browser.call("publish", text="hi from the demo")
        browser.call("waitText", selector="#messages", text="demo-user: hi from the demo")
        browser.call("click", selector="#publish-refused")
        browser.call("waitText", selector="#publishes", text="Ably error 40160")

        # A 30 s credential gets no AUTH: at expiry Ably disconnects with 40142, and
        # ably-js renews through the authUrl and reconnects.
        browser.call("click", selector="#skip")
        browser.call("waitText", selector="#events", text="40142", timeoutMs=20_000)
        browser.call("waitText", selector="#renewals", text="1", timeoutMs=15_000)
        browser.call("waitText", selector="#state", text="connected")
        browser.call("waitCount", selector="#timeline rect.credential", count=2)
        browser.call("waitCount", selector="#timeline line.disconnected", count=1)
        browser.call("waitCount", selector="#timeline line.request", count=2)
        assert "verified:    yes" in browser.call(
            "waitText", selector="#credential", text="verified:"
        )
        time.sleep(1.2)  # one more redraw of the timeline, for the picture

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "demo.png"
        browser.call("screenshot", path=str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        browser.call("close")
        shutil.rmtree(user_data, ignore_errors=True)
        process.terminate()
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
