"""The pytest fixtures as a user's suite meets them: on the embedded emulator by default,
and, with ABLY_TEST_ENDPOINT, on another Ably-compatible service provisioned through
Ably's test-app API (here an emulator in this process standing in for Ably's sandbox),
with the emulator-only tests skipped and saying why."""

from __future__ import annotations

import pytest

from ably_authkit._sandbox import rest_url
from ably_authkit.testing import AblyEmulator

pytest_plugins = ["pytester"]

USER_TESTS = """
import pytest
from datetime import timedelta
from ably_authkit import request_token

def test_a_token(ably_key, ably_endpoint):
    details = request_token(ably_key, client_id="ann", endpoint=ably_endpoint)
    assert details.client_id == "ann"
    assert details.key_name == ably_key.name

def test_expiry(ably_emulator, ably_key):
    details = request_token(ably_key, endpoint=ably_emulator.url, ttl=timedelta(minutes=1))
    ably_emulator.advance(timedelta(minutes=2))
    assert details.expires < ably_emulator.now()

@pytest.mark.ably_emulator_only
def test_marked(ably_key):
    assert ably_key.name.startswith("emulatorApp.")
"""


def test_by_default_the_fixtures_use_the_embedded_emulator(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ABLY_TEST_ENDPOINT", raising=False)
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest_subprocess("-W", "error", "--strict-markers")
    result.assert_outcomes(passed=3)


def test_with_a_test_endpoint_the_same_tests_run_there(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with AblyEmulator(app_id="standIn") as sandbox:  # stands in for Ably's sandbox
        monkeypatch.setenv("ABLY_TEST_ENDPOINT", sandbox.url)
        pytester.makepyfile(USER_TESTS)
        result = pytester.runpytest_subprocess("-W", "error", "--strict-markers", "-rs")
        result.assert_outcomes(passed=1, skipped=2)
        result.stdout.fnmatch_lines(
            [
                "*needs the embedded Ably emulator (its clock, its records); "
                f"ABLY_TEST_ENDPOINT={sandbox.url} names another service*",
                f"*needs the embedded Ably emulator; ABLY_TEST_ENDPOINT={sandbox.url}*",
            ]
        )
        # The token came from the provisioned app, which was deleted at the session's end.
        (token,) = sandbox.issued_tokens
        assert token.client_id == "ann"
        assert token.key_name is not None
        assert token.key_name.split(".")[0] not in sandbox.service.apps


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("nonprod:sandbox", "https://sandbox.realtime.ably-nonprod.net"),
        ("main", "https://main.realtime.ably.net"),
        ("rest.example.com", "https://rest.example.com"),
        ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"),
    ],
)
def test_the_test_endpoint_is_read_as_the_specification_says(endpoint: str, url: str) -> None:
    assert rest_url(endpoint) == url
