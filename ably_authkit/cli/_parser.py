"""The ``ably-authkit`` argument parser: its commands, options, help and examples."""

from __future__ import annotations

import argparse
import sys

from ._args import (
    _capability_arg,
    _chat_arg,
    _client_id_arg,
    _duration_arg,
    _env_name_arg,
    _timeout_arg,
)
from ._common import DEFAULT_KEY_ENV, ENDPOINT_ENV, EXIT_USAGE, PROG
from ._credentials import _cmd_jwt, _cmd_request_token, _cmd_token_request
from ._demo import _cmd_demo
from ._docs import _cmd_docs
from ._emulator import _cmd_emulator
from ._inspect import _cmd_inspect, _cmd_verify
from ._secrets import _redact
from ._serving import _listen_options, _port_free_first

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the credential is invalid (verify failed, or inspect found a problem)
  2    usage error (bad option, missing or malformed key, TTL without a unit, ...)
  3    Ably or the endpoint refused the request, or could not be reached
  130  interrupted (Ctrl-C)

The API key is read from $ABLY_API_KEY (or the variable named by --key-env), never
from the command line; a key ring (several keys, the signing key first, separated by
spaces or commas) from $ABLY_API_KEYS, or from that variable. Set it without typing
the key, which the shell's history would keep: from a file or a secret manager,
  export ABLY_API_KEY="$(cat ~/.ably/key)"
or pasted at a prompt that shows nothing,
  read -rs ABLY_API_KEY; export ABLY_API_KEY
{docs}"""
#: Where the help sends a reader: the package's Documentation URL, from its metadata
#: ([project.urls] in pyproject.toml), so that it is right wherever pip installed it.
DOCS_PLACEHOLDER = "{docs}"
#: Each command's examples, shown by its --help.
EXAMPLES = {
    "jwt": """\
examples:
  export ABLY_API_KEY="$(cat ~/.ably/key)"  # the key, from a file: never typed
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
    #: The top level's commands, in the order of its help.
    commands: tuple[str, ...] = ()

    def format_help(self) -> str:
        text = super().format_help()
        if DOCS_PLACEHOLDER in text:  # read only when help is shown: it costs a metadata scan
            line = _documentation_line(command=self.prog != PROG)
            text = text.replace(" " + DOCS_PLACEHOLDER if not line else DOCS_PLACEHOLDER, line)
        return text

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_redact(message, self.secrets)}\n")

    def check_command(self, argv: Sequence[str]) -> None:
        """Refuse an unknown COMMAND with the one that was probably meant, where argparse
        would say only 'invalid choice'. The top level takes no option with a value, so
        the first argument that is not an option is the command."""
        word = next((arg for arg in argv if not arg.startswith("-")), None)
        if word is not None and word not in self.commands:
            self.error(_unknown_command(word, self.commands))


#: Words a newcomer tries for a command, from other tools and from the docs' own verbs.
COMMAND_ALIASES = {
    "mint": "jwt",
    "explain": "inspect",
    "decode": "inspect",
    "check": "verify",
    "validate": "verify",
    "guide": "docs",
    "guides": "docs",
}


def _unknown_command(word: str, commands: Sequence[str]) -> str:
    """What to say of ``word``, which names no command: the command meant (an alias, or
    a close spelling), or the list of commands."""
    import difflib

    if word.lower() == "help":
        return (
            f"unknown command 'help'; run '{PROG} --help' for the commands, or "
            f"'{PROG} COMMAND --help' for one command's options and examples"
        )
    spelt = word.lower().replace("_", "-")
    meant = COMMAND_ALIASES.get(spelt) or next(
        iter(difflib.get_close_matches(spelt, commands, n=1, cutoff=0.6)), None
    )
    if meant is None:  # also without dashes: tokenrequest, requesttoken
        bare = {command.replace("-", ""): command for command in commands}
        close = difflib.get_close_matches(spelt.replace("-", ""), bare, n=1, cutoff=0.8)
        meant = bare[close[0]] if close else None
    if meant is not None:
        return (
            f"unknown command {word!r}; did you mean {meant!r}? "
            f"('{PROG} {meant} --help' shows its options and examples)"
        )
    return f"unknown command {word!r}; the commands are: {', '.join(commands)} ('{PROG} --help')"


def _build_parser() -> _Parser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description="Mint, request, verify and explain Ably credentials.",
        epilog=EXIT_CODES_HELP,
        formatter_class=formatter,
        allow_abbrev=False,
    )
    from ably_authkit import __version__

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
            "--chat",
            metavar="ROOM=FEATURES",
            type=_chat_arg,
            action="append",
            help="instead of --capability: an Ably Chat room (or pattern such as 'support:*') "
            "and its features, comma-separated, or the preset member or moderator; repeat "
            "for more rooms, e.g. --chat 'support:*=moderator' --chat lobby=receive,history",
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
        parser.commands += (name,)
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
    emulator.add_argument(
        "--allow-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        dest="allowed_origins",
        help="a web page's origin (https://app.example.com) whose requests the emulator takes "
        "besides pages on this machine's loopback; repeat for more (default: loopback pages "
        "only)",
    )
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
    demo.set_defaults(run=_port_free_first(_cmd_demo))

    docs = add("docs", "list the guides installed with the package, or print one", [])
    docs.add_argument("guide", nargs="?", metavar="GUIDE", help="a guide's name, e.g. quickstart")
    docs.set_defaults(run=_cmd_docs)
    return parser
