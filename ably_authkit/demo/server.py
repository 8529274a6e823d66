"""The demo app: a small aiohttp app (the web stack the emulator extra already brings)
serving the authUrl routes through an :class:`~ably_authkit.endpoint.AuthEndpoint`, the
demo page and its live panel, on an event loop in a background thread, as the emulator
runs; :func:`serve` runs it beside a fresh local emulator (``ably-authkit demo``).

Routes:

- ``GET|POST /auth/{mode}``: :meth:`AuthEndpoint.arespond
  <ably_authkit.endpoint.AuthEndpoint.arespond>` for the user the ``X-User-Id`` header
  names (a STAND-IN for a real session: any client could send it);
- ``GET /``: the page (:func:`~ably_authkit.demo.page.render_page`), for ``?user=``, else
  the header's user, else the demo's user;
- ``GET /ably.js``, ``POST /explain``, ``POST /emulator/advance?seconds=N``: the live
  panel (:mod:`ably_authkit.demo.ably_js`, :mod:`ably_authkit.demo.panel`); the clock
  only when the endpoint runs on an emulator of its own (:attr:`AuthEndpoint.emulator
  <ably_authkit.endpoint.AuthEndpoint.emulator>`).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from datetime import timedelta

from aiohttp import web

from ably_authkit.capability import resource_segment
from ably_authkit.endpoint import MODES, AuthEndpoint, AuthResponse, Grant
from ably_authkit.errors import InvalidClientIdError, InvalidParameterError, InvalidTTLError

from .ably_js import ably_js_response
from .page import render_page
from .panel import clock_response, explain_response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import TextIO, TypeVar

    _Server = TypeVar("_Server", bound="DemoServer")

__all__ = ["DEMO_USER", "USER_HEADER", "DemoServer", "create_app", "grant_for", "serve"]

#: The user the page shows and the start-up banner's code connects as.
DEMO_USER = "alice"
#: The header that says who the user is (the demo's stand-in for a session).
USER_HEADER = "X-User-Id"
#: The lifetime the page's client asks for unless told: renewed in place every 30 s.
DEFAULT_TTL = timedelta(seconds=60)
_GRANT_TTL = timedelta(hours=1)
_AUTH_PATH = "/auth"


def grant_for(user: str | None) -> Grant | None:
    """The demo's policy: every user may chat, and hears what is sent to them alone."""
    if not user:
        return None
    capability = {
        "chat:*": ["publish", "subscribe", "presence", "history"],
        # The id is the user's, not ours: escaped, "*" or "a:b" names one channel only.
        f"user:{resource_segment(user, escape=True)}": ["subscribe"],
    }
    try:
        return Grant(client_id=user, capability=capability, ttl=_GRANT_TTL)
    except InvalidClientIdError:  # "*" (the wildcard identity), or an id Ably cannot carry
        return None


def _reply(answer: AuthResponse) -> web.Response:
    return web.Response(body=answer.body, status=answer.status, headers=dict(answer.headers))


def create_app(auth: AuthEndpoint, *, user: str = DEMO_USER) -> web.Application:
    """The demo's aiohttp application for ``auth`` (see the module docstring); the page
    shows ``user`` when the request names nobody."""

    async def credentials(request: web.Request) -> web.Response:
        body = await request.read() if request.method == "POST" else b""
        answer = await auth.arespond(
            request.match_info["mode"],
            grant_for(request.headers.get(USER_HEADER)),
            method=request.method,
            query=request.rel_url.raw_query_string,
            body=body,
            content_type=request.headers.get("Content-Type", ""),
        )
        return _reply(answer)

    async def page(request: web.Request) -> web.Response:
        grant = grant_for(request.query.get("user") or request.headers.get(USER_HEADER) or user)
        answers = {}
        if grant is not None:
            answers = {mode: await auth.arespond(mode, grant) for mode in MODES}
        answer = render_page(
            auth,
            grant,
            answers,
            auth_path=_AUTH_PATH,
            user_header=USER_HEADER,
            now=auth._now(None),
            ably_js_url="/ably.js",
            explain_url="/explain",
            clock_url=None if auth.emulator is None else "/emulator/advance",
            page_url=str(request.url.origin()),
        )
        return _reply(answer)

    async def ably_js(request: web.Request) -> web.Response:
        return _reply(ably_js_response())

    async def explain(request: web.Request) -> web.Response:
        return _reply(explain_response(auth.keys, await request.read(), now=auth._now(None)))

    async def advance(request: web.Request) -> web.Response:
        return _reply(clock_response(auth.emulator, request.query.get("seconds")))

    app = web.Application()
    app.router.add_route("*", _AUTH_PATH + "/{mode}", credentials)
    app.router.add_get("/", page)
    app.router.add_get("/ably.js", ably_js)
    app.router.add_post("/explain", explain)
    app.router.add_post("/emulator/advance", advance)
    return app


class DemoServer:
    """The demo app of :func:`create_app` on a real socket, served from a background
    thread (``start()``/``stop()``, or a ``with`` block), as
    :class:`~ably_authkit.testing.AblyEmulator` is."""

    def __init__(
        self, auth: AuthEndpoint, *, host: str = "127.0.0.1", port: int = 0, user: str = DEMO_USER
    ) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
            raise InvalidParameterError(
                f"port must be 0 (any free port) to 65535, not {port!r}", field="port"
            )
        self.auth = auth
        self.host = host
        self.port = port
        self.user = user
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """``http://HOST:PORT``, with the port chosen for ``port=0``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self: _Server) -> _Server:
        """Start serving; returns once the port is open (an ``OSError`` if it cannot be)."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        app = create_app(self.auth, user=self.user)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self.host, self.port)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                loop.run_until_complete(runner.cleanup())
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()
                self._stopped.set()

        self._stopped.clear()
        self._thread = threading.Thread(target=run, name="ably-authkit-demo", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving. The endpoint (and its emulator) stay as they are."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread (Ctrl-C raises
        ``KeyboardInterrupt`` here)."""
        while not self._stopped.wait(0.2):
            pass

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<DemoServer {self.url} {state}>"


def _page_ttl(ttl: timedelta) -> str:
    """The page's ``?ttl=`` for ``ttl``: whole seconds, from 1 s to the demo's 1 h grant."""
    if not isinstance(ttl, timedelta):
        raise InvalidTTLError(
            f"ttl must be a datetime.timedelta such as timedelta(seconds=60), not "
            f"{type(ttl).__name__}",
            field="ttl",
        )
    if ttl % timedelta(seconds=1) or not timedelta(seconds=1) <= ttl <= _GRANT_TTL:
        raise InvalidTTLError(
            "the demo's ttl must be whole seconds from 1s to 1h (the demo grants 1 h; a "
            f"client may ask for less, never more), not {ttl.total_seconds():g} s",
            field="ttl",
        )
    return f"{ttl // timedelta(seconds=1)}s"


def _next_steps(page: str, user: str) -> list[str]:
    """What to do once the demo runs: open the page; in a clone, run the tests and read
    the quick start there; from a pip install, read the guide installed with it."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    check, quickstart = root / "scripts" / "check", root / "docs" / "quickstart.md"
    steps = [
        f"Open {page} in a browser: as {user}, ably-js connects through the\n"
        "     authUrl, and the page draws each credential and renewal.",
    ]
    if check.is_file() and quickstart.is_file():  # a clone
        at_root = Path.cwd().resolve() == root
        steps.append(
            "Run the tests (what CI runs): "
            + ("scripts/check" if at_root else f"cd {root} && scripts/check")
        )
        steps.append(f"Read the quick start: {'docs/quickstart.md' if at_root else quickstart}")
    else:
        steps.append("Read the quick start: ably-authkit docs quickstart")
    return ["Next:", *(f"  {n}. {step}" for n, step in enumerate(steps, 1))]


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    ttl: timedelta | None = None,
    out: TextIO | None = None,
) -> None:
    """Run the demo until Ctrl-C: a fresh local emulator (:meth:`AuthEndpoint.from_env
    <ably_authkit.endpoint.AuthEndpoint.from_env>` with ``emulator=True``), the demo app
    on ``host``:``port`` (``0``: any free port) beside it, and a start-up banner on
    ``out`` (default stdout): the page's URL, where credentials come from, the code that
    connects a client as the page's user, and what to do next.

    ``ttl`` is the lifetime the page's client asks for (whole seconds, 1 s to the grant's
    1 h; default 60 s): 60 s is renewed in place (AUTH) every 30 s; 30 s or less gets no
    AUTH, so the client is disconnected at expiry (40142) and reconnects with a new
    credential. Both servers are stopped
    before it returns, or before any other exception (a signal's) leaves it."""
    page_ttl = _page_ttl(DEFAULT_TTL if ttl is None else ttl)
    out = sys.stdout if out is None else out
    auth = AuthEndpoint.from_env({}, emulator=True)
    try:
        server = DemoServer(auth, host=host, port=port)
        try:
            server.start()
        except OSError as error:
            raise InvalidParameterError(
                f"the demo cannot listen on {host}:{port}: {error.strerror}", field="port"
            ) from None
        try:
            page = f"{server.url}/?ttl={page_ttl}"
            lines = [
                f"Demo app: {page} (Ctrl-C to stop)",
                auth.describe(f"{server.url}{_AUTH_PATH}", headers={USER_HEADER: DEMO_USER}),
                "",
                *_next_steps(page, DEMO_USER),
            ]
            print("\n".join(lines), file=out, flush=True)
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
    finally:
        auth.close()
