"""What the library prints for a user to copy connects: each "connect a client" snippet of
the examples' start-up banner, ``ably-authkit demo``'s banner and page, and the
``ably-authkit emulator`` banner is run as printed, by ably-js under Node and by the
`ably` package's AblyRealtime, and must reach CONNECTED with the identity the app grants
(the demo's banner: the user its page shows)."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ably import AblyRealtime

from .peers import JS_DIR

ROOT = Path(__file__).parent.parent
SETTINGS = ("ABLY_API_KEY", "ABLY_ENDPOINT", "ABLY_EMULATOR_HOST")

# Runs one printed ably-js snippet: prints the outcome as one JSON line.
JS_RUNNER = """
const Ably = require('ably');
const client = %s;
const done = (outcome, code) => {
  console.log(JSON.stringify(outcome));
  client.close();
  setTimeout(() => process.exit(code), 100);
};
const timer = setTimeout(() => done({state: client.connection.state}, 1), 15000);
client.connection.once('connected', () => {
  clearTimeout(timer);
  done({state: 'connected', clientId: client.auth.clientId}, 0);
});
client.connection.once('failed', (change) => {
  clearTimeout(timer);
  done({state: 'failed', code: change.reason && change.reason.code}, 1);
});
"""


def run_js(snippet: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node is not None, "node is needed: scripts/check installs ably-js"
    done = subprocess.run(
        [node, "-e", JS_RUNNER % snippet],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def run_python(snippet: str) -> dict[str, Any]:
    assert snippet.startswith("AblyRealtime(")

    async def main() -> dict[str, Any]:
        client = eval(snippet, {"AblyRealtime": AblyRealtime})  # noqa: S307 (our own banner)
        try:
            await asyncio.wait_for(client.connection.once_async("connected"), 15)
            return {"state": "connected", "clientId": client.auth.client_id}
        finally:
            await client.close()

    return asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of the project's settings unless given."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(extra)
    return env


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise AssertionError(f"no {marker!r} in {lines!r}: {process.communicate()[1]!r}")
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines


def wait_listening(process: subprocess.Popen[str], port: int, banner: list[str]) -> None:
    """Wait until ``process`` listens on ``port`` (its banner comes before the server
    listens): at most 30 s, failing with its exit code and banner if it stops first."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the example never listened on port {port} "
                    f"(exit code {process.poll()}); its banner: {banner}"
                ) from None
            time.sleep(0.05)


def snippets(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = re.match(r"\s+(ably-js|ably-python):\s+(.+)$", line)
        if match:
            found[match[1]] = match[2]
    assert set(found) == {"ably-js", "ably-python"}, lines
    return found


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def example() -> Iterator[tuple[str, list[str]]]:
    """``python -m examples.fastapi_app --emulator`` as a user runs it: its URL and banner."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.fastapi_app", "--emulator"],
        cwd=ROOT,
        env=user_env(PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = read_until(process, "Serving http://")
        wait_listening(process, port, lines)
        yield f"http://127.0.0.1:{port}", lines
    finally:
        stop(process)


def test_the_example_banner_says_the_emulator_serves(example: tuple[str, list[str]]) -> None:
    _, lines = example
    assert "LOCAL ABLY EMULATOR" in lines[0]


@pytest.mark.parametrize("sdk", ["ably-js", "ably-python"])
def test_the_example_banner_snippets_connect(example: tuple[str, list[str]], sdk: str) -> None:
    _, lines = example
    code = snippets(lines)[sdk]
    outcome = run_js(code) if sdk == "ably-js" else run_python(code)
    assert outcome == {"state": "connected", "clientId": "alice"}


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[str, list[str]]]:
    """``ably-authkit demo --port 0`` as a user runs it: its base URL and banner."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", "0"],
        cwd=ROOT,
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = read_until(process, "Read the quick start")
        assert lines[0].startswith("Demo app: http://"), lines
        yield lines[0].split()[2].split("?")[0].rstrip("/"), lines
    finally:
        stop(process)


def page_of(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as page:  # noqa: S310 (loopback)
        return str(page.read().decode("utf-8"))


@pytest.mark.parametrize("sdk", ["ably-js", "ably-python"])
def test_the_demo_banner_snippets_connect_as_the_page_s_user(
    demo: tuple[str, list[str]], sdk: str
) -> None:
    url, lines = demo
    shown = re.search(r"<h1>Ably credentials for (.+?)</h1>", page_of(f"{url}/"))
    assert shown is not None
    code = snippets(lines)[sdk]
    outcome = run_js(code) if sdk == "ably-js" else run_python(code)
    assert outcome == {"state": "connected", "clientId": shown[1]}


@pytest.mark.parametrize("sdk", ["ably-js", "ably-python"])
def test_the_demo_page_snippets_connect(demo: tuple[str, list[str]], sdk: str) -> None:
    url, _ = demo
    shown = dict(
        re.findall(r"<pre class=connect data-sdk=([\w-]+)>(.*?)</pre>", page_of(f"{url}/?user=bob"))
    )
    code = html.unescape(shown[sdk])
    assert "<this server>" not in code
    outcome = run_js(code) if sdk == "ably-js" else run_python(code)
    assert outcome == {"state": "connected", "clientId": "bob"}


def test_the_emulator_command_snippets_connect() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "emulator", "--port", "0"],
        cwd=ROOT,
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        printed = snippets(read_until(process, "ably-python:"))
        # The key itself: an anonymous client (ably-js leaves clientId undefined).
        assert run_js(printed["ably-js"]) == {"state": "connected"}
        assert run_python(printed["ably-python"]) == {"state": "connected", "clientId": None}
    finally:
        stop(process)


@pytest.mark.parametrize("app", ["flask_app", "django_app", "fastapi_app"])
def test_an_example_without_a_key_refuses_to_start(app: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"examples.{app}"],
        cwd=ROOT,
        env=user_env(PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "ABLY_API_KEY is not set" in done.stderr
    assert "--emulator" in done.stderr
    assert "Traceback" not in done.stderr
