"""Keys stay out of shell history and out of error messages.

- What the help and the docs tell a reader to type reads the key from a file (or
  prompts for it): a key typed on a command line, ``export ABLY_API_KEY='appId...'``
  included, is kept in the shell's history.
- A secret-looking string given inside ``--capability`` (a key, or a long base64 secret,
  as the whole text, a resource or an operation) is described in the error, never
  echoed: the library's capability messages quote the bad value, as they should for a
  channel name or an operation.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ably_authkit.cli import EXIT_USAGE, main

from .conftest import KEY_TEXT

ROOT = Path(__file__).resolve().parent.parent
#: A secret in no environment variable, so that nothing but the CLI's own care hides it.
NEW_SECRET = "c2VjcmV0LW5vdC10by1iZS1lY2hvZWQtZXZlci0xMjM0NTY3"
NEW_KEY = f"appId.keyId:{NEW_SECRET}"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)


# -- what the help and the docs say to type ----------------------------------------------

#: A shell line that puts a key in a variable: NAME=... where NAME ends in KEY or KEYS.
_ASSIGNS_A_KEY = re.compile(r"\b[A-Z_]*KEYS?=(\S*)")
#: The ways of setting it that keep the key off the command line: the output of a command
#: (a file's, a secret manager's), or a silent prompt.
_FROM_A_FILE = ('"$(cat ', "read -rs ")


def _typed_lines(markdown: str) -> list[str]:
    """The lines a reader types: the ``$ `` lines of console blocks."""
    lines = []
    for block in re.findall(r"```console\n(.*?)```", markdown, re.DOTALL):
        lines += [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return lines


def _key_setting_problems(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        for value in _ASSIGNS_A_KEY.findall(line)
        if not value.startswith('"$(') and "read -rs" not in line
    ]


def _readme_command_line_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## Command line\n(.*?)^## ", readme, re.MULTILINE | re.DOTALL)
    assert found is not None
    return found[1]


@pytest.mark.parametrize(
    "page", ["docs/cli.md", "README.md#command-line"], ids=["cli.md", "README-command-line"]
)
def test_the_docs_never_have_a_key_typed_into_the_shell(page: str) -> None:
    text = (
        _readme_command_line_section()
        if page.startswith("README")
        else (ROOT / page).read_text(encoding="utf-8")
    )
    typed = _typed_lines(text)
    assert typed, page
    assert _key_setting_problems(typed) == []
    assert any(way in line for line in typed for way in _FROM_A_FILE), page


def test_the_help_says_to_read_the_key_from_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["jwt", "--help"], ["token-request", "--help"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "export ABLY_API_KEY='" not in out, argv
        assert _key_setting_problems(out.splitlines()) == [], argv
    main(["--help"])
    out = capsys.readouterr().out
    assert 'export ABLY_API_KEY="$(cat ~/.ably/key)"' in out
    assert "read -rs ABLY_API_KEY" in out
    main(["jwt", "--help"])
    assert 'export ABLY_API_KEY="$(cat ~/.ably/key)"' in capsys.readouterr().out


def test_a_key_option_says_how_to_set_the_variable_without_typing_the_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["jwt", "--capability", '{"*":["*"]}', "--key", NEW_KEY])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "does not take a key on the command line" in err
    assert 'export ABLY_API_KEY="$(cat ~/.ably/key)"' in err
    assert NEW_SECRET not in err


# -- a secret inside --capability ---------------------------------------------------------

BASE64_SECRET = "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u"  # 48 characters


@pytest.mark.parametrize(
    ("capability", "described"),
    [
        (NEW_KEY, "looks like an API key (appId.keyId:secret), not a capability"),
        (f"'{NEW_KEY}'", "looks like an API key (appId.keyId:secret), not a capability"),
        (f'{{"chat:*":["{NEW_KEY}"]}}', "(for 'chat:*') is not an Ably operation"),
        (f'{{"chat:*":"{NEW_KEY}"}}', "the operations for 'chat:*' must be a JSON array"),
        (f'{{"{NEW_KEY}":["pub"]}}', "is not an Ably operation. Did you mean 'publish'?"),
        (f'{{"chat:*":["subscribe"],"x":"{NEW_KEY}"}}', "must be a JSON array"),
        (f'{{"chat:*":["{BASE64_SECRET}"]}}', "(for 'chat:*') is not an Ably operation"),
        (f'{{"{BASE64_SECRET}":["pub"]}}', "Did you mean 'publish'?"),
    ],
    ids=[
        "whole-key",
        "quoted-key",
        "key-as-operation",
        "key-as-operations",
        "key-as-resource",
        "key-as-second-value",
        "base64-operation",
        "base64-resource",
    ],
)
@pytest.mark.parametrize("command", ["jwt", "token-request"])
def test_a_secret_in_a_capability_is_described_not_echoed(
    capsys: pytest.CaptureFixture[str], command: str, capability: str, described: str
) -> None:
    code = main([command, "--capability", capability])
    out, err = capsys.readouterr()
    assert (code, out) == (EXIT_USAGE, "")
    assert "argument --capability: " in err
    assert described in err
    assert NEW_SECRET not in err and BASE64_SECRET not in err
    assert NEW_SECRET[:12] not in err and BASE64_SECRET[:12] not in err
    assert "<redacted>" not in err  # described, not blanked
    if "looks like an API key" not in described:
        assert "not shown" in err
        assert "never a key" in err


@pytest.mark.parametrize(
    ("capability", "echoed"),
    [
        ('{"chat:*":["pub"]}', "'pub' (for 'chat:*')"),
        ('{"private.room:1":["pub"]}', "'pub' (for 'private.room:1')"),
        ('{"notifications-for-everyone-in-team":["pub"]}', "'notifications-for-everyone-in-team'"),
    ],
)
def test_a_capability_error_still_quotes_what_is_no_secret(
    capsys: pytest.CaptureFixture[str], capability: str, echoed: str
) -> None:
    """A channel name or an operation is what the reader needs to see to fix it."""
    code = main(["jwt", "--capability", capability])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert echoed in err
    assert "not shown" not in err
