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
``/presence/history``), ``GET /channels/{channel}``, ``GET /stats``, and the test-app
provisioning API (``POST /apps``, ``DELETE /apps/{appId}``, ``POST /stats``) that Ably's
SDK suites use. Bodies are JSON or msgpack, by
``Content-Type``; answers follow ``Accept``. The emulator's clock is the real clock plus
what :meth:`AblyEmulator.advance` added, and every check uses it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta

import msgpack
from aiohttp import web

from ably_authkit._time import check_datetime, register_emulator_clock, to_ms
from ably_authkit.capability import Capability
from ably_authkit.errors import AblyApiError, InvalidParameterError, ParameterTypeError

from ._auth import DEFAULT_CAPABILITY
from ._common import INTERNAL_ERROR, HistoryQuery, ably_error, json_text
from ._connection import RealtimeConnection
from ._realtime import Realtime
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

JSON = "application/json"
MSGPACK = "application/x-msgpack"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_log = logging.getLogger("ably_authkit.testing")


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
        self._add_routes(self.app)
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

    # -- HTTP -------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.realtime.handle)
        app.on_shutdown.append(self.realtime.shutdown)
        app.router.add_get("/time", self._time)
        app.router.add_post("/keys/{key_name}/requestToken", self._request_token)
        app.router.add_post("/keys/{key_name}/revokeTokens", self._revoke_tokens)
        app.router.add_post("/channels/{channel}/messages", self._publish)
        app.router.add_get("/channels/{channel}/messages", self._history)
        app.router.add_get("/channels/{channel}/messages/{serial}", self._get_message)
        app.router.add_patch("/channels/{channel}/messages/{serial}", self._change_message)
        app.router.add_get("/channels/{channel}/messages/{serial}/versions", self._versions)
        app.router.add_get("/channels/{channel}/presence", self._presence)
        app.router.add_get("/channels/{channel}", self._channel_details)
        app.router.add_get("/channels/{channel}/presence/history", self._presence_history)
        app.router.add_post(
            "/channels/{channel}/messages/{serial}/annotations", self._publish_annotations
        )
        app.router.add_get("/channels/{channel}/messages/{serial}/annotations", self._annotations)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/stats", self._post_stats)
        app.router.add_post("/apps", self._create_app)
        app.router.add_delete("/apps/{app_id}", self._delete_app)

    async def _time(self, request: web.Request) -> web.Response:
        return _answer(request, [to_ms(self.now())])

    async def _request_token(self, request: web.Request) -> web.Response:
        body = await _body(request)
        service = self.service
        with service.lock:
            header = request.headers.get("Authorization")
            basic = None
            if header and header.lower().startswith("basic "):
                basic = service.authorization(header, request.headers.get("X-Ably-ClientId"))
            details = service.request_token(request.match_info["key_name"], body, basic)
        return _answer(request, details.to_dict())

    async def _revoke_tokens(self, request: web.Request) -> web.Response:
        body = await _body(request)
        service = self.service
        with service.lock:
            key = service.key(request.match_info["key_name"])
            credential = service.authorization(
                request.headers.get("Authorization"), request.headers.get("X-Ably-ClientId")
            )
            if credential.kind != "basic" or credential.key.name != key.name:
                raise ably_error(
                    40162, 401, "revokeTokens takes the key itself as basic auth, not a token"
                )
            result = service.revoke(key, body)
        return _answer(request, result, status=201 if not result["failureCount"] else 400)

    def _credential(self, request: web.Request) -> Any:
        return self.service.authorization(
            request.headers.get("Authorization"), request.headers.get("X-Ably-ClientId")
        )

    async def _publish(self, request: web.Request) -> web.Response:
        body = await _body(request)
        channel = request.match_info["channel"]
        force_nack = request.query.get("_forceNack") == "true"
        with self.service.lock:
            credential = self._credential(request)
            self.service.require(credential, channel, "publish")
            self.realtime.check_connection_keys(credential, body)
            stored = self.service.publish(credential, channel, body, force_nack=force_nack)
        serials = [message["serial"] for message in stored]
        return _answer(
            request,
            {"channel": channel, "messageId": stored[0]["id"], "serials": serials},
            status=201,
        )

    async def _history(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/messages`` (RSL2): ``start``, ``end`` (ms, both
        inclusive), ``direction`` and ``limit``, in pages with ``first``, ``current``
        and ``next`` links (docs, REST API "Pagination")."""
        channel = request.match_info["channel"]
        return self._history_page(
            request,
            "./messages",
            lambda credential, q: self.service.history(credential, channel, q),
        )

    async def _presence_history(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/presence/history`` (RSP4): as message history."""
        channel = request.match_info["channel"]
        presence = self.realtime.presence
        return self._history_page(
            request,
            "./history",
            lambda credential, q: presence.rest_history(credential, channel, q),
        )

    async def _channel_details(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}`` (RSL8): the channel's ChannelDetails, with the
        ``channel-metadata`` capability."""
        from ._metadata import channel_details

        with self.service.lock:
            credential = self._credential(request)
        details = channel_details(self.realtime, credential, request.match_info["channel"])
        return _answer(request, details)

    async def _presence(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/presence`` (RSP3): the members, newest first, in pages
        of ``limit``, filtered by ``clientId`` and ``connectionId``."""
        channel = request.match_info["channel"]
        query = request.query
        limit = _limit(query.get("limit", "100"))
        after = _ms(query, "cursor")
        with self.service.lock:
            credential = self._credential(request)
        members, following = self.realtime.presence.rest_get(
            credential,
            channel,
            limit=limit,
            client_id=query.get("clientId"),
            connection_id=query.get("connectionId"),
            after=after,
        )
        params = {name: query[name] for name in ("clientId", "connectionId") if name in query}
        params["limit"] = str(limit)
        links = {"first": params, "current": dict(params)}
        if after is not None:
            links["current"]["cursor"] = str(after)
        if following is not None:
            links["next"] = {**params, "cursor": str(following)}
        response = _answer(request, members)
        _link(response, "./presence", links)
        return response

    def _history_page(
        self,
        request: web.Request,
        path: str,
        fetch: Callable[[Any, HistoryQuery], tuple[list[dict[str, Any]], int | None]],
    ) -> web.Response:
        """One page of a history (messages or presence events) for the request's
        ``start``, ``end``, ``direction``, ``limit`` and ``cursor``, with its links."""
        query = request.query
        direction = query.get("direction", "backwards")
        if direction not in ("forwards", "backwards"):
            raise ably_error(40003, 400, "direction must be forwards or backwards")
        limit = _limit(query.get("limit", "100"))
        with self.service.lock:
            credential = self._credential(request)
            now = to_ms(self.service.now())
            start = _ms(query, "start")
            start = 0 if start is None else start
            end = _ms(query, "end")
            end = now if end is None else end
            if start > end:
                raise ably_error(40003, 400, "start must be at or before end")
            after = _ms(query, "cursor")
            resolved = HistoryQuery(start, end, direction == "forwards", limit, after)
            messages, following = fetch(credential, resolved)
        params = {"start": str(start), "end": str(end), "limit": str(limit)}
        params["direction"] = direction
        links = {"first": params, "current": dict(params)}
        if after is not None:
            links["current"]["cursor"] = str(after)
        if following is not None:
            links["next"] = {**params, "cursor": str(following)}
        response = _answer(request, messages)
        _link(response, path, links)
        return response

    async def _get_message(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/messages/{serial}`` (RSL11)."""
        channel, serial = request.match_info["channel"], request.match_info["serial"]
        with self.service.lock:
            credential = self._credential(request)
            message = self.service.mutable.get(credential, channel, serial)
        return _answer(request, message)

    async def _versions(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/messages/{serial}/versions`` (RSL14): one page."""
        channel, serial = request.match_info["channel"], request.match_info["serial"]
        with self.service.lock:
            credential = self._credential(request)
            versions = self.service.mutable.versions(credential, channel, serial)
        response = _answer(request, versions)
        _link(response, "./versions", {"first": {}, "current": {}})
        return response

    async def _change_message(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{channel}/messages/{serial}`` (RSL15): an update, delete or
        append, answered with an UpdateDeleteResult (UDR2a ``versionSerial``)."""
        body = await _body(request)
        channel, serial = request.match_info["channel"], request.match_info["serial"]
        with self.service.lock:
            credential = self._credential(request)
            version_serial, _ = self.service.mutable.change(credential, channel, serial, body)
        return _answer(request, {"versionSerial": version_serial})

    async def _publish_annotations(self, request: web.Request) -> web.Response:
        """``POST /channels/{channel}/messages/{serial}/annotations`` (RSAN1c, RSAN2a):
        an annotation or an array of them, created or deleted."""
        body = await _body(request)
        channel, serial = request.match_info["channel"], request.match_info["serial"]
        with self.service.lock:
            credential = self._credential(request)
            self.service.annotations.publish(credential, channel, serial, body)
        return _answer(request, {}, status=201)

    async def _annotations(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/messages/{serial}/annotations`` (RSAN3b): oldest
        first, ``limit`` a page, in pages with ``first``, ``current`` and ``next`` links."""
        channel, serial = request.match_info["channel"], request.match_info["serial"]
        limit = _limit(request.query.get("limit", "100"))
        start = request.query.get("cursor", "0")
        if not (start.isascii() and start.isdigit()):
            raise ably_error(40003, 400, "cursor must be one a next link gave")
        with self.service.lock:
            credential = self._credential(request)
            every = self.service.annotations.get(credential, channel, serial)
        offset = int(start)
        params = {"limit": str(limit)}
        links: dict[str, dict[str, str]] = {"first": params, "current": {**params, "cursor": start}}
        if offset + limit < len(every):
            links["next"] = {**params, "cursor": str(offset + limit)}
        response = _answer(request, every[offset : offset + limit])
        _link(response, "./annotations", links)
        return response

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
        answer = self._app_answer(app_id, made, spec or {})
        for entry, (key, _) in zip(answer["keys"], made, strict=True):
            entry["apiKey"] = key
        return answer

    def _app_answer(
        self, app_id: str, made: list[tuple[ApiKey, dict[str, Any]]], spec: Mapping[str, Any]
    ) -> dict[str, Any]:
        keys = []
        for key, fields in made:
            capability = key.capability or DEFAULT_CAPABILITY
            keys.append(
                {
                    **fields,
                    "id": key.name.partition(".")[2],
                    "value": key.secret,
                    "keyName": key.name,
                    "keySecret": key.secret,
                    "keyStr": f"{key.name}:{key.secret}",
                    "capability": capability.to_json(),
                }
            )
        return {
            "appId": app_id,
            "accountId": f"{app_id}-account",
            "keys": keys,
            "namespaces": list(spec.get("namespaces", [])),
            "channels": list(spec.get("channels", [])),
            "endpoint": self.host,
            "port": self.port,
            "tls": self.tls,
        }

    async def _create_app(self, request: web.Request) -> web.Response:
        """``POST /apps``: the test-app provisioning API of Ably's sandbox, as the SDK
        suites use it (and ``ABLY_LOCAL_SANDBOX_URL`` pointed at this emulator). Only
        with a JSON or msgpack body, which a web page cannot send to another origin
        without the browser asking first (a CORS preflight)."""
        if request.content_type not in (JSON, MSGPACK):
            raise ably_error(
                40000,
                415,
                f"POST /apps takes a {JSON} or {MSGPACK} body, not {request.content_type!r}",
            )
        spec = await _body(request)
        with self.service.lock:
            app_id, made = self.service.create_app(spec)
        self.realtime.presence.add_fixtures(app_id, spec)
        fields = spec if isinstance(spec, Mapping) else {}  # create_app refused any other
        return _answer(request, self._app_answer(app_id, made, fields), status=201)

    async def _delete_app(self, request: web.Request) -> web.Response:
        with self.service.lock:
            credential = self._credential(request)
            self.service.delete_app(request.match_info["app_id"], credential)
        return web.Response(status=204)

    async def _post_stats(self, request: web.Request) -> web.Response:
        """``POST /stats``: the stats fixtures ably-js's suite posts; taken and dropped
        (the emulator keeps no stats), with the app's key as basic auth."""
        await request.read()
        with self.service.lock:
            credential = self._credential(request)
        if credential.kind != "basic":
            raise ably_error(40101, 401, "POST /stats takes the app's key as basic auth")
        return web.Response(status=201)

    async def _stats(self, request: web.Request) -> web.Response:
        """``GET /stats``: the app's statistics, which the emulator does not keep: an empty
        page, with the ``Link`` headers of a paginated answer (SDK tests call ``stats()``
        to prove a credential works)."""
        with self.service.lock:
            credential = self._credential(request)
            self.service.require_stats(credential)
        query = request.query
        params = {
            "start": query.get("start"),
            "end": query.get("end"),
            "limit": str(_limit(query.get("limit", "100"))),
            "unit": query.get("unit", "minute"),
            "direction": query.get("direction", "backwards"),
        }
        for name in ("start", "end"):
            value = params[name]
            if value is not None and not (
                (value.isascii() and value.isdigit()) or _INTERVAL_ID.fullmatch(value)
            ):
                raise ably_error(
                    40003,
                    400,
                    f"{name} must be milliseconds since 1970 or an interval id "
                    "(2025-02-03:15:03, 2025-02-03:15, 2025-02-03 or 2025-02)",
                )
        if params["unit"] not in ("minute", "hour", "day", "month"):
            raise ably_error(40003, 400, "unit must be minute, hour, day or month")
        if params["direction"] not in ("forwards", "backwards"):
            raise ably_error(40003, 400, "direction must be forwards or backwards")
        given = {name: value for name, value in params.items() if value is not None}
        response = _answer(request, [])
        # An empty result has a first and a current page and no next one.
        _link(response, "./stats", {"first": given, "current": given})
        return response

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


# -- wire helpers ------------------------------------------------------------------------


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


async def _body(request: web.Request) -> object:
    raw = await request.read()
    kind = request.content_type
    if not raw:
        raise ably_error(40000, 400, "the request has no body")
    if kind == MSGPACK:
        try:
            return msgpack.unpackb(raw, raw=False, strict_map_key=False)
        except (ValueError, msgpack.UnpackException, TypeError) as error:
            raise ably_error(40000, 400, f"the body is not valid msgpack: {error}") from None
    if kind in (JSON, "text/plain"):
        from ably_authkit._json import loads_strict

        try:
            return loads_strict(raw.decode("utf-8"))
        except (ValueError, RecursionError) as error:
            raise ably_error(40000, 400, f"the body is not valid JSON: {error}") from None
    # Choice: Ably's REST API takes JSON and msgpack; any other type is refused with
    # 415 and 40000.
    raise ably_error(
        40000,
        415,
        f"Unsupported Content-Type {kind!r}: send {JSON} or {MSGPACK}",
    )


#: A stats interval id, as ably-js's suite passes for ``start``/``end``
#: (test/rest/stats.test.js, appstats_minute0: ``2025-02-03:15:03``) and Ably's stats
#: records carry (``intervalId``): a month, a day, an hour or a minute.
_INTERVAL_ID = re.compile(r"\d{4}-\d{2}(-\d{2}(:\d{2}(:\d{2})?)?)?", re.ASCII)


def _link(response: web.Response, path: str, links: Mapping[str, Mapping[str, str]]) -> None:
    """Ably's paginated-response links (docs, REST API "Pagination"): URLs relative to
    the query's, a separate ``Link`` header for each of ``first``, ``current`` and
    ``next`` (the last only when there is a next page)."""
    from urllib.parse import urlencode

    for rel, params in links.items():
        response.headers.add("Link", f'<{path}?{urlencode(params)}>; rel="{rel}"')


def _ms(query: Mapping[str, str], name: str) -> int | None:
    """A time parameter in ms since 1970, as ASCII digits, if given; else 40003."""
    text = query.get(name)
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        raise ably_error(40003, 400, f"{name} must be milliseconds since 1970")
    return int(text)


def _limit(text: str) -> int:
    """A page size: 1 to 1000 (Ably's REST API), as ASCII digits; else 40003."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1000:
        raise ably_error(40003, 400, "limit must be an integer from 1 to 1000")
    return int(text)


def _wants_msgpack(request: web.Request) -> bool:
    return MSGPACK in request.headers.get("Accept", "")


def _answer(request: web.Request, payload: object, *, status: int = 200) -> web.Response:
    if _wants_msgpack(request):
        body = msgpack.packb(payload, use_bin_type=True)
        return web.Response(body=body, status=status, content_type=MSGPACK)
    text = json_text(payload)
    return web.Response(body=text.encode("utf-8"), status=status, content_type=JSON)


def _error_response(request: web.Request, error: AblyApiError) -> web.Response:
    status = error.status_code or 500
    payload: Mapping[str, Any] = {
        "error": {
            "message": error.message,
            "code": error.code,
            "statusCode": status,
            "href": error.href,
        }
    }
    response = _answer(request, payload, status=status)
    response.headers["X-Ably-ErrorCode"] = str(error.code)
    # A header holds printable ASCII only: a line break from the request (a channel name)
    # would otherwise end the header, and the answer with it.
    text = error.message.encode("ascii", "replace").decode()[:200]
    response.headers["X-Ably-ErrorMessage"] = "".join(
        char if " " <= char <= "~" else "?" for char in text
    )
    return response


@web.middleware
async def _ably_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AblyApiError as error:
        return _error_response(request, error)
    except web.HTTPRequestEntityTooLarge:
        return _error_response(request, ably_error(40009, 413, "the request body is too large"))
    except web.HTTPMethodNotAllowed:
        # A route asked with a method it does not take is not found, as on Ably (ably-js
        # test/rest/request.test.js, request_404: GET /keys/{keyName}/requestToken).
        return _error_response(
            request, ably_error(40400, 404, f"Not found: no {request.method} {request.path}")
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return _error_response(
            request, ably_error(error.status * 100, error.status, error.reason or "error")
        )
    except Exception:  # the emulator keeps serving; what broke goes to the log only
        _log.exception("emulator error answering %s %s", request.method, request.path)
        return _error_response(request, ably_error(50000, 500, INTERNAL_ERROR))


def _origin(text: str) -> str:
    """An origin named in ``allowed_origins``, as browsers send it: ``scheme://host``
    with a port only when it is not the scheme's default."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise InvalidParameterError(
            f"allowed_origins: {text!r} is not an origin such as 'https://app.example.com' "
            "or 'http://192.168.1.20:8080' (a scheme, a host, an optional port, no path)"
        )
    default = 443 if parts.scheme == "https" else 80
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{name}" + ("" if port in (None, default) else f":{port}")


def _is_loopback(name: str) -> bool:
    """Whether a host name is this machine's: 127.0.0.0/8, ::1 or localhost."""
    import ipaddress

    name = name.lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _host_name(host: str) -> str:
    """The name of a ``Host`` header, without its port."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _browser_guard(own_host: str, allowed_origins: frozenset[str]) -> Any:
    """What the emulator takes from a browser (docs/security.md). A web page can make a
    browser send requests to the emulator on the developer's loopback, so:

    - the ``Host`` header must name this machine (127.0.0.0/8, ``localhost``, ``[::1]``)
      or the host the emulator was started on: a page that rebinds its own domain name
      to 127.0.0.1 sends its own domain, and is refused;
    - a request with an ``Origin`` (every cross-origin browser request, and every
      browser's WebSocket) must come from a page on this machine (a loopback host, any
      port: the demo page, ably-js in a page served locally) or from an origin named in
      ``allowed_origins``; others get 403 with no CORS headers, before anything is done.

    The SDKs' own suites (ably-js and ably-go under Node or Go, ably-python) send no
    ``Origin``, and are not affected. Choice: the refusal is 40300/403."""
    own = own_host.lower().rstrip(".")
    # Listening on every address (0.0.0.0, ::), the emulator is reached by this
    # machine's addresses too: any IP address is taken, as no DNS rebinding sends one.
    everywhere = own in ("0.0.0.0", "::", "[::]")  # noqa: S104 -- a comparison

    def allowed_host(header: str) -> bool:
        name = _host_name(header.strip()).lower().rstrip(".")
        if _is_loopback(name) or name == own or name.strip("[]") == own:
            return True
        return everywhere and _is_ip(name.strip("[]"))

    def allowed_origin(origin: str) -> bool:
        try:
            normal = _origin(origin)
        except InvalidParameterError:
            return False  # "null" (a file, a sandboxed frame) and anything malformed
        return normal in allowed_origins or _is_loopback(_host_name(normal.partition("://")[2]))

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        host = request.headers.get("Host")
        problem = None
        if host is not None and not allowed_host(host):
            problem = (
                "the Host header must name this machine (127.0.0.1, localhost, [::1]) "
                f"or {own_host}"
            )
        elif origin is not None and not allowed_origin(origin):
            problem = (
                "requests from this web page's origin are not taken: the emulator serves "
                "pages on this machine and the origins named in AblyEmulator(allowed_origins=...)"
            )
        if problem is not None:
            return _error_response(request, ably_error(40300, 403, problem))
        return await _cors(request, handler)

    return guard


async def _cors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Browsers (the demo page) call the emulator from another origin, one the guard
    allowed."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response: web.StreamResponse = web.Response(status=204)
    else:
        response = await handler(request)
    origin = request.headers.get("Origin")
    if origin is not None and not response.prepared:
        response.headers["Vary"] = "Origin"
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
        response.headers["Access-Control-Expose-Headers"] = (
            "Link, X-Ably-ErrorCode, X-Ably-ErrorMessage"
        )
    return response
