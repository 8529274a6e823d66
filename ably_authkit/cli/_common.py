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


def _load_key(args: argparse.Namespace, *, when_missing: str = "") -> ApiKey | KeyRing:
    """The key in ``--key-env`` (default ``$ABLY_API_KEY``), or a key ring: several keys
    in that variable, or ``$ABLY_API_KEYS`` when ``$ABLY_API_KEY`` is not set. A ring
    signs with its first key and verifies with the key a credential names.

    A variable that is not set is an error that says, as ``AuthEndpoint.from_env()``'s
    does, where a key comes from and how to run without one (the emulator), followed by
    ``when_missing``. A secret far shorter than Ably's gets a warning on stderr."""
    from ably_authkit.keys import KEYS_ENV, ApiKey, KeyRing

    name = args.key_env
    text = os.environ.get(name)
    if name == DEFAULT_KEY_ENV and os.environ.get(KEYS_ENV):
        if text is not None:
            raise _UsageError(
                f"both ${DEFAULT_KEY_ENV} and ${KEYS_ENV} are set; unset one (a key ring "
                f"in ${KEYS_ENV} holds every key, the signing key first)"
            )
        name = KEYS_ENV
        key: ApiKey | KeyRing = KeyRing.from_env(KEYS_ENV)
    elif text is None:
        raise _missing_key(name, when_missing)
    elif len(text.replace(",", " ").split()) > 1:
        key = KeyRing.from_env(name)
    else:
        key = ApiKey.from_env(name)
    _warn_of_short_secrets(key, name)
    return key


def _missing_key(name: str, when_missing: str) -> Exception:
    """The error for a key variable that is not set, in the words of the library's own
    (``AuthEndpoint.from_env()``): the key's form and where to find it, the key ring, and
    the emulator for local development; and how to set it without typing the key."""
    from ably_authkit.endpoint import EMULATOR_HOST_ENV
    from ably_authkit.errors import InvalidApiKeyError
    from ably_authkit.keys import KEYS_ENV

    ring = (
        f", or {KEYS_ENV} to several (a key ring, the signing key first)"
        if name == DEFAULT_KEY_ENV
        else ""
    )
    return InvalidApiKeyError(
        f"the environment variable {name} is not set: set it to your Ably API key "
        f"(appId.keyId:secret, from the dashboard's API Keys tab){ring}. Read it from a "
        f'file, so that the key stays out of your shell history: export {name}="$(cat '
        '~/.ably/key)". '
        f"For local development without an account, run '{PROG} emulator' and set the "
        f"{name} and {EMULATOR_HOST_ENV} it prints{when_missing}",
        field=name,
    )


#: Ably issues key secrets of 43 characters: 32 random bytes in unpadded base64url.
ABLY_SECRET_LENGTH = 43
#: Below this, a secret is far shorter than Ably's, and weaker than HS256 needs: a key
#: of at least the hash's size, 256 bits (RFC 7518 section 3.2; pyjwt warns below it).
MIN_SECRET_BYTES = 32


def _warn_of_short_secrets(key: ApiKey | KeyRing, variable: str) -> None:
    """Warn, naming the key but never showing the secret, of each secret far shorter
    than Ably's: it was cut when copied, or is a made-up one that Ably will refuse."""
    from ably_authkit.keys import ApiKey

    for each in (key,) if isinstance(key, ApiKey) else key.keys:
        if len(each.secret.encode()) < MIN_SECRET_BYTES:
            print(
                f"{PROG}: warning: the secret of key {each.name} is {len(each.secret)} "
                f"characters, far shorter than Ably's: Ably issues secrets of "
                f"{ABLY_SECRET_LENGTH} (32 random bytes in base64). Check that ${variable} "
                "holds the whole key as the dashboard's API Keys tab shows it (Ably refuses "
                "credentials signed with a wrong secret: 40144 for a JWT, 40101 for a "
                "TokenRequest)",
                file=sys.stderr,
            )


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
