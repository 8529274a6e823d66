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
    from datetime import datetime, timedelta
    from pathlib import Path
    from typing import Any, NoReturn, TextIO

    from .explain import Explanation
    from .keys import ApiKey, KeyRing

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
from the command line; a key ring (several keys, the signing key first, separated by
spaces or commas) from $ABLY_API_KEYS, or from that variable. {docs}"""
#: Where the help sends a reader: the package's Documentation URL, from its metadata
#: ([project.urls] in pyproject.toml), so that it is right wherever pip installed it.
DOCS_PLACEHOLDER = "{docs}"
#: Each command's examples, shown by its --help.
EXAMPLES = {
    "jwt": """\
examples:
  export ABLY_API_KEY='appId.keyId:...'     # the key, from the environment
  ably-authkit jwt --capability '{"chat:*":["publish","subscribe"]}' --client-id user-42
  ably-authkit jwt --capability '{"*":["*"]}' --ttl 30m --json""",
    "docs": """\
examples:
  ably-authkit docs                 # the guides, each with its title
  ably-authkit docs quickstart      # one guide, as Markdown
  ably-authkit docs cli | less""",
    "token-request": """\
examples:
  ably-authkit token-request --client-id user-42 --ttl 30m
  ably-authkit token-request --capability '{"chat:*":["subscribe"]}' | ably-authkit verify -""",
    "request-token": """\
examples (needs the network extra: pip install "ably-authkit[network]"):
  ably-authkit request-token --client-id user-42 --ttl 10m
  ably-authkit request-token --endpoint http://127.0.0.1:8123 --timeout 5s --json""",
    "verify": """\
examples:
  ably-authkit verify "$(ably-authkit jwt --capability '{"*":["*"]}')"
  ably-authkit token-request | ably-authkit verify --json -""",
    "inspect": """\
examples (no key needed):
  ably-authkit inspect "$JWT"
  curl -s https://example.com/auth/token-request | ably-authkit inspect --json -""",
    "emulator": """\
examples (needs the emulator extra: pip install "ably-authkit[emulator]"):
  ably-authkit emulator --port 8123         # then run the export line it prints""",
    "demo": """\
examples (needs the emulator extra: pip install "ably-authkit[emulator]"):
  ably-authkit demo --port 8000             # then open the URL it prints""",
}

_DURATION = re.compile(
    r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?",
    re.ASCII,
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# "appId.keyId:secret", also with a typo in it: anything of that shape is kept out of output.
_KEY_SHAPED = re.compile(r"[^\s:{}\[\]\"',]+\.[^\s:{}\[\]\"',]+:\S+")
# Options a user may try for the key (any case, - or _): refused with the reason.
_KEY_OPTIONS = frozenset(
    {"--key", "--secret", "--api-key", "--apikey", "--ably-key", "--ably-api-key", "--key-secret"}
)


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


def _timeout_arg(text: str) -> timedelta:
    spec = text.strip()
    if spec.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} has no unit; give a unit, such as 10s or 500ms (units: h, m, s, ms)"
        )
    timeout = _duration_arg(text)
    if not timeout:
        raise argparse.ArgumentTypeError("a timeout must be longer than 0s; give e.g. 10s")
    return timeout


def _client_id_arg(text: str) -> str:
    from ._checks import check_client_id
    from .errors import AuthKitError

    if not text:
        raise argparse.ArgumentTypeError(
            "is empty; leave --client-id out for an anonymous client, give '*' for a client "
            "that may take any id, or give the user's id"
        )
    try:
        return check_client_id(text)
    except AuthKitError as error:
        # The library names its parameter (client_id ...); argparse names the option.
        raise argparse.ArgumentTypeError(error.message.removeprefix("client_id ")) from None


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


def _documentation_line(*, command: bool) -> str:
    """Where the full documentation is, for the help's last line (a command's help has
    its examples above it, so it needs no pointer to them)."""
    import importlib.metadata

    try:
        urls = importlib.metadata.metadata("ably-authkit").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("documentation", "docs") and url.strip():
            return f"Documentation: {url.strip()}"
    guides = f"The guides are installed with the package: {PROG} docs lists them."
    if command:
        return guides
    return f"Each command's --help has examples: {PROG} COMMAND --help.\n{guides}"


class _Parser(argparse.ArgumentParser):
    """argparse, with anything key-shaped blanked out of its error messages."""

    secrets: tuple[str, ...] = ()

    def format_help(self) -> str:
        text = super().format_help()
        if DOCS_PLACEHOLDER in text:  # read only when help is shown: it costs a metadata scan
            line = _documentation_line(command=self.prog != PROG)
            text = text.replace(" " + DOCS_PLACEHOLDER if not line else DOCS_PLACEHOLDER, line)
        return text

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_redact(message, self.secrets)}\n")


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _may_be_secret(text: str) -> bool:
    """A key with a typo is still a secret, and so is a bare secret or token given by
    mistake: any word holding a colon or as long as a secret, unless it is JSON or a URL."""
    return (
        (":" in text or len(text) >= 24)
        and "://" not in text
        and not text.startswith(("{", "-"))
        and not any(char.isspace() for char in text)
    )


def _known_secrets(argv: Sequence[str]) -> tuple[str, ...]:
    """What argparse must not echo: arguments that may be a key, a secret or a token
    (also as an option's value, --name=value), anything key-shaped in any argument, and the
    keys (and their secrets) in the environment."""
    found: list[str] = []
    for arg in argv:
        value = arg
        if arg.startswith("-"):
            name, _, value = arg.partition("=")
            found += _KEY_SHAPED.findall(name)  # -kappId.keyId:secret
        if "://" in value:  # a URL: only its credentials, if it has any, are secret
            found.append(value.partition("://")[2].partition("/")[0].rpartition("@")[0])
            continue
        if _may_be_secret(value):
            found.append(value)
        found += _KEY_SHAPED.findall(value)
    found += [  # keys in the environment, also several in one variable (a key ring)
        part
        for value in os.environ.values()
        for part in value.replace(",", " ").split()
        if _KEY_SHAPED.fullmatch(part)
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
        grant.add_argument(
            "--client-id",
            metavar="ID",
            type=_client_id_arg,
            help="the identity the holder must use ('*': any it chooses)",
        )
        grant.add_argument("--ttl", metavar="DURATION", type=_duration_arg, help=ttl_help)
        return grant

    def add(name: str, help: str, parents: list[_Parser]) -> _Parser:
        sub: _Parser = commands.add_parser(
            name,
            help=help,
            description=help,
            parents=parents,
            epilog=f"{EXAMPLES[name]}\n\n{EXIT_CODES_HELP}",
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
        f"(default: ${ENDPOINT_ENV}, or the emulator at $ABLY_EMULATOR_HOST, "
        "else Ably's main endpoint)",
    )
    request_token.add_argument(
        "--query-time",
        action="store_true",
        help="ask Ably's clock first, for a machine whose clock is wrong",
    )
    request_token.add_argument(
        "--timeout", metavar="DURATION", type=_timeout_arg, help="request timeout (default: 10s)"
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
        "run the demo app on a local emulator and print its URL (Ctrl-C to stop)",
        [],
    )
    _listen_options(demo, port=8000)
    demo.add_argument(
        "--ttl",
        metavar="DURATION",
        type=_duration_arg,
        default=None,
        help="lifetime the page's client asks for, so that renewals come soon: 60s renews in "
        "place (AUTH) every 30 s, 30s is disconnected (40142) at expiry and renews (default: "
        "60s; whole seconds, up to 1h, the demo's grant)",
    )
    demo.set_defaults(run=_cmd_demo)

    docs = add("docs", "list the guides installed with the package, or print one", [])
    docs.add_argument("guide", nargs="?", metavar="GUIDE", help="a guide's name, e.g. quickstart")
    docs.set_defaults(run=_cmd_docs)
    return parser


def _guides() -> dict[str, Path]:
    """The guides (docs/*.md) by name: installed in the wheel as ``ably_authkit/_docs``,
    or beside the package in a checkout."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for folder in (here / "_docs", here.parent / "docs"):
        if folder.is_dir():
            return {path.stem: path for path in sorted(folder.glob("*.md"))}
    return {}


def _cmd_docs(args: argparse.Namespace) -> int:
    guides = _guides()
    if not guides:
        raise _UsageError("no guides are installed with this copy of ably-authkit")
    if args.guide is None:
        width = max(map(len, guides))
        for name, path in guides.items():
            first = path.read_text(encoding="utf-8").partition("\n")[0].lstrip("# ").strip()
            print(f"  {name:<{width}}  {first}")
        folder = next(iter(guides.values())).parent
        print(f"\n{PROG} docs GUIDE prints one (Markdown); they are in {folder}")
        return EXIT_OK
    guide = guides.get(args.guide.removesuffix(".md"))
    if guide is None:
        raise _UsageError(f"no guide named {args.guide[:40]!r}; choose one of: {', '.join(guides)}")
    sys.stdout.write(guide.read_text(encoding="utf-8"))
    return EXIT_OK


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
        option = arg.partition("=")[0].lower().replace("_", "-")
        if option in _KEY_OPTIONS:
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


def _load_key(args: argparse.Namespace) -> ApiKey | KeyRing:
    """The key in ``--key-env`` (default ``$ABLY_API_KEY``), or a key ring: several keys
    in that variable, or ``$ABLY_API_KEYS`` when ``$ABLY_API_KEY`` is not set. A ring
    signs with its first key and verifies with the key a credential names."""
    from .keys import KEYS_ENV, ApiKey, KeyRing

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


def _cmd_jwt(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .jwt_tokens import DEFAULT_JWT_TTL, mint_jwt
    from .keys import signing_key
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
            key_name=signing_key(key).name,
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
    from .endpoint.auth_endpoint import _endpoint_from_env
    from .rest import DEFAULT_TIMEOUT, request_token

    key = _load_key(args)
    endpoint = args.endpoint or _endpoint_from_env()
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


# A JWT's three parts are base64url; a JSON header starts "eyJ" ('{"'). An HS256 signature
# (the only algorithm of Ably JWTs) is 32 bytes: 43 characters.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_HS256_SIGNATURE_LENGTH = 43
# An opaque Ably token: an app-specific prefix, a dot, then base64 text.
_OPAQUE_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_+/=-]+", re.ASCII)
NOT_A_CREDENTIAL = (
    "that is not an Ably credential: not a JWT, not TokenRequest or TokenDetails JSON, "
    "and not an Ably token"
)


def _jwt_shape_problem(text: str) -> str | None:
    """Why ``text``, which looks like a JWT, cannot be one (cut short, a part missing)."""
    parts = text.split(".")
    if len(parts) != 3:
        return (
            f"the JWT is malformed: it has {len(parts)} part(s) where a JWT has 3 "
            "(header.payload.signature); it was probably cut short: copy it whole"
        )
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        if not part:
            return f"the JWT is malformed: its {name} is empty (a JWT is header.payload.signature)"
        if not _BASE64URL.fullmatch(part):
            return (
                f"the JWT is malformed: its {name} holds characters a JWT never does "
                "(only A-Z, a-z, 0-9, - and _)"
            )
    if len(parts[2]) != _HS256_SIGNATURE_LENGTH:
        return (
            f"the JWT is malformed: its signature has {len(parts[2])} characters where the "
            f"HS256 signature of an Ably JWT has {_HS256_SIGNATURE_LENGTH}; it was probably "
            "cut short: copy it whole"
        )
    return None


def _credential_kind(text: str) -> str:
    """``token_request``, ``token_details``, ``json`` (other JSON), ``jwt``, ``opaque``
    (an Ably token) or ``unknown``; raise ``MalformedTokenError`` for a broken JWT."""
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
    if text.startswith("eyJ") or text.count(".") == 2:
        problem = _jwt_shape_problem(text)
        if problem is not None:
            from .errors import MalformedTokenError

            raise MalformedTokenError(problem)
        return "jwt"
    if _OPAQUE_TOKEN.fullmatch(text):
        return "opaque"
    return "unknown"


def _cmd_verify(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from .errors import AuthKitError
    from .explain import explain
    from .jwt_tokens import verify_jwt
    from .token_requests import verify_token_request

    text = _read_token(args.token)
    key = _load_key(args)
    now = datetime.now(timezone.utc)
    try:
        kind = _credential_kind(text)
        if kind in ("token_details", "opaque"):
            raise _UsageError(
                "only Ably can check an Ably token (TokenDetails or its token string); verify "
                f"takes a JWT or a TokenRequest. Run '{PROG} inspect' to read what it says"
            )
        if kind == "unknown":
            from .errors import MalformedTokenError

            raise MalformedTokenError(f"{NOT_A_CREDENTIAL}; verify takes a JWT or TokenRequest")
        if kind == "jwt":
            verify_jwt(text, key, now=now)
        else:
            verify_token_request(text, key, now=now)
    except AuthKitError as error:
        if args.json:
            _print_json({"verified": False, "error": _error_json(error)})
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explain(text, key, now=now), json_output=args.json)


def _error_json(error: Any) -> dict[str, object]:
    """An error as Ably's error bodies hold it."""
    return {"message": error.message, "code": error.code, "statusCode": error.status_code}


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .errors import AuthKitError
    from .explain import explain

    text = _read_token(args.token)
    try:
        if _credential_kind(text) == "unknown":
            from .errors import MalformedTokenError

            raise MalformedTokenError(NOT_A_CREDENTIAL)
        explanation = explain(text)
    except AuthKitError as error:
        if args.json:
            _print_json({"error": _error_json(error)})
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explanation, json_output=args.json)


def _explanation_json(explanation: Explanation) -> dict[str, object]:
    """``explain()``'s facts under the names of Ably's wire form, as ``jwt --json`` and
    ``request-token --json`` print TokenDetails: camelCase, times in milliseconds."""
    from ._time import to_ms

    def ms(moment: datetime | None) -> int | None:
        return None if moment is None else to_ms(moment)

    return {
        "kind": explanation.kind,
        "keyName": explanation.key_name,
        "clientId": explanation.client_id,
        "capability": explanation.capability,
        "issued": ms(explanation.issued),
        "expires": ms(explanation.expires),
        "verified": explanation.verified,
        "problems": list(explanation.problems),
        "notes": list(explanation.notes),
    }


def _report(explanation: Explanation, *, json_output: bool) -> int:
    if json_output:
        _print_json(_explanation_json(explanation))
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

    from ._connect import js_snippet, python_snippet
    from .endpoint import EMULATOR_HOST_ENV
    from .rest import check_endpoint

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
        print("Point the library and the examples at it (AuthEndpoint.from_env reads these):")
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


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import serve  # a missing emulator extra: MissingExtraError, with the pip line

    undo = _stop_on_sigterm()
    try:
        serve(args.host, args.port, ttl=args.ttl)
    except _Stop:
        pass
    finally:
        undo()
    return EXIT_OK
