"""``main()``: parse, refuse a key given on the command line, run, map errors to exit codes."""

from __future__ import annotations

import sys

from ._common import (
    DEFAULT_KEY_ENV,
    EXIT_ABLY,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    _fail,
    _UsageError,
    _with_code,
)
from ._parser import _build_parser, _Parser
from ._secrets import _KEY_OPTIONS, _known_secrets, _redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ably-authkit`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    secrets = _known_secrets(args_list)
    _Parser.secrets = secrets
    for arg in args_list:
        if arg == "--" or not arg.startswith("-"):
            continue
        option = arg.partition("=")[0].lower().replace("_", "-")
        if option in _KEY_OPTIONS:
            return _fail(
                f"{PROG} does not take a key on the command line (it would be kept in your "
                f"shell history and shown in the process list); put it in ${DEFAULT_KEY_ENV} "
                f'without typing it (export {DEFAULT_KEY_ENV}="$(cat ~/.ably/key)"), or in '
                "another variable named with --key-env NAME",
                EXIT_USAGE,
            )
    try:
        parser.check_command(args_list)
        args = parser.parse_args(args_list)
    except SystemExit as exit:  # --help, --version, or a usage error already printed
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    from ably_authkit.errors import AblyApiError, AblyConnectionError, AuthKitError

    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except _UsageError as error:
        return _fail(_redact(str(error), secrets), EXIT_USAGE)
    except (AblyApiError, AblyConnectionError) as error:
        return _fail(_redact(_with_code(error), secrets), EXIT_ABLY)
    except AuthKitError as error:
        return _fail(_redact(_with_code(error), secrets), EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
