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
"""

from __future__ import annotations

import argparse
import os
import re
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import timedelta
    from typing import Any, NoReturn, TextIO

    from .explain import Explanation
    from .keys import ApiKey

__all__ = ["EXIT_ABLY", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main", "parse_duration"]

PROG = "ably-authkit"
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_ABLY = 3
EXIT_INTERRUPTED = 130

DEFAULT_KEY_ENV = "ABLY_API_KEY"
ENDPOINT_ENV = "ABLY_ENDPOINT"

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the credential is invalid (verify failed, or inspect found a problem)
  2    usage error (bad option, missing or malformed key, TTL without a unit, ...)
  3    Ably or the endpoint refused the request, or could not be reached
  130  interrupted (Ctrl-C)

The API key is read from $ABLY_API_KEY (or the variable named by --key-env), never
from the command line. See docs/cli.md for examples."""

_DURATION = re.compile(
    r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?",
    re.ASCII,
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# "appId.keyId:secret", also with a typo in it: anything of that shape is kept out of output.
_KEY_SHAPED = re.compile(r"[^\s:{}\[\]\"',]+\.[^\s:{}\[\]\"',]+:\S+")


class _UsageError(Exception):
    """A command-line mistake the library does not see (exit 2)."""


class _Stop(BaseException):
    """Raised by the SIGTERM handler so that long-running commands clean up and exit 0."""


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1h30m"``, ``"500ms"`` → ``timedelta``.

    A bare number is refused, as the library refuses one: Ably's SDKs read a number as
    milliseconds and JWT claims as seconds, so ``3600`` is ambiguous.
    """
    from datetime import timedelta

    spec = text.strip().lower()
    if spec.isdigit():
        raise ValueError(
            f"{text!r} has no unit; write it with one, e.g. 90s, 30m, 1h or 1h30m "
            "(units: h, m, s, ms). A bare number is refused because Ably's SDKs read it as "
            "milliseconds and JWT claims as seconds"
        )
    match = _DURATION.fullmatch(spec)
    if not spec or match is None:
        raise ValueError(
            f"{text!r} is not a duration; write e.g. 90s, 30m, 1h or 1h30m (units: h, m, s, ms)"
        )
    parts = {unit: int(value or 0) for unit, value in match.groupdict().items()}
    return timedelta(
        hours=parts["h"], minutes=parts["m"], seconds=parts["s"], milliseconds=parts["ms"]
    )


def _duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _capability_arg(text: str) -> str:
    from .capability import Capability
    from .errors import AuthKitError

    try:
        return Capability.parse(text).to_json()
    except AuthKitError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _env_name_arg(text: str) -> str:
    if not _ENV_NAME.fullmatch(text):
        # Not echoed: the usual mistake here is pasting the key itself.
        raise argparse.ArgumentTypeError(
            "takes the NAME of an environment variable (letters, digits and _), such as "
            "MY_ABLY_KEY, not a key; put the key in that variable"
        )
    return text


class _Parser(argparse.ArgumentParser):
    """argparse, with anything key-shaped blanked out of its error messages."""

    secrets: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_redact(message, self.secrets)}\n")


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _known_secrets(argv: Sequence[str]) -> tuple[str, ...]:
    """What argparse must not echo: arguments that may be a key, a secret or a token, and
    the keys (and their secrets) in the environment."""
    # A key with a typo is still a secret, and so is a bare secret or token given by mistake:
    # any word holding a colon or as long as a secret, unless it is JSON, a URL or an option.
    found = [
        arg
        for arg in argv
        if (":" in arg or len(arg) >= 24)
        and "://" not in arg
        and not arg.startswith(("{", "-"))
        and not any(char.isspace() for char in arg)
    ]
    found += [
        value.strip() for value in os.environ.values() if _KEY_SHAPED.fullmatch(value.strip())
    ]
    found += [text.rpartition(":")[2] for text in found]
    return tuple(sorted({item for item in found if len(item) >= 8}, key=len, reverse=True))


def _build_parser() -> _Parser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Mint, request, verify and explain Ably credentials.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    key_options = _Parser(add_help=False, allow_abbrev=False)
    key_options.add_argument(
        "--key-env",
        metavar="NAME",
        type=_env_name_arg,
        default=DEFAULT_KEY_ENV,
        help=f"environment variable holding the API key (default: {DEFAULT_KEY_ENV})",
    )
    output = _Parser(add_help=False, allow_abbrev=False)
    output.add_argument("--json", action="store_true", help="machine-readable JSON output")

    def grant_options(capability_help: str, ttl_help: str) -> _Parser:
        grant = _Parser(add_help=False, allow_abbrev=False)
        grant.add_argument(
            "--capability", metavar="JSON", type=_capability_arg, help=capability_help
        )
        grant.add_argument("--client-id", metavar="ID", help="the identity the holder must use")
        grant.add_argument("--ttl", metavar="DURATION", type=_duration_arg, help=ttl_help)
        return grant

    def add(name: str, help: str, parents: list[_Parser]) -> _Parser:
        sub: _Parser = commands.add_parser(
            name,
            help=help,
            description=help,
            parents=parents,
            epilog=EXIT_CODES_HELP,
            formatter_class=formatter,
            allow_abbrev=False,
        )
        return sub

    jwt = add(
        "jwt",
        "mint an Ably JWT (prints the bare token)",
        [
            key_options,
            output,
            grant_options(
                'required, e.g. \'{"chat:*":["publish","subscribe"]}\'',
                "lifetime, e.g. 1h, 30m, 90s, 1h30m (default: 1h)",
            ),
        ],
    )
    jwt.set_defaults(run=_cmd_jwt)

    token_request = add(
        "token-request",
        "sign a TokenRequest (prints its wire JSON)",
        [
            key_options,
            output,
            grant_options(
                "JSON capability (default: omitted, so the token gets all of the key's)",
                "token lifetime, e.g. 1h, 30m (default: omitted, so Ably gives 1h)",
            ),
        ],
    )
    token_request.set_defaults(run=_cmd_token_request)

    request_token = add(
        "request-token",
        "request a token from Ably (prints TokenDetails JSON)",
        [
            key_options,
            output,
            grant_options(
                "JSON capability (default: omitted, so the token gets all of the key's)",
                "token lifetime, e.g. 1h, 30m (default: omitted, so Ably gives 1h)",
            ),
        ],
    )
    request_token.add_argument(
        "--endpoint",
        metavar="HOST_OR_URL",
        help=f"Ably endpoint: a host, or a URL such as http://127.0.0.1:8123 "
        f"(default: ${ENDPOINT_ENV} if set, else Ably's main endpoint)",
    )
    request_token.add_argument(
        "--query-time",
        action="store_true",
        help="ask Ably's clock first, for a machine whose clock is wrong",
    )
    request_token.add_argument(
        "--timeout", metavar="DURATION", type=_duration_arg, help="request timeout (default: 10s)"
    )
    request_token.set_defaults(run=_cmd_request_token)

    verify = add(
        "verify",
        "check a JWT or TokenRequest JSON against the key (exit 1 if it fails)",
        [key_options, output],
    )
    verify.add_argument("token", metavar="TOKEN", help="a JWT or TokenRequest JSON; - reads stdin")
    verify.set_defaults(run=_cmd_verify)

    inspect = add(
        "inspect",
        "explain any credential without a key (exit 1 if it has a problem)",
        [output],
    )
    inspect.add_argument(
        "token",
        metavar="TOKEN",
        help="a JWT, TokenRequest or TokenDetails JSON, or an Ably token; - reads stdin",
    )
    inspect.set_defaults(run=_cmd_inspect)

    emulator = add(
        "emulator",
        "run a local Ably emulator and print a throwaway key for it (Ctrl-C to stop)",
        [],
    )
    _listen_options(emulator, port=8123)
    emulator.set_defaults(run=_cmd_emulator)

    demo = add(
        "demo",
        "run the FastAPI example app on a local emulator and print its URL (Ctrl-C to stop)",
        [],
    )
    _listen_options(demo, port=8000)
    demo.set_defaults(run=_cmd_demo)
    return parser


def _listen_options(command: argparse.ArgumentParser, *, port: int) -> None:
    """``--host`` and ``--port`` of a command that serves on 127.0.0.1 by default."""
    command.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    command.add_argument("--port", type=int, default=port, help=f"port (default: {port})")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ably-authkit`` with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    secrets = _known_secrets(args_list)
    _Parser.secrets = secrets
    for arg in args_list:
        if arg == "--" or not arg.startswith("-"):
            continue
        option = arg.partition("=")[0]
        if option in ("--key", "--secret", "--api-key"):
            return _fail(
                f"{PROG} does not take a key on the command line (it would be kept in your "
                f"shell history and shown in the process list); put it in ${DEFAULT_KEY_ENV}, "
                "or in another variable named with --key-env NAME",
                EXIT_USAGE,
            )
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit:  # --help, --version, or a usage error already printed
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    from .errors import AblyApiError, AblyConnectionError, AuthKitError

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


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def _with_code(error: Any) -> str:
    """The message, and Ably's code where Ably (or a verifier acting as Ably) refused."""
    from .errors import AblyApiError, TokenError

    message: str = error.message
    refused = isinstance(error, (AblyApiError, TokenError))
    if refused and error.code is not None and str(error.code) not in message:
        message += f" (Ably error {error.code})"
    return message


def _load_key(args: argparse.Namespace) -> ApiKey:
    from .keys import ApiKey

    return ApiKey.from_env(args.key_env)


def _print_json(value: object, out: TextIO | None = None) -> None:
    import json

    print(json.dumps(value, ensure_ascii=False, indent=2), file=out or sys.stdout)


def _cmd_jwt(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .jwt_tokens import DEFAULT_JWT_TTL, mint_jwt
    from .token_details import TokenDetails

    key = _load_key(args)
    if args.capability is None:
        raise _UsageError(
            "jwt needs --capability: a JWT always states what it allows, e.g. "
            '--capability \'{"chat:*":["publish","subscribe"]}\' (\'{"*":["*"]}\' for everything '
            "the key may do)"
        )
    ttl = DEFAULT_JWT_TTL if args.ttl is None else args.ttl
    now = datetime.now(timezone.utc).replace(microsecond=0)  # a JWT's iat is whole seconds
    token = mint_jwt(key, capability=args.capability, client_id=args.client_id, ttl=ttl, now=now)
    if args.json:
        details = TokenDetails(
            token=token,
            issued=now,
            expires=now + ttl,
            capability=args.capability,
            client_id=args.client_id,
            key_name=key.name,
        )
        _print_json(details.to_dict())
    else:
        print(token)
    return EXIT_OK


def _cmd_token_request(args: argparse.Namespace) -> int:
    from .token_requests import create_token_request

    key = _load_key(args)
    request = create_token_request(
        key, capability=args.capability, client_id=args.client_id, ttl=args.ttl
    )
    if args.json:
        _print_json(request.to_dict())
    else:
        print(request.to_json())
    return EXIT_OK


def _cmd_request_token(args: argparse.Namespace) -> int:
    from .rest import DEFAULT_TIMEOUT, request_token

    key = _load_key(args)
    endpoint = args.endpoint or os.environ.get(ENDPOINT_ENV) or None
    details = request_token(
        key,
        capability=args.capability,
        client_id=args.client_id,
        ttl=args.ttl,
        endpoint=endpoint,
        query_time=args.query_time,
        timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
    )
    if args.json:
        _print_json(details.to_dict())
    else:
        from ._json import dumps_compact

        print(dumps_compact(details.to_dict()))
    return EXIT_OK


def _read_token(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    text = text.strip()
    if not text:
        raise _UsageError("TOKEN is empty; give a JWT or JSON, or - to read it from stdin")
    if (
        not text.startswith("{")
        and text.count(":") == 1
        and not any(char.isspace() for char in text)
    ):
        raise _UsageError(
            "TOKEN looks like an API key, not a credential; keep keys out of command lines "
            f"(put it in ${DEFAULT_KEY_ENV}) and give a JWT or TokenRequest here"
        )
    return text


def _credential_kind(text: str) -> str:
    if text.startswith("{"):
        from ._json import loads_strict

        try:
            data = loads_strict(text)
        except (ValueError, RecursionError):
            return "json"
        if isinstance(data, dict) and ("mac" in data or "nonce" in data):
            return "token_request"
        if isinstance(data, dict) and "token" in data:
            return "token_details"
        return "json"
    if text.count(".") == 2:
        return "jwt"
    return "opaque"


def _cmd_verify(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .errors import AuthKitError
    from .explain import explain
    from .jwt_tokens import verify_jwt
    from .token_requests import verify_token_request

    text = _read_token(args.token)
    key = _load_key(args)
    kind = _credential_kind(text)
    if kind in ("token_details", "opaque"):
        raise _UsageError(
            "only Ably can check an Ably token (TokenDetails or its token string); verify "
            f"takes a JWT or a TokenRequest. Run '{PROG} inspect' to read what it says"
        )
    now = datetime.now(timezone.utc)
    try:
        if kind == "jwt":
            verify_jwt(text, key, now=now)
        else:
            verify_token_request(text, key, now=now)
    except AuthKitError as error:
        if args.json:
            _print_json(
                {"verified": False, "error": {"code": error.code, "message": error.message}}
            )
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explain(text, key, now=now), json_output=args.json)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .errors import AuthKitError
    from .explain import explain

    text = _read_token(args.token)
    try:
        explanation = explain(text)
    except AuthKitError as error:
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explanation, json_output=args.json)


def _report(explanation: Explanation, *, json_output: bool) -> int:
    if json_output:
        _print_json(explanation.to_dict())
    else:
        print(explanation)
    return EXIT_OK if explanation.ok else EXIT_INVALID


def _stop_on_sigterm() -> Callable[[], None]:
    """Turn SIGTERM into :class:`_Stop` in the main thread; return the undo."""
    import signal

    def handler(signum: int, frame: object) -> None:
        raise _Stop

    previous = signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo


def _start_emulator(host: str, port: int) -> Any:
    try:
        from .testing import AblyEmulator
    except ImportError as error:
        raise _UsageError(
            f"the emulator needs the 'emulator' extra ({error.name} is missing): "
            "pip install 'ably-authkit[emulator]'"
        ) from None
    emulator = AblyEmulator(host=host, port=port)
    try:
        emulator.start()
    except OSError as error:
        raise _UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return emulator


def _cmd_emulator(args: argparse.Namespace) -> int:
    import shlex

    emulator = _start_emulator(args.host, args.port)
    undo = _stop_on_sigterm()
    try:
        key = emulator.create_key()
        # This key exists only in this local emulator, which forgets it on exit: printing
        # it is the point of the command (every other command keeps secrets out of output).
        key_text = f"{key.name}:{key.secret}"
        print(f"Ably emulator listening on {emulator.url} (Ctrl-C to stop)")
        print(f"API key (local and throwaway): {key_text}")
        print()
        print("Point the library and the examples at it:")
        print(
            f"  export {DEFAULT_KEY_ENV}={shlex.quote(key_text)} "
            f"{ENDPOINT_ENV}={shlex.quote(emulator.url)}",
            flush=True,
        )
        emulator.wait()
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        undo()
        emulator.stop()
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    import importlib
    import threading
    import time

    # The examples live beside the package in a checkout, not inside it: import them from
    # the current directory (a console script's sys.path does not hold it).
    here = os.getcwd()
    if os.path.isdir(os.path.join(here, "examples", "fastapi_app")) and here not in sys.path:
        sys.path.insert(0, here)
    try:
        create_app = importlib.import_module("examples.fastapi_app.app").create_app
    except ImportError as error:
        if error.name is not None and not error.name.startswith("examples"):
            raise _UsageError(
                f"the demo needs the 'examples' extra ({error.name} is missing): "
                "pip install 'ably-authkit[examples,emulator]'"
            ) from None
        raise _UsageError(
            "the demo runs from a checkout of the repository: cd into it (the directory "
            f"holding examples/) and run '{PROG} demo' again"
        ) from None
    import uvicorn

    from .endpoint import AuthEndpoint

    emulator = _start_emulator("127.0.0.1", 0)
    undo = _stop_on_sigterm()
    auth: AuthEndpoint | None = None
    server: Any = None
    thread: threading.Thread | None = None
    try:
        auth = AuthEndpoint(emulator.create_key(), endpoint=emulator.url, clock=emulator.now)
        config = uvicorn.Config(
            create_app(auth), host=args.host, port=args.port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="ably-authkit-demo", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise _UsageError(f"the demo app could not start on {args.host}:{args.port}")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]  # the one chosen for --port 0
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Demo app: http://{host}:{port}/ (Ctrl-C to stop)")
        print(f"Ably emulator behind it: {emulator.url}", flush=True)
        while thread.is_alive():
            thread.join(0.2)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        undo()
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        if auth is not None:
            auth.close()
        emulator.stop()
    return EXIT_OK
