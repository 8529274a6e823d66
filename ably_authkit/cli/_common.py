"""What every command shares: exit codes, the usage error, printing, and the key."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any, TextIO

    from ably_authkit.keys import ApiKey, KeyRing

PROG = "ably-authkit"
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_ABLY = 3
EXIT_INTERRUPTED = 130

DEFAULT_KEY_ENV = "ABLY_API_KEY"
ENDPOINT_ENV = "ABLY_ENDPOINT"


class _UsageError(Exception):
    """A command-line mistake the library does not see (exit 2)."""


class _Stop(BaseException):
    """Raised by the SIGTERM handler so that long-running commands clean up and exit 0."""


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _with_code(error: Any) -> str:
    """The message, and Ably's code where Ably (or a verifier acting as Ably) refused."""
    from ably_authkit.errors import AblyApiError, TokenError

    message: str = error.message
    refused = isinstance(error, (AblyApiError, TokenError))
    if refused and error.code is not None and str(error.code) not in message:
        message += f" (Ably error {error.code})"
    return message


def _load_key(args: argparse.Namespace) -> ApiKey | KeyRing:
    """The key in ``--key-env`` (default ``$ABLY_API_KEY``), or a key ring: several keys
    in that variable, or ``$ABLY_API_KEYS`` when ``$ABLY_API_KEY`` is not set. A ring
    signs with its first key and verifies with the key a credential names."""
    from ably_authkit.keys import KEYS_ENV, ApiKey, KeyRing

    name = args.key_env
    text = os.environ.get(name)
    if name == DEFAULT_KEY_ENV and os.environ.get(KEYS_ENV):
        if text is not None:
            raise _UsageError(
                f"both ${DEFAULT_KEY_ENV} and ${KEYS_ENV} are set; unset one (a key ring "
                f"in ${KEYS_ENV} holds every key, the signing key first)"
            )
        return KeyRing.from_env(KEYS_ENV)
    if text is not None and len(text.replace(",", " ").split()) > 1:
        return KeyRing.from_env(name)
    return ApiKey.from_env(name)


def _print_json(value: object, out: TextIO | None = None) -> None:
    import json

    print(json.dumps(value, ensure_ascii=False, indent=2), file=out or sys.stdout)


def _error_json(error: Any) -> dict[str, object]:
    """An error as Ably's error bodies hold it."""
    return {"message": error.message, "code": error.code, "statusCode": error.status_code}


def _stop_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into :class:`_Stop` in the main thread; return the undo."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo
