"""``ably-authkit``: mint, request, verify and explain Ably credentials from a shell.

The API key is read from the environment (``ABLY_API_KEY``, or the variable named by
``--key-env``), never from the command line, where it would land in the shell's history
and in every user's view of the process list. No output, error message or usage text
contains the key's secret: library errors are printed as ``ably-authkit: error: ...``
(their messages never hold a secret), and argparse's messages, which echo arguments,
have anything that looks like a key blanked out.

Exit codes::

    0  success
    1  the credential is invalid: verification failed, or inspect found a problem
    2  usage error: a bad option, a missing or malformed key, a TTL without a unit, ...
    3  Ably (or the endpoint) refused the request or could not be reached
    130 interrupted (Ctrl-C) before finishing

Only the standard library is imported here; each command imports what it needs.

The package is laid out by concern: ``_main`` (``main()``: parse, run, exit code),
``_parser`` (commands, options, help, unknown commands), ``_args`` (option values),
``_secrets`` (what is kept out of messages), ``_common`` (exit codes, the key),
``_serving`` (``--host``/``--port`` of the commands that serve), and one module per group
of commands: ``_credentials`` (jwt, token-request, request-token), ``_inspect`` (verify,
inspect), ``_emulator``, ``_docs`` and ``_demo``.
"""

from __future__ import annotations

from ._args import parse_duration as parse_duration
from ._common import EXIT_ABLY as EXIT_ABLY
from ._common import EXIT_INVALID as EXIT_INVALID
from ._common import EXIT_OK as EXIT_OK
from ._common import EXIT_USAGE as EXIT_USAGE
from ._main import main as main

__all__ = ["EXIT_ABLY", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main", "parse_duration"]
