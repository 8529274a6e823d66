"""ably_authkit.integrations.django: settings.ABLY_AUTHKIT, the include()-able URLconf, the
sync view through Django's test client (CSRF enforced), and the async view through its
AsyncClient, with the emulator as Ably."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpRequest
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path, reverse

import examples.django_app.app  # noqa: F401 -- configures the one Django settings of the tests
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
from ably_authkit.endpoint import AuthEndpoint, Grant, IssuedCredential
from ably_authkit.integrations import django as integration
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, SECRET

CHAT = Capability({"chat:*": ["publish", "subscribe"]})
FORM = "application/x-www-form-urlencoded"
ALICE = {"X-User-Id": "alice"}

# This module is the URLconf of its tests (override_settings(ROOT_URLCONF=__name__)).
urlpatterns = [path("auth/", include("ably_authkit.integrations.django"))]

#: What the policies below were asked, by whom.
ASKED: list[str | None] = []
ISSUED: list[IssuedCredential] = []
ENDPOINT: AuthEndpoint | None = None


def grant_for(request: HttpRequest) -> Grant | None:
    user = request.META.get("HTTP_X_USER_ID")
    ASKED.append(user)
    return None if user is None else Grant(client_id=user, capability=CHAT)


async def agrant_for(request: HttpRequest) -> Grant | None:
    return grant_for(request)


def record_issue(issued: IssuedCredential) -> None:
    ISSUED.append(issued)


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    ASKED.clear()
    ISSUED.clear()
    yield
    ASKED.clear()


@pytest.fixture
def emu_key(ably_emulator: AblyEmulator) -> ApiKey:
    return ably_emulator.create_key()


def settings_for(emu: AblyEmulator, key: ApiKey, **more: Any) -> dict[str, Any]:
    return {
        "API_KEY": f"{key.name}:{key.secret}",
        "EMULATOR_HOST": f"127.0.0.1:{emu.port}",
        "GRANT_FOR": f"{__name__}.grant_for",
        **more,
    }


def configured(ably: dict[str, Any], **more: Any) -> override_settings:
    return override_settings(ROOT_URLCONF=__name__, ABLY_AUTHKIT=ably, **more)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_settings_drive_the_three_modes_with_csrf_enforced(
    ably_emulator: AblyEmulator, emu_key: ApiKey, method: str
) -> None:
    csrf = ["django.middleware.csrf.CsrfViewMiddleware"]
    with configured(settings_for(ably_emulator, emu_key), MIDDLEWARE=csrf):
        assert reverse("ably_authkit:credentials", args=["jwt"]) == "/auth/jwt"
        assert integration.endpoint().endpoint == ably_emulator.url
        client = Client(enforce_csrf_checks=True)

        def ask(mode: str) -> Any:
            if method == "GET":
                return client.get(f"/auth/{mode}?ttl=60000", headers=ALICE)
            return client.post(f"/auth/{mode}", "ttl=60000", content_type=FORM, headers=ALICE)

        jwt = ask("jwt")
        assert (jwt.status_code, jwt["Content-Type"], jwt["Cache-Control"]) == (
            200,
            "application/jwt",
            "no-store",
        )
        claims = verify_jwt(jwt.content.decode(), emu_key)
        assert (claims.client_id, claims.capability, claims.ttl.total_seconds()) == (
            "alice",
            CHAT,
            60,
        )
        request = verify_token_request(ask("token-request").json(), emu_key)
        assert request.client_id == "alice"
        token = ask("token")
        assert token.status_code == 200, token.content
        assert [t.token for t in ably_emulator.issued_tokens] == [token.json()["token"]]
        assert ASKED == ["alice"] * 3
        nobody = client.get("/auth/jwt") if method == "GET" else client.post("/auth/jwt")
        assert (nobody.status_code, nobody.json()["error"]["code"]) == (401, 40100)
        put = client.put("/auth/jwt", headers=ALICE)
        assert (put.status_code, put["Allow"], put.json()["error"]["code"]) == (
            405,
            "GET, POST",
            40500,
        )


def test_modes_restrict_and_an_unserved_mode_never_asks_the_policy(
    ably_emulator: AblyEmulator, emu_key: ApiKey
) -> None:
    with configured(settings_for(ably_emulator, emu_key, MODES=["jwt", "token_request"])):
        client = Client()
        answer = client.get("/auth/token", headers=ALICE)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, 40400)
        assert ASKED == []
        assert client.get("/auth/token-request", headers=ALICE).status_code == 200
        assert ably_emulator.issued_tokens == []


def test_a_replaced_setting_is_read_again(key: ApiKey, emu_key: ApiKey) -> None:
    global ENDPOINT
    ENDPOINT = AuthEndpoint(key)
    given = {"AUTH_ENDPOINT": f"{__name__}.ENDPOINT", "GRANT_FOR": grant_for}
    with configured(given):
        assert integration.endpoint() is ENDPOINT
        jwt = Client().get("/auth/jwt", headers=ALICE).content.decode()
        assert verify_jwt(jwt, key).client_id == "alice"
        with configured({**given, "AUTH_ENDPOINT": AuthEndpoint(emu_key)}):
            jwt = Client().get("/auth/jwt", headers=ALICE).content.decode()
            assert verify_jwt(jwt, emu_key).client_id == "alice"


def test_on_issue_named_by_dotted_path_gets_each_credential(key: ApiKey) -> None:
    ably = {
        "API_KEY": KEY_TEXT,
        "GRANT_FOR": f"{__name__}.grant_for",
        "ON_ISSUE": f"{__name__}.record_issue",
    }
    with configured(ably):
        assert Client().get("/auth/jwt?ttl=5000", headers=ALICE).status_code == 200
    (issued,) = ISSUED
    assert (issued.mode, issued.client_id, issued.key_name, issued.ttl.total_seconds()) == (
        "jwt",
        "alice",
        key.name,
        5,
    )


@pytest.mark.parametrize("policy", ["grant_for", "agrant_for"])
def test_the_async_view_answers_with_a_sync_or_async_policy(
    ably_emulator: AblyEmulator, emu_key: ApiKey, policy: str
) -> None:
    from ably_authkit.integrations.django import async_credentials

    module = ModuleType("async_urls")
    module.urlpatterns = [path("auth/<str:mode>", async_credentials)]  # type: ignore[attr-defined]
    sys.modules["async_urls"] = module
    try:
        ably = settings_for(ably_emulator, emu_key, GRANT_FOR=f"{__name__}.{policy}")
        with override_settings(ROOT_URLCONF="async_urls", ABLY_AUTHKIT=ably):
            client = AsyncClient()
            token = async_to_sync(client.get)("/auth/token", headers=ALICE)
            assert token.status_code == 200, token.content
            assert token.json()["clientId"] == "alice"
            posted = async_to_sync(client.post)(
                "/auth/jwt", "ttl=60000", content_type=FORM, headers=ALICE
            )
            assert verify_jwt(posted.content.decode(), emu_key).ttl.total_seconds() == 60
            nobody = async_to_sync(client.get)("/auth/jwt")
            assert nobody.status_code == 401
            typed = async_to_sync(client.post)(
                "/auth/jwt", "{}", content_type="application/json", headers=ALICE
            )
            assert (typed.status_code, typed.json()["error"]["code"]) == (415, 40000)
    finally:
        del sys.modules["async_urls"]
    assert ASKED == ["alice", "alice", None, "alice"]


def test_an_async_policy_on_the_sync_view_is_refused_with_the_fix() -> None:
    with (
        configured({"API_KEY": KEY_TEXT, "GRANT_FOR": agrant_for}),
        pytest.raises(ParameterTypeError, match="async_credentials"),
    ):
        Client(raise_request_exception=True).get("/auth/jwt", headers=ALICE)


def test_bad_settings_are_refused_with_the_fix() -> None:
    for ably, error, message in (
        ({"GRANT_FOR": grant_for}, InvalidApiKeyError, "settings.ABLY_AUTHKIT sets neither"),
        ({"API_KEY": KEY_TEXT}, InvalidParameterError, r"\['GRANT_FOR'\] is not set"),
        (
            {"API_KEY": KEY_TEXT, "API_KEYS": KEY_TEXT, "GRANT_FOR": grant_for},
            InvalidApiKeyError,
            "sets both 'API_KEY' and 'API_KEYS'",
        ),
        ({"API_KEY": KEY_TEXT, "GRANT_FOR": 42}, ParameterTypeError, "must be a function"),
        ({"API_KEY": KEY_TEXT, "GRANT_FOR": grant_for, "KEY": 1}, InvalidParameterError, "KEY"),
        (
            {"API_KEY": KEY_TEXT, "GRANT_FOR": grant_for, "MODES": ["jwt", "tokens"]},
            InvalidParameterError,
            "'tokens', which is no credential mode",
        ),
        (
            {"AUTH_ENDPOINT": KEY_TEXT, "GRANT_FOR": grant_for},
            InvalidParameterError,
            r"\['AUTH_ENDPOINT'\] must be a dotted path",
        ),
        (
            {"AUTH_ENDPOINT": f"{__name__}.NOWHERE", "GRANT_FOR": grant_for},
            ImportError,
            "NOWHERE",
        ),
        (
            {"AUTH_ENDPOINT": 3, "GRANT_FOR": grant_for},
            ParameterTypeError,
            "must be an AuthEndpoint",
        ),
    ):
        with configured(ably), pytest.raises(error, match=message):
            integration.configured()
    with override_settings(ABLY_AUTHKIT=None), pytest.raises(InvalidParameterError):
        integration.configured()
    bad_key = {"API_KEY": KEY_TEXT.replace(":", "::"), "GRANT_FOR": grant_for}
    with configured(bad_key), pytest.raises(InvalidApiKeyError) as refused:
        integration.configured()
    assert SECRET not in str(refused.value)
    key_as_path = {"API_KEY": KEY_TEXT, "GRANT_FOR": KEY_TEXT}
    with configured(key_as_path), pytest.raises(InvalidParameterError) as refused_path:
        integration.configured()
    assert SECRET not in str(refused_path.value)


def test_without_django_the_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "ably_authkit.integrations.django")
    monkeypatch.setitem(sys.modules, "django", None)
    with pytest.raises(MissingExtraError) as missing:
        importlib.import_module("ably_authkit.integrations.django")
    assert missing.value.extra == "django"
    assert missing.value.install == install_line("django")  # the line for this install
    assert missing.value.install in str(missing.value)
    assert "[django]" in missing.value.install
