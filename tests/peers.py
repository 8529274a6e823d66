"""Real SDK peers for the tests: ably-js under Node, driven over a pipe."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ably_authkit.testing import AblyEmulator

JS_DIR = Path(__file__).parent / "js"


def js_options(emu: AblyEmulator, **options: Any) -> dict[str, Any]:
    """ably-js client options for ``emu``: what ``emu.client_options("ably-js")`` prints,
    no fallback hosts, and the test's own ``options`` (authUrl, token, key, ...)."""
    return {**emu.client_options("ably-js"), "fallbackHosts": [], **options}


class AblyJsError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.code = error.get("code")
        self.status_code = error.get("statusCode")


class AblyJs:
    """ably-js (the version tests/js/package-lock.json pins) in one Node process."""

    script = "peer.js"

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (JS_DIR / "node_modules" / "ably").is_dir():
            raise RuntimeError(
                "ably-js is not installed: run scripts/check (or `npm ci --prefix tests/js`)"
            )
        self._process = subprocess.Popen(
            [node, str(JS_DIR / self.script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._ids = itertools.count(1)

    def call(self, op: str, **args: Any) -> Any:
        assert self._process.stdin and self._process.stdout
        request_id = next(self._ids)
        self._process.stdin.write(json.dumps({"id": request_id, "op": op, "args": args}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the ably-js peer exited (code {self._process.poll()})")
        answer = json.loads(line)
        assert answer["id"] == request_id
        if "error" in answer:
            raise AblyJsError(answer["error"])
        return answer["result"]

    def close(self) -> None:
        assert self._process.stdin
        self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        if self._process.stdout:
            self._process.stdout.close()
