"""Where Ably is, by one rule for every entry point (as Firebase's Admin SDK treats
``FIREBASE_AUTH_EMULATOR_HOST``): ``endpoint=`` when given, else ``ABLY_ENDPOINT`` or the
emulator at ``ABLY_EMULATOR_HOST``, else Ably's main endpoint. A script that exports what
``ably-authkit emulator`` prints reaches that emulator from every function, over real
sockets, and an error that reaches nothing names the host and the variables."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest

from ably_authkit import (
    AblyConnectionError,
    AsyncRestClient,
    InvalidParameterError,
    RestClient,
    arequest_token,
    explain,
    request_token,
    revoke_tokens,
    server_time,
)
from ably_authkit.endpoint import AuthEndpoint
from ably_authkit.rest import EMULATOR_HOST_ENV, ENDPOINT_ENV, endpoint_from_env
from ably_authkit.testing import AblyEmulator


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    monkeypatch.delenv(EMULATOR_HOST_ENV, raising=False)


def closed_port() -> int:
    """A port on this machine where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_every_function_follows_the_emulator_host_the_banner_names(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ably_emulator.create_key()
    # What `ably-authkit emulator` prints to export: HOST:PORT, no scheme.
    monkeypatch.setenv(EMULATOR_HOST_ENV, f"127.0.0.1:{ably_emulator.port}")
    details = request_token(key, client_id="alice")  # no endpoint: the environment's
    assert details.key_name == key.name and details.client_id == "alice"
    assert explain(details.token, key).verified is not False

    async def asynchronously() -> tuple[str | None, str | None]:
        async with AsyncRestClient(key) as client:
            held = await client.request_token(client_id="carol")
        shared = await arequest_token(key, client_id="dave")
        return held.client_id, shared.client_id

    assert asyncio.run(asynchronously()) == ("carol", "dave")
    with RestClient(key) as client:
        assert client.request_token(client_id="bob").client_id == "bob"
        ably_emulator.advance(timedelta(days=3))  # only the emulator's clock reads this
        assert abs(client.server_time() - ably_emulator.now()) < timedelta(minutes=1)
    assert abs(server_time(key) - ably_emulator.now()) < timedelta(minutes=1)
    # AuthEndpoint.from_env reads the same variable with the same function.
    monkeypatch.setenv("ABLY_API_KEY", f"{key.name}:{key.secret}")
    auth = AuthEndpoint.from_env()
    assert auth.endpoint == endpoint_from_env() == ably_emulator.url


def test_an_explicit_endpoint_wins_over_the_environment(
    ably_emulator: AblyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ably_emulator.create_key()
    monkeypatch.setenv(EMULATOR_HOST_ENV, f"127.0.0.1:{closed_port()}")
    assert request_token(key, endpoint=ably_emulator.url).key_name == key.name
    with RestClient(key, endpoint=ably_emulator.url) as client:
        assert client.request_token().key_name == key.name


def test_ably_endpoint_is_followed_too_and_both_set_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AblyEmulator(tls=True) as emulator:
        assert emulator.ca_file
        monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_file)
        key = emulator.create_key(revocable=True)
        monkeypatch.setenv(ENDPOINT_ENV, emulator.url)  # https: revoking needs TLS
        assert request_token(key).key_name == key.name
        results = revoke_tokens(key, client_ids=["mallory"])
        assert [(result.target, result.ok) for result in results] == [("clientId:mallory", True)]
        assert set(emulator.service.revocations) == {key.name}
        monkeypatch.setenv(EMULATOR_HOST_ENV, f"127.0.0.1:{emulator.port}")
        for call in (lambda: request_token(key), lambda: RestClient(key)):
            with pytest.raises(InvalidParameterError, match="both set"):
                call()


def test_an_unreachable_endpoint_names_the_host_and_the_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = closed_port()
    monkeypatch.setenv(EMULATOR_HOST_ENV, f"127.0.0.1:{port}")
    key = f"appId.keyId:{'s' * 40}"
    with pytest.raises(AblyConnectionError) as failed:
        request_token(key, timeout=timedelta(seconds=5))
    message = str(failed.value)
    assert message.startswith(f"could not reach Ably at http://127.0.0.1:{port}: ")
    assert "$ABLY_EMULATOR_HOST" in message and "$ABLY_ENDPOINT" in message
    assert "ABLY_EMULATOR_HOST is set" in message and "ABLY_ENDPOINT is not set" in message
    assert "s" * 40 not in message


def test_with_nothing_set_the_default_is_ably_s_main_endpoint() -> None:
    """Nothing is contacted here: the client says where it would go."""
    assert endpoint_from_env() is None
    with RestClient(f"appId.keyId:{'s' * 40}") as client:
        assert client._where == "Ably at https://main.realtime.ably.net (or its fallback hosts)"
