"""The demo (``ably_authkit.demo``): its page, its aiohttp app over a real socket (the
authUrl routes, the page and the live panel's routes), and ``ably-authkit demo`` as a user
runs it after ``pip install "ably-authkit[emulator]"``: in a fresh venv, from a folder
outside this checkout, with nothing else installed. The page in a browser:
``tests/test_demo_browser.py``."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest

from ably_authkit import ApiKey, create_token_request, mint_jwt
from ably_authkit.demo.page import render_page
from ably_authkit.demo.server import DEMO_USER, DemoServer
from ably_authkit.endpoint import MODES, AuthEndpoint, Grant
from ably_authkit.testing import AblyEmulator

ROOT = Path(__file__).resolve().parent.parent
CHAT = {"chat:*": ["publish", "subscribe"]}
ALICE = Grant(client_id="alice", capability=CHAT)


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


Caller = Callable[..., Answer]


def fetch(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 (loopback)
            return Answer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


@pytest.fixture
def demo_of() -> Iterator[Callable[[AuthEndpoint], Caller]]:
    """The demo app of an endpoint on a real socket: call(method, path, body, headers)."""
    servers: list[DemoServer] = []

    def start(auth: AuthEndpoint) -> Caller:
        server = DemoServer(auth).start()
        servers.append(server)

        def call(method: str, path: str, body: bytes | None = None, **headers: str) -> Answer:
            return fetch(server.url + path, method, body, headers)

        return call

    yield start
    for server in servers:
        server.stop()


# -- the page ------------------------------------------------------------------------------


def test_the_page_shows_and_explains_each_credential(ably_emulator: AblyEmulator) -> None:
    key = ably_emulator.create_key()
    with AuthEndpoint(key, endpoint=ably_emulator.url) as auth:
        grant = Grant(client_id="<b>mallory</b>", capability={"chat:*": ["subscribe"]})
        answers = {mode: auth.respond(mode, grant) for mode in MODES}
        page = render_page(auth, grant, answers)
        assert page.status == 200
        assert page.content_type == "text/html; charset=utf-8"
        assert page.header("Cache-Control") == "no-store"
        html = page.text
        assert "<b>mallory" not in html
        assert "&lt;b&gt;mallory&lt;/b&gt;" in html
        for mode in MODES:
            assert f"/auth/{mode}</h2>" in html
        assert "Ably JWT for key" in html
        assert "TokenRequest for key" in html
        assert "TokenDetails for key" in html
        assert html.count("verified:    yes") == 2
        assert key.secret not in html
        assert f"&quot;port&quot;: {ably_emulator.port}" in html  # ably-js options
        assert f"endpoint=&#x27;127.0.0.1:{ably_emulator.port}/&#x27;" in html  # ably-python
        assert "id=live" not in html  # no ably_js_url: no live panel
        assert render_page(auth, None, {}).status == 401


def test_the_live_panel_is_configured_from_client_options(ably_emulator: AblyEmulator) -> None:
    with AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth:
        html = render_page(
            auth,
            Grant(client_id="</script><b>", capability={"chat:*": ["subscribe"]}),
            {},
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
        assert "examples" not in html  # a pip install has none
    key = "appId.keyId:a-made-up-secret-of-at-least-32-characters"
    elsewhere = AuthEndpoint(key, endpoint="http://127.0.0.1:9", timeout=timedelta(seconds=2))
    html = render_page(elsewhere, ALICE, {}, ably_js_url="/a.js").text
    assert "Credentials come from the Ably endpoint http://127.0.0.1:9, signed with key" in html
    assert "EMULATOR" not in html


# -- the demo app over a real socket --------------------------------------------------------


def test_the_demo_app_answers_the_authurl_for_the_header_s_user(
    ably_emulator: AblyEmulator, demo_of: Callable[[AuthEndpoint], Caller]
) -> None:
    emu = ably_emulator
    with AuthEndpoint(emu.create_key(), endpoint=emu.url) as auth:
        call = demo_of(auth)
        jwt = call("GET", "/auth/jwt?ttl=60000", **{"X-User-Id": "ann"})
        assert (jwt.status, jwt.headers["content-type"]) == (200, "application/jwt")
        assert jwt.headers["cache-control"] == "no-store"
        claims = pyjwt.decode(jwt.text, options={"verify_signature": False})
        assert claims["x-ably-clientId"] == "ann"
        assert claims["exp"] - claims["iat"] == 60  # the client's ttl narrows the grant
        assert json.loads(claims["x-ably-capability"]) == {
            "chat:*": ["history", "presence", "publish", "subscribe"],
            "user:ann": ["subscribe"],
        }
        form = b"clientId=ann&ttl=5000"
        request = call(
            "POST",
            "/auth/token-request",
            form,
            **{"X-User-Id": "ann", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (request.status, request.json()["ttl"]) == (200, 5000)
        token = call("GET", "/auth/token", **{"X-User-Id": "ann"})
        assert (token.status, token.json()["clientId"]) == (200, "ann")
        nobody = call("GET", "/auth/jwt")
        assert (nobody.status, nobody.json()["error"]["code"]) == (401, 40100)
        other = call("GET", "/auth/jwt?clientId=bob", **{"X-User-Id": "ann"})
        assert (other.status, other.json()["error"]["code"]) == (403, 40102)
        assert call("GET", "/auth/nope", **{"X-User-Id": "ann"}).status == 404
        assert call("DELETE", "/auth/jwt", **{"X-User-Id": "ann"}).status == 405


def test_the_demo_app_serves_the_page_and_the_live_panel(
    ably_emulator: AblyEmulator,
    demo_of: Callable[[AuthEndpoint], Caller],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ably_authkit.demo import ABLY_JS_VERSION

    monkeypatch.chdir(tmp_path)  # no node_modules anywhere near
    monkeypatch.delenv("ABLY_JS_PATH", raising=False)
    with AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth:
        call = demo_of(auth)
        page = call("GET", "/")
        assert page.status == 200
        html = page.text
        assert f"Ably credentials for {DEMO_USER}" in html  # the user the banner names
        assert "Ably credentials for bob" in call("GET", "/?user=bob").text
        assert "Ably credentials for ann" in call("GET", "/", **{"X-User-Id": "ann"}).text
        assert "<script src='/ably.js'></script>" in html
        assert "npm install" not in html
        script = call("GET", "/ably.js")
        assert script.status == 200
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert f"Ably JavaScript Library v{ABLY_JS_VERSION}" in script.body[:200].decode()
        assert list(tmp_path.iterdir()) == []  # nothing written into the user's tree
        assert '"explainUrl":"/explain"' in html
        explained = call("POST", "/explain", b"an-opaque-token", **{"Content-Type": "text/plain"})
        assert (explained.status, explained.text.splitlines()[0]) == (200, "Ably token")
        # On an endpoint without an emulator of its own, the page offers no clock button,
        # and the clock route says why in Ably's shape.
        assert '"clockUrl":null' in html
        no_clock = call("POST", "/emulator/advance?seconds=5")
        assert (no_clock.status, no_clock.json()["error"]["code"]) == (404, 40400)
        assert "no local emulator of its own" in no_clock.json()["error"]["message"]

        monkeypatch.setenv("ABLY_JS_PATH", "missing")
        refused = call("GET", "/ably.js")
        assert refused.status == 404
        assert "$ABLY_JS_PATH names no ably-js bundle" in refused.text


def test_the_clock_button_moves_the_demo_s_own_emulator(
    demo_of: Callable[[AuthEndpoint], Caller],
) -> None:
    with AuthEndpoint.from_env({}, emulator=True) as auth:
        call = demo_of(auth)
        emulator = auth.emulator
        assert emulator is not None
        assert '"clockUrl":"/emulator/advance"' in call("GET", "/").text
        before = emulator.now()
        moved = call("POST", "/emulator/advance?seconds=90")
        assert moved.status == 200, moved.body
        assert moved.headers["content-type"] == "application/json"
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


def test_explain_verifies_with_the_endpoints_keys_on_its_clock(
    ably_emulator: AblyEmulator, other_key: ApiKey, demo_of: Callable[[AuthEndpoint], Caller]
) -> None:
    emu = ably_emulator
    with AuthEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as auth:
        call = demo_of(auth)
        emu.advance(timedelta(days=2))  # explain() reads the endpoint's clock
        # Issued a second ago: explained in the same millisecond of a whole second, a JWT
        # issued now would have exactly 1 h to live ("in 1 h").
        issued = emu.now() - timedelta(seconds=1)
        genuine = mint_jwt(auth.key, client_id="alice", capability=CHAT, now=issued)
        answer = call("POST", "/explain", genuine.encode())
        assert answer.status == 200
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.text.startswith(f"Ably JWT for key {auth.key.name}\n")
        assert "verified:    yes" in answer.text
        assert "(in 59 min" in answer.text
        forged = mint_jwt(other_key, client_id="alice", capability=CHAT, now=emu.now())
        assert "verified:    NO" in call("POST", "/explain", forged.encode()).text
        request = create_token_request(auth.key, client_id="bob", now=emu.now())
        assert "verified:    yes" in call("POST", "/explain", request.to_json().encode()).text
        for bad in (b"", b"  ", b"{not json", b"a.b.c", b"\xff", b"x" * 70_000):
            refused = call("POST", "/explain", bad)
            assert refused.status == 400
            assert refused.json()["error"]["code"] in (40003, 40144)
            assert auth.key.secret not in refused.text


def test_a_demo_server_refuses_a_bad_port() -> None:
    from ably_authkit import InvalidParameterError

    auth = AuthEndpoint("appId.keyId:a-made-up-secret-of-at-least-32-characters")
    for port in (-1, 65536, True):
        with pytest.raises(InvalidParameterError, match="port must be 0"):
            DemoServer(auth, port=port)


# -- `ably-authkit demo` from a pip install --------------------------------------------------


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's stdout lines, read in a thread (so that a silent process cannot
    block the test past its deadline); ``None`` at its end."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _read_banner(process: subprocess.Popen[str], seconds: float) -> list[str]:
    """The start-up banner, up to its last line (the quick start), within ``seconds``."""
    lines = _lines(process)
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if "Read the quick start" in line:
            return seen
    process.kill()
    _, err = process.communicate(timeout=15)
    raise AssertionError(f"no banner within {seconds} s: {seen!r}; stderr: {err!r}")


def test_the_demo_runs_from_a_pip_install_outside_the_checkout(tmp_path: Path) -> None:
    """``pip install "ably-authkit[emulator]"`` (not editable) into a fresh venv, then
    ``ably-authkit demo --port 0`` from another folder: no examples, no FastAPI, no
    uvicorn, and the page and an authUrl credential answer."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"{ROOT}[emulator]",
        ],
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    absent = subprocess.run(
        [str(python), "-c", "import fastapi"], capture_output=True, timeout=60, check=False
    )
    assert absent.returncode != 0  # the emulator extra brings no FastAPI
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABLY_", "PYTHON"))}
    process = subprocess.Popen(
        [str(venv / "bin" / "ably-authkit"), "demo", "--port", "0"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = _read_banner(process, 60)
        assert banner[0].startswith("Demo app: http://127.0.0.1:"), banner
        url = banner[0].split()[2]
        base = url.split("?")[0].rstrip("/")
        text = "\n".join(banner)
        assert "Credentials come from a LOCAL ABLY EMULATOR" in text
        assert f'"X-User-Id": "{DEMO_USER}"' in text  # the banner's code: the page's user
        assert f"Open {url} in a browser: as {DEMO_USER}" in text
        assert banner[-1].endswith("Read the quick start: ably-authkit docs quickstart")
        assert "scripts/check" not in text  # a pip install has no test suite
        page = fetch(url)
        assert page.status == 200
        assert f"Ably credentials for {DEMO_USER}" in page.text
        assert fetch(base + "/ably.js").status == 200
        credential = fetch(base + "/auth/jwt", headers={"X-User-Id": DEMO_USER})
        assert credential.status == 200
        assert credential.headers["content-type"] == "application/jwt"
        claims = pyjwt.decode(credential.text, options={"verify_signature": False})
        assert claims["x-ably-clientId"] == DEMO_USER
        assert list(elsewhere.iterdir()) == []  # nothing written where it ran
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, err
    assert "Traceback" not in err
