"""What a reader copies from the documentation works as it is.

- Every key-shaped placeholder (``appId.keyId:secret``) in README.md and docs/ is a key
  ``ApiKey.parse`` accepts, with a secret of at least 32 bytes, so that minting with it
  raises no ``InsecureKeyLengthWarning`` (pyjwt warns below 32 bytes). The bare notation
  ``appId.keyId:secret`` is allowed in prose, where it names the form of a key.
- The ``pip install`` lines of each page install the extras its Python blocks import:
  flask, django, fastapi (and their ``ably_authkit.integrations`` modules) → ``flask``,
  ``django``, ``fastapi``; uvicorn → ``examples``; ``ably_authkit.testing`` →
  ``emulator``; the ``ably`` package, ``request_token()`` and the other network
  functions → ``network``.
  An extra counts as installed when one named on the page brings all its requirements
  (``dev`` brings them all; ``emulator`` brings ``ably``, and so ``network``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import warnings
from pathlib import Path

import jwt as pyjwt
import pytest

from ably_authkit import ApiKey, mint_jwt

from .test_docs import DOCS, README, fenced_blocks, python_blocks, relative

#: appId.keyId:secret, not inside a word, a URL or a host:port.
_KEY_SHAPED = re.compile(r"(?<![\w.:/@-])[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+:[^\s'\"`<>)\]},;]+")
#: How the docs write the form of a key, in prose (not a value to use).
KEY_NOTATION = "appId.keyId:secret"
MIN_SECRET_BYTES = 32

#: What each extra is needed for, as the page's Python blocks import it.
EXTRA_FOR_MODULE = {
    "flask": "flask",
    "django": "django",
    "fastapi": "fastapi",
    "starlette": "fastapi",
    "ably_authkit.integrations.flask": "flask",
    "ably_authkit.integrations.django": "django",
    "ably_authkit.integrations.fastapi": "fastapi",
    "ably_authkit.integrations.starlette": "fastapi",
    "uvicorn": "examples",
    "ably": "network",
    "ably_authkit.testing": "emulator",
}
NETWORK_NAMES = frozenset(
    {"request_token", "arequest_token", "server_time", "revoke_tokens", "RestClient"}
    | {"AsyncRestClient", "RevocationResult"}
)
_PIP_INSTALL = re.compile(r"\bpip install\b([^\n`]*)")
_EXTRAS = re.compile(r"\[([A-Za-z0-9_,\s-]+)\]")


#: Pages whose placeholders are known to fail, and why they are not mended here. Strict:
#: once the page is mended, the xfail fails, and its entry goes.
KNOWN_BAD_PLACEHOLDERS: dict[str, str] = {}


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _placeholder_params() -> list[object]:
    return [
        pytest.param(
            path,
            id=relative(path),
            marks=[pytest.mark.xfail(reason=KNOWN_BAD_PLACEHOLDERS[relative(path)], strict=True)]
            if relative(path) in KNOWN_BAD_PLACEHOLDERS
            else [],
        )
        for path in pages()
    ]


def key_placeholders(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each key-shaped string, the notation in prose excepted."""
    in_code: set[int] = set()
    for block in fenced_blocks(path):
        in_code.update(range(block.line, block.end))
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in _KEY_SHAPED.finditer(line):
            if match[0] == KEY_NOTATION and number not in in_code:
                continue
            found.append((number, match[0]))
    return found


@pytest.mark.parametrize("path", _placeholder_params())
def test_key_placeholders_parse_and_are_long_enough(path: Path) -> None:
    problems = []
    for line, text in key_placeholders(path):
        try:
            key = ApiKey.parse(text)
        except ValueError as error:
            problems.append(f"line {line}: {text!r} is no key ApiKey.parse accepts: {error}")
            continue
        if len(key.secret.encode()) < MIN_SECRET_BYTES:
            problems.append(
                f"line {line}: the secret of {text!r} has {len(key.secret.encode())} bytes; "
                f"give it at least {MIN_SECRET_BYTES} (pyjwt warns below that)"
            )
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error", pyjwt.warnings.InsecureKeyLengthWarning)
            pyjwt.decode(mint_jwt(key, capability={"*": ["*"]}), key.secret, algorithms=["HS256"])
    assert not problems, f"{relative(path)}:\n" + "\n".join(problems)


def test_the_placeholder_finder() -> None:
    line = (
        'ABLY_API_KEY=app.key:Secret_1 ApiKey.parse("a-b.c_d:xyz") http://127.0.0.1:8123 '
        "ably.channel.chat:x {key.name}:{key.secret} `chat:*`"
    )
    assert [m[0] for m in _KEY_SHAPED.finditer(line)] == ["app.key:Secret_1", "a-b.c_d:xyz"]


# pip install lines --------------------------------------------------------------------


def _requirements_of(extra: str) -> set[str]:
    marker = re.compile(rf"""extra\s*==\s*['"]{re.escape(extra)}['"]""")
    return {
        requirement.partition(";")[0].replace(" ", "")
        for requirement in importlib.metadata.requires("ably-authkit") or []
        if marker.search(requirement)
    }


EXTRAS = {
    extra: _requirements_of(extra)
    for extra in importlib.metadata.metadata("ably-authkit").get_all("Provides-Extra") or []
}


def needed_extras(path: Path) -> dict[str, set[str]]:
    """extra -> what on the page needs it (module or name), from its Python blocks."""
    needed: dict[str, set[str]] = {}
    for block in python_blocks(path):
        for node in ast.walk(ast.parse(block.code)):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "ably_authkit":
                    for alias in node.names:
                        if alias.name in NETWORK_NAMES:
                            needed.setdefault("network", set()).add(alias.name)
            for module in modules:
                for prefix, extra in EXTRA_FOR_MODULE.items():
                    if module == prefix or module.startswith(prefix + "."):
                        needed.setdefault(extra, set()).add(module)
    return needed


def installed_extras(path: Path) -> tuple[list[str], set[str]]:
    """The page's pip install lines, and the extras they install (directly or through
    another extra that brings the same requirements)."""
    lines = [match[0].strip() for match in _PIP_INSTALL.finditer(path.read_text("utf-8"))]
    named = {
        extra.strip()
        for line in lines
        for group in _EXTRAS.findall(line)
        for extra in group.split(",")
    }
    unknown = named - set(EXTRAS)
    assert not unknown, f"{relative(path)} installs extras pyproject.toml lacks: {unknown}"
    brought = {
        extra
        for extra, requirements in EXTRAS.items()
        if any(requirements <= EXTRAS[name] for name in named)
    }
    return lines, brought


@pytest.mark.parametrize("path", pages(), ids=relative)
def test_pip_install_lines_cover_what_the_page_imports(path: Path) -> None:
    needed = needed_extras(path)
    lines, installed = installed_extras(path)
    missing = {extra: sorted(why) for extra, why in needed.items() if extra not in installed}
    assert not missing, (
        f"{relative(path)} imports what its pip install line(s) {lines or '(none)'} do not "
        f"install: {', '.join(f'[{extra}] for {why}' for extra, why in sorted(missing.items()))}"
    )


def test_the_extras_are_known() -> None:
    assert {"network", "emulator", "flask", "django", "fastapi", "examples", "dev"} <= set(EXTRAS)
    assert EXTRAS["network"] <= EXTRAS["emulator"]  # the emulator brings the ably package
    assert all(EXTRAS[extra] <= EXTRAS["dev"] for extra in EXTRAS)


#: The word "issue" followed by a number: a reader of the package has no tracker to look it up in.
_TRACKER_NUMBER = re.compile(r"\b[Ii]ssues?[ #]*\d")
_ROOT = README.parent


def _readable_files() -> list[Path]:
    """What a reader of the package or the repository reads: code, tests, docs, notes."""
    found = [README, _ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]
    for folder in ("ably_authkit", "tests", "examples", "benchmarks", "scripts"):
        found += sorted(
            path
            for path in (_ROOT / folder).rglob("*")
            if path.is_file()
            and path.suffix in {".py", ".md", ".js", ".html", ".css", ""}
            and "node_modules" not in path.parts
            and "__pycache__" not in path.parts
            and path.name != "ably.min.js"
        )
    return found


def test_work_is_named_by_behaviour_not_by_tracker_number() -> None:
    found = [
        f"{path.relative_to(_ROOT)}:{number}: {line.strip()}"
        for path in _readable_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TRACKER_NUMBER.search(line)
    ]
    found += [
        f"{path.relative_to(_ROOT)}: the file name"
        for path in _readable_files()
        if re.search(r"issue_?\d", path.name)
    ]
    assert not found, "name the behaviour instead of the tracker number:\n" + "\n".join(found)
