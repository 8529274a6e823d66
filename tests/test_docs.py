"""The documentation is tested: every ```python block in README.md and docs/*.md runs.

Blocks of one file run in order in one shared namespace, so a guide can build up state
(a key in the first block, a JWT from it in the next). Each block runs with the working
directory in a temporary directory kept for its file, ``ABLY_API_KEY`` set to a made-up
test key, and no network but loopback: a block that needs Ably uses
``ably_authkit.testing.AblyEmulator``, and one that reaches for any other host fails.
Shell commands and output go in ```console or ```text blocks, which are not run.

Also checked: every error class is documented in docs/errors.md with its Ably code,
the README opens with the two commands a newcomer runs (and CI runs the second), and
relative links between the documents resolve.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.metadata
import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ably_authkit import errors

from .conftest import KEY_TEXT

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
ERRORS_DOC = DOCS / "errors.md"

#: The two commands README.md opens with: run the main job, run the tests.
INSTALL_AND_DEMO = (
    'python3 -m venv .venv && .venv/bin/pip install -q -e ".[emulator]" && '
    ".venv/bin/ably-authkit demo"
)
TEST_COMMAND = "scripts/check"
#: Fence languages whose blocks are run.
PYTHON = ("python", "py", "python3")
#: A block still running after this long is interrupted (say, a server left waiting).
BLOCK_TIMEOUT_SECONDS = 120
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*?)\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    language: str
    line: int  # 1-based line number of the block's first line of code
    code: str
    end: int = 0  # 1-based line number of the closing fence


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced code block (CommonMark: ``` or ~~~, closed by a bare fence of the
    same character at least as long as the opening one)."""
    blocks = []
    opening: re.Match[str] | None = None
    body: list[str] = []
    start = 0
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _FENCE.match(text)
        if opening is None:
            # A backtick fence's info string may not contain a backtick (inline code).
            if match and not (match["fence"][0] == "`" and "`" in match["info"]):
                opening, body, start = match, [], number + 1
            continue
        fence = opening["fence"]
        if (
            match
            and not match["info"]
            and match["fence"][0] == fence[0]
            and len(match["fence"]) >= len(fence)
        ):
            words = opening["info"].split()
            indent = len(opening["indent"])
            code = "\n".join(line[indent:] if not line[:indent].strip() else line for line in body)
            language = words[0].lower() if words else ""
            blocks.append(Block(path, language, start, code + "\n", end=number))
            opening = None
        else:
            body.append(text)
    assert opening is None, (
        f"{relative(path)}: the code block opened on line {start - 1} never closes"
    )
    return blocks


def python_blocks(path: Path) -> list[Block]:
    return [block for block in fenced_blocks(path) if block.language in PYTHON]


def _block_params() -> list[Any]:
    return [
        pytest.param(path, index, id=f"{relative(path)}:block{index + 1}:line{block.line}")
        for path in markdown_files()
        for index, block in enumerate(python_blocks(path))
    ]


# Running the blocks ---------------------------------------------------------------------


@dataclass
class _FileRun:
    """The state one Markdown file's blocks share, kept between their tests."""

    directory: Path
    namespace: dict[str, Any] = field(default_factory=lambda: {"__name__": "__docs__"})
    done: int = 0  # how many of its blocks have run, in order
    failed: int | None = None  # the index of the block that failed


_runs: dict[Path, _FileRun] = {}


class BlockTimeoutError(Exception):
    pass


class NetworkRefusedError(OSError):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only: SIGALRM)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise BlockTimeoutError(f"the block ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    return isinstance(host, str) and (host in LOOPBACK_HOSTS or host.startswith("127."))


@contextlib.contextmanager
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse name lookups and connections to anything but this machine, and record them
    (an SDK may swallow the error and retry; the record still fails the test)."""
    attempts: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host):
            attempts.append(f"name lookup of {host!r}")
            raise NetworkRefusedError(f"docs examples may not reach {host!r}; use AblyEmulator")
        return real_getaddrinfo(host, *args, **kwargs)

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return True  # Unix sockets, socketpairs
        return _is_loopback(address[0])

    def connect(sock: socket.socket, address: Any) -> None:
        if not allowed(sock, address):
            attempts.append(f"connection to {address!r}")
            raise NetworkRefusedError(f"docs examples may not reach {address!r}")
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not allowed(sock, address):
            attempts.append(f"connection to {address!r}")
            raise NetworkRefusedError(f"docs examples may not reach {address!r}")
        return real_connect_ex(sock, address)

    with monkeypatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield attempts


def _execute(block: Block, run: _FileRun, monkeypatch: pytest.MonkeyPatch) -> None:
    # Blank lines in front keep the Markdown file's line numbers, so a traceback shows
    # the failing line of the document itself.
    source = "\n" * (block.line - 1) + block.code
    code = compile(source, str(block.path), "exec", dont_inherit=True)
    environment = dict(os.environ)  # a block may set variables (SSL_CERT_FILE, ...)
    try:
        with _loopback_only(monkeypatch) as attempts, _time_limit(BLOCK_TIMEOUT_SECONDS):
            exec(code, run.namespace)  # noqa: S102 -- running our own documentation is the point
    finally:
        if os.environ != environment:
            os.environ.clear()
            os.environ.update(environment)
    assert not attempts, (
        f"{relative(block.path)}:{block.line}: the block reached beyond 127.0.0.1 "
        f"({'; '.join(attempts)}); examples must use AblyEmulator, never real Ably"
    )


@pytest.mark.parametrize(("path", "index"), _block_params())
def test_python_block_runs(
    path: Path,
    index: int,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocks = python_blocks(path)
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)
    run = _runs.get(path)
    if run is not None and run.failed is not None and run.failed < index:
        pytest.skip(f"block {run.failed + 1} of {relative(path)} failed, and this one follows it")
    if run is None or run.done != index:
        # Run alone (-k) or out of order: replay the blocks before it, as the reader would.
        run = _runs[path] = _FileRun(tmp_path_factory.mktemp(path.stem))
        monkeypatch.chdir(run.directory)
        for earlier in range(index):
            try:
                _execute(blocks[earlier], run, monkeypatch)
            except BaseException:
                run.failed = earlier
                raise
            run.done = earlier + 1
    monkeypatch.chdir(run.directory)
    try:
        _execute(blocks[index], run, monkeypatch)
    except BaseException:
        run.failed = index
        raise
    run.done = index + 1
    if run.done == len(blocks):
        # The file is done: drop what it made now, so that anything it left open warns
        # here (warnings are errors) rather than in whichever test runs next.
        run.namespace.clear()
        gc.collect()


def test_the_testing_guide_example_passes_under_pytest(tmp_path: Path) -> None:
    """docs/testing.md's complete example is a test file: saved as one in a project of its
    own, it passes under pytest (warnings as errors) with the plugin's fixtures."""
    guide = ROOT / "docs" / "testing.md"
    (example,) = [block for block in python_blocks(guide) if "def test_my_auth_url" in block.code]
    (tmp_path / "test_my_auth.py").write_text(example.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-W", "error", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


# Errors ---------------------------------------------------------------------------------


def error_classes() -> list[type[errors.AuthKitError]]:
    return [
        value
        for _, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, errors.AuthKitError) and value.__module__ == errors.__name__
    ]


def _without_code(path: Path) -> str:
    """The file with the lines of its fenced code blocks blanked (a ``# comment`` in
    a code block is not a heading, and a ``[x](y)`` there is not a link)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for block in fenced_blocks(path):
        # From the opening fence to the closing one (line numbers are 1-based).
        for number in range(block.line - 2, block.end):
            lines[number] = ""
    return "\n".join(lines)


_HEADING = re.compile(r"^#{1,6}\s+(.*?)(?:\s+#+)?\s*$")


def headings(path: Path) -> list[str]:
    return [m[1] for m in map(_HEADING.match, _without_code(path).splitlines()) if m]


def sections(path: Path) -> list[tuple[str, str]]:
    """(heading text without backticks, the text up to the next heading), in order."""
    found: list[tuple[str, str]] = []
    heading, lines = "", list[str]()
    for line in _without_code(path).splitlines():
        match = _HEADING.match(line)
        if match:
            found.append((heading, "\n".join(lines)))
            heading, lines = match[1].replace("`", "").strip(), []
        else:
            lines.append(line)
    found.append((heading, "\n".join(lines)))
    return found


def test_every_error_class_is_in_the_errors_doc() -> None:
    classes = error_classes()
    assert len(classes) >= 20  # the whole tree, not an import mistake
    text = ERRORS_DOC.read_text(encoding="utf-8")
    missing = [cls.__name__ for cls in classes if not re.search(rf"\b{cls.__name__}\b", text)]
    assert not missing, f"docs/errors.md does not mention {', '.join(missing)}"


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_errors_doc_gives_each_class_its_code(cls: type[errors.AuthKitError]) -> None:
    """Each class has a heading of its own whose section names the class's Ably code."""
    section = next(
        (body for title, body in sections(ERRORS_DOC) if re.search(rf"\b{cls.__name__}\b", title)),
        None,
    )
    assert section is not None, f"docs/errors.md has no heading for {cls.__name__}"
    if cls.code is not None:
        assert str(cls.code) in section, (
            f"the {cls.__name__} section of docs/errors.md does not say its code {cls.code}"
        )


def test_errors_doc_names_only_real_error_classes() -> None:
    """A heading that names an error class must name one that exists (no stale docs)."""
    names = {cls.__name__ for cls in error_classes()}
    for title, _ in sections(ERRORS_DOC):
        for word in re.findall(r"\b[A-Z][A-Za-z]+Error\b", title):
            assert word in names, f"docs/errors.md documents {word}, which errors.py lacks"


# The README's commands ------------------------------------------------------------------


def _commands(block: Block) -> list[str]:
    return [line[2:].strip() for line in block.code.splitlines() if line.startswith("$ ")]


def test_readme_opens_with_install_and_demo_then_the_test_command() -> None:
    text = README.read_text(encoding="utf-8")
    first = fenced_blocks(README)[0]
    assert first.language == "console"
    # Nothing but the title and a sentence or two come before the commands.
    before = text.splitlines()[: first.line - 2]
    assert not [line for line in before if line.startswith("## ")], "commands must come first"
    assert _commands(first) == [INSTALL_AND_DEMO, TEST_COMMAND]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for line in ci.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert any(re.fullmatch(rf"(exec\s+)?(\./)?{re.escape(TEST_COMMAND)}", c) for c in commands)
    check = (ROOT / TEST_COMMAND).read_text(encoding="utf-8")
    for step in ("ruff check", "mypy --strict ably_authkit", "pytest", "pip install", ".[dev]"):
        assert step in check, f"{TEST_COMMAND} no longer runs {step!r}"
    assert (ROOT / TEST_COMMAND).stat().st_mode & 0o111, f"{TEST_COMMAND} is not executable"


def test_readme_demo_command_exists(capsys: pytest.CaptureFixture[str]) -> None:
    """``ably-authkit demo`` is the installed console script's subcommand, not a promise."""
    (script,) = [
        entry
        for entry in importlib.metadata.entry_points(group="console_scripts")
        if entry.name == "ably-authkit"
    ]
    main = script.load()
    try:
        code = main(["demo", "--help"])
    except SystemExit as exit_:  # argparse's way out of --help
        code = exit_.code
    assert code == 0
    assert "usage: ably-authkit demo" in capsys.readouterr().out


def test_readme_lists_exactly_the_extras() -> None:
    extras = set(importlib.metadata.metadata("ably-authkit").get_all("Provides-Extra") or [])
    assert extras >= {"network", "emulator", "examples", "dev"}
    text = _without_code(README)
    named = set(re.findall(r'\.\[([a-z]+)\]"?`', text))
    assert named == extras, f"README's install table names {named}, pyproject has {extras}"


def test_readme_python_block_is_a_short_quick_start() -> None:
    first = python_blocks(README)[0]
    lines = [line for line in first.code.splitlines() if line.strip()]
    assert len(lines) <= 10
    assert "mint_jwt(" in first.code
    assert "create_token_request(" in first.code


# Links ----------------------------------------------------------------------------------

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)


def _prose(path: Path) -> str:
    """The file without code blocks and inline code, where links are not links."""
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", _without_code(path))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    for title in headings(path):
        slug = base = _slug(title)
        count = 0
        while slug in anchors:  # GitHub numbers repeated headings: x, x-1, x-2
            count += 1
            slug = f"{base}-{count}"
        anchors.add(slug)
    return anchors


def _links(path: Path) -> list[str]:
    text = _prose(path)
    return [
        *_LINK.findall(text),
        *_IMAGE.findall(text),
        *_REFERENCE.findall(text),
    ]


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto:
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target} (no heading with anchor #{anchor})")
    assert not broken, f"{relative(path)} has broken links: {', '.join(dict.fromkeys(broken))}"


@pytest.mark.parametrize("path", markdown_files(), ids=relative)
def test_every_code_block_names_its_language(path: Path) -> None:
    """An unlabelled block would hide Python from these tests; shell is ```console."""
    unlabelled = [block.line - 1 for block in fenced_blocks(path) if not block.language]
    assert not unlabelled, f"{relative(path)}: code blocks without a language at {unlabelled}"


# The harness itself ---------------------------------------------------------------------


def test_fence_parser(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# T\n\n```python\nx = 1\n```\n\n````text\n```python\nnot code\n```\n````\n\n"
        "   ```py\n   y = 2\n    z = 3\n   ```\n\n~~~console\n$ ls\n~~~\n",
        encoding="utf-8",
    )
    blocks = fenced_blocks(page)
    assert [(b.language, b.line, b.code) for b in blocks] == [
        ("python", 4, "x = 1\n"),
        ("text", 8, "```python\nnot code\n```\n"),
        ("py", 14, "y = 2\n z = 3\n"),
        ("console", 19, "$ ls\n"),
    ]


def test_docs_blocks_reach_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    with _loopback_only(monkeypatch) as attempts, pytest.raises(NetworkRefusedError):
        socket.getaddrinfo("rest.ably.io", 443)
    assert attempts == ["name lookup of 'rest.ably.io'"]
    with (
        _loopback_only(monkeypatch) as attempts,
        socket.socket() as sock,
        pytest.raises(NetworkRefusedError),
    ):
        sock.connect(("203.0.113.1", 443))
    assert attempts == ["connection to ('203.0.113.1', 443)"]
    with socket.create_server(("127.0.0.1", 0)) as server, _loopback_only(monkeypatch) as attempts:
        socket.create_connection(server.getsockname()[:2], timeout=5).close()
    assert attempts == []


def test_anchor_slugs() -> None:
    assert _slug("JWT, TokenRequest or token — which one") == "jwt-tokenrequest-or-token--which-one"
    assert _slug("`InvalidTTLError` (40003)") == "invalidttlerror-40003"
