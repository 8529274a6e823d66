"""The ``ably-authkit`` command line: in process through ``main(argv)`` for speed, and as
real processes (``python -m ably_authkit`` and the installed console script) where the
process itself matters: exit codes, the emulator and the demo servers, signals."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest

from ably_authkit import (
    ApiKey,
    TokenDetails,
    create_token_request,
    mint_jwt,
    request_token,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.chat import MEMBER, MODERATOR, chat_capability
from ably_authkit.cli import EXIT_ABLY, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main, parse_duration
from ably_authkit.endpoint import AuthEndpoint
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, OTHER_SECRET, SECRET, tampered

ROOT = Path(__file__).resolve().parent.parent
CHAT = '{"chat:*":["publish","subscribe"]}'


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)
    monkeypatch.delenv("ABLY_ENDPOINT", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def emulator() -> Iterator[AblyEmulator]:
    with AblyEmulator() as emu:
        yield emu


# -- jwt -------------------------------------------------------------------------------


def test_jwt_prints_a_bare_token_that_verifies(
    capsys: pytest.CaptureFixture[str], key: ApiKey
) -> None:
    code, out, err = run(
        capsys, "jwt", "--capability", CHAT, "--client-id", "user-42", "--ttl", "1h30m"
    )
    assert (code, err) == (EXIT_OK, "")
    token = out.strip()
    assert out == token + "\n"
    claims = verify_jwt(token, key)
    assert claims.client_id == "user-42"
    assert claims.capability.to_json() == '{"chat:*":["publish","subscribe"]}'
    assert claims.ttl == timedelta(hours=1, minutes=30)
    decoded = pyjwt.decode(token, SECRET, algorithms=["HS256"])
    assert decoded["x-ably-clientId"] == "user-42"
    assert pyjwt.get_unverified_header(token)["kid"] == "appId.keyId"


def test_jwt_json_is_token_details(capsys: pytest.CaptureFixture[str], key: ApiKey) -> None:
    code, out, _ = run(capsys, "jwt", "--capability", CHAT, "--ttl", "90s", "--json")
    assert code == EXIT_OK
    details = TokenDetails.from_dict(json.loads(out))
    assert details.ttl == timedelta(seconds=90)
    assert details.key_name == "appId.keyId"
    claims = verify_jwt(details.token, key)
    assert (claims.issued, claims.expires) == (details.issued, details.expires)


def test_docs_lists_and_prints_the_guides(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "docs")
    assert code == EXIT_OK
    assert re.search(r"^  quickstart +Quick start$", out, re.MULTILINE)
    code, out, _ = run(capsys, "docs", "testing")
    assert code == EXIT_OK
    assert out == (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    code, out, err = run(capsys, "docs", "nope")
    assert (code, out) == (EXIT_USAGE, "")
    assert "no guide named 'nope'; choose one of: capabilities," in err


def test_jwt_needs_a_capability(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "jwt")
    assert (code, out) == (EXIT_USAGE, "")
    assert "jwt needs --capability" in err


def test_chat_builds_the_capability_from_rooms_and_features(
    capsys: pytest.CaptureFixture[str], key: ApiKey
) -> None:
    """--chat ROOM=FEATURES, repeated: the same capability chat_capability() makes, a room
    given twice getting both lists, presets by name, for the three signing commands."""
    chat = ["--chat", "support:*=moderator", "--chat", "lobby=receive,history"]
    chat += ["--chat", "lobby=typing", "--client-id", "mod"]
    expected = chat_capability({"support:*": MODERATOR, "lobby": {"receive", "history", "typing"}})
    code, out, err = run(capsys, "jwt", *chat)
    assert (code, err) == (EXIT_OK, "")
    assert verify_jwt(out.strip(), key).capability == expected
    code, out, err = run(capsys, "token-request", *chat)
    assert (code, err) == (EXIT_OK, "")
    assert verify_token_request(out, key).capability == expected.to_json()
    code, out, err = run(capsys, "jwt", "--chat", "support:T-1=member")
    assert verify_jwt(out.strip(), key).capability == chat_capability({"support:T-1": MEMBER})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--chat", "lobby=membr"], "or a preset: member, moderator. Did you mean the preset"),
        (["--chat", "lobby=sned"], "Did you mean 'send'?"),
        (["--chat", "lobby"], "is not ROOM=FEATURES"),
        (["--chat", "lobby::$chat=member"], "Give the room name, not the channel name"),
        (["--chat", "lobby=member", "--capability", CHAT], "give --capability or --chat"),
    ],
)
def test_chat_refuses_what_it_cannot_grant(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, "jwt", *argv)
    assert (code, out) == (EXIT_USAGE, "")
    assert message in err


def test_key_from_another_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, other_key: ApiKey
) -> None:
    monkeypatch.setenv("OTHER_ABLY_KEY", f"appId.otherKey:{OTHER_SECRET}")
    code, out, _ = run(capsys, "jwt", "--key-env", "OTHER_ABLY_KEY", "--capability", CHAT)
    assert code == EXIT_OK
    assert verify_jwt(out.strip(), other_key).key_name == "appId.otherKey"


# -- token-request ---------------------------------------------------------------------


def test_token_request_prints_wire_json_that_verifies(
    capsys: pytest.CaptureFixture[str], key: ApiKey
) -> None:
    code, out, err = run(
        capsys, "token-request", "--ttl", "30m", "--client-id", "bob", "--capability", CHAT
    )
    assert (code, err) == (EXIT_OK, "")
    wire = json.loads(out)
    assert set(wire) == {"keyName", "ttl", "capability", "clientId", "timestamp", "nonce", "mac"}
    assert wire["ttl"] == 30 * 60 * 1000
    request = verify_token_request(wire, key)
    assert request.client_id == "bob"


def test_token_request_defaults_leave_capability_and_ttl_to_ably(
    capsys: pytest.CaptureFixture[str], key: ApiKey
) -> None:
    code, out, _ = run(capsys, "token-request", "--json")
    assert code == EXIT_OK
    wire = json.loads(out)
    assert set(wire) == {"keyName", "timestamp", "nonce", "mac"}
    verify_token_request(wire, key)


# -- usage errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2m30s", timedelta(minutes=2, seconds=30)),
        ("1500ms", timedelta(milliseconds=1500)),
        ("1H", timedelta(hours=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["3600", "1x", "", "h", "1.5h", "30m1h", "-1h", "1 h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 30m, 1h or 1h30m"):
        parse_duration(text)


@pytest.mark.parametrize("command", ["jwt", "token-request", "request-token"])
def test_a_bare_number_ttl_is_a_usage_error_naming_the_units(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, err = run(capsys, command, "--capability", CHAT, "--ttl", "3600")
    assert (code, out) == (EXIT_USAGE, "")
    assert "'3600' has no unit" in err
    assert "90s, 30m, 1h or 1h30m" in err


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        (
            "25h",
            "ttl 25 h is longer than Ably allows (Ably issues tokens of at most 24 h); "
            "ask for 24 h or less",
        ),
        ("0s", "must be positive"),
    ],
)
def test_a_ttl_the_library_refuses_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], ttl: str, message: str
) -> None:
    code, _, err = run(capsys, "token-request", "--ttl", ttl)
    assert code == EXIT_USAGE
    assert err.startswith("ably-authkit: error: ")
    assert message in err


@pytest.mark.parametrize(
    ("capability", "message"),
    [
        ('{"chat:*":["pub"]}', "Did you mean 'publish'?"),
        ("{'chat:*':['publish']}", "not valid JSON"),
        ('["publish"]', "must be an object"),
    ],
)
def test_a_bad_capability_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], capability: str, message: str
) -> None:
    code, out, err = run(capsys, "jwt", "--capability", capability)
    assert (code, out) == (EXIT_USAGE, "")
    assert "argument --capability" in err
    assert message in err


@pytest.mark.parametrize("command", ["jwt", "token-request", "request-token"])
def test_a_missing_key_variable_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.delenv("ABLY_API_KEY")
    code, out, err = run(capsys, command, "--capability", CHAT)
    assert (code, out) == (EXIT_USAGE, "")
    assert "ABLY_API_KEY is not set" in err


def test_a_malformed_key_is_described_not_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ABLY_API_KEY", f"'{KEY_TEXT}'")
    code, _, err = run(capsys, "token-request")
    assert code == EXIT_USAGE
    assert "wrapped in quotes" in err
    assert SECRET not in err


@pytest.mark.parametrize("option", [["--key", KEY_TEXT], [f"--key={KEY_TEXT}"]])
def test_a_key_on_the_command_line_is_refused(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    code, out, err = run(capsys, "jwt", "--capability", CHAT, *option)
    assert (code, out) == (EXIT_USAGE, "")
    assert "does not take a key on the command line" in err
    assert SECRET not in err


def test_help_names_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == EXIT_OK
    for command in ("jwt", "token-request", "request-token", "verify", "inspect", "emulator"):
        assert command in out
    assert "exit codes:" in out
    assert "3    Ably or the endpoint refused" in out
    code, out, _ = run(capsys, "verify", "--help")
    assert code == EXIT_OK
    assert "exit codes:" in out


# -- verify and inspect ----------------------------------------------------------------


def test_verify_accepts_a_good_jwt(capsys: pytest.CaptureFixture[str], key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, client_id="ann")
    code, out, err = run(capsys, "verify", token)
    assert (code, err) == (EXIT_OK, "")
    assert "verified:    yes" in out
    assert "ann" in out
    code, out, _ = run(capsys, "verify", "--json", token)
    assert code == EXIT_OK
    facts = json.loads(out)
    assert (facts["verified"], facts["clientId"], facts["problems"]) == (True, "ann", [])
    # What a Chat user may do in each room, as explain() says it.
    assert facts["chatFeatures"] == {"chat:*": ["send", "receive", "typing", "room-reactions"]}


def test_verify_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, key: ApiKey
) -> None:
    request = create_token_request(key, client_id="ann")
    monkeypatch.setattr(sys, "stdin", io.StringIO(request.to_json() + "\n"))
    code, out, _ = run(capsys, "verify", "-")
    assert code == EXIT_OK
    assert out.startswith("TokenRequest for key appId.keyId")


def test_verify_fails_with_exit_1(
    capsys: pytest.CaptureFixture[str], key: ApiKey, other_key: ApiKey
) -> None:
    forged = tampered(mint_jwt(key, capability=CHAT))
    expired = mint_jwt(
        key,
        capability=CHAT,
        ttl=timedelta(hours=1),
        now=datetime.now(timezone.utc) - timedelta(hours=2),
    )
    cases = {
        forged: "signature was not made with the secret",
        mint_jwt(other_key, capability=CHAT): "otherKey",
        expired: "expired",
        create_token_request(other_key).to_json(): "otherKey",
        create_token_request(
            key, now=datetime.now(timezone.utc) - timedelta(minutes=5)
        ).to_json(): "40104",
    }
    for token, message in cases.items():
        code, out, err = run(capsys, "verify", token)
        assert code == EXIT_INVALID, token
        assert out == ""
        assert err.startswith("ably-authkit: error: ")
        assert message in err
        assert SECRET not in err and OTHER_SECRET not in err
    code, out, _ = run(capsys, "verify", "--json", expired)
    assert code == EXIT_INVALID
    assert json.loads(out)["error"]["code"] == 40142


def test_verify_refuses_what_only_ably_can_check(capsys: pytest.CaptureFixture[str]) -> None:
    details = TokenDetails(
        token="xVLyHw.opaque",
        issued=datetime.now(timezone.utc),
        expires=datetime.now(timezone.utc) + timedelta(hours=1),
        capability=CHAT,
    )
    for token in (json.dumps(details.to_dict()), "xVLyHw.opaque"):
        code, _, err = run(capsys, "verify", token)
        assert code == EXIT_USAGE
        assert "only Ably can check" in err


def test_inspect_needs_no_key(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, key: ApiKey
) -> None:
    token = mint_jwt(key, capability=CHAT, client_id="ann")
    monkeypatch.delenv("ABLY_API_KEY")
    code, out, err = run(capsys, "inspect", token)
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith("Ably JWT for key appId.keyId")
    assert "not checked (no key given)" in out
    code, out, _ = run(capsys, "inspect", "--json", token)
    assert json.loads(out)["verified"] is None


def test_inspect_exits_1_on_a_problem_or_garbage(
    capsys: pytest.CaptureFixture[str], key: ApiKey
) -> None:
    expired = mint_jwt(
        key,
        capability=CHAT,
        ttl=timedelta(hours=1),
        now=datetime.now(timezone.utc) - timedelta(hours=2),
    )
    code, out, _ = run(capsys, "inspect", expired)
    assert code == EXIT_INVALID
    assert "PROBLEM: expired" in out
    code, out, err = run(capsys, "inspect", "eyJ.not.ajwt")
    assert (code, out) == (EXIT_INVALID, "")
    assert "the JWT is malformed" in err


def test_an_api_key_given_as_token_is_refused_unechoed(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("inspect", "verify"):
        code, out, err = run(capsys, command, KEY_TEXT)
        assert (code, out) == (EXIT_USAGE, "")
        assert "looks like an API key" in err
        assert SECRET not in err


# -- request-token against the emulator -------------------------------------------------


def test_request_token_from_the_emulator(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emulator: AblyEmulator
) -> None:
    emu_key = emulator.create_key()
    monkeypatch.setenv("ABLY_API_KEY", f"{emu_key.name}:{emu_key.secret}")
    code, out, err = run(
        capsys,
        "request-token",
        "--endpoint",
        emulator.url,
        "--client-id",
        "ann",
        "--ttl",
        "10m",
        "--capability",
        CHAT,
    )
    assert (code, err) == (EXIT_OK, "")
    details = TokenDetails.from_dict(json.loads(out))
    assert details.client_id == "ann"
    assert details.ttl == timedelta(minutes=10)
    assert details.token in [issued.token for issued in emulator.issued_tokens]
    assert emu_key.secret not in out


def test_request_token_reads_ably_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, emulator: AblyEmulator
) -> None:
    emu_key = emulator.create_key()
    monkeypatch.setenv("ABLY_API_KEY", f"{emu_key.name}:{emu_key.secret}")
    monkeypatch.setenv("ABLY_ENDPOINT", emulator.url)
    code, out, _ = run(capsys, "request-token", "--json", "--query-time")
    assert code == EXIT_OK
    assert TokenDetails.from_dict(json.loads(out)).key_name == emu_key.name


def test_request_token_refused_or_unreachable_exits_3(
    capsys: pytest.CaptureFixture[str], emulator: AblyEmulator
) -> None:
    # KEY_TEXT is not registered in the emulator: Ably-style refusal.
    code, out, err = run(capsys, "request-token", "--endpoint", emulator.url)
    assert (code, out) == (EXIT_ABLY, "")
    assert err.startswith("ably-authkit: error: ")
    assert SECRET not in err
    code, out, err = run(
        capsys, "request-token", "--endpoint", "http://127.0.0.1:9", "--timeout", "2s"
    )
    assert (code, out) == (EXIT_ABLY, "")
    assert "127.0.0.1:9" in err
    assert SECRET not in err


# -- the secret never appears ----------------------------------------------------------


def test_the_secret_never_appears_in_any_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, key: ApiKey
) -> None:
    jwt_text = mint_jwt(key, capability=CHAT)
    request_text = create_token_request(key).to_json()
    forged = tampered(jwt_text)
    invocations = [
        ["jwt", "--capability", CHAT],
        ["jwt", "--capability", CHAT, "--json"],
        ["jwt"],
        ["jwt", "--capability", CHAT, "--ttl", "3600"],
        ["jwt", "--capability", "{bad", "--client-id", "x"],
        ["jwt", "--capability", CHAT, "--ttl", "1.5s"],
        ["jwt", "--key-env", KEY_TEXT, "--capability", CHAT],
        ["jwt", "--key-env", "NOT_SET_ANYWHERE", "--capability", CHAT],
        ["jwt", "--capability", CHAT, KEY_TEXT],
        ["jwt", "--capability", CHAT, "--key", KEY_TEXT],
        [KEY_TEXT],
        ["--key-env", KEY_TEXT],
        [SECRET],
        ["token-request"],
        ["token-request", "--json", "--ttl", "1m"],
        ["token-request", "--ttl", "25h"],
        ["token-request", f"--capability={SECRET}"],
        ["request-token", "--endpoint", "http://127.0.0.1:9", "--timeout", "1s"],
        ["request-token", "--endpoint", "not a host"],
        ["request-token", "--ttl", "1"],
        ["verify", jwt_text],
        ["verify", "--json", request_text],
        ["verify", forged],
        ["verify", KEY_TEXT],
        ["verify", SECRET],
        ["verify", "{}"],
        ["inspect", jwt_text],
        ["inspect", KEY_TEXT],
        ["inspect", "--json", request_text],
        ["emulator", "--port", "70000"],
        ["demo", "--port", KEY_TEXT],
        ["--version"],
        ["--help"],
    ]
    for argv in invocations:
        main(argv)
        out, err = capsys.readouterr()
        assert SECRET not in out, argv
        assert SECRET not in err, argv
    # A bare secret given by mistake, with no key in the environment to recognise it by.
    monkeypatch.delenv("ABLY_API_KEY")
    for argv in (
        [SECRET],
        ["jwt", SECRET],
        ["jwt", "--ttl", SECRET],
        ["emulator", "--port", SECRET],
    ):
        assert main(argv) == EXIT_USAGE
        out, err = capsys.readouterr()
        assert SECRET not in out, argv
        assert SECRET not in err, argv
    # And with a malformed key in the environment (a secret with a typo is still secret).
    for text in (f"appId.keyId:{SECRET}:x", f"appId.keyId {SECRET}", f"{SECRET}"):
        monkeypatch.setenv("ABLY_API_KEY", text)
        for argv in (["jwt", "--capability", CHAT], ["token-request"], ["verify", jwt_text]):
            main(argv)
            out, err = capsys.readouterr()
            assert SECRET not in out + err, (text, argv)


# -- real processes --------------------------------------------------------------------


def _cli(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = subprocess.run(
        [sys.executable, "-m", "ably_authkit", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "ABLY_API_KEY": KEY_TEXT},
        cwd=ROOT,
        **kwargs,  # type: ignore[call-overload]
    )
    return result


def test_python_m_ably_authkit_round_trip(key: ApiKey) -> None:
    minted = _cli("jwt", "--capability", CHAT, "--ttl", "5m")
    assert minted.returncode == EXIT_OK, minted.stderr
    assert verify_jwt(minted.stdout.strip(), key).ttl == timedelta(minutes=5)
    checked = _cli("verify", "-", input=minted.stdout)
    assert checked.returncode == EXIT_OK
    refused = _cli("jwt", "--capability", CHAT, "--ttl", "300")
    assert refused.returncode == EXIT_USAGE
    assert "has no unit" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_installed_console_script(key: ApiKey) -> None:
    script = Path(sys.executable).with_name("ably-authkit")
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable} (package not installed)")
    done = subprocess.run(
        [str(script), "token-request", "--ttl", "1h"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "ABLY_API_KEY": KEY_TEXT},
    )
    assert done.returncode == EXIT_OK, done.stderr
    verify_token_request(done.stdout, key)
    assert SECRET not in done.stdout + done.stderr


def test_importing_the_cli_stays_cheap() -> None:
    code = (
        "import sys, ably_authkit.cli; "
        "print(sorted(m for m in ('jwt', 'ably', 'aiohttp', 'uvicorn', 'fastapi', 'json') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def _start(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ably_authkit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("ABLY_API_KEY", "ABLY_ENDPOINT")},
    )


def _read_until(process: subprocess.Popen[str], marker: str, seconds: float = 30) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    process.kill()
    raise AssertionError(f"no {marker!r} in {lines!r}; stderr: {process.communicate()[1]!r}")


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, as a service manager sends: the command must clean up and exit 0."""
    process.terminate()
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode == EXIT_OK, err
    assert "Traceback" not in err


def test_emulator_command_prints_a_usable_key_and_stops_cleanly() -> None:
    process = _start("emulator", "--port", "0")
    try:
        lines = _read_until(process, "export ")
        export = lines[-1].split()
        assert export[0] == "export"
        settings = dict(item.split("=", 1) for item in export[1:])
        key_text, host = settings["ABLY_API_KEY"], settings["ABLY_EMULATOR_HOST"]
        assert host.startswith("127.0.0.1:")
        assert any(f"http://{host}" in line for line in lines[:-1])
        # What it prints is what AuthEndpoint.from_env reads: a working configuration.
        auth = AuthEndpoint.from_env(settings)
        assert "LOCAL ABLY EMULATOR" in auth.describe()
        details = request_token(key_text, client_id="ann", endpoint=auth.endpoint)
        assert details.client_id == "ann"
        assert details.key_name == ApiKey.parse(key_text).name
        # ... and what the CLI's own request-token reads, in the next shell.
        done = subprocess.run(
            [sys.executable, "-m", "ably_authkit", "request-token", "--client-id", "bo", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("ABLY_")}, **settings},
        )
        assert done.returncode == EXIT_OK, done.stderr
        assert json.loads(done.stdout)["clientId"] == "bo"
    finally:
        _stop(process)


def test_emulator_command_takes_the_web_pages_named_with_allow_origin() -> None:
    process = _start("emulator", "--port", "0", "--allow-origin", "https://staging.example.com")
    try:
        lines = _read_until(process, "export ")
        settings = dict(item.split("=", 1) for item in lines[-1].split()[1:])
        url = f"http://{settings['ABLY_EMULATOR_HOST']}/time"
        named = httpx.get(url, headers={"Origin": "https://staging.example.com"}, timeout=10)
        assert named.status_code == 200
        assert named.headers["Access-Control-Allow-Origin"] == "https://staging.example.com"
        other = httpx.get(url, headers={"Origin": "https://a-site.example"}, timeout=10)
        assert (other.status_code, other.json()["error"]["code"]) == (403, 40300)
    finally:
        _stop(process)


def test_emulator_command_refuses_an_allow_origin_that_is_no_origin() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "emulator", "--port", "0", "--allow-origin", "x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == EXIT_USAGE
    assert "--allow-origin: 'x' is not an origin such as 'https://app.example.com'" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_command_serves_the_demo_app() -> None:
    process = _start("demo", "--port", "0")
    try:
        lines = _read_until(process, "Demo app: ")
        url = lines[-1].split()[2]
        # The page's client asks for 60 s credentials: a renewal within a minute.
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?ttl=60s", url), url
        base = url.split("?")[0]
        banner = "".join(_read_until(process, "Read the quick start"))
        assert "Credentials come from a LOCAL ABLY EMULATOR" in banner
        assert f'"authUrl": "{base}auth/jwt"' in banner
        assert f"auth_url='{base}auth/token-request'" in banner
        # It ends with what to do next: the page, the tests and the quick start (a checkout).
        assert f"1. Open {url} in a browser: as alice," in banner
        assert "2. Run the tests (what CI runs): scripts/check" in banner
        assert banner.endswith("3. Read the quick start: docs/quickstart.md\n")
        with urllib.request.urlopen(url, timeout=10) as page:  # noqa: S310 (http://127.0.0.1)
            assert page.status == 200
            assert "text/html" in page.headers["Content-Type"]
            html = page.read().decode()
        assert "Credentials come from a LOCAL ABLY EMULATOR" in html
        assert "Ably credentials for alice" in html  # the user of the banner's code
        assert '"clockUrl":"/emulator/advance"' in html
        request = urllib.request.Request(base + "auth/jwt", headers={"X-User-Id": "ann"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            assert answer.headers["Content-Type"].startswith("application/jwt")
            token = answer.read().decode()
        claims = pyjwt.decode(token, options={"verify_signature": False})
        assert claims["x-ably-clientId"] == "ann"
        # The page's clock button: the emulator's clock moves, and new credentials follow it.
        moved = urllib.request.Request(base + "emulator/advance?seconds=3600", method="POST")  # noqa: S310
        with urllib.request.urlopen(moved, timeout=10) as answer:  # noqa: S310
            now_ms = json.loads(answer.read())["now"]
        assert now_ms / 1000 - claims["iat"] >= 3600
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            later = pyjwt.decode(answer.read().decode(), options={"verify_signature": False})
        assert later["iat"] - claims["iat"] >= 3600
    finally:
        _stop(process)


def test_demo_command_ttl() -> None:
    process = _start("demo", "--port", "0", "--ttl", "30s")
    try:
        url = _read_until(process, "Demo app: ")[-1].split()[2]
        assert url.endswith("/?ttl=30s"), url
    finally:
        _stop(process)


@pytest.mark.parametrize(
    ("ttl", "words"),
    [("2h", "whole seconds from 1s to 1h"), ("1500ms", "not 1.5 s"), ("30", "no unit")],
)
def test_demo_command_refuses_a_ttl_it_cannot_show(
    capsys: pytest.CaptureFixture[str], ttl: str, words: str
) -> None:
    code, out, err = run(capsys, "demo", "--port", "0", "--ttl", ttl)
    assert (code, out) == (EXIT_USAGE, "")
    assert words in err


# -- polish: malformed credentials, Ably's names, messages a shell user reads ------------

NEW_SECRET = "c2VjcmV0LW5vdC10by1iZS1lY2hvZWQtZXZlci0xMjM0NTY3"  # in no environment


@pytest.fixture
def good_jwt(key: ApiKey) -> str:
    return mint_jwt(key, capability=CHAT, client_id="ann")


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda jwt: jwt.rpartition(".")[0], "it has 2 part(s) where a JWT has 3"),
        (lambda jwt: jwt.rpartition(".")[0] + ".", "its signature is empty"),
        (lambda jwt: jwt[:60], "it has 1 part(s) where a JWT has 3"),
        (lambda jwt: jwt[:-5], "its signature has 38 characters where the HS256 signature"),
        (lambda jwt: "." + jwt.partition(".")[2], "its header is empty"),
    ],
    ids=["no-signature-part", "empty-signature", "cut-in-header", "cut-in-signature", "no-header"],
)
@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_a_truncated_jwt_is_malformed_not_an_ably_token(
    capsys: pytest.CaptureFixture[str], good_jwt: str, command: str, cut: Any, message: str
) -> None:
    code, out, err = run(capsys, command, cut(good_jwt))
    assert (code, out) == (EXIT_INVALID, "")
    assert err.startswith("ably-authkit: error: the JWT is malformed: ")
    assert message in err
    assert "opaque" not in err and "Ably token" not in err
    code, out, _ = run(capsys, command, "--json", cut(good_jwt))
    assert code == EXIT_INVALID
    assert json.loads(out)["error"]["code"] == 40144


@pytest.mark.parametrize("text", ["hello world", "hello", "not/a token"])
@pytest.mark.parametrize("command", ["inspect", "verify"])
def test_text_that_is_no_credential_says_so(
    capsys: pytest.CaptureFixture[str], command: str, text: str
) -> None:
    code, out, err = run(capsys, command, text)
    assert (code, out) == (EXIT_INVALID, "")
    assert "that is not an Ably credential" in err
    assert "only Ably can check" not in err


def test_an_opaque_ably_token_is_still_read_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "xVLyHw.DQrNxQ-jrzuM8pwQ8IN4q0Vka")
    assert code == EXIT_OK
    assert out.startswith("Ably token")


def test_json_output_uses_ablys_wire_names(
    capsys: pytest.CaptureFixture[str], key: ApiKey, good_jwt: str
) -> None:
    """jwt --json, inspect --json and verify --json: one naming style, TokenDetails' wire
    form (camelCase, times in milliseconds)."""
    wire = {"keyName", "clientId", "capability", "issued", "expires"}
    code, out, _ = run(capsys, "jwt", "--capability", CHAT, "--client-id", "ann", "--json")
    assert code == EXIT_OK
    minted = json.loads(out)
    assert wire <= set(minted)
    for command in ("inspect", "verify"):
        code, out, _ = run(capsys, command, "--json", minted["token"])
        assert code == EXIT_OK
        facts = json.loads(out)
        assert wire <= set(facts)
        assert not [name for name in facts if "_" in name], facts
        assert {name: facts[name] for name in wire} == {name: minted[name] for name in wire}
    request = create_token_request(key, client_id="ann").to_json()
    code, out, _ = run(capsys, "inspect", "--json", request)
    facts = json.loads(out)
    assert (facts["keyName"], facts["clientId"]) == ("appId.keyId", "ann")
    assert isinstance(facts["issued"], int)
    code, out, _ = run(capsys, "verify", "--json", tampered(mint_jwt(key, capability=CHAT)))
    assert code == EXIT_INVALID
    assert set(json.loads(out)["error"]) == {"message", "code", "statusCode"}


def test_ttl_over_the_limit_names_24_hours(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("jwt", "token-request"):
        code, _, err = run(capsys, command, "--capability", CHAT, "--ttl", "25h")
        assert code == EXIT_USAGE
        assert "25 h is longer than Ably allows" in err
        assert "at most 24 h" in err and "ask for 24 h or less" in err
        assert "1 d" not in err


@pytest.mark.parametrize("timeout", ["10", "0"])
def test_a_timeout_without_a_unit_is_refused_about_timeouts(
    capsys: pytest.CaptureFixture[str], timeout: str
) -> None:
    code, out, err = run(capsys, "request-token", "--timeout", timeout)
    assert (code, out) == (EXIT_USAGE, "")
    assert "argument --timeout" in err
    assert "give a unit, such as 10s" in err
    assert "JWT" not in err and "milliseconds" not in err


def test_a_zero_timeout_is_refused_when_given(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "request-token", "--timeout", "0s", "--endpoint", "http://127.0.0.1:9"
    )
    assert code == EXIT_USAGE
    assert "argument --timeout: a timeout must be longer than 0s" in err


# Python's words: a shell user passes no None, and reads JSON, not str or NoneType.
_PYTHON_WORDS = re.compile(
    r"\b(None|True|False|NoneType|str|int|float|bool|dict|list|tuple|datetime|timedelta|"
    r"kwargs?|keyword argument|pass None|Traceback)\b|\{'|\['"
)


@pytest.mark.parametrize(
    "argv",
    [
        ["jwt", "--capability", CHAT, "--client-id", ""],
        ["token-request", "--client-id", ""],
        ["jwt", "--capability", CHAT, "--client-id", "a\nb"],
        ["jwt", "--capability", "{}"],
        ["jwt", "--capability", "null"],
        ["jwt", "--capability", "[]"],
        ["jwt", "--capability", '{"chat:*":"publish"}'],
        ["jwt", "--capability", '{"chat:*":[1]}'],
        ["jwt", "--capability", '{"chat:*":[null]}'],
        ["jwt", "--capability", '{"chat:*":["pub"]}'],
        ["jwt", "--capability", CHAT, "--ttl", "0s"],
        ["jwt", "--capability", CHAT, "--ttl", "1500ms"],
        ["token-request", "--ttl", "25h"],
        ["request-token", "--timeout", "0s"],
        ["request-token", "--endpoint", "ftp://x"],
        ["inspect", '{"token": 5}'],
        ["inspect", '{"token": "x", "issued": null, "expires": true}'],
        ["inspect", '{"token": "x", "issued": 1, "expires": 2, "capability": 3}'],
        ["inspect", "[]"],
        ["verify", "{}"],
        ["verify", '{"keyName": 5}'],
        ["verify", '{"keyName": "appId.keyId", "timestamp": "x", "nonce": null}'],
        ["inspect", "hello world"],
        ["verify", "hello world"],
    ],
    ids=repr,
)
def test_messages_use_no_python_words(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code != EXIT_OK
    assert err.strip(), argv
    found = _PYTHON_WORDS.search(err)
    assert found is None, f"{found[0]!r} in {err!r}"


_SECRET_ARGUMENTS = [
    [f"--api_key=appId.keyId:{NEW_SECRET}"],
    [f"--apikey=appId.keyId:{NEW_SECRET}"],
    [f"--API-KEY=appId.keyId:{NEW_SECRET}"],
    ["--api_key", f"appId.keyId:{NEW_SECRET}"],
    [f"--ably-key=app.key:{NEW_SECRET}"],
    [f"--token=appId.keyId:{NEW_SECRET}"],
    [f"--my-option=x-appId.keyId:{NEW_SECRET}"],
    [f"--settings=key=appId.keyId:{NEW_SECRET},ttl=1h"],
    [f"-kappId.keyId:{NEW_SECRET}"],
    [f"--endpoint=http://appId.keyId:{NEW_SECRET}@127.0.0.1:9"],
    [f"appId.keyId:{NEW_SECRET}"],
    [f"prefix/appId.keyId:{NEW_SECRET}"],
]


@pytest.mark.parametrize("extra", _SECRET_ARGUMENTS, ids=lambda extra: extra[0].split("=")[0])
@pytest.mark.parametrize("command", [[], ["jwt", "--capability", CHAT], ["inspect"]])
def test_a_key_shaped_argument_is_never_echoed(
    capsys: pytest.CaptureFixture[str], command: list[str], extra: list[str]
) -> None:
    """argparse echoes what it does not recognise; a key in it is blanked."""
    code = main([*command, *extra])
    out, err = capsys.readouterr()
    assert code != EXIT_OK
    assert NEW_SECRET not in out + err
    assert err  # it did say something


def test_a_key_option_in_any_spelling_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for option in ("--api_key", "--apikey", "--API_KEY", "--ably-api-key", "--secret"):
        code, _, err = run(
            capsys, "jwt", "--capability", CHAT, f"{option}=appId.keyId:{NEW_SECRET}"
        )
        assert code == EXIT_USAGE
        assert "does not take a key on the command line" in err
        assert NEW_SECRET not in err


def test_a_key_shaped_argument_is_blanked_in_a_real_process() -> None:
    done = _cli("jwt", "--capability", CHAT, f"--api_token=appId.keyId:{NEW_SECRET}")
    assert done.returncode == EXIT_USAGE
    assert "unrecognized arguments: --api_token=<redacted>" in done.stderr
    assert NEW_SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "command", ["jwt", "token-request", "request-token", "verify", "inspect", "emulator", "demo"]
)
def test_each_command_help_stands_alone(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """A pip install has no docs/ folder: --help holds examples, and points nowhere else."""
    code, out, _ = run(capsys, command, "--help")
    assert code == EXIT_OK
    assert "examples" in out
    assert f"ably-authkit {command}" in out.partition("examples")[2]
    assert "docs/" not in out


def test_help_points_to_the_documentation_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == EXIT_OK
    assert "docs/" not in out
    urls = importlib.metadata.metadata("ably-authkit").get_all("Project-URL") or []
    documentation = [url.partition(",")[2].strip() for url in urls if url.startswith("Doc")]
    if documentation:
        assert f"Documentation: {documentation[0]}" in out
    else:
        assert "ably-authkit COMMAND --help" in out

    # Where the metadata names one, every help names it.
    class Metadata:
        def get_all(self, name: str) -> list[str]:
            return ["Source, https://example.org/src", "Documentation, https://example.org/docs"]

    monkeypatch.setattr(importlib.metadata, "metadata", lambda name: Metadata())
    for argv in (["--help"], ["verify", "--help"]):
        code, out, _ = run(capsys, *argv)
        assert code == EXIT_OK
        assert "Documentation: https://example.org/docs" in out
