"""Each example's ``/auth/jwt`` against a hello-world route in the same app and server,
loaded with wrk on loopback. Target: the JWT route serves >= 0.9x the hello route's
requests/s (minting must not be what limits an authUrl).

    python benchmarks/bench_endpoints.py            # needs wrk (Debian: apt install wrk)

Each app runs in its own process on the server its ``__main__`` uses (Flask's development
server, the stdlib's threaded WSGI server for Django, uvicorn for FastAPI), with a
``/hello`` route added here, not in the example. wrk (1 thread, 8 connections) loads the
routes in turns, hello first and last: hello, jwt, hello, jwt, ..., hello. Each jwt run is
compared with the mean of the two hello runs around it, and the median of those ratios is
the figure: a machine whose speed drifts (a shared VM) moves both sides of each ratio.
On a machine with two or more CPUs the server is kept on CPU 0 and wrk on CPU 1, so
the load generator does not take the server's CPU.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 25
SECONDS = 2
# Server on CPU 0, wrk on CPU 1, where there are two.
PINNED = len(os.sched_getaffinity(0)) >= 2
WRK = shutil.which("wrk") or "wrk"
KEY = "bench.key:" + "s" * 40  # a made-up key: minting needs no network

SERVE = {
    "flask_app": """
        from examples.flask_app.app import create_app
        app = create_app(auth)
        app.add_url_rule("/hello", "hello", lambda: "hello")
        import logging; logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app.run(host="127.0.0.1", port=port)
    """,
    "django_app": """
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
        from django.http import HttpResponse
        from django.urls import path
        from examples.django_app import app as module
        handler = module.create_app(auth)
        module.urlpatterns.append(path("hello", lambda request: HttpResponse("hello")))
        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True
        class Quiet(WSGIRequestHandler):
            def log_message(self, *args): pass
        make_server("127.0.0.1", port, handler, Server, Quiet).serve_forever()
    """,
    "fastapi_app": """
        import uvicorn
        from fastapi.responses import PlainTextResponse
        from examples.fastapi_app.app import create_app
        app = create_app(auth)
        app.get("/hello")(lambda: PlainTextResponse("hello"))
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    """,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the app on port {port} did not start")


def on_cpu(cpu: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps the child on one CPU (``None`` when not pinning)."""
    if not PINNED:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def wrk(url: str) -> float:
    out = subprocess.run(
        [WRK, "-t1", "-c8", f"-d{SECONDS}s", "-H", "X-User-Id: bench-user", url],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=on_cpu(1),
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(out)
    return float(match.group(1))


def bench(name: str) -> tuple[float, float, list[float]]:
    """The hello and jwt medians (requests/s), and the jwt/hello ratio of each round."""
    port = free_port()
    script = "import os\nport = int(os.environ['PORT'])\n"
    script += "from ably_authkit.endpoint import AuthEndpoint\nauth = AuthEndpoint.from_env()\n"
    script += textwrap.dedent(SERVE[name])
    env = {**os.environ, "PORT": str(port), "ABLY_API_KEY": KEY}
    server = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, preexec_fn=on_cpu(0)
    )
    try:
        wait_for(port)
        base = f"http://127.0.0.1:{port}"
        wrk(base + "/hello")  # warm up both
        wrk(base + "/auth/jwt")
        hello, jwt, ratios = [wrk(base + "/hello")], [], []
        for _ in range(ROUNDS):
            jwt.append(wrk(base + "/auth/jwt"))
            hello.append(wrk(base + "/hello"))
            ratios.append(jwt[-1] / ((hello[-2] + hello[-1]) / 2))
        return statistics.median(hello), statistics.median(jwt), ratios
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt install wrk)", file=sys.stderr)
        return 2
    print(
        f"wrk -t1 -c8, {ROUNDS} rounds of {SECONDS} s per route; "
        + ("server on CPU 0, wrk on CPU 1" if PINNED else "one CPU: not pinned"),
        flush=True,
    )
    failed = False
    for name in SERVE:
        hello, jwt, ratios = bench(name)
        ratios.sort()
        ratio = statistics.median(ratios)
        quartiles = f"{ratios[len(ratios) // 4]:4.2f}-{ratios[-1 - len(ratios) // 4]:4.2f}"
        ok = ratio >= 0.9
        failed |= not ok
        print(
            f"{name:<12} /hello {hello:7.0f} req/s   /auth/jwt {jwt:7.0f} req/s   "
            f"ratio {ratio:4.2f} (middle half {quartiles}; target >= 0.9)  "
            f"{'ok' if ok else 'UNDER TARGET'}",
            flush=True,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
