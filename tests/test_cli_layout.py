"""The command line is a package laid out by concern, each module small enough to read
whole, with the same entry points: ``ably_authkit.cli:main`` (the console script) and
``python -m ably_authkit``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import ably_authkit.cli
from ably_authkit.cli import EXIT_ABLY, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main, parse_duration

MAX_LINES = 700


def test_the_cli_is_a_package_of_modules_under_700_lines() -> None:
    folder = Path(ably_authkit.cli.__file__).parent
    assert folder.name == "cli"
    modules = sorted(folder.glob("*.py"))
    assert len(modules) > 3
    for module in modules:
        lines = len(module.read_text(encoding="utf-8").splitlines())
        assert lines <= MAX_LINES, f"{module.name} has {lines} lines"


def test_each_group_of_commands_has_its_module() -> None:
    names = {info.name for info in pkgutil.iter_modules(ably_authkit.cli.__path__)}
    assert {"_parser", "_credentials", "_inspect", "_emulator", "_docs", "_demo"} <= names
    demo = importlib.import_module("ably_authkit.cli._demo")
    assert callable(demo._cmd_demo)


def test_the_public_names_are_unchanged() -> None:
    assert ably_authkit.cli.__all__ == [
        "EXIT_ABLY",
        "EXIT_INVALID",
        "EXIT_OK",
        "EXIT_USAGE",
        "main",
        "parse_duration",
    ]
    assert (EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_ABLY) == (0, 1, 2, 3)
    assert callable(main) and callable(parse_duration)
