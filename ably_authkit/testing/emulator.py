"""AblyEmulator: a local, Ably-compatible service for offline tests of auth flows.

It is an aiohttp server on 127.0.0.1, run on an event loop in a background thread, so
synchronous tests, asyncio tests and other processes (ably-js under Node, a browser) can
all talk to it over real sockets::

    with AblyEmulator() as emu:
        key = emu.create_key(capability={"chat:*": ["publish", "subscribe"]})
        details = request_token(key, endpoint=emu.url)

Routes (Ably's paths, status codes, error codes and error body): ``GET /time``,
``POST /keys/{keyName}/requestToken``, ``POST /keys/{keyName}/revokeTokens``,
``POST``/``GET /channels/{channel}/messages``, ``GET``/``PATCH
/channels/{channel}/messages/{serial}`` and ``GET .../{serial}/versions`` (mutable
messages, ``_mutable.py``), ``POST``/``GET .../{serial}/annotations`` (annotations,
``_annotations.py``), ``GET /channels/{channel}/presence`` (and
``/presence/history``), ``GET /channels/{channel}``, ``GET /stats``, Ably Chat's REST API
(``/chat/v4/rooms/{room}/...``, ``_chat.py``), and the test-app
provisioning API (``POST /apps``, ``DELETE /apps/{appId}``, ``POST /stats``) that Ably's
SDK suites use. Bodies are JSON or msgpack, by
``Content-Type``; answers follow ``Accept``. The emulator's clock is the real clock plus
what :meth:`AblyEmulator.advance` added, and every check uses it.
The package is laid out by protocol concern, each module's docstring saying what it uses
and what uses it, imports only pointing down: this module (the public class: life cycle,
clock, keys, the assertion helpers) uses ``_routes`` (the HTTP routes) and ``_realtime``
(the WebSocket hub), which use ``_connection`` (one connection, the protocol's
vocabulary), ``_presence``, ``_metadata`` and ``_service`` (the state, the lock, the
clock); the service's halves are ``_auth`` (apps, keys, tokens, credentials, revocation)
and ``_channels`` (the one channel model REST and realtime share), with ``_mutable`` and
``_annotations``; ``_common`` (errors, the Credential, JSON) is under them all. Ably
Chat's REST API (``_chat``) sits beside the routes, on the same service and hub.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from aiohttp import web

from ably_authkit._time import check_datetime, register_emulator_clock
from ably_authkit.capability import Capability
from ably_authkit.errors import InvalidParameterError, ParameterTypeError

from ._auth import DEFAULT_CAPABILITY
from ._chat import ChatApi
from ._connection import RealtimeConnection
from ._realtime import Realtime
from ._routes import Handler, Routes, _ably_errors, _browser_guard, _origin
from ._service import Service

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ssl
    from types import TracebackType
    from typing import Any, TypeVar

    from ably_authkit.capability import CapabilityLike
    from ably_authkit.keys import ApiKey
    from ably_authkit.token_details import TokenDetails

    from ._presence import Member

    _Emulator = TypeVar("_Emulator", bound="AblyEmulator")

__all__ = ["AblyEmulator"]


class AblyEmulator:
    """A local Ably-compatible service. See the module docstring and ``docs/emulator.md``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        app_id: str = "emulatorApp",
        allowed_origins: Iterable[str] = (),
        mutable_messages: bool | Iterable[str] = False,
    ) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
            raise InvalidParameterError(f"port must be 0 (any free port) to 65535, not {port!r}")
        if not isinstance(host, str) or not host:
            raise ParameterTypeError("host must be a non-empty str such as '127.0.0.1'")
        if not isinstance(app_id, str) or not app_id or any(c in app_id for c in ".: "):
            raise InvalidParameterError("app_id must be a non-empty str without '.', ':' or ' '")
        if isinstance(allowed_origins, str) or not all(
            isinstance(origin, str) for origin in allowed_origins
        ):
            raise ParameterTypeError(
                "allowed_origins must be a list of origins such as ['https://app.example.com']"
            )
        #: The browser origins (besides loopback pages) whose requests the emulator takes.
        self.allowed_origins = frozenset(_origin(text) for text in allowed_origins)
        self.host = host
        self.port = port
        self.tls = tls
        self.app_id = app_id
        self.service = Service(app_id, _mutable_rule(mutable_messages))
        #: The PEM file to trust when ``tls=True`` (the served certificate, then the CA made
        #: for this emulator that signed it): ``SSL_CERT_FILE`` for httpx, ``NODE_EXTRA_CA_CERTS``
        #: for Node.
        self.ca_file: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopped = threading.Event()
        self._tmp: Any = None
        self._transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()
        #: Called on the emulator's loop after advance() (the realtime side checks expiry).
        self.on_advance: list[Callable[[], None]] = []
        #: The aiohttp application of the running server (a new one for each start()).
        self.app: web.Application | None = None
        #: The realtime (WebSocket) side: live connections, AUTH before expiry.
        self.realtime = Realtime(self.service)
        self.on_advance.append(self.realtime.check_all)
        #: The HTTP routes, on the service and the realtime side.
        self._routes = Routes(self.service, self.realtime, self._where)
        #: Ably Chat's REST API (``/chat/v4/rooms/...``), on the same channels.
        self._chat = ChatApi(self.service, self.realtime, self._routes)

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> AblyEmulator:
        """Start serving; returns once the port is open."""
        if self._thread is not None:
            return self
        ssl_context = self._ssl_context() if self.tls else None
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open(ssl_context))
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._close())
                loop.close()
                self._stopped.set()

        self._stopped.clear()
        self._thread = threading.Thread(target=run, name="AblyEmulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        # An AuthEndpoint aimed at this emulator now issues on its clock.
        register_emulator_clock(self._target(), self.now)
        return self

    async def _open(self, ssl_context: ssl.SSLContext | None) -> None:
        transports = self._transports = weakref.WeakSet()

        @web.middleware
        async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.transport is not None:
                transports.add(request.transport)
            return await handler(request)

        browser = _browser_guard(self.host, self.allowed_origins)
        self.app = web.Application(
            middlewares=[track, browser, _ably_errors], client_max_size=1024 * 1024
        )
        self._routes.add_to(self.app)
        self._chat.add_to(self.app)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.host, self.port, ssl_context=ssl_context, reuse_address=True
        )
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # A keep-alive connection of a client that outlives the emulator (the shared
        # clients of request_token) may still be closing (TLS waits for the peer's
        # close_notify, which an idle client never sends): cut it, and let the loop
        # finish closing it before the loop itself is closed.
        for transport in list(self._transports):
            transport.abort()
        await asyncio.sleep(0)

    def stop(self) -> None:
        """Stop serving and close every connection. The emulator can be started again."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        register_emulator_clock(self._target(), None)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread, or Ctrl-C."""
        try:
            while not self._stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    def __enter__(self: _Emulator) -> _Emulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<AblyEmulator {self.url} {state}, {len(self.service.keys)} keys>"

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the emulator's event loop and return its result (for state
        that the realtime side owns)."""
        loop = self._loop
        if loop is None:
            return function()

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    # -- what tests use ---------------------------------------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def create_key(
        self, capability: CapabilityLike | None = None, *, revocable: bool = False
    ) -> ApiKey:
        """Register and return a new key of this emulator's app. The key carries its
        capability (default ``{"[*]*":["*"]}``), so minting refuses what it cannot grant."""
        granted = DEFAULT_CAPABILITY if capability is None else Capability.coerce(capability)
        with self.service.lock:
            return self.service.add_key(granted, revocable, self.app_id)

    def revoke_key(self, key: ApiKey | str) -> None:
        """Revoke ``key`` (an ``ApiKey`` or its name) as Ably's dashboard does: from now
        on the key, and every token and JWT it issued, is refused with 40131 ("key/token
        status changed (revoke)") on REST, and every realtime connection using one gets
        ERROR 40131 and is closed. Like Ably's, a revocation is for good."""
        from ably_authkit.keys import ApiKey

        name = key.name if isinstance(key, ApiKey) else key
        if not isinstance(name, str):
            raise ParameterTypeError(
                f"revoke_key() takes an ApiKey or a key name, not {type(key).__name__}"
            )
        with self.service.lock:
            self.service.revoke_key(name)

    def client_options(self, sdk: str = "ably-python") -> dict[str, Any]:
        """The options that point a client at this emulator, as ``sdk`` (``"ably-python"``,
        the default: keyword arguments for ``AblyRest``/``AblyRealtime``, or
        ``"ably-js"``) spells them. For ably-python the port is in ``endpoint`` too
        (``"127.0.0.1:PORT/"``: its realtime client ignores ``port``), with no fallback
        hosts."""
        from ably_authkit._connect import SDKS, sdk_options

        if sdk not in SDKS:
            raise InvalidParameterError(f"sdk must be one of {SDKS}, not {sdk!r}")
        return sdk_options(self._target(), sdk)

    def _where(self) -> dict[str, Any]:
        return {"endpoint": self.host, "port": self.port, "tls": self.tls}

    def _target(self) -> dict[str, Any]:
        return {
            "endpoint": self.host,
            "tls": self.tls,
            "tls_port" if self.tls else "port": self.port,
        }

    def now(self) -> datetime:
        """The emulator's clock (UTC, whole milliseconds)."""
        with self.service.lock:
            return self.service.now()

    def advance(self, delta: timedelta) -> datetime:
        """Move the emulator's clock forward by ``delta``; returns the new time."""
        if not isinstance(delta, timedelta):
            raise ParameterTypeError(
                f"advance() takes a datetime.timedelta, not {type(delta).__name__}"
            )
        if delta < timedelta(0):
            raise InvalidParameterError("the emulator's clock only moves forward")
        with self.service.lock:
            self.service.offset += delta
            moment = self.service.now()
            self.service.expire()  # what Ably would have forgotten by then
        for listener in self.on_advance:
            self.call(listener)
        return moment

    def set_time(self, moment: datetime) -> None:
        """Move the emulator's clock forward to ``moment``."""
        self.advance(check_datetime(moment, "moment") - self.now())

    @property
    def issued_tokens(self) -> list[TokenDetails]:
        """The tokens issued through ``requestToken``, oldest first: every one still
        valid on the emulator's clock, and the 1000 latest to expire (older ones are
        forgotten, as the emulator's memory is bounded)."""
        with self.service.lock:
            return list(self.service.issued)

    def published(self, channel: str, *, app_id: str | None = None) -> list[dict[str, Any]]:
        """The messages published on ``channel``, oldest first, as stored (with the
        ``id``, ``timestamp``, ``clientId``, ``serial`` and ``action`` the emulator
        assigned; a changed message as its latest version, with ``version``): in every
        app, or in ``app_id``'s only (a channel belongs to its app, as in Ably). The
        record keeps what history keeps (2 minutes on the emulator's clock, 24 hours in a
        persisted namespace or one with the mutable-messages rule), and the 1000 latest
        messages past that (8 MiB at most)."""
        with self.service.lock:
            return [
                dict(message)
                for _, app, message in self.service.recorded(channel)
                if app_id is None or app == app_id
            ]

    def message_versions(
        self, channel: str, serial: str, *, app_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every version of the message ``serial`` of ``channel``, oldest first, as
        ``GET /channels/{channel}/messages/{serial}/versions`` answers them (in the
        emulator's app, or in ``app_id``'s): each with ``action`` (0 create, 1 update, 2
        delete), ``serial`` and, after the first, ``version``. Raises ``AblyApiError``
        40400 for a serial the channel does not have."""
        with self.service.lock:
            return self.service.mutable.stored_versions(app_id or self.app_id, channel, serial)

    def present(self, channel: str, *, app_id: str | None = None) -> list[Member]:
        """The members present on ``channel`` now, oldest first: in every app, or in
        ``app_id``'s. Each is a read-only mapping with ``clientId``, ``connectionId``,
        ``data`` (and ``encoding``), ``timestamp`` and ``id``, also readable as
        ``member.client_id``, ``member.connection_id`` and ``member.data``."""
        presence = self.realtime.presence
        return list(self.call(lambda: presence.present(channel, app_id)))

    def annotations(
        self, channel: str, serial: str, *, app_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every annotation published on the message ``serial`` of ``channel``, oldest
        first, as ``GET .../messages/{serial}/annotations`` answers them (in the
        emulator's app, or in ``app_id``'s): each with ``action`` (0 create, 1 delete),
        ``type``, ``name``, ``clientId``, ``serial``, ``messageSerial`` and what was
        published with it."""
        with self.service.lock:
            return self.service.annotations.stored(app_id or self.app_id, channel, serial)

    def annotation_summary(
        self, channel: str, serial: str, *, app_id: str | None = None
    ) -> dict[str, Any]:
        """The message's summary of its annotations by type (``annotations.summary``, as
        a ``message.summary`` delivers it and get-by-serial shows it); ``{}`` when it has
        none. Raises ``AblyApiError`` 40400 for a serial the channel does not have."""
        with self.service.lock:
            message = self.service.mutable._find(app_id or self.app_id, channel, serial)
            return dict(message.get("annotations", {}).get("summary", {}))

    def chat_messages(self, room: str, *, app_id: str | None = None) -> list[dict[str, Any]]:
        """The Ably Chat messages of ``room`` (those on its channel ``{room}::$chat``),
        oldest first, each as the Chat REST API answers it (a Message V4: ``serial``,
        ``clientId``, ``text``, ``timestamp``, ``metadata``, ``headers``, ``action``
        ``"message.create"``, ``"message.update"`` or ``"message.delete"``, ``version``,
        and ``reactions`` when it has any): in every app, or in ``app_id``'s. The record
        keeps what ``published()`` keeps."""
        with self.service.lock:
            return self._chat.messages(room, app_id)

    @property
    def connections(self) -> list[RealtimeConnection]:
        """Snapshots of the live realtime connections, oldest first."""
        return list(self.call(self.realtime.connections))

    @property
    def closed_connections(self) -> list[RealtimeConnection]:
        """Snapshots of the 100 latest realtime connections to close, oldest first, as
        they were when they closed (``credentials`` too: what a connection used before
        it was disconnected and the client reconnected)."""
        return list(self.call(self.realtime.closed_connections))

    def reset(self) -> None:
        """Forget keys, tokens, nonces, revocations, messages and the clock offset, and
        drop the live realtime connections (their keys are gone), so nothing of one test
        reaches the next."""
        with self.service.lock:
            self.service.reset()
        self.call(self.realtime.drop_all)

    def create_app(self, spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Provision an app as ``POST /apps`` does (Ably's test-app API, the
        ``post_apps`` of ably-common's ``test-app-setup.json``), and return the same
        answer: ``appId``, ``keys`` (each with ``keyName``, ``keySecret``, ``keyStr``,
        ``capability``, and the ``ApiKey`` as ``apiKey``), ``namespaces``, ``channels``,
        and where clients connect (``endpoint``, ``port``, ``tls``)."""
        with self.service.lock:
            app_id, made = self.service.create_app({"keys": [{}]} if spec is None else spec)
        presence = self.realtime.presence
        self.call(lambda: presence.add_fixtures(app_id, spec))
        answer = self._routes.app_answer(app_id, made, spec or {})
        for entry, (key, _) in zip(answer["keys"], made, strict=True):
            entry["apiKey"] = key
        return answer

    def _ssl_context(self) -> ssl.SSLContext:
        import ssl
        import tempfile

        from ._tls import self_signed

        self._tmp = tempfile.TemporaryDirectory(prefix="ably-emulator-")
        cert, private_key = self_signed(self._tmp.name, self.host)
        self.ca_file = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, private_key)
        return context


def _mutable_rule(given: object) -> bool | frozenset[str]:
    """``mutable_messages``: True (every channel of the emulator's app), False, or the
    channel names and namespaces that have the rule."""
    if isinstance(given, bool):
        return given
    names = None if isinstance(given, str) else given
    if isinstance(names, Iterable):
        found = frozenset(names)
        if all(isinstance(name, str) and name for name in found):
            return found
    raise ParameterTypeError(
        "mutable_messages must be True, False, or namespaces and channel names such as "
        f"['chat'] (a str alone is not taken, write ['{given}']), not {given!r}"
        if isinstance(given, str)
        else "mutable_messages must be True, False, or namespaces and channel names such "
        f"as ['chat'], not {given!r}"
    )
