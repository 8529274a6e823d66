"""Offline testing of Ably auth flows: a local Ably-compatible emulator and pytest fixtures.

Needs the ``emulator`` extra (``pip install "ably-authkit[emulator]"``); without it,
importing this package raises :class:`~ably_authkit.MissingExtraError` with that line.
The pytest fixtures ``ably_emulator`` and ``ably_key`` are registered automatically
(:mod:`ably_authkit.pytest_plugin`), and need the extra only in the tests that use them.
"""

from ably_authkit._extras import require

require("emulator", "ably_authkit.testing")

from .emulator import AblyEmulator as AblyEmulator  # noqa: E402

__all__ = ["AblyEmulator"]
