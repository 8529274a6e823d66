"""pytest fixtures for offline Ably auth tests, registered through the ``pytest11``
entry point of the ``ably-authkit`` distribution.

- ``ably_emulator``: an :class:`~ably_authkit.testing.AblyEmulator` started once per test
  session and reset (keys, tokens, messages, clock, live realtime connections) before
  each test that uses it;
- ``ably_key``: a fresh key of that emulator with the default capability
  ``{"[*]*":["*"]}``;
- ``ably_endpoint``: where ``ably_key`` works, for ``endpoint=`` (the emulator's URL).

With ``ABLY_TEST_ENDPOINT`` set (Ably's sandbox, ``nonprod:sandbox``, or the URL of any
Ably-compatible server, such as ``ably-authkit emulator``'s), the same tests run there:
a test app is provisioned through Ably's test-app API (``POST /apps``) once per session
and deleted at its end, ``ably_key`` is its key and ``ably_endpoint`` that endpoint.
Tests that need the embedded emulator (its clock, its records) are skipped with a
reason: those that use ``ably_emulator``, and those marked ``ably_emulator_only``.

pytest loads this module wherever ably-authkit is installed, with or without the
``emulator`` extra, so it imports nothing but pytest: a test run that uses no fixture pays
nothing for it. A test that asks for a fixture without the extra fails with the
``pip install`` line that adds it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ably_authkit.keys import ApiKey
    from ably_authkit.testing.emulator import AblyEmulator

__all__ = ["ably_emulator", "ably_endpoint", "ably_key"]

#: Names the endpoint whose test-app API the fixtures use instead of the embedded emulator.
TEST_ENDPOINT_ENV = "ABLY_TEST_ENDPOINT"
_MARKER = "ably_emulator_only"


def _test_endpoint() -> str | None:
    return os.environ.get(TEST_ENDPOINT_ENV) or None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}: the test needs the embedded AblyEmulator (its clock, its records); "
        f"skipped when {TEST_ENDPOINT_ENV} names another service",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    endpoint = _test_endpoint()
    if endpoint is not None and item.get_closest_marker(_MARKER) is not None:
        pytest.skip(f"needs the embedded Ably emulator; {TEST_ENDPOINT_ENV}={endpoint}")


@pytest.fixture(scope="session")
def _ably_emulator_session() -> Iterator[AblyEmulator]:
    from ably_authkit.errors import MissingExtraError

    endpoint = _test_endpoint()
    if endpoint is not None:
        pytest.skip(
            f"needs the embedded Ably emulator (its clock, its records); "
            f"{TEST_ENDPOINT_ENV}={endpoint} names another service"
        )
    try:
        from ably_authkit.testing import AblyEmulator
    except MissingExtraError as error:
        pytest.fail(f"the ably_emulator fixture: {error}", pytrace=False)
    emulator = AblyEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def ably_emulator(_ably_emulator_session: AblyEmulator) -> AblyEmulator:
    """The session's AblyEmulator, with its state reset for this test."""
    _ably_emulator_session.reset()
    return _ably_emulator_session


@pytest.fixture(scope="session")
def _ably_test_app() -> Iterator[dict[str, Any] | None]:
    """The test app provisioned at ``ABLY_TEST_ENDPOINT`` (``None``: the emulator)."""
    endpoint = _test_endpoint()
    if endpoint is None:
        yield None
        return
    from ably_authkit._sandbox import delete_test_app, provision_test_app

    app = provision_test_app(endpoint)
    yield app
    delete_test_app(endpoint, app)


@pytest.fixture
def ably_key(request: pytest.FixtureRequest, _ably_test_app: dict[str, Any] | None) -> ApiKey:
    """A key allowed everything: a fresh key of ``ably_emulator``, or the key of the test
    app provisioned at ``ABLY_TEST_ENDPOINT``."""
    if _ably_test_app is not None:
        key: ApiKey = _ably_test_app["key"]
        return key
    emulator: AblyEmulator = request.getfixturevalue("ably_emulator")
    return emulator.create_key()


@pytest.fixture
def ably_endpoint(request: pytest.FixtureRequest, _ably_test_app: dict[str, Any] | None) -> str:
    """Where ``ably_key`` works, for ``endpoint=``: the emulator's URL, or
    ``ABLY_TEST_ENDPOINT``."""
    if _ably_test_app is not None:
        endpoint: str = _ably_test_app["endpoint"]
        return endpoint
    emulator: AblyEmulator = request.getfixturevalue("ably_emulator")
    return emulator.url
