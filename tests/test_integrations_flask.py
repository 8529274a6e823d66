"""ably_authkit.integrations.flask: AblyAuth configured from app.config, its grant_loader,
its modes, through Flask's test client and through the `ably` package's client on a real
socket, with the emulator as Ably."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, g
from werkzeug.test import TestResponse

from ably_authkit import (
    ApiKey,
    Capability,
    InvalidApiKeyError,
    InvalidParameterError,
    MissingExtraError,
    ParameterTypeError,
    verify_jwt,
    verify_token_request,
)
from ably_authkit._extras import install_line
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.flask import AblyAuth
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, SECRET

CHAT = Capability({"chat:*": ["publish", "subscribe"]})
FORM = "application/x-www-form-urlencoded"


def emulator_config(emu: AblyEmulator, key: ApiKey) -> dict[str, Any]:
    """What a deploy puts in app.config to use the emulator (as `ably-authkit emulator`
    prints it for the environment)."""
    return {
        "ABLY_API_KEY": f"{key.name}:{key.secret}",
        "ABLY_EMULATOR_HOST": f"127.0.0.1:{emu.port}",
    }


def body(answer: TestResponse) -> Any:
    return json.loads(answer.data)


def make_app(config: dict[str, Any], **options: Any) -> tuple[Flask, AblyAuth, list[str]]:
    """An app whose user is g.user (set from the X-User-Id header), and the loader's calls."""
    app = Flask(__name__)
    app.config.update(config)
    asked: list[str] = []

    @app.before_request
    def sign_in() -> None:
        from flask import request

        g.user = request.headers.get("X-User-Id")

    ably = AblyAuth(**options)

    @ably.grant_loader
    def grant_for_current_user() -> Grant | None:
        asked.append(g.user)
        return None if g.user is None else Grant(client_id=g.user, capability=CHAT)

    ably.init_app(app)
    return app, ably, asked


@pytest.fixture
def emu_key(ably_emulator: AblyEmulator) -> ApiKey:
    return ably_emulator.create_key()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_configured_from_app_config_answers_the_three_modes(
    ably_emulator: AblyEmulator, emu_key: ApiKey, method: str
) -> None:
    app, ably, asked = make_app(emulator_config(ably_emulator, emu_key))
    assert ably.endpoint(app).endpoint == ably_emulator.url
    client = app.test_client()
    alice = {"X-User-Id": "alice"}
    sent: dict[str, Any] = {"headers": alice, "method": method}
    if method == "POST":
        sent.update(data="ttl=60000", content_type=FORM)
    else:
        sent.update(query_string="ttl=60000")

    jwt = client.open("/auth/jwt", **sent)
    assert (jwt.status_code, jwt.content_type, jwt.headers["Cache-Control"]) == (
        200,
        "application/jwt",
        "no-store",
    )
    claims = verify_jwt(jwt.get_data(as_text=True), emu_key)
    assert (claims.client_id, claims.capability, claims.ttl.total_seconds()) == ("alice", CHAT, 60)

    request = verify_token_request(body(client.open("/auth/token-request", **sent)), emu_key)
    assert (request.client_id, request.ttl and request.ttl.total_seconds()) == ("alice", 60)

    token = client.open("/auth/token", **sent)
    assert token.status_code == 200, token.data
    assert [t.token for t in ably_emulator.issued_tokens] == [body(token)["token"]]
    assert asked == ["alice"] * 3

    refused = client.open("/auth/jwt", method=method)
    assert (refused.status_code, body(refused)["error"]["code"]) == (401, 40100)


def test_modes_from_app_config_and_unserved_modes_never_ask_the_policy(
    ably_emulator: AblyEmulator, emu_key: ApiKey
) -> None:
    config = {**emulator_config(ably_emulator, emu_key), "ABLY_AUTH_MODES": ["jwt"]}
    app, _, asked = make_app(config)
    client = app.test_client()
    for mode in ("token-request", "token", "password"):
        answer = client.get(f"/auth/{mode}", headers={"X-User-Id": "alice"})
        assert (answer.status_code, body(answer)["error"]["code"]) == (404, 40400)
        assert answer.headers["Cache-Control"] == "no-store"
        assert "('jwt',)" in body(answer)["error"]["message"]
    assert asked == []
    assert client.get("/auth/jwt", headers={"X-User-Id": "alice"}).status_code == 200
    assert ably_emulator.issued_tokens == []


def test_an_endpoint_given_is_used_as_it_is_and_the_prefix_moves(key: ApiKey) -> None:
    app, ably, _ = make_app({}, endpoint=AuthEndpoint(key), url_prefix="/ably", modes=["jwt"])
    assert ably.endpoint(app).key == key
    answer = app.test_client().get("/ably/jwt", headers={"X-User-Id": "bob"})
    assert verify_jwt(answer.get_data(as_text=True), key).client_id == "bob"
    assert app.test_client().get("/auth/jwt").status_code == 404  # Flask's own 404


def test_one_extension_serves_two_apps_each_with_its_own_key(key: ApiKey) -> None:
    other = ApiKey.parse(f"appId.other:{SECRET[::-1]}")
    ably = AblyAuth(grant_loader=lambda: Grant(client_id="carol", capability=CHAT))
    apps = []
    for each in (key, other):
        app = Flask(__name__)
        app.config["ABLY_API_KEY"] = f"{each.name}:{each.secret}"
        ably.init_app(app)
        apps.append(app)
    for app, each in zip(apps, (key, other), strict=True):
        assert ably.endpoint(app).key == each
        jwt = app.test_client().get("/auth/jwt").get_data(as_text=True)
        assert verify_jwt(jwt, each).client_id == "carol"


def test_a_missing_or_bad_setting_is_refused_at_init_app() -> None:
    ably = AblyAuth(grant_loader=lambda: None)
    with pytest.raises(InvalidApiKeyError, match=r"app\.config sets neither 'ABLY_API_KEY'"):
        ably.init_app(Flask(__name__))

    app = Flask(__name__)
    app.config["ABLY_API_KEY"] = KEY_TEXT.replace(":", "::")
    with pytest.raises(InvalidApiKeyError) as bad_key:
        ably.init_app(app)
    assert SECRET not in str(bad_key.value)

    app = Flask(__name__)
    app.config["ABLY_API_KEY"] = KEY_TEXT.encode()
    with pytest.raises(ParameterTypeError, match="must be text, not bytes"):
        ably.init_app(app)

    for modes, message in (
        (["jwt", "jtw"], "names 'jtw', which is no credential mode"),
        ("jwt", "must be a list of modes"),
        ([], "serves no mode"),
    ):
        app = Flask(__name__)
        app.config.update(ABLY_API_KEY=KEY_TEXT, ABLY_AUTH_MODES=modes)
        with pytest.raises(InvalidParameterError, match=message):
            ably.init_app(app)

    with pytest.raises(ParameterTypeError, match="grant_loader must be a function"):
        AblyAuth(grant_loader="myapp.grant")  # type: ignore[arg-type]


def test_no_grant_loader_is_an_error_naming_the_decorator(key: ApiKey) -> None:
    app = Flask(__name__)
    AblyAuth(app, endpoint=AuthEndpoint(key))
    app.testing = True  # exceptions reach the test
    with pytest.raises(InvalidParameterError, match=r"@ably\.grant_loader"):
        app.test_client().get("/auth/jwt")


def test_without_flask_the_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "ably_authkit.integrations.flask")
    monkeypatch.setitem(sys.modules, "flask", None)
    with pytest.raises(MissingExtraError) as missing:
        importlib.import_module("ably_authkit.integrations.flask")
    assert missing.value.extra == "flask"
    assert missing.value.install == install_line("flask")  # the line for this install
    assert missing.value.install in str(missing.value)
    assert "[flask]" in missing.value.install


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.mark.parametrize("mode", ["jwt", "token-request", "token"])
def test_the_ably_package_publishes_through_the_configured_app(
    ably_emulator: AblyEmulator, emu_key: ApiKey, mode: str
) -> None:
    from ably.sync import AblyRestSync
    from ably.sync.util.exceptions import AblyException

    app, _, _ = make_app(emulator_config(ably_emulator, emu_key))
    with serving(app) as url:
        client = AblyRestSync(
            auth_url=f"{url}/auth/{mode}",
            auth_headers={"X-User-Id": "alice"},
            use_binary_protocol=False,
            **ably_emulator.client_options(),
        )
        try:
            client.channels.get("chat:lobby").publish("hello", "hi")
            with pytest.raises(AblyException) as denied:
                client.channels.get("admin:x").publish("hello", "hi")
            assert denied.value.code == 40160
        finally:
            client.close()
    published = ably_emulator.published("chat:lobby")
    assert [(m["name"], m.get("clientId")) for m in published] == [("hello", "alice")]


def test_a_key_ring_in_app_config_signs_with_its_first_key(key: ApiKey) -> None:
    other = ApiKey.parse(f"appId.other:{SECRET[::-1]}")
    ring = f"{other.name}:{other.secret} {key.name}:{key.secret}"
    app, ably, _ = make_app({"ABLY_API_KEYS": ring})
    assert ably.endpoint(app).keys.names == (other.name, key.name)
    jwt = app.test_client().get("/auth/jwt", headers={"X-User-Id": "alice"})
    assert verify_jwt(jwt.get_data(as_text=True), other).client_id == "alice"

    both = Flask(__name__)
    both.config.update(ABLY_API_KEY=KEY_TEXT, ABLY_API_KEYS=ring)
    with pytest.raises(InvalidApiKeyError, match=r"app\.config sets both") as refused:
        AblyAuth(both, grant_loader=lambda: None)
    assert SECRET not in str(refused.value)
