"""The authUrl endpoint reads a POST body only after everything else has passed (the mode,
the method, the grant, the Content-Type and a Content-Length within 64 KiB), and never more
than 64 KiB of it: an unauthenticated or oversized POST costs the server no memory.

Proven through real servers: a Starlette app (FastAPI's base) under uvicorn over a real
socket (the bytes the app pulled through ASGI ``receive`` are counted), and a Flask app
whose ``wsgi.input`` counts what is read from it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ably_authkit import ApiKey, verify_jwt
from ably_authkit.endpoint import AuthEndpoint, Grant

from .conftest import KEY_TEXT

LIMIT = 64 * 1024
FORM = "application/x-www-form-urlencoded"
ALICE = Grant(client_id="alice", capability={"chat:*": ["subscribe"]})


def grant_for(user: str | None) -> Grant | None:
    return ALICE if user == "alice" else None


# -- ASGI: Starlette under uvicorn -------------------------------------------------------------


class _Served:
    def __init__(self, port: int, received: list[int]) -> None:
        self.port = port
        self.received = received


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[_Served]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    auth = AuthEndpoint(KEY_TEXT)

    async def credentials(request: Request) -> Response:
        grant = grant_for(request.headers.get("x-user"))
        answer = await auth.respond_asgi(request.path_params["mode"], grant, request)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    app = Starlette(routes=[Route("/auth/{mode}", credentials, methods=["GET", "POST"])])

    received: list[int] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            received.append(len(message.get("body", b"")))
            return message

        await app(scope, counted, send)

    config = uvicorn.Config(counting, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield _Served(port, received)
    finally:
        server.should_exit = True
        thread.join(10)


def _exchange(port: int, head: str, body: Iterator[bytes]) -> tuple[int, bytes]:
    """Send ``head`` then ``body``'s chunks from a thread while reading the answer here:
    the server may answer before the body ends (it should), and then stop reading it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode("latin-1"))
    stop = threading.Event()

    def send() -> None:
        try:
            for chunk in body:
                if stop.is_set():
                    return
                sock.sendall(chunk)
        except OSError:
            return

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    finally:
        stop.set()
        sock.close()
        sender.join(10)
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def _chunked(total: int, size: int = 16 * 1024) -> Iterator[bytes]:
    """A chunked body of ``total`` bytes of a form, in ``size``-byte chunks."""
    sent = 0
    while sent < total:
        yield f"{size:x}\r\n".encode() + b"a" * size + b"\r\n"
        sent += size
    yield b"0\r\n\r\n"


def _head(user: str | None, extra: str) -> str:
    who = f"X-User: {user}\r\n" if user else ""
    return f"POST /auth/jwt HTTP/1.1\r\nHost: 127.0.0.1\r\n{who}Content-Type: {FORM}\r\n{extra}\r\n"


def test_a_chunked_body_over_the_limit_is_refused_413_having_read_at_most_the_limit(
    asgi_server: _Served,
) -> None:
    asgi_server.received.clear()
    sent = 16 * 1024 * 1024
    status, answer = _exchange(
        asgi_server.port, _head("alice", "Transfer-Encoding: chunked\r\n"), _chunked(sent)
    )
    assert status == 413, answer
    read = sum(asgi_server.received)
    assert LIMIT < read < 4 * LIMIT, read  # what passed the limit, and not the 16 MiB sent


def test_an_unauthenticated_post_declaring_400_mib_is_answered_401_unread(
    asgi_server: _Served,
) -> None:
    asgi_server.received.clear()
    declared = 400 * 1024 * 1024
    status, answer = _exchange(
        asgi_server.port,
        _head(None, f"Content-Length: {declared}\r\n"),
        iter([b"a" * 1024]),  # the rest never comes: an answer proves nothing waited for it
    )
    assert status == 401, answer
    assert sum(asgi_server.received) == 0


def test_a_post_declaring_more_than_the_limit_is_answered_413_unread(
    asgi_server: _Served,
) -> None:
    asgi_server.received.clear()
    status, answer = _exchange(
        asgi_server.port,
        _head("alice", f"Content-Length: {LIMIT + 1}\r\n"),
        iter([b"a" * 1024]),
    )
    assert status == 413, answer
    assert sum(asgi_server.received) == 0


def test_a_form_post_within_the_limit_still_narrows_the_grant(asgi_server: _Served) -> None:
    import httpx

    answer = httpx.post(
        f"http://127.0.0.1:{asgi_server.port}/auth/jwt",
        content=b"ttl=60000&x=" + b"a" * (LIMIT - 100),
        headers={"Content-Type": FORM, "X-User": "alice"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    claims = verify_jwt(answer.text, ApiKey.parse(KEY_TEXT))
    assert (claims.client_id, claims.ttl.total_seconds()) == ("alice", 60)
    over = httpx.post(
        f"http://127.0.0.1:{asgi_server.port}/auth/jwt",
        content=b"a" * (LIMIT + 1),
        headers={"Content-Type": FORM, "X-User": "alice"},
        timeout=10,
    )
    assert over.status_code == 413
    assert over.json()["error"]["code"] == 40000


# -- WSGI: Flask --------------------------------------------------------------------------------


class CountingStream:
    """A ``wsgi.input`` holding ``size`` bytes, which counts the bytes read from it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.read_bytes = 0

    def read(self, n: int | None = -1) -> bytes:
        left = self.size - self.position
        n = left if n is None or n < 0 else min(n, left)
        self.position += n
        self.read_bytes += n
        return b"a" * n

    def readline(self, n: int | None = -1) -> bytes:
        return self.read(n)

    def tell(self) -> int:  # werkzeug's test client measures the stream so
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = offset + (self.size if whence == 2 else 0)
        return self.position


@pytest.fixture(scope="module")
def flask_client() -> Any:
    from flask import Flask, Response, request

    auth = AuthEndpoint(KEY_TEXT)
    app = Flask(__name__)

    @app.route("/auth/<mode>", methods=["GET", "POST"])
    def credentials(mode: str) -> Response:
        answer = auth.respond_wsgi(
            mode,
            grant_for(request.headers.get("X-User")),
            request.environ,
            body=lambda: request.get_data(),
        )
        return Response(answer.body, status=answer.status, headers=list(answer.headers))

    return app.test_client()


@pytest.mark.parametrize(
    ("user", "declared", "status"),
    [(None, 400 * 1024 * 1024, 401), ("alice", 400 * 1024 * 1024, 413), ("alice", LIMIT + 1, 413)],
)
def test_flask_answers_before_reading_the_body(
    flask_client: Any, user: str | None, declared: int, status: int
) -> None:
    stream = CountingStream(declared)
    headers = {"X-User": user} if user else {}
    answer = flask_client.post(
        "/auth/jwt",
        input_stream=stream,
        content_length=declared,
        content_type=FORM,
        headers=headers,
    )
    assert answer.status_code == status
    assert stream.read_bytes == 0


def test_flask_refuses_a_chunked_body_it_would_read_whole(flask_client: Any) -> None:
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    stream = CountingStream(10 * LIMIT)
    builder = EnvironBuilder(
        path="/auth/jwt",
        method="POST",
        input_stream=stream,  # type: ignore[arg-type]
        content_type=FORM,
        headers=[("X-User", "alice"), ("Transfer-Encoding", "chunked")],
    )
    environ = builder.get_environ()
    # What a server such as gunicorn gives for a chunked body: no length, and an input
    # that ends where the body ends (so request.get_data() would read it all).
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True
    body, status, _ = run_wsgi_app(flask_client.application, environ)
    assert status.startswith("411")
    assert b"40000" in b"".join(body)
    assert stream.read_bytes == 0


def test_flask_reads_a_body_within_the_limit(flask_client: Any) -> None:
    body = b"ttl=60000&clientId=alice"
    answer = flask_client.post(
        "/auth/jwt", data=body, content_type=FORM, headers={"X-User": "alice"}
    )
    assert answer.status_code == 200
    claims = verify_jwt(answer.get_data(as_text=True), ApiKey.parse(KEY_TEXT))
    assert claims.ttl.total_seconds() == 60
