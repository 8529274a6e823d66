"""The demo: ``ably-authkit demo`` (:func:`serve`) runs a local Ably emulator and a small
app whose page shows, for one user, the answer of each authUrl mode,
:func:`~ably_authkit.explain` of each credential and the code that connects a client, and
whose live panel runs ably-js in the browser through the authUrl and draws each
credential, renewal and disconnection on a timeline.

It is a tool beside the library, not part of the authUrl API: it uses
:mod:`ably_authkit.endpoint` (the app's authUrl routes are :class:`AuthEndpoint
<ably_authkit.endpoint.AuthEndpoint>`'s), never the reverse. One concern per module:

- ``page.py`` and ``templates/``: the page, its markup, style and script;
- ``ably_js.py`` and ``static/``: the ably-js browser bundle shipped for the live panel;
- ``panel.py``: the live panel's answers (``explain()`` of its credential, the clock);
- ``server.py``: the aiohttp app, :class:`DemoServer` and :func:`serve` (they need the
  ``emulator`` extra, which brings aiohttp; the other modules need nothing more than the
  core).
"""

from __future__ import annotations

from .ably_js import ABLY_JS_VERSION as ABLY_JS_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .server import DEMO_USER as DEMO_USER
    from .server import DemoServer as DemoServer
    from .server import create_app as create_app
    from .server import serve as serve

__all__ = ["ABLY_JS_VERSION", "DEMO_USER", "DemoServer", "create_app", "serve"]

_SERVER_NAMES = frozenset({"DEMO_USER", "DemoServer", "create_app", "serve"})


def __getattr__(name: str) -> object:
    """The names of ``server.py``, imported when first used: a missing ``emulator`` extra
    is a :class:`~ably_authkit.MissingExtraError` naming the ``pip install`` line."""
    if name not in _SERVER_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ably_authkit._extras import require

    require("emulator", "the demo")
    from . import server

    return getattr(server, name)
