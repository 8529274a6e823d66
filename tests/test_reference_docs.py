"""The API reference (mkdocs.yml, docs/reference/) builds, strictly, and is complete.

The site is built once, as a reader would build it (``mkdocs build --strict``: any
warning, such as a docstring whose ``Args:`` names a parameter the function lacks, a page
left out of the nav or a broken link, aborts the build). Then every public name must have
its entry in the generated HTML: everything in ``ably_authkit.__all__``, the names of
``ably_authkit.endpoint.__all__`` and ``ably_authkit.demo.__all__``, and ``AblyEmulator``;
and the signature shown for each function, class and public method must list every one of
its parameters. A name dropped from the reference, or a parameter added to a function but
hidden from its page, fails here.
"""

from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ably_authkit
import ably_authkit.demo
import ably_authkit.endpoint
from ably_authkit.testing.emulator import AblyEmulator

ROOT = Path(__file__).resolve().parent.parent

#: What the reference must show, by the name a user imports it with.
PUBLIC: dict[str, object] = {
    **{f"ably_authkit.{name}": getattr(ably_authkit, name) for name in ably_authkit.__all__},
    **{
        f"ably_authkit.endpoint.{name}": getattr(ably_authkit.endpoint, name)
        for name in ably_authkit.endpoint.__all__
    },
    **{
        f"ably_authkit.demo.{name}": getattr(ably_authkit.demo, name)
        for name in ably_authkit.demo.__all__
    },
    "ably_authkit.testing.AblyEmulator": AblyEmulator,
}

_ID = re.compile(r'\bid="(ably_authkit(?:\.[A-Za-z_]\w*)+)"')
_TAG = re.compile(r"<[^>]+>")


class Site:
    """The built site: each reference page's HTML, and which object each anchor shows."""

    def __init__(self, directory: Path, output: str) -> None:
        self.output = output
        self.pages = {
            page.relative_to(directory).as_posix(): page.read_text(encoding="utf-8")
            for page in sorted(directory.glob("reference/**/index.html"))
        }
        self.anchors: dict[str, str] = {}  # id -> page
        for page, text in self.pages.items():
            for anchor in _ID.findall(text):
                self.anchors.setdefault(anchor, page)

    def anchors_of(self, target: object) -> list[str]:
        return [anchor for anchor in self.anchors if _resolve(anchor) is target]

    def signature(self, anchor: str) -> str:
        """The text of the signature shown under the heading ``anchor``."""
        text = self.pages[self.anchors[anchor]]
        start = text.index(f'id="{anchor}"')
        signature = text.find("doc-signature", start)
        # The signature belongs to this heading only if no other object starts before it.
        following = _ID.search(text, start + len(anchor) + 5)
        if signature < 0 or (following is not None and following.start() < signature):
            return ""
        end = text.index("</pre>", signature)
        return html.unescape(_TAG.sub("", text[signature:end]))


def _resolve(path: str) -> object:
    """The object a dotted path names: the longest importable module, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                found = getattr(found, attribute)
        except AttributeError:
            return None
        return found
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    directory = tmp_path_factory.mktemp("site")
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        pytest.fail('the reference needs MkDocs: pip install -e ".[dev]"', pytrace=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        # Material's banner about its successor is no warning of ours.
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    return Site(directory, output)


def test_the_strict_build_has_no_warnings(site: Site) -> None:
    assert "WARNING" not in site.output, site.output
    assert set(site.pages) >= {"reference/index.html", "reference/endpoint/index.html"}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_is_in_the_reference(site: Site, name: str) -> None:
    assert site.anchors_of(PUBLIC[name]), (
        f"{name} has no entry in the API reference (docs/reference/*.md)"
    )


def _documented_callables() -> list[Any]:
    """(public name, the callable, the method name or None) for each function, class and
    public method of a public class."""
    found: list[tuple[str, Any, str | None]] = []
    for name, target in sorted(PUBLIC.items()):
        if inspect.isfunction(target):
            found.append((name, target, None))
        elif inspect.isclass(target):
            if "__init__" in vars(target):  # else the signature is a base class's
                found.append((name, target, None))
            for method, value in vars(target).items():
                function = getattr(value, "__func__", value)  # classmethod, staticmethod
                if not method.startswith("_") and inspect.isfunction(function):
                    found.append((name, target, method))
    return [
        pytest.param(name, target, method, id=name if method is None else f"{name}.{method}")
        for name, target, method in found
    ]


def _parameters(target: Any, method: str | None) -> list[str]:
    function = target.__init__ if method is None and inspect.isclass(target) else target
    if method is not None:
        function = getattr(target, method)
    return [
        parameter
        for parameter in inspect.signature(function).parameters
        if parameter not in ("self", "cls")
    ]


@pytest.mark.parametrize(("name", "target", "method"), _documented_callables())
def test_every_parameter_is_in_the_signature_shown(
    site: Site, name: str, target: Any, method: str | None
) -> None:
    anchors = site.anchors_of(target)
    assert anchors, f"{name} has no entry in the API reference"
    if method is not None:
        anchors = [
            f"{anchor}.{method}" for anchor in anchors if f"{anchor}.{method}" in site.anchors
        ]
        assert anchors, f"{name}.{method}() has no entry in the API reference"
    signature = site.signature(anchors[0])
    assert signature, f"the reference shows no signature for {anchors[0]}"
    missing = [
        parameter
        for parameter in _parameters(target, method)
        if not re.search(rf"\b{parameter}\b", signature)
    ]
    assert not missing, f"the signature of {anchors[0]} in the reference lacks {missing}"


def test_sphinx_roles_become_inline_code() -> None:
    spec = importlib.util.spec_from_file_location("griffe_roles", ROOT / "scripts/griffe_roles.py")
    assert spec is not None and spec.loader is not None
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    text = (
        "Use :func:`~ably_authkit.explain` or :meth:`AuthEndpoint.respond`, "
        "raising :class:`~ably_authkit.TokenError` (:mod:`json`); a tree::\n\n    tree\n"
    )
    assert roles.rewrite_roles(text) == (
        "Use `explain()` or `AuthEndpoint.respond()`, raising `TokenError` (`json`); "
        "a tree:\n\n    tree\n"
    )
