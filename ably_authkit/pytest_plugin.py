"""pytest fixtures for offline Ably auth tests, registered through the ``pytest11``
entry point of the ``ably-authkit`` distribution.

- ``ably_emulator``: an :class:`~ably_authkit.testing.AblyEmulator` started once per test
  session and reset (keys, tokens, messages, clock, live realtime connections) before
  each test that uses it;
- ``ably_key``: a fresh key of that emulator with the default capability
  ``{"[*]*":["*"]}``.

pytest loads this module wherever ably-authkit is installed, with or without the
``emulator`` extra, so it imports nothing but pytest: a test run that uses no fixture pays
nothing for it. A test that asks for a fixture without the extra fails with the
``pip install`` line that adds it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ably_authkit.keys import ApiKey
    from ably_authkit.testing.emulator import AblyEmulator

__all__ = ["ably_emulator", "ably_key"]


@pytest.fixture(scope="session")
def _ably_emulator_session() -> Iterator[AblyEmulator]:
    from ably_authkit.errors import MissingExtraError

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


@pytest.fixture
def ably_key(ably_emulator: AblyEmulator) -> ApiKey:
    """A key registered in ``ably_emulator``, allowed everything."""
    return ably_emulator.create_key()
