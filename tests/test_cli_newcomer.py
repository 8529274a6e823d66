"""What a newcomer trips on at the command line, answered where they trip: a command
under another name, a guide's short name, verify without a key, a port in use, no key
at all, and a key whose secret is far shorter than the ones Ably issues."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.cli import EXIT_OK, EXIT_USAGE, main
from ably_authkit.endpoint import AuthEndpoint
from ably_authkit.errors import InvalidApiKeyError

from .conftest import KEY_TEXT, SECRET

CHAT = '{"chat:*":["publish","subscribe"]}'


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)
    for name in ("ABLY_API_KEYS", "ABLY_ENDPOINT", "ABLY_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- a command under another name ------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("mint", "jwt"),
        ("explain", "inspect"),
        ("decode", "inspect"),
        ("check", "verify"),
        ("validate", "verify"),
        ("verfy", "verify"),
        ("jtw", "jwt"),
        ("token_request", "token-request"),
        ("tokenrequest", "token-request"),
        ("requesttoken", "request-token"),
        ("emulate", "emulator"),
        ("guides", "docs"),
    ],
)
def test_an_unknown_command_gets_the_one_meant(
    capsys: pytest.CaptureFixture[str], typed: str, meant: str
) -> None:
    code, out, err = run(capsys, typed, "--capability", CHAT)
    assert (code, out) == (EXIT_USAGE, "")
    assert f"unknown command '{typed}'; did you mean '{meant}'" in err
    assert f"ably-authkit {meant} --help" in err
    assert "invalid choice" not in err


def test_an_unknown_command_with_nothing_close_lists_the_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "frobnicate")
    assert code == EXIT_USAGE
    assert "unknown command 'frobnicate'" in err
    assert "did you mean" not in err
    assert "jwt, token-request, request-token, verify, inspect, emulator, demo, docs" in err


def test_help_as_a_command_points_to_the_help_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "help")
    assert code == EXIT_USAGE
    assert "ably-authkit --help" in err


def test_an_unknown_command_that_is_a_key_is_not_echoed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, f"appId.keyId:{SECRET}")
    assert code == EXIT_USAGE
    assert SECRET not in out + err


# -- guides by a short name ------------------------------------------------------------


@pytest.mark.parametrize(("typed", "guide"), [("quick", "quickstart"), ("rot", "rotation")])
def test_a_guide_is_found_by_a_unique_prefix(
    capsys: pytest.CaptureFixture[str], typed: str, guide: str
) -> None:
    from ably_authkit.cli._docs import _guides

    code, out, err = run(capsys, "docs", typed)
    assert (code, err) == (EXIT_OK, "")
    assert out == _guides()[guide].read_text(encoding="utf-8")


def test_an_ambiguous_guide_prefix_lists_the_candidates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "docs", "c")
    assert (code, out) == (EXIT_USAGE, "")
    assert "'c' starts the names of several guides: capabilities, chat, choosing, cli" in err
    code, _, err = run(capsys, "docs", "e")
    assert "emulator, errors" in err


def test_a_misspelt_guide_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "docs", "quikstart")
    assert (code, out) == (EXIT_USAGE, "")
    assert "no guide named 'quikstart'; did you mean 'quickstart'?" in err


# -- verify without a key --------------------------------------------------------------


def test_verify_without_a_key_points_to_inspect(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, key: ApiKey
) -> None:
    token = mint_jwt(key, capability=CHAT)
    monkeypatch.delenv("ABLY_API_KEY")
    code, out, err = run(capsys, "verify", token)
    assert (code, out) == (EXIT_USAGE, "")
    assert "ABLY_API_KEY is not set" in err
    assert "ably-authkit inspect" in err and "needs no key" in err
    # ... and inspect, as it says, reads the same token without one.
    code, out, _ = run(capsys, "inspect", token)
    assert code == EXIT_OK
    assert out.startswith("Ably JWT for key appId.keyId")


# -- no key at all: the same words as the library's own error ---------------------------


def _library_message(key_variable: str) -> tuple[str, str]:
    """AuthEndpoint.from_env's missing-key error: its first sentence (what to set), and
    the one that names the emulator, up to its Python-only alternative
    (from_env(emulator=True))."""
    with pytest.raises(InvalidApiKeyError) as raised:
        AuthEndpoint.from_env({}, key_variable=key_variable)
    message = raised.value.message
    found = re.fullmatch(
        r"(.*?)\. (For local development.*?)(?:, or build the endpoint.*)?", message
    )
    assert found is not None, message
    return found[1], found[2]


def _library_emulator_advice(key_variable: str) -> str:
    return _library_message(key_variable)[1]


@pytest.mark.parametrize("command", ["jwt", "token-request", "request-token", "verify"])
def test_a_missing_key_names_the_emulator_as_the_library_does(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.delenv("ABLY_API_KEY")
    argv = [command, "eyJx.eyJ.x"] if command == "verify" else [command, "--capability", CHAT]
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE
    first, advice = _library_message("ABLY_API_KEY")
    assert "run 'ably-authkit emulator'" in advice
    assert first + ". " in err
    assert advice in err
    assert "the environment variable ABLY_API_KEY is not set" in err
    assert "from the dashboard's API Keys tab" in err


def test_a_missing_key_in_another_variable_names_that_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "jwt", "--key-env", "STAGING_ABLY_KEY", "--capability", CHAT)
    assert code == EXIT_USAGE
    assert "the environment variable STAGING_ABLY_KEY is not set" in err
    assert _library_emulator_advice("STAGING_ABLY_KEY") in err


# -- a secret far shorter than Ably's ----------------------------------------------------

SHORT_SECRET = "tooShortSecret9"


@pytest.mark.parametrize("command", [["jwt", "--capability", CHAT], ["token-request"]])
def test_a_short_secret_gets_a_warning_not_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("ABLY_API_KEY", f"appId.keyId:{SHORT_SECRET}")
    code, out, err = run(capsys, *command)
    assert code == EXIT_OK
    assert out.strip()  # still signed
    assert err.startswith("ably-authkit: warning: ")
    assert "the secret of key appId.keyId is 15 characters" in err
    assert "Ably issues secrets of 43" in err
    assert SHORT_SECRET not in out + err
    assert SHORT_SECRET[:8] not in err


def test_a_short_secret_in_a_key_ring_is_named_by_its_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ABLY_API_KEY")
    monkeypatch.setenv("ABLY_API_KEYS", f"{KEY_TEXT} appId.oldKey:{SHORT_SECRET}")
    code, _, err = run(capsys, "token-request")
    assert code == EXIT_OK
    assert "the secret of key appId.oldKey is 15 characters" in err
    assert "appId.keyId" not in err
    assert SHORT_SECRET not in err


def test_a_secret_of_ablys_length_gets_no_warning(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ably_length = "A" * 20 + "b" * 20 + "123"  # 43 characters, as Ably issues
    monkeypatch.setenv("ABLY_API_KEY", f"appId.keyId:{ably_length}")
    code, _, err = run(capsys, "token-request")
    assert (code, err) == (EXIT_OK, "")


# -- a port in use ------------------------------------------------------------------------


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("command", ["emulator", "demo"])
def test_a_port_in_use_says_so_and_suggests_another(
    capsys: pytest.CaptureFixture[str], taken_port: int, command: str
) -> None:
    code, out, err = run(capsys, command, "--port", str(taken_port))
    assert (code, out) == (EXIT_USAGE, "")
    assert f"port {taken_port} on 127.0.0.1 is already in use" in err
    assert "--port 0" in err
    suggested = re.search(r"--port (\d+) \(free now\)", err)
    assert suggested is not None, err
    with socket.socket() as probe:  # the port it suggests is one it could listen on
        probe.bind(("127.0.0.1", int(suggested[1])))
    assert "Traceback" not in err and "Errno" not in err


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
@pytest.mark.parametrize("command", ["emulator", "demo"])
def test_a_port_out_of_range_is_refused_in_plain_words(
    capsys: pytest.CaptureFixture[str], command: str, port: str
) -> None:
    code, out, err = run(capsys, command, "--port", port)
    assert (code, out) == (EXIT_USAGE, "")
    assert "argument --port: give a port number from 1 to 65535, or 0 for any free port" in err
    assert "int" not in err


def test_a_demo_port_in_use_is_one_line_in_a_real_process(taken_port: int) -> None:
    """No server log, no traceback: the port is checked before anything starts."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", str(taken_port)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
        env={k: v for k, v in os.environ.items() if not k.startswith("ABLY_")},
    )
    assert (done.returncode, done.stdout) == (EXIT_USAGE, "")
    assert done.stderr.startswith(
        f"ably-authkit: error: port {taken_port} on 127.0.0.1 is already in use"
    )
    assert len(done.stderr.splitlines()) == 1, done.stderr
