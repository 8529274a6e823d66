"""docs/testing.md's recipes run as a reader runs them.

- "Testing your Flask or FastAPI app with a real client": the section's Python blocks,
  saved in order as one test file of a project of its own, pass under pytest (warnings as
  errors) with the plugin's fixtures: each app served on a real port, the `ably` package's
  ``AblyRealtime`` connected through its authUrl to the emulator.
- "ably-js under Node": the Node snippet, saved as a file, connects with ably-js from npm
  (tests/js/node_modules, as ``npm install ably`` puts it) to ``ably-authkit emulator``
  run as a user runs it, with the variables its banner exports; the npm version the page
  names is the one the tests run; and the claim that the browser build the package ships
  does not work under Node is checked against that build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ably_authkit.demo.ably_js import ABLY_JS_VERSION, find_ably_js
from ably_authkit.testing import AblyEmulator

from .peers import JS_DIR
from .test_docs import Block, fenced_blocks, python_blocks
from .test_printed_snippets import read_until, stop, user_env

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "testing.md"
APP_SECTION = "Testing your Flask or FastAPI app with a real client"
NODE_SECTION = "ably-js under Node"


def section_blocks(title: str) -> list[Block]:
    """Every fenced block under the ``## title`` heading of the guide, up to the next
    heading of that level."""
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    in_code: set[int] = set()
    for block in fenced_blocks(GUIDE):
        in_code.update(range(block.line - 1, block.end + 1))
    starts = [n for n, line in enumerate(lines, 1) if line == f"## {title}"]
    assert len(starts) == 1, f"docs/testing.md has no single '## {title}' heading"
    following = [
        n
        for n, line in enumerate(lines, 1)
        if n > starts[0] and n not in in_code
        if line.startswith("## ")
    ]
    end = following[0] if following else len(lines) + 1
    return [block for block in fenced_blocks(GUIDE) if starts[0] < block.line < end]


def test_the_framework_tests_pass_under_pytest(tmp_path: Path) -> None:
    blocks = [block for block in section_blocks(APP_SECTION) if block in python_blocks(GUIDE)]
    code = "\n\n".join(block.code for block in blocks)
    tests = re.findall(r"^def (test_\w+)\(", code, re.MULTILINE)
    assert tests == [
        "test_flask_app_serves_alice",
        "test_fastapi_app_serves_alice",
        "test_module_level_app_serves_alice",
    ]
    (tmp_path / "test_my_app.py").write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("ABLY_API_KEY", "ABLY_TEST_ENDPOINT")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(tests)} passed" in done.stdout, done.stdout


def test_the_app_factories_need_no_key_until_production_calls_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point of the section: the app module (its blocks, run) imports without a key;
    only the factory called without an endpoint, as production calls it, reads one."""
    from ably_authkit import InvalidApiKeyError

    monkeypatch.delenv("ABLY_API_KEY", raising=False)
    monkeypatch.delenv("ABLY_API_KEYS", raising=False)
    namespace: dict[str, Any] = {"__name__": "myapp"}
    factories = [
        block
        for block in section_blocks(APP_SECTION)
        if block.language == "python" and re.search(r"^def create_\w+_app\(", block.code, re.M)
    ]
    assert len(factories) == 2
    for block in factories:
        exec(compile(block.code, str(GUIDE), "exec"), namespace)  # noqa: S102 -- the docs
    for factory in ("create_flask_app", "create_fastapi_app"):
        with pytest.raises(InvalidApiKeyError, match="ABLY_API_KEY is not set"):
            namespace[factory]()


# ably-js under Node ----------------------------------------------------------------------


def node() -> str:
    found = shutil.which("node")
    if found is None or not (JS_DIR / "node_modules" / "ably").is_dir():
        pytest.fail("ably-js is not installed: run scripts/check (or `npm ci --prefix tests/js`)")
    return found


def test_the_node_snippet_connects_to_the_emulator_command(tmp_path: Path) -> None:
    """connect.js as the page gives it, under Node with ably-js from npm (NODE_PATH: where
    ``npm install ably`` would put it), against ``ably-authkit emulator`` with the variables
    of the ``export`` line its banner prints."""
    (snippet,) = [b for b in section_blocks(NODE_SECTION) if b.language == "javascript"]
    (tmp_path / "connect.js").write_text(snippet.code, encoding="utf-8")
    emulator = subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", "emulator", "--port", "0"],
        cwd=tmp_path,
        env=user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        (export,) = [
            line for line in read_until(emulator, "export ") if line.strip().startswith("export ")
        ]
        exported = dict(word.split("=", 1) for word in export.split()[1:])
        assert set(exported) == {"ABLY_API_KEY", "ABLY_EMULATOR_HOST"}
        done = subprocess.run(
            [node(), "connect.js"],
            cwd=tmp_path,
            env=user_env(NODE_PATH=str(JS_DIR / "node_modules"), **exported),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        stop(emulator)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "connected; heard: from Node", done.stdout + done.stderr
    assert "intended for browsers" not in done.stdout + done.stderr


def test_the_banner_options_are_client_options_for_ably_js() -> None:
    """What connect.js builds from ABLY_EMULATOR_HOST is what the page says
    ``emu.client_options("ably-js")`` gives."""
    with AblyEmulator() as emu:
        endpoint, port = f"{emu.host}:{emu.port}".split(":")
        assert emu.client_options("ably-js") == {
            "endpoint": endpoint,
            "port": int(port),
            "tls": False,
        }


def test_the_page_names_the_ably_js_version_the_tests_run() -> None:
    (install,) = re.findall(r"npm install ably@(\S+)", GUIDE.read_text(encoding="utf-8"))
    lock = json.loads((JS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    assert install == lock["packages"]["node_modules/ably"]["version"] == ABLY_JS_VERSION


def test_the_shipped_browser_build_does_not_connect_under_node(tmp_path: Path) -> None:
    """The page's warning holds for the bundle the package ships: under Node it says it is
    for browsers and finds no transport."""
    shipped = find_ably_js({})
    assert shipped is not None
    script = (
        "const Ably = require(process.argv[2]);\n"
        "const client = new Ably.Realtime({key: 'appId.keyId:" + "x" * 43 + "',"
        " endpoint: '127.0.0.1', port: 9, tls: false, autoConnect: false});\n"
        "try { client.connect(); } catch (error) { console.log(String(error)); }\n"
        "setTimeout(() => process.exit(0), 500);\n"
    )
    (tmp_path / "shipped.js").write_text(script, encoding="utf-8")
    done = subprocess.run(
        [node(), "shipped.js", str(shipped)],
        cwd=tmp_path,
        env=user_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    said = done.stdout + done.stderr
    assert "this distribution of Ably is intended for browsers" in said, said
    assert "no requested transports available" in said, said
    page = " ".join(GUIDE.read_text(encoding="utf-8").split())
    assert '"this distribution of Ably is intended for browsers"' in page
    assert '"no requested transports available"' in page
