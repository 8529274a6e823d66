"""Optional extras: import a module that an extra installs, or say which extra to add,
with the ``pip install`` line that works for how this package was installed."""

from __future__ import annotations

import importlib

from .errors import MissingExtraError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.metadata import Distribution
    from types import ModuleType

#: The modules each extra brings that the package imports (checked in this order).
EXTRA_MODULES = {
    "network": ("ably", "httpx"),
    "emulator": ("aiohttp", "msgpack"),
}

#: The distribution's name, as an index knows it.
DISTRIBUTION = "ably-authkit"


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
        raise MissingExtraError(
            feature, extra=extra, missing=error.name or module, install=install_line(extra)
        ) from error


def install_line(extra: str, distribution: Distribution | None = None) -> str:
    """The ``pip install`` line that adds ``extra`` to this install of the package.

    pip records where it installed a distribution from in ``direct_url.json`` (PEP 610;
    none for a package from an index). From a folder, such as a clone, the line names
    that folder (with ``-e`` for an editable install): ``ably-authkit[extra]`` would
    fetch another copy from an index, or fail where the package is on none. From a file
    or a version-control URL, the line names that URL. ``distribution`` defaults to the
    installed ``ably-authkit``.
    """
    index_line = f'pip install "{DISTRIBUTION}[{extra}]"'
    if distribution is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import distribution as installed

        try:
            distribution = installed(DISTRIBUTION)
        except PackageNotFoundError:  # run from a source tree, not installed
            return index_line
    text = distribution.read_text("direct_url.json")
    if not text:
        return index_line
    import json

    try:
        origin = json.loads(text)
        url = origin["url"]
    except (ValueError, KeyError, TypeError):
        return index_line
    if not isinstance(url, str) or not isinstance(origin, dict):
        return index_line
    if isinstance(origin.get("dir_info"), dict) and url.startswith("file:"):
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        folder = url2pathname(urlsplit(url).path)
        editable = origin["dir_info"].get("editable") is True
        return f'pip install {"-e " if editable else ""}"{folder}[{extra}]"'
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        commit = vcs.get("commit_id")
        url = f"{vcs['vcs']}+{url}" + (f"@{commit}" if isinstance(commit, str) else "")
    return f'pip install "{DISTRIBUTION}[{extra}] @ {url}"'
