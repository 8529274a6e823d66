"""The emulator is a package laid out by protocol concern (connection and auth, channels
and messages, presence, annotations, the HTTP routes), each module small enough to read
whole, with imports that only point down, and the same public entry points."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import ably_authkit.testing
from ably_authkit.testing import AblyEmulator
from ably_authkit.testing.emulator import AblyEmulator as EmulatorFromModule

MAX_LINES = 700
PACKAGE = "ably_authkit.testing"


def _modules() -> list[Path]:
    folder = Path(ably_authkit.testing.__file__).parent
    assert folder.name == "testing"
    return sorted(folder.glob("*.py"))


def test_every_emulator_module_is_under_700_lines() -> None:
    modules = _modules()
    assert len(modules) > 10
    for module in modules:
        lines = len(module.read_text(encoding="utf-8").splitlines())
        assert lines <= MAX_LINES, f"{module.name} has {lines} lines"


def test_each_concern_has_its_module() -> None:
    names = {info.name for info in pkgutil.iter_modules(ably_authkit.testing.__path__)}
    concerns = {
        "_auth",  # apps, keys, tokens, credentials, revocation
        "_channels",  # the one channel model: publish, history, idempotency, retention
        "_service",  # the state, the lock, the clock
        "_connection",  # one realtime connection and the protocol's vocabulary
        "_realtime",  # the realtime hub
        "_presence",
        "_annotations",
        "_mutable",
        "_rewind",  # the rewind channel param: the backlog an attach is sent
        "_metadata",
        "_ports",  # what mutable messages and annotations need of the service
        "_routes",  # the HTTP routes
        "_chat",  # Ably Chat's REST API, on the same channels
        "emulator",
    }
    assert concerns <= names
    service = importlib.import_module(f"{PACKAGE}._service").Service
    auth = importlib.import_module(f"{PACKAGE}._auth").Auth
    channels = importlib.import_module(f"{PACKAGE}._channels").Channels
    assert issubclass(service, auth) and issubclass(service, channels)
    # REST routes and realtime connections publish through the one channel model.
    assert service.publish is channels.publish and service.history is channels.history


def _runtime_imports(path: Path, *, typing_too: bool = False) -> set[str]:
    """The emulator modules ``path`` imports when it runs (and, with ``typing_too``,
    those it names only for the type checker, under ``if TYPE_CHECKING:``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if (
                not typing_too
                and isinstance(child, ast.If)
                and getattr(child.test, "id", None) == "TYPE_CHECKING"
            ):
                continue
            if isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level == 1:
                    found.add(module)
                elif module.startswith(f"{PACKAGE}."):
                    found.add(module.removeprefix(f"{PACKAGE}."))
            visit(child)

    visit(tree)
    return found


def _assert_no_cycle(graph: dict[str, set[str]]) -> None:
    done: set[str] = set()

    def walk(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, "import cycle: " + " -> ".join((*trail, name))
        if name in done:
            return
        for imported in graph.get(name, ()):
            walk(imported, (*trail, name))
        done.add(name)

    for name in graph:
        walk(name, ())


def test_the_modules_import_one_another_without_a_cycle() -> None:
    graph = {path.stem: _runtime_imports(path) for path in _modules()}
    _assert_no_cycle(graph)
    # The bottom imports none of the others.
    assert graph["_common"] == set()


def test_even_the_names_given_to_the_type_checker_only_point_down() -> None:
    """A lower module never names a higher one, not even for its types: what mutable
    messages and annotations need of the service, and presence and channel metadata of
    the realtime hub, is a typing Protocol the higher module has structurally."""
    graph = {path.stem: _runtime_imports(path, typing_too=True) for path in _modules()}
    _assert_no_cycle(graph)
    for low in ("_mutable", "_annotations"):
        assert "_service" not in graph[low], low
    for low in ("_presence", "_metadata"):
        assert "_realtime" not in graph[low], low


def test_the_public_names_are_unchanged() -> None:
    assert ably_authkit.testing.__all__ == ["AblyEmulator"]
    assert AblyEmulator is EmulatorFromModule
    for name in (
        "start",
        "stop",
        "wait",
        "call",
        "url",
        "create_key",
        "revoke_key",
        "client_options",
        "now",
        "advance",
        "set_time",
        "issued_tokens",
        "published",
        "message_versions",
        "present",
        "annotations",
        "annotation_summary",
        "chat_messages",
        "connections",
        "closed_connections",
        "reset",
        "create_app",
    ):
        assert hasattr(AblyEmulator, name), name
