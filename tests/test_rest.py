"""ably_authkit.rest without a server: arguments, endpoints, and the unreachable case.
(Against a server: tests/test_rest_shared.py, and the emulator tests.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ably_authkit import (
    AblyConnectionError,
    InvalidParameterError,
    ParameterTypeError,
    request_token,
    revoke_tokens,
)
from ably_authkit.rest._base import _client_options, _revocation_body

from .conftest import KEY_TEXT


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("http://127.0.0.1:8123", {"endpoint": "127.0.0.1", "tls": False, "port": 8123}),
        ("https://127.0.0.1:8443", {"endpoint": "127.0.0.1", "tls": True, "tls_port": 8443}),
        ("https://rest.example.com", {"endpoint": "rest.example.com", "tls": True}),
        ("http://[::1]:9000/", {"endpoint": "::1", "tls": False, "port": 9000}),
        ("main", {"endpoint": "main"}),
        ("nonprod:sandbox", {"endpoint": "nonprod:sandbox"}),
    ],
)
def test_endpoints_become_ably_client_options(endpoint: str, expected: dict[str, object]) -> None:
    options = _client_options(endpoint, timedelta(seconds=3))
    assert {k: v for k, v in options.items() if not k.startswith("http_")} == expected
    assert options["http_request_timeout"] == 3.0


@pytest.mark.parametrize(
    "endpoint",
    [
        "",
        "ftp://host",
        "http://",
        "http://host/path",
        "http://host?x=1",
        "http://u:p@host",
        "http://host:99999",
        "two words",
    ],
)
def test_bad_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(InvalidParameterError, match="endpoint"):
        request_token(KEY_TEXT, endpoint=endpoint)


def test_timeout_is_a_timedelta() -> None:
    with pytest.raises(ParameterTypeError, match="timedelta"):
        request_token(KEY_TEXT, endpoint="main", timeout=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="positive"):
        request_token(KEY_TEXT, endpoint="main", timeout=timedelta(0))


def test_an_unreachable_ably_is_a_connection_error() -> None:
    with pytest.raises(AblyConnectionError, match=r"127\.0\.0\.1:9") as caught:
        request_token(KEY_TEXT, endpoint="http://127.0.0.1:9", timeout=timedelta(seconds=2))
    assert isinstance(caught.value, ConnectionError)
    assert "bW9jay" not in str(caught.value)


def test_revocation_targets() -> None:
    moment = datetime(2026, 11, 22, 12, tzinfo=timezone.utc)
    body = _revocation_body(["alice"], ["group-1"], moment, True)
    assert body == {
        "targets": ["clientId:alice", "revocationKey:group-1"],
        "issuedBefore": 1795348800000,
        "allowReauthMargin": True,
    }
    assert _revocation_body(["a"], (), None, False) == {"targets": ["clientId:a"]}


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({}, "at least one target"),
        ({"client_ids": "alice"}, "as a list"),
        ({"client_ids": [""]}, "non-empty"),
        ({"client_ids": [f"u{n}" for n in range(101)]}, "at most 100"),
        ({"client_ids": ["a"], "issued_before": datetime(2026, 1, 1)}, "naive"),
    ],
)
def test_bad_revocations_are_refused_before_any_request(
    arguments: dict[str, object], words: str
) -> None:
    with pytest.raises((InvalidParameterError, ParameterTypeError), match=words):
        revoke_tokens(KEY_TEXT, endpoint="http://127.0.0.1:9", **arguments)  # type: ignore[arg-type]
