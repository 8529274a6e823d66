"""Optional extras: import a module that an extra installs, or say which extra to add."""

from __future__ import annotations

import importlib

from .errors import MissingExtraError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

#: The modules each extra brings that the package imports (checked in this order).
EXTRA_MODULES = {
    "network": ("ably", "httpx"),
    "emulator": ("aiohttp", "msgpack"),
}


def require(extra: str, feature: str) -> None:
    """Raise :class:`~ably_authkit.MissingExtraError` unless ``extra``'s modules import.

    ``feature`` is what the user asked for, as the message shows it ("request_token()").
    """
    for module in EXTRA_MODULES[extra]:
        import_from(module, extra, feature)


def import_from(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module``, which ``extra`` installs; a missing one (or a missing module it
    needs) is a :class:`~ably_authkit.MissingExtraError` naming the ``pip install`` line."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        raise MissingExtraError(feature, extra=extra, missing=error.name or module) from error
