"""ably_authkit.integrations.fastapi (an APIRouter, the policy a dependency) and
.starlette (routes, the policy a function of the request), through Starlette's test client,
with the emulator as Ably."""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount

from ably_authkit import (
    ApiKey,
    Capability,
    InvalidParameterError,
    MissingExtraError,
    ParameterTypeError,
    verify_jwt,
)
from ably_authkit._extras import install_line
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.fastapi import auth_router
from ably_authkit.integrations.starlette import auth_routes
from ably_authkit.testing import AblyEmulator

# Starlette's TestClient now prefers the httpx2 fork; httpx is what is installed.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

CHAT = Capability({"chat:*": ["publish", "subscribe"]})
FORM = "application/x-www-form-urlencoded"
ALICE = {"X-User-Id": "alice"}


@pytest.fixture
def auth(ably_emulator: AblyEmulator) -> AuthEndpoint:
    return AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url)


def user(x_user_id: Annotated[str | None, Header()] = None) -> str | None:
    return x_user_id


def sync_grant(name: Annotated[str | None, Depends(user)]) -> Grant | None:
    return None if name is None else Grant(client_id=name, capability=CHAT)


async def async_grant(name: Annotated[str | None, Depends(user)]) -> Grant | None:
    return sync_grant(name)


def check_answers(client: TestClient, prefix: str, key: ApiKey, emu: AblyEmulator) -> None:
    """The three modes, GET and POST, narrowing and refusals, under ``prefix``."""
    for method in ("GET", "POST"):
        sent: dict[str, Any] = {"headers": ALICE}
        if method == "POST":
            sent.update(content="ttl=60000", headers={**ALICE, "content-type": FORM})
        else:
            sent.update(params={"ttl": "60000"})
        jwt = client.request(method, f"{prefix}/jwt", **sent)
        assert (jwt.status_code, jwt.headers["content-type"], jwt.headers["cache-control"]) == (
            200,
            "application/jwt",
            "no-store",
        )
        claims = verify_jwt(jwt.text, key)
        assert (claims.client_id, claims.capability, claims.ttl.total_seconds()) == (
            "alice",
            CHAT,
            60,
        )
        assert client.request(method, f"{prefix}/token-request", **sent).json()["ttl"] == 60000
        token = client.request(method, f"{prefix}/token", **sent)
        assert token.status_code == 200, token.text
        assert token.json()["token"] == emu.issued_tokens[-1].token
    nobody = client.get(f"{prefix}/jwt")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (401, 40100)
    other = client.get(f"{prefix}/jwt", params={"clientId": "bob"}, headers=ALICE)
    assert (other.status_code, other.json()["error"]["code"]) == (403, 40102)
    unknown = client.get(f"{prefix}/password", headers=ALICE)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, 40400)


@pytest.mark.parametrize("grant", [sync_grant, async_grant], ids=["sync", "async"])
def test_fastapi_router_with_the_grant_as_a_dependency(
    auth: AuthEndpoint, ably_emulator: AblyEmulator, grant: Any
) -> None:
    app = FastAPI()
    app.include_router(auth_router(auth, grant), prefix="/auth")
    with TestClient(app) as client:
        check_answers(client, "/auth", auth.key, ably_emulator)
        assert not any(p.startswith("/auth") for p in client.get("/openapi.json").json()["paths"])


def test_fastapi_dependency_overrides_reach_the_policy(auth: AuthEndpoint) -> None:
    app = FastAPI()
    app.include_router(auth_router(auth, sync_grant, modes=["jwt"]), prefix="/auth")
    app.dependency_overrides[user] = lambda: "tester"
    with TestClient(app) as client:
        assert verify_jwt(client.get("/auth/jwt").text, auth.key).client_id == "tester"
        refused = client.get("/auth/token")
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, 40400)


def request_grant(request: Request) -> Grant | None:
    name = request.headers.get("x-user-id")
    return None if name is None else Grant(client_id=name, capability=CHAT)


async def async_request_grant(request: Request) -> Grant | None:
    return request_grant(request)


@pytest.mark.parametrize("grant", [request_grant, async_request_grant], ids=["sync", "async"])
def test_starlette_routes_with_the_grant_a_function_of_the_request(
    auth: AuthEndpoint, ably_emulator: AblyEmulator, grant: Any
) -> None:
    app = Starlette(routes=[Mount("/ably", routes=auth_routes(auth, grant))])
    with TestClient(app) as client:
        check_answers(client, "/ably", auth.key, ably_emulator)
        assert client.put("/ably/jwt", headers=ALICE).status_code == 405  # Starlette's own


def test_starlette_modes_restrict_before_the_policy_is_asked(auth: AuthEndpoint) -> None:
    asked: list[Request] = []

    def policy(request: Request) -> Grant | None:
        asked.append(request)
        return request_grant(request)

    app = Starlette(routes=[Mount("/auth", routes=auth_routes(auth, policy, modes=["jwt"]))])
    with TestClient(app) as client:
        refused = client.get("/auth/token-request", headers=ALICE)
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, 40400)
        assert asked == []
        assert client.get("/auth/jwt", headers=ALICE).status_code == 200
        assert len(asked) == 1


def test_bad_arguments_are_refused_at_once(auth: AuthEndpoint) -> None:
    with pytest.raises(InvalidParameterError, match="'jws', which is no credential mode"):
        auth_router(auth, sync_grant, modes=["jws"])
    with pytest.raises(InvalidParameterError, match="'jws', which is no credential mode"):
        auth_routes(auth, request_grant, modes=["jws"])
    with pytest.raises(ParameterTypeError, match="grant_for must be a function"):
        auth_routes(auth, "myapp.grant")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("module", "framework"),
    [("fastapi", "fastapi"), ("starlette", "starlette")],
)
def test_without_the_framework_the_module_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, framework: str
) -> None:
    for name in ("ably_authkit.integrations.fastapi", "ably_authkit.integrations.starlette"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, framework, None)
    with pytest.raises(MissingExtraError) as missing:
        importlib.import_module(f"ably_authkit.integrations.{module}")
    assert missing.value.extra == "fastapi"
    assert missing.value.install == install_line("fastapi")  # the line for this install
    assert missing.value.install in str(missing.value)
    assert "[fastapi]" in missing.value.install
