"""ably-js's browser bundle for the demo page's live panel.

It ships in ``static/`` (``ably.min.js``, ably-js 2.28.0 from npm, Apache-2.0, its licence
beside it; the version the test suite runs, see ``tests/js/package-lock.json``), so the
demo runs offline, with no install step and nothing written anywhere. ``$ABLY_JS_PATH``
serves another build instead.
"""

from __future__ import annotations

import os

from ably_authkit.endpoint import AuthResponse
from ably_authkit.endpoint.responses import _NO_STORE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

__all__ = ["ABLY_JS_ENV", "ABLY_JS_VERSION", "ably_js_response", "find_ably_js"]

#: The variable naming another ably-js browser bundle to serve: a file, or a folder holding
#: ``node_modules``, the ``ably`` package or its ``build``.
ABLY_JS_ENV = "ABLY_JS_PATH"
#: The version of the ably-js bundle shipped in ``static/ably.min.js``.
ABLY_JS_VERSION = "2.28.0"
_BUNDLES = ("ably.min.js", "ably.js")


def _bundle_in(folder: Path) -> Path | None:
    for package in (folder / "ably", folder / "node_modules" / "ably", folder):
        for name in _BUNDLES:
            candidate = package / "build" / name
            if candidate.is_file():
                return candidate
    return None


def find_ably_js(
    environ: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> Path | None:
    """The path of the ably-js browser bundle the demo page serves: the one
    ``$ABLY_JS_PATH`` names (a file, or a folder holding ``node_modules``, the ``ably``
    package or its ``build``; relative to ``cwd``, default the working directory), else the
    one shipped with this package. ``None`` when ``$ABLY_JS_PATH`` is set but holds no
    bundle: a wrong setting is reported, never replaced by the shipped copy.
    """
    from pathlib import Path

    source = os.environ if environ is None else environ
    configured = source.get(ABLY_JS_ENV)
    if not configured:
        from importlib.resources import files

        return Path(str(files(__package__) / "static" / "ably.min.js"))
    path = (Path.cwd() if cwd is None else Path(cwd)) / configured
    if path.is_file():
        return path.resolve()
    found = None
    if path.is_dir():
        found = _bundle_in(path)
        if found is None and path.name == "build":
            found = _bundle_in(path.parent.parent)
    return None if found is None else found.resolve()


def ably_js_response() -> AuthResponse:
    """ably-js's browser bundle, as the demo serves it at ``/ably.js``: the copy shipped
    with this package (ably-js 2.28.0), or the one ``$ABLY_JS_PATH`` names. 404, with a
    script that logs why, when ``$ABLY_JS_PATH`` names no bundle."""
    found = find_ably_js()
    if found is None:
        message = f"${ABLY_JS_ENV} names no ably-js bundle (ably.min.js): fix or unset it"
        return AuthResponse(
            status=404,
            headers=(("Content-Type", "text/javascript; charset=utf-8"), _NO_STORE),
            body=f"console.error({message!r});".encode(),
        )
    return AuthResponse(
        status=200,
        headers=(("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache")),
        body=found.read_bytes(),
    )
