"""Offline testing of Ably auth flows: a local Ably-compatible emulator and pytest fixtures.

Needs the ``emulator`` extra (``pip install "ably-authkit[emulator]"``). The pytest
plugin (fixtures ``ably_emulator`` and ``ably_key``) is registered automatically.
"""

from .emulator import AblyEmulator as AblyEmulator

__all__ = ["AblyEmulator"]
