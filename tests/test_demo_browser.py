"""The demo page's live panel: ably-js's browser bundle shipped with the package and served
by the demo app, and the whole scenario in headless Chromium: the page connects through the
demo's authUrl to the emulator, draws each credential and renewal on its timeline, shows a
refused publish (40160) beside a published one, and is renewed, in place (AUTH) or after a
disconnection (40142). The demo's routes without a browser: ``tests/test_demo.py``."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ably_authkit.demo.ably_js import ABLY_JS_VERSION, find_ably_js
from ably_authkit.demo.server import DemoServer
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR, AblyJs
from .test_realtime_apps import CountingEndpoint

ROOT = Path(__file__).parent.parent
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
NODE_MODULES = JS_DIR / "node_modules"


# -- ably-js, shipped --------------------------------------------------------------------


def make_bundle(folder: Path, name: str = "ably.min.js") -> Path:
    bundle = folder / "node_modules" / "ably" / "build" / name
    bundle.parent.mkdir(parents=True)
    bundle.write_text("var Ably = {};")
    return bundle


def test_the_shipped_ably_js_is_the_one_the_tests_run(tmp_path: Path) -> None:
    shipped = find_ably_js({}, cwd=tmp_path)
    assert shipped is not None
    assert shipped.parent.name == "static" and shipped.parent.parent.name == "demo"
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


def event_lines(browser: Browser) -> list[str]:
    """The events list, one "HH:MM:SS  what happened" per line, as shown."""
    text = browser.call("text", selector="#events")
    return [line.strip() for line in re.split(r"(?=\d\d:\d\d:\d\d  )", text) if line.strip()]


def assert_in_time_order(lines: list[str]) -> None:
    times = [line[:8] for line in lines]
    assert times == sorted(times), lines


def assert_ticks(browser: Browser, selector: str) -> str:
    """The element's text changes within 2.5 s (a live countdown, not a frozen one)."""
    first = browser.call("text", selector=selector)
    for _ in range(50):
        time.sleep(0.05)
        now = browser.call("text", selector=selector)
        if now != first:
            return str(now)
    raise AssertionError(f"{selector} stays {first!r}")


def test_the_demo_page_connects_and_renews_in_chromium(
    ably_emulator: AblyEmulator, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = ably_emulator
    monkeypatch.delenv("ABLY_JS_PATH", raising=False)  # the shipped ably-js
    user_data = tempfile.mkdtemp(prefix="ably-authkit-chromium-")
    with (
        CountingEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as auth,
        DemoServer(auth) as demo,
    ):
        url = demo.url
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
            assert browser.call("text", selector="#countdown-label") == "renewal (AUTH) in"
            assert browser.call("text", selector="#issued") == "1 issued"
            assert browser.call("text", selector="#renewals") == "0 renewals"
            # explain()'s times are fixed, and say so; the line above them is live.
            assert "explain() of it, as of " in browser.call("text", selector="#credential-asof")
            live = browser.call("waitText", selector="#credential-live", text="expires in")
            assert live.startswith("#1 Ably JWT: issued ")
            assert "expires in 59 min" in assert_ticks(browser, "#credential-live")
            # The timeline: one credential, and the authUrl call that fetched it.
            assert browser.call("waitCount", selector="#timeline rect.credential", count=1) == 1
            browser.call("waitCount", selector="#timeline line.request", count=1)
            # Each mark has its legend, the dashed renewal-due line too.
            legend = browser.call("text", selector="#legend")
            assert "its renewal is due (Ably's AUTH, 30 s before expiry" in legend
            assert browser.call("count", selector="#timeline line.renewal-due") == 1

            # One publish the capability allows, one it does not: Ably's 40160.
            browser.call("publish", text="hello from chromium")
            browser.call("waitText", selector="#messages", text="alice: hello from chromium")
            browser.call("click", selector="#publish-refused")
            refused = browser.call("waitText", selector="#publishes", text="refused on")
            assert "published to chat:lobby" in refused
            assert "refused on admin:alerts: Ably error 40160" in refused

            emu.advance(timedelta(minutes=59, seconds=35))
            browser.call("waitText", selector="#renewals", text="1 renewal", timeoutMs=15_000)
            assert browser.call("text", selector="#renewals") == "1 renewal"
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
            # The authUrl calls have the top row to themselves: the renewal's line, drawn
            # at the same moment, starts below it and cannot hide them.
            assert browser.call("count", selector='#timeline line.request[y2="16"]') == 2
            assert browser.call("count", selector='#timeline line.renewed[y1="16"]') == 1
            # The events list: in time order; the renewal in place reads as one, with no
            # "connected" line of its own (the connection never went down).
            browser.call("waitText", selector="#events", text="renewed (same connection)")
            lines = event_lines(browser)
            assert_in_time_order(lines)
            labels = [line[10:] for line in lines]
            assert labels.count("connected") == 1, lines
            assert not [label for label in labels if "reconnected" in label], lines
            renewal = next(i for i, label in enumerate(labels) if "same connection" in label)
            assert "ably-js called /auth/jwt" in labels[renewal - 1], lines
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
    """``ably-authkit demo --ttl 30s``, run from a folder that is not the checkout: the
    page's ably-js (the shipped copy) connects through the demo's authUrl to its emulator;
    the page's button moves the emulator's clock to just before expiry; Ably disconnects
    the client with 40142 and it renews through the authUrl; all of it on the timeline,
    kept as artifacts/demo.png."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("ABLY_JS_PATH", "ABLY_API_KEY")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", "0", "--ttl", "30s"],
        cwd=tempfile.gettempdir(),
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
        assert "client id:   alice" in credential  # the user the banner's code names
        assert "verified:    yes" in credential
        assert "lifetime:    30 s" in credential  # asked for 30 s: the grant, narrowed
        assert "LOCAL ABLY EMULATOR" in browser.call("text", selector="#source")
        browser.call("publish", text="hi from the demo")
        browser.call("waitText", selector="#messages", text="alice: hi from the demo")
        browser.call("click", selector="#publish-refused")
        browser.call("waitText", selector="#publishes", text="Ably error 40160")

        # A 30 s credential gets no AUTH: the countdown runs to its expiry, and says so.
        assert browser.call("text", selector="#countdown-label") == "expires in"
        note = browser.call("text", selector="#countdown-note")
        assert "no AUTH: Ably disconnects at expiry, 40142, and ably-js reconnects" in note
        assert countdown_minutes(browser.call("text", selector="#countdown")) == 0
        # At expiry Ably disconnects with 40142, and ably-js renews through the authUrl
        # and reconnects.
        browser.call("click", selector="#skip")
        browser.call("waitText", selector="#events", text="40142", timeoutMs=20_000)
        browser.call("waitText", selector="#renewals", text="1 renewal", timeoutMs=15_000)
        browser.call("waitText", selector="#state", text="connected")
        browser.call("waitText", selector="#events", text="reconnected (a new connection)")
        lines = event_lines(browser)
        assert_in_time_order(lines)
        assert not [line for line in lines if "same connection" in line], lines
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
