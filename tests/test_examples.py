"""The three example apps (a policy and ably_authkit.integrations), through each
framework's own test client, and through the `ably` package's client and ably-js using
authUrl against each app served on a real socket, with the emulator as Ably."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import HTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest

from ably_authkit import ApiKey, Capability, verify_jwt, verify_token_request
from ably_authkit._time import to_ms
from ably_authkit.endpoint import MODES, AuthEndpoint, Grant
from ably_authkit.testing import AblyEmulator

# Starlette's TestClient now prefers the httpx2 fork; httpx is what is installed.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

FRAMEWORKS = ("flask", "django", "fastapi")
GRANTED = Capability(
    {
        "chat:*": ["history", "presence", "publish", "subscribe"],
        "user:alice": ["subscribe"],
    }
)
ALICE = {"X-User-Id": "alice"}
FORM = "application/x-www-form-urlencoded"


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = {name.lower(): value for name, value in headers.items()}
        self.body = body

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type"))

    def json(self) -> Any:
        return json.loads(self.body)


Caller = Callable[..., Answer]


def build_app(framework: str, auth: AuthEndpoint) -> Any:
    if framework == "flask":
        from examples.flask_app.app import create_app as flask_app

        return flask_app(auth)
    if framework == "django":
        from examples.django_app.app import create_app as django_app

        return django_app(auth)
    from examples.fastapi_app.app import create_app as fastapi_app

    return fastapi_app(auth)


@contextmanager
def framework_client(framework: str, auth: AuthEndpoint) -> Iterator[Caller]:
    """call(method, path, headers=..., body=..., content_type=...) through the framework's
    own test client."""
    app = build_app(framework, auth)
    if framework == "flask":
        flask_client = app.test_client()

        def call_flask(
            method: str, path: str, headers: Any = None, body: bytes = b"", **kw: Any
        ) -> Answer:
            answer = flask_client.open(
                path,
                method=method,
                headers=headers or {},
                data=body,
                content_type=kw.get("content_type"),
            )
            return Answer(answer.status_code, answer.headers, answer.data)

        yield call_flask
    elif framework == "django":
        from django.test import Client

        django_client = Client()

        def call_django(
            method: str, path: str, headers: Any = None, body: bytes = b"", **kw: Any
        ) -> Answer:
            answer = django_client.generic(
                method,
                path,
                data=body,
                content_type=kw.get("content_type") or "application/octet-stream",
                headers=headers or {},
            )
            return Answer(answer.status_code, answer.headers, answer.content)

        yield call_django
    else:
        from fastapi.testclient import TestClient

        with TestClient(app) as fastapi_client:

            def call_fastapi(
                method: str, path: str, headers: Any = None, body: bytes = b"", **kw: Any
            ) -> Answer:
                sent = dict(headers or {})
                if kw.get("content_type"):
                    sent["content-type"] = kw["content_type"]
                answer = fastapi_client.request(method, path, headers=sent, content=body)
                return Answer(answer.status_code, answer.headers, answer.content)

            yield call_fastapi


@pytest.fixture
def auth(ably_emulator: AblyEmulator) -> Iterator[AuthEndpoint]:
    with AuthEndpoint(
        ably_emulator.create_key(), endpoint=ably_emulator.url, clock=ably_emulator.now
    ) as endpoint:
        yield endpoint


@pytest.fixture(params=FRAMEWORKS)
def call(request: pytest.FixtureRequest, auth: AuthEndpoint) -> Iterator[Caller]:
    with framework_client(request.param, auth) as caller:
        yield caller


def credential(answer: Answer, key: ApiKey) -> tuple[str | None, Capability, int]:
    """client id, capability and lifetime (ms) of any of the three answers."""
    assert answer.status == 200, answer.body
    assert answer.headers["cache-control"] == "no-store"
    if answer.content_type == "application/jwt":
        claims = verify_jwt(answer.body.decode(), key)
        return claims.client_id, claims.capability, int(claims.ttl.total_seconds() * 1000)
    assert answer.content_type == "application/json"
    body = answer.json()
    if "mac" in body:
        request = verify_token_request(body, key)
        assert request.capability is not None
        assert request.ttl is not None
        return request.client_id, Capability.parse(request.capability), body["ttl"]
    return body["clientId"], Capability.parse(body["capability"]), body["expires"] - body["issued"]


def ably_error(answer: Answer, status: int, code: int) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["cache-control"] == "no-store"
    assert answer.content_type == "application/json"
    error = answer.json()["error"]
    assert (error["code"], error["statusCode"]) == (code, status)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_each_route_and_method_gives_the_grant(
    call: Caller, auth: AuthEndpoint, ably_emulator: AblyEmulator, mode: str, method: str
) -> None:
    answer = call(method, f"/auth/{mode}", headers=ALICE)
    expected_type = "application/jwt" if mode == "jwt" else "application/json"
    assert answer.content_type == expected_type
    assert credential(answer, auth.key) == ("alice", GRANTED, 3_600_000)
    if mode == "token":
        assert [t.token for t in ably_emulator.issued_tokens] == [answer.json()["token"]]


@pytest.mark.parametrize("mode", MODES)
def test_no_user_is_refused(call: Caller, ably_emulator: AblyEmulator, mode: str) -> None:
    ably_error(call("GET", f"/auth/{mode}?clientId=alice"), 401, 40100)
    ably_error(call("POST", f"/auth/{mode}", body=b"clientId=alice", content_type=FORM), 401, 40100)
    assert ably_emulator.issued_tokens == []


@pytest.mark.parametrize("mode", MODES)
def test_client_params_only_narrow(call: Caller, auth: AuthEndpoint, mode: str) -> None:
    asked = {"capability": '{"chat:lobby":["publish"],"admin:*":["publish"]}', "ttl": "600000"}
    narrowed = call("GET", f"/auth/{mode}?{urlencode(asked)}", headers=ALICE)
    assert credential(narrowed, auth.key) == (
        "alice",
        Capability({"chat:lobby": ["publish"]}),
        600_000,
    )
    longer = {"ttl": str(48 * 3_600_000), "client_id": "alice"}
    posted = call(
        "POST", f"/auth/{mode}", headers=ALICE, body=urlencode(longer).encode(), content_type=FORM
    )
    assert credential(posted, auth.key)[2] == 3_600_000
    ably_error(call("GET", f"/auth/{mode}?clientId=bob", headers=ALICE), 403, 40102)
    admin_only = urlencode({"capability": '{"admin:*":["publish"]}'})
    ably_error(call("GET", f"/auth/{mode}?{admin_only}", headers=ALICE), 403, 40160)
    ably_error(call("GET", f"/auth/{mode}?ttl=soon", headers=ALICE), 400, 40003)


def test_unknown_mode_is_404(call: Caller) -> None:
    ably_error(call("GET", "/auth/password", headers=ALICE), 404, 40400)


def test_the_examples_serve_the_auth_url_only(call: Caller) -> None:
    """Production glue only: a policy and the integration, no demo page or its helpers."""
    for path in ("/", "/ably.js", "/explain", "/emulator/advance"):
        assert call("GET", path, headers=ALICE).status == 404
        assert call("POST", path, headers=ALICE).status == 404


# -- real clients over real sockets --------------------------------------------------------


@contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """An ASGI app served by uvicorn on a real socket; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        while not server.started:
            thread.join(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@contextmanager
def serving(framework: str, auth: AuthEndpoint) -> Iterator[str]:
    """The app on a real socket, as its __main__ would serve it; yields its base URL."""
    with serving_app(framework, build_app(framework, auth)) as url:
        yield url


@contextmanager
def serving_app(framework: str, app: Any) -> Iterator[str]:
    """``app``, built with ``framework``, on a real socket; yields its base URL."""
    if framework == "fastapi":
        with uvicorn_serving(app) as url:
            yield url
        return
    wsgi: HTTPServer
    if framework == "flask":
        from werkzeug.serving import make_server as werkzeug_server

        wsgi = werkzeug_server("127.0.0.1", 0, app, threaded=True)
    else:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        wsgi = make_server("127.0.0.1", 0, app, Server, QuietHandler)
    thread = threading.Thread(target=wsgi.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{wsgi.server_port}"
    finally:
        wsgi.shutdown()
        thread.join()
        wsgi.server_close()


def ably_client(url: str, mode: str, emulator: AblyEmulator, **options: Any) -> Any:
    from ably.sync import AblyRestSync

    return AblyRestSync(
        auth_url=f"{url}/auth/{mode}",
        auth_headers=ALICE,
        use_binary_protocol=False,
        **emulator.client_options(),
        **options,
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ably_python_client_with_auth_url(
    auth: AuthEndpoint, ably_emulator: AblyEmulator, framework: str, mode: str, method: str
) -> None:
    from ably.sync.util.exceptions import AblyException

    with serving(framework, auth) as url:
        client = ably_client(url, mode, ably_emulator, auth_method=method)
        try:
            client.channels.get("chat:lobby").publish("greeting", "hi")
            with pytest.raises(AblyException) as denied:
                client.channels.get("admin:x").publish("greeting", "hi")
            assert denied.value.code == 40160
        finally:
            client.close()
    published = ably_emulator.published("chat:lobby")
    assert [(m["name"], m.get("clientId")) for m in published] == [("greeting", "alice")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("mode", MODES)
def test_the_client_renews_through_the_auth_url(
    auth: AuthEndpoint, ably_emulator: AblyEmulator, framework: str, mode: str
) -> None:
    # The endpoint mints on the emulator's clock (clock=emu.now), so moving that clock
    # past expiry makes the second publish fail with 40142 unless the client renews.
    with serving(framework, auth) as url:
        client = ably_client(url, mode, ably_emulator, default_token_params={"ttl": 60_000})
        try:
            client.channels.get("chat:lobby").publish("first", "hi")
            ably_emulator.advance(timedelta(seconds=90))  # the 60 s token has expired
            client.channels.get("chat:lobby").publish("second", "hi")
        finally:
            client.close()
    assert [m["name"] for m in ably_emulator.published("chat:lobby")] == ["first", "second"]
    if mode != "jwt":  # the emulator issued both tokens
        tokens = ably_emulator.issued_tokens
        assert len(tokens) == 2
        assert all(token.ttl == timedelta(seconds=60) for token in tokens)


ABLY_JS_CLIENT = r"""
const Ably = require(process.argv[1]);
const [authUrl, port] = [process.argv[2], Number(process.argv[3])];
(async () => {
  const client = new Ably.Rest({
    authUrl, authMethod: process.argv[4], authHeaders: { 'X-User-Id': 'alice' },
    endpoint: '127.0.0.1', port, tls: false, useBinaryProtocol: false, logLevel: 0,
  });
  const result = {};
  await client.channels.get('chat:lobby').publish('from-js', 'hi');
  try {
    await client.channels.get('admin:x').publish('from-js', 'hi');
    result.denied = null;
  } catch (err) {
    result.denied = err.code;
  }
  process.stdout.write(JSON.stringify(result));
})().catch((err) => { process.stderr.write(String(err && err.message)); process.exit(1); });
"""


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ably_js_client_with_auth_url(
    auth: AuthEndpoint, ably_emulator: AblyEmulator, framework: str, mode: str, method: str
) -> None:
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node")
    ably_js = Path(__file__).parent / "js" / "node_modules" / "ably"
    if node is None or not ably_js.is_dir():
        pytest.fail("ably-js is not installed: run scripts/check (or `npm ci --prefix tests/js`)")
    with serving(framework, auth) as url:
        run = subprocess.run(
            [
                node,
                "-e",
                ABLY_JS_CLIENT,
                str(ably_js),
                f"{url}/auth/{mode}",
                str(ably_emulator.port),
                method,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"denied": 40160}
    published = ably_emulator.published("chat:lobby")
    assert [(m["name"], m.get("clientId")) for m in published] == [("from-js", "alice")]


def test_token_mode_signs_on_the_endpoints_clock(
    auth: AuthEndpoint, ably_emulator: AblyEmulator
) -> None:
    """With clock=emu.now the token mode's TokenRequest carries the emulator's time, so it
    is accepted however far the emulator's clock has moved (40104 otherwise)."""
    grant = Grant(client_id="alice", capability={"chat:*": ["publish"]})
    ably_emulator.advance(timedelta(minutes=55))
    answer = auth.respond("token", grant)
    assert answer.status == 200, answer.text
    assert answer.json()["issued"] >= to_ms(ably_emulator.now()) - 1000
