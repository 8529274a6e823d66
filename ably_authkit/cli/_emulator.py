"""``ably-authkit emulator``: a local Ably emulator and a throwaway key for it."""

from __future__ import annotations

import errno

from ._common import DEFAULT_KEY_ENV, EXIT_OK, _Stop, _stop_on_sigterm, _UsageError
from ._serving import _port_in_use

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any


def _start_emulator(host: str, port: int, allowed_origins: Sequence[str] = ()) -> Any:
    try:
        from ably_authkit.testing import AblyEmulator
    except ImportError as error:
        from ably_authkit._extras import install_line

        raise _UsageError(
            f"the emulator needs the 'emulator' extra ({error.name} is missing): "
            f"{install_line('emulator')}"
        ) from None
    try:
        emulator = AblyEmulator(host=host, port=port, allowed_origins=allowed_origins)
    except ValueError as error:
        raise _UsageError(str(error).replace("allowed_origins:", "--allow-origin:", 1)) from None
    try:
        emulator.start()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise _port_in_use(host, port) from None
        raise _UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return emulator


def _cmd_emulator(args: argparse.Namespace) -> int:
    import shlex

    from ably_authkit._connect import js_snippet, python_snippet
    from ably_authkit.endpoint import EMULATOR_HOST_ENV
    from ably_authkit.rest import check_endpoint

    emulator = _start_emulator(args.host, args.port, args.allowed_origins)
    undo = _stop_on_sigterm()
    try:
        key = emulator.create_key()
        # This key exists only in this local emulator, which forgets it on exit: printing
        # it is the point of the command (every other command keeps secrets out of output).
        key_text = f"{key.name}:{key.secret}"
        print(f"Ably emulator listening on {emulator.url} (Ctrl-C to stop)")
        print(f"API key (local and throwaway): {key_text}")
        print()
        print("Point the library, your scripts and the examples at it:")
        print(
            f"  export {DEFAULT_KEY_ENV}={shlex.quote(key_text)} "
            f"{EMULATOR_HOST_ENV}={shlex.quote(f'{emulator.host}:{emulator.port}')}"
        )
        print()
        print("Connect a realtime client to it directly:")
        target = check_endpoint(emulator.url)
        print(f"  ably-js:     {js_snippet(target, key=key_text)}")
        print(f"  ably-python: {python_snippet(target, key=key_text)}", flush=True)
        emulator.wait()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        undo()
        emulator.stop()
    return EXIT_OK
