"""The HTTP side of the emulator: Ably's REST routes, the test-app provisioning API, and
what every answer goes through (JSON or msgpack bodies by ``Content-Type`` and
``Accept``, Ably's error body and headers, paginated ``Link`` headers, and the guard
against web pages: ``Host``, ``Origin``, CORS).

:class:`Routes` holds the emulator's service and realtime hub and registers its
handlers on the aiohttp application; each handler authenticates the request and calls
the service (``_auth``, ``_channels``, ``_mutable``, ``_annotations``) or the realtime
side (presence, channel metadata) under the service's lock. Uses ``_common``, ``_auth``,
``_service``, ``_realtime`` and ``_metadata``; ``emulator`` uses it, and Ably Chat's
routes (``_chat``) use its wire helpers and history pages. The choices made where Ably's
behaviour is not documented are marked ``Choice:``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping

import msgpack
from aiohttp import web

from ably_authkit._time import to_ms
from ably_authkit.errors import AblyApiError, InvalidParameterError

from ._auth import DEFAULT_CAPABILITY
from ._common import INTERNAL_ERROR, HistoryQuery, ably_error, json_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ably_authkit.keys import ApiKey

    from ._realtime import Realtime
    from ._service import Service

__all__ = ["Routes"]

JSON = "application/json"
MSGPACK = "application/x-msgpack"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_log = logging.getLogger("ably_authkit.testing")


class Routes:
    """The HTTP routes of one emulator, on its service and its realtime hub. ``where``
    gives the address clients connect to (``endpoint``, ``port``, ``tls``), which the
    provisioning answer names."""

    def __init__(
        self, service: Service, realtime: Realtime, where: Callable[[], dict[str, Any]]
    ) -> None:
        self.service = service
        self.realtime = realtime
        self.where = where

    # -- HTTP -------------------------------------------------------------------------

    def add_to(self, app: web.Application) -> None:
        """Register every route, and the realtime endpoint on ``/``, on ``app``."""
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
        with self.service.lock:
            now = self.service.now()
        return _answer(request, [to_ms(now)])

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
        # docs, pub-sub/advanced "Ephemeral messages": "(for REST publishes) include
        # ephemeral: true in the publish params".
        ephemeral = request.query.get("ephemeral") == "true"
        with self.service.lock:
            credential = self._credential(request)
            self.service.require(credential, channel, "publish")
            self.realtime.check_connection_keys(credential, body)
            stored = self.service.publish(
                credential, channel, body, force_nack=force_nack, ephemeral=ephemeral
            )
        serials = [message["serial"] for message in stored]
        return _answer(
            request,
            {"channel": channel, "messageId": stored[0]["id"], "serials": serials},
            status=201,
        )

    async def _history(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/messages`` (RSL2): ``start``, ``end`` (ms, both
        inclusive), ``direction`` and ``limit``, in pages with ``first``, ``current``
        and ``next`` links (docs, REST API "Pagination"); ``fromSerial`` (RTL10b, sent
        by ably-js as ``from_serial`` for ``untilAttach`` with the ATTACHED serial):
        only the messages at or before it, on every page."""
        channel = request.match_info["channel"]
        name = "from_serial" if "from_serial" in request.query else "fromSerial"
        until = request.query.get(name)

        def keep(message: dict[str, Any]) -> bool:
            return until is None or str(message.get("serial")) <= until

        return self.history_page(
            request,
            "./messages",
            lambda credential, q: self.service.history(credential, channel, q, keep=keep),
            None if until is None else {name: until},
        )

    async def _presence_history(self, request: web.Request) -> web.Response:
        """``GET /channels/{channel}/presence/history`` (RSP4): as message history."""
        channel = request.match_info["channel"]
        presence = self.realtime.presence
        return self.history_page(
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

    def history_page(
        self,
        request: web.Request,
        path: str,
        fetch: Callable[[Any, HistoryQuery], tuple[list[dict[str, Any]], int | None]],
        kept: Mapping[str, str] | None = None,
    ) -> web.Response:
        """One page of a history (messages or presence events) for the request's
        ``start``, ``end``, ``direction``, ``limit`` and ``cursor``, with its links
        (which carry ``kept`` too: Ably Chat's ``fromSerial``)."""
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
        params.update(kept or {})
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

    def app_answer(
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
            **self.where(),
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
        return _answer(request, self.app_answer(app_id, made, fields), status=201)

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


# -- wire helpers ------------------------------------------------------------------------


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
