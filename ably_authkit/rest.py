"""The network: exchange a TokenRequest for a token, read Ably's clock, revoke tokens.

Every request goes through the `ably` package's own REST client — Ably's hosts and
fallback hosts, msgpack, retries and headers stay Ably's — imported on first use, so
importing this module costs nothing. The TokenRequest itself is always ours
(:func:`~ably_authkit.create_token_request`): validation and canonical form included.

``endpoint`` is what the `ably` package calls an endpoint (``"main"``, a routing-policy
name, a host such as ``"rest.example.com"``), or a URL such as ``http://127.0.0.1:8123``
whose scheme turns TLS on or off and whose port is used.

The module functions share their clients: calls with the same key, endpoint and
options reuse one (and its open connection), per event loop for :func:`arequest_token`
and never across ``fork()``. :class:`RestClient` and :class:`AsyncRestClient` are for
holding one yourself. The ``network`` extra (the `ably` package) is needed for all of it;
without it they raise :class:`~ably_authkit.MissingExtraError`.
"""

from __future__ import annotations

import atexit
import os
import threading
from contextlib import contextmanager
from datetime import timedelta

from ._extras import require
from ._frozen import Frozen
from ._time import ONE_SECOND, ZERO, check_datetime, check_now, from_ms, to_ms
from .errors import (
    AblyApiError,
    AblyConnectionError,
    AuthKitError,
    InvalidParameterError,
    ParameterTypeError,
)
from .keys import as_api_key
from .token_details import TokenDetails
from .token_requests import create_token_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
    from datetime import datetime
    from types import TracebackType
    from typing import Any, TypeVar

    from ably import AblyRest
    from ably.sync import AblyRestSync

    from .capability import CapabilityLike
    from .keys import ApiKey, KeyRing

    _T = TypeVar("_T")
    _Client = TypeVar("_Client", bound="RestClient")
    _AsyncClient = TypeVar("_AsyncClient", bound="AsyncRestClient")

__all__ = [
    "DEFAULT_TIMEOUT",
    "POOL_SIZE",
    "AsyncRestClient",
    "RestClient",
    "RevocationResult",
    "arequest_token",
    "request_token",
    "revoke_tokens",
    "server_time",
]

#: How long a request may take, connecting included.
DEFAULT_TIMEOUT = timedelta(seconds=10)

# Clock offsets (Ably's time minus ours) learnt with query_time=True, per key and endpoint,
# kept for the life of the process as the Ably SDKs keep theirs (spec RSA10k).
_clock_offsets: dict[tuple[str, str], timedelta] = {}


class RevocationResult(Frozen):
    """The outcome of revoking one target (``"clientId:alice"``, ``"revocationKey:g1"``)."""

    __slots__ = ("target", "issued_before", "applies_at", "error")

    target: str
    issued_before: datetime | None
    applies_at: datetime | None
    error: AblyApiError | None

    def __init__(
        self,
        *,
        target: str,
        issued_before: datetime | None = None,
        applies_at: datetime | None = None,
        error: AblyApiError | None = None,
    ) -> None:
        self._set("target", target)
        self._set("issued_before", issued_before)
        self._set("applies_at", applies_at)
        self._set("error", error)

    @property
    def ok(self) -> bool:
        return self.error is None


_ENDPOINT_FORMS = (
    "an Ably routing policy such as 'main' or 'nonprod:sandbox', a host such as "
    "'rest.example.com', or a URL such as 'http://127.0.0.1:8123'"
)


def _endpoint_error(problem: str) -> InvalidParameterError:
    # The value is never echoed: a misplaced API key ("appId.keyId:secret") or a URL with
    # a password is a secret, and an endpoint is where such a mistake lands.
    return InvalidParameterError(
        f"endpoint {problem}; give {_ENDPOINT_FORMS}", field="endpoint", code=40000
    )


def _is_host(text: str) -> bool:
    """A DNS name (letters, digits, hyphens; labels of 1-63), an IPv4 or an IPv6 address."""
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return True
    labels = text.rstrip(".").split(".") if len(text) <= 253 else []
    return bool(labels) and all(
        0 < len(label) <= 63
        and label.isascii()
        and label.replace("-", "").isalnum()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def _is_routing_policy(text: str) -> bool:
    return text.isascii() and bool(text) and text.replace("-", "").isalnum()


def check_endpoint(endpoint: object) -> dict[str, Any]:
    """The `ably` package's options for ``endpoint`` (``endpoint``, ``tls``, ``port`` or
    ``tls_port``), or an :class:`~ably_authkit.InvalidParameterError` that says which form
    to use without repeating the value.

    A value without a scheme is read as the spec does (REC1b): with a ``.``, a ``::`` or
    equal to ``localhost`` it is a host; ``nonprod:ID`` or ``ID`` is a routing policy.
    """
    if not isinstance(endpoint, str):
        raise ParameterTypeError(
            f"endpoint must be a str ({_ENDPOINT_FORMS}), not {type(endpoint).__name__}",
            field="endpoint",
        )
    if "://" not in endpoint:
        if "." in endpoint or "::" in endpoint or endpoint == "localhost":
            if _is_host(endpoint):
                return {"endpoint": endpoint}
            host, _, last = endpoint.rpartition(":")
            if last.isdigit() and _is_host(host):
                raise _endpoint_error(
                    "is a host and a port without a scheme: write it as a URL, "
                    "http://HOST:PORT (or https://)"
                )
            if ":" in endpoint and "." in endpoint.partition(":")[0]:
                raise _endpoint_error(
                    "looks like an API key (appId.keyId:secret): give the key as the key "
                    "(ABLY_API_KEY), not as the endpoint"
                )
            raise _endpoint_error("is not a valid host name")
        policy = endpoint[len("nonprod:") :] if endpoint.startswith("nonprod:") else endpoint
        if _is_routing_policy(policy):
            return {"endpoint": endpoint}
        if endpoint.startswith("localhost:"):
            raise _endpoint_error(
                "is a host and a port without a scheme: write it as a URL, http://HOST:PORT"
            )
        raise _endpoint_error("is neither a routing policy nor a host")
    from urllib.parse import urlsplit

    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        raise _endpoint_error("is not a valid URL") from None
    if "@" in url.netloc:
        raise _endpoint_error("is a URL with credentials: the key is given separately")
    if url.scheme not in ("http", "https"):
        raise _endpoint_error("must be an http:// or https:// URL")
    if not url.hostname or not _is_host(url.hostname):
        raise _endpoint_error("is a URL without a valid host")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise _endpoint_error("must be a URL with no path, query or fragment")
    tls = url.scheme == "https"
    options: dict[str, Any] = {"endpoint": url.hostname, "tls": tls}
    if port is not None:
        options["tls_port" if tls else "port"] = port
    return options


def _client_options(endpoint: str | None, timeout: timedelta) -> dict[str, Any]:
    """Keyword arguments for the `ably` package's clients."""
    if not isinstance(timeout, timedelta):
        raise ParameterTypeError(
            f"timeout must be a datetime.timedelta such as timedelta(seconds=10), "
            f"not {type(timeout).__name__}",
            field="timeout",
        )
    if timeout <= ZERO:
        raise InvalidParameterError("timeout must be positive", field="timeout")
    seconds = timeout / ONE_SECOND
    options: dict[str, Any] = {
        "http_open_timeout": seconds,
        "http_request_timeout": seconds,
        "http_max_retry_duration": seconds,
    }
    if endpoint is not None:
        options.update(check_endpoint(endpoint))
    return options


def _token_request_body(
    api_key: ApiKey,
    offset: timedelta | None,
    capability: CapabilityLike | None,
    client_id: str | None,
    ttl: timedelta | None,
    now: datetime | None = None,
) -> tuple[str, dict[str, str | int]]:
    if now is None and offset is not None:
        now = check_now(None) + offset
    request = create_token_request(
        api_key, capability=capability, client_id=client_id, ttl=ttl, now=now
    )
    return f"/keys/{api_key.name}/requestToken", request.to_dict()


def _revocation_body(
    client_ids: Iterable[str],
    revocation_keys: Iterable[str],
    issued_before: datetime | None,
    allow_reauth_margin: bool,
) -> dict[str, Any]:
    targets = []
    for kind, values in (("clientId", client_ids), ("revocationKey", revocation_keys)):
        if isinstance(values, str):
            raise ParameterTypeError(
                f"give {kind} targets as a list such as [{values!r}], not a str",
                field="targets",
            )
        for value in values:
            if not isinstance(value, str) or not value:
                raise InvalidParameterError(
                    f"a {kind} target must be a non-empty str, not {value!r}", field="targets"
                )
            targets.append(f"{kind}:{value}")
    if not targets:
        raise InvalidParameterError(
            "name at least one target: client_ids=[...] or revocation_keys=[...]",
            field="targets",
        )
    if len(targets) > 100:
        raise InvalidParameterError(
            f"Ably takes at most 100 targets per revocation request, not {len(targets)}; "
            "split them",
            field="targets",
        )
    if not isinstance(allow_reauth_margin, bool):
        raise ParameterTypeError("allow_reauth_margin must be True or False", field="targets")
    body: dict[str, Any] = {"targets": targets}
    if issued_before is not None:
        body["issuedBefore"] = to_ms(check_datetime(issued_before, "issued_before"))
    if allow_reauth_margin:
        body["allowReauthMargin"] = True
    return body


def _revocation_results(answer: object) -> tuple[RevocationResult, ...]:
    results = answer.get("results") if isinstance(answer, dict) else None
    if not isinstance(results, list):
        raise AblyApiError(
            f"Ably answered the revocation with {answer!r}, not a batch result",
            code=50000,
            status_code=500,
        )
    parsed = []
    for result in results:
        try:
            if isinstance(result.get("error"), dict):
                parsed.append(
                    RevocationResult(target=result["target"], error=_api_error(result["error"]))
                )
            else:
                parsed.append(
                    RevocationResult(
                        target=result["target"],
                        issued_before=from_ms(result["issuedBefore"]),
                        applies_at=from_ms(result["appliesAt"]),
                    )
                )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise AblyApiError(
                f"Ably answered the revocation with a result this library cannot read: {result!r}",
                code=50000,
                status_code=500,
            ) from None
    return tuple(parsed)


def _api_error(error: dict[str, Any]) -> AblyApiError:
    code = error.get("code")
    return AblyApiError(
        str(error.get("message", "")),
        code=code,
        status_code=error.get("statusCode"),
        href=error.get("href") or (f"https://help.ably.io/error/{code}" if code else None),
    )


def _translation(error: Exception, where: str) -> AuthKitError | None:
    """Ours for the `ably` package's or httpx's exception (``None``: not theirs)."""
    import httpx
    from ably.sync.util.exceptions import AblyException as SyncAblyException
    from ably.util.exceptions import AblyException

    # The sync client (generated by unasync) raises its own copy of the class.
    if isinstance(error, (AblyException, SyncAblyException)):
        # Its catch_all wraps a transport failure as "Unexpected exception" (50000).
        underlying = error.__cause__ or error.__context__
        if isinstance(underlying, (httpx.TransportError, OSError)):
            return _translation(underlying, where)
        code = error.code
        return AblyApiError(
            str(error.message),
            code=code,
            status_code=error.status_code,
            href=f"https://help.ably.io/error/{code}" if code else None,
        )
    if isinstance(error, httpx.TimeoutException):
        return AblyConnectionError(f"{where} timed out")
    if isinstance(error, (httpx.TransportError, OSError)):
        return AblyConnectionError(f"could not reach {where}: {_reason(error)}")
    return None


def _call(where: str, function: Callable[[], _T]) -> _T:
    """``function()``, with the `ably` package's and httpx's exceptions turned into ours.

    Ours is raised after the ``except`` clause, so it has no cause and no context:
    httpx's exceptions hold the request, whose ``Authorization`` header holds the key.
    """
    try:
        return function()
    except Exception as error:
        ours = _translation(error, where)
        if ours is None:
            raise
    raise ours


async def _acall(where: str, awaitable: Awaitable[_T]) -> _T:
    """:func:`_call` for an awaitable."""
    try:
        return await awaitable
    except Exception as error:
        ours = _translation(error, where)
        if ours is None:
            raise
    raise ours


def _reason(error: BaseException) -> str:
    """What went wrong, in words ("Connection refused"), without an errno or a request."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    text = str(error)
    if text.startswith("[Errno"):  # "[Errno -2] Name or service not known"
        text = text.partition("] ")[2]
    return text or type(error).__name__


class _Common:
    """What the sync and async clients share: the key, the options, the clock offset."""

    def __init__(
        self,
        key: ApiKey | KeyRing | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        self.key = as_api_key(key)
        self._options = _client_options(endpoint, timeout)
        self._endpoint_id = endpoint or "main"
        if not isinstance(query_time, bool):
            raise ParameterTypeError("query_time must be True or False", field="query_time")
        self.query_time = query_time
        self._where = f"Ably at {self._endpoint_id}"

    def _key_text(self) -> str:
        return f"{self.key.name}:{self.key.secret}"

    @property
    def _offset_id(self) -> tuple[str, str]:
        return (self.key.name, self._endpoint_id)

    def _learn_offset(self, sent: datetime, server_ms: int, received: datetime) -> timedelta:
        """Ably's clock minus ours, taking the request's midpoint as the moment Ably read it."""
        offset = from_ms(server_ms) - (sent + (received - sent) / 2)
        _clock_offsets[self._offset_id] = offset
        return offset


class RestClient(_Common):
    """A reusable, blocking connection to Ably for one key (over ``ably.sync.AblyRestSync``);
    given a :class:`~ably_authkit.KeyRing`, for its signer."""

    def __init__(
        self,
        key: ApiKey | KeyRing | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        super().__init__(key, endpoint=endpoint, timeout=timeout, query_time=query_time)
        require("network", "RestClient")
        from ably.sync import AblyRestSync

        self._ably: AblyRestSync = AblyRestSync(key=self._key_text(), **self._options)

    def request_token(
        self,
        *,
        capability: CapabilityLike | None = None,
        client_id: str | None = None,
        ttl: timedelta | None = None,
        now: datetime | None = None,
    ) -> TokenDetails:
        """Sign a TokenRequest and exchange it at Ably for a token. ``now`` is the
        TokenRequest's timestamp (default: this clock, corrected by ``query_time``)."""
        offset = self._clock_offset() if self.query_time and now is None else None
        path, body = _token_request_body(self.key, offset, capability, client_id, ttl, now)
        answer = _call(self._where, lambda: self._ably.http.post(path, body=body, skip_auth=True))
        return TokenDetails.from_dict(answer.to_native())

    def server_time(self) -> datetime:
        """Ably's clock (``GET /time``)."""
        return from_ms(_call(self._where, self._ably.time))

    def revoke_tokens(
        self,
        *,
        client_ids: Iterable[str] = (),
        revocation_keys: Iterable[str] = (),
        issued_before: datetime | None = None,
        allow_reauth_margin: bool = False,
    ) -> tuple[RevocationResult, ...]:
        """Revoke the tokens this key issued to these client ids / revocation keys.

        Ably takes this over TLS only, with the key itself (basic auth), and only for a
        key with revocable tokens enabled.
        """
        body = _revocation_body(client_ids, revocation_keys, issued_before, allow_reauth_margin)
        return self._revoke(body)

    def _revoke(self, body: dict[str, Any]) -> tuple[RevocationResult, ...]:
        path = f"/keys/{self.key.name}/revokeTokens"
        answer = _call(self._where, lambda: self._ably.http.post(path, body=body))
        return _revocation_results(answer.to_native())

    def _clock_offset(self) -> timedelta:
        offset = _clock_offsets.get(self._offset_id)
        if offset is None:
            sent = check_now(None)
            server_ms = _call(self._where, self._ably.time)
            offset = self._learn_offset(sent, server_ms, check_now(None))
        return offset

    def close(self) -> None:
        self._ably.close()

    def __enter__(self: _Client) -> _Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncRestClient(_Common):
    """A reusable asyncio connection to Ably for one key (over ``ably.AblyRest``); given a
    :class:`~ably_authkit.KeyRing`, for its signer."""

    def __init__(
        self,
        key: ApiKey | KeyRing | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        super().__init__(key, endpoint=endpoint, timeout=timeout, query_time=query_time)
        require("network", "AsyncRestClient")
        from ably import AblyRest

        self._ably: AblyRest = AblyRest(key=self._key_text(), **self._options)

    async def request_token(
        self,
        *,
        capability: CapabilityLike | None = None,
        client_id: str | None = None,
        ttl: timedelta | None = None,
        now: datetime | None = None,
    ) -> TokenDetails:
        """Sign a TokenRequest and exchange it at Ably for a token. ``now`` is the
        TokenRequest's timestamp (default: this clock, corrected by ``query_time``)."""
        offset = await self._clock_offset() if self.query_time and now is None else None
        path, body = _token_request_body(self.key, offset, capability, client_id, ttl, now)
        answer = await _acall(self._where, self._ably.http.post(path, body=body, skip_auth=True))
        return TokenDetails.from_dict(answer.to_native())

    async def server_time(self) -> datetime:
        """Ably's clock (``GET /time``)."""
        return from_ms(await _acall(self._where, self._ably.time()))

    async def revoke_tokens(
        self,
        *,
        client_ids: Iterable[str] = (),
        revocation_keys: Iterable[str] = (),
        issued_before: datetime | None = None,
        allow_reauth_margin: bool = False,
    ) -> tuple[RevocationResult, ...]:
        """Revoke tokens; see :meth:`RestClient.revoke_tokens`."""
        body = _revocation_body(client_ids, revocation_keys, issued_before, allow_reauth_margin)
        path = f"/keys/{self.key.name}/revokeTokens"
        answer = await _acall(self._where, self._ably.http.post(path, body=body))
        return _revocation_results(answer.to_native())

    async def _clock_offset(self) -> timedelta:
        offset = _clock_offsets.get(self._offset_id)
        if offset is None:
            sent = check_now(None)
            server_ms = await _acall(self._where, self._ably.time())
            offset = self._learn_offset(sent, server_ms, check_now(None))
        return offset

    async def close(self) -> None:
        await self._ably.close()

    async def __aenter__(self: _AsyncClient) -> _AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


# -- the clients the module functions share -----------------------------------------------

#: Identifies a pooled client: key name and secret, endpoint, timeout, query_time.
_Ident = tuple[str, str, "str | None", timedelta, bool]

#: How many clients the module functions keep at most (each holds a connection pool);
#: the least recently used is closed once no call is using it.
POOL_SIZE = 16


def _ident(
    key: ApiKey | KeyRing | str, endpoint: object, timeout: object, query_time: object
) -> tuple[ApiKey, _Ident]:
    api_key = as_api_key(key)
    if not isinstance(timeout, timedelta) or not isinstance(endpoint, (str, type(None))):
        _client_options(endpoint, timeout)  # type: ignore[arg-type]  # raises: a client's error
        raise AssertionError  # pragma: no cover
    if not isinstance(query_time, bool):
        raise ParameterTypeError("query_time must be True or False", field="query_time")
    return api_key, (api_key.name, api_key.secret, endpoint, timeout, query_time)


class _Lease:
    __slots__ = ("client", "users", "evicted")

    def __init__(self, client: RestClient) -> None:
        self.client = client
        self.users = 0
        self.evicted = False


class _SyncPool:
    """The blocking clients of :func:`request_token`, :func:`server_time` and
    :func:`revoke_tokens`: one per key, endpoint and options, shared by every thread
    (httpx's client is thread-safe), forgotten in a child after ``fork()`` (a pre-fork
    worker must not write to its parent's sockets) and closed at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[_Ident, _Lease] = {}  # least recently used first
        self._forgotten: list[_Lease] = []

    @contextmanager
    def client(
        self,
        key: ApiKey | KeyRing | str,
        endpoint: str | None,
        timeout: timedelta,
        query_time: bool,
    ) -> Iterator[RestClient]:
        api_key, ident = _ident(key, endpoint, timeout, query_time)
        idle: list[RestClient] = []
        with self._lock:
            lease = self._leases.pop(ident, None)
            if lease is None:
                lease = _Lease(
                    RestClient(api_key, endpoint=endpoint, timeout=timeout, query_time=query_time)
                )
            self._leases[ident] = lease
            lease.users += 1
            while len(self._leases) > POOL_SIZE:
                oldest = self._leases.pop(next(iter(self._leases)))
                oldest.evicted = True
                if not oldest.users:
                    idle.append(oldest.client)
        for each in idle:
            each.close()
        try:
            yield lease.client
        finally:
            with self._lock:
                lease.users -= 1
                done = lease.evicted and not lease.users
            if done:
                lease.client.close()

    def close(self) -> None:
        with self._lock:
            leases, self._leases = list(self._leases.values()), {}
        for lease in leases:
            lease.client.close()

    def forget(self) -> None:
        """In a forked child: drop the parent's clients without touching their sockets."""
        self._lock = threading.Lock()
        self._forgotten.extend(self._leases.values())
        self._leases = {}


class _AsyncPool:
    """The asyncio clients of :func:`arequest_token`: one per key, endpoint and options
    in each event loop (an asyncio client belongs to its loop), closed when the loop
    shuts down (``asyncio.run`` and the usual runners call ``shutdown_asyncgens``)."""

    def __init__(self) -> None:
        import weakref

        self._lock = threading.Lock()
        # By the loop itself, not its id: a loop closed without shutting down (and so
        # without closing its clients) must not hand them to a new loop given its id.
        self._loops: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[dict[_Ident, AsyncRestClient], object]
        ] = weakref.WeakKeyDictionary()

    async def client(
        self,
        key: ApiKey | KeyRing | str,
        endpoint: str | None,
        timeout: timedelta,
        query_time: bool,
    ) -> AsyncRestClient:
        import asyncio

        api_key, ident = _ident(key, endpoint, timeout, query_time)
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._loops.get(loop)
        if entry is None:
            clients: dict[_Ident, AsyncRestClient] = {}
            closer = self._closer(loop, clients)
            await closer.__anext__()  # the loop now closes it (and the clients) at shutdown
            entry = (clients, closer)
            with self._lock:
                self._loops[loop] = entry
        clients = entry[0]
        client = clients.get(ident)
        if client is None:
            client = clients[ident] = AsyncRestClient(
                api_key, endpoint=endpoint, timeout=timeout, query_time=query_time
            )
        return client

    async def _closer(
        self, loop: asyncio.AbstractEventLoop, clients: dict[_Ident, AsyncRestClient]
    ) -> AsyncIterator[None]:
        try:
            yield
        finally:
            with self._lock:
                self._loops.pop(loop, None)
            for client in list(clients.values()):
                await client.close()
            clients.clear()

    def forget(self) -> None:
        import weakref

        self._lock = threading.Lock()
        self._loops = weakref.WeakKeyDictionary()


_SYNC_CLIENTS = _SyncPool()
_ASYNC_CLIENTS = _AsyncPool()
atexit.register(_SYNC_CLIENTS.close)
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_SYNC_CLIENTS.forget)
    os.register_at_fork(after_in_child=_ASYNC_CLIENTS.forget)


def request_token(
    key: ApiKey | KeyRing | str,
    *,
    capability: CapabilityLike | None = None,
    client_id: str | None = None,
    ttl: timedelta | None = None,
    endpoint: str | None = None,
    query_time: bool = False,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> TokenDetails:
    """Request a token from Ably: sign a TokenRequest locally and exchange it at
    ``POST /keys/{keyName}/requestToken``.

    Args:
        key: the API key (an :class:`~ably_authkit.ApiKey` or its text), or a
            :class:`~ably_authkit.KeyRing`, whose signer signs the request.
        capability: what the token may do; default: the key's own capability.
        client_id: the identity the token carries (``"*"``: any); default: none.
        ttl: the token's lifetime; default: Ably's (1 h).
        endpoint: where Ably is: a routing policy (``"main"``), a host, or a URL such
            as ``"http://127.0.0.1:8123"`` (an emulator); default: Ably.
        query_time: ask Ably's clock first (once per key and endpoint per process), so
            that a machine with a wrong clock still gets tokens.
        timeout: how long the request may take, connecting included.

    Calls with the same key, endpoint and options share one client (and its open
    connection) across threads; see :class:`RestClient` to hold one yourself.

    Raises:
        AblyApiError: Ably refused.
        AblyConnectionError: Ably could not be reached.
        MissingExtraError: the ``network`` extra is not installed.
    """
    with _SYNC_CLIENTS.client(key, endpoint, timeout, query_time) as client:
        return client.request_token(capability=capability, client_id=client_id, ttl=ttl)


async def arequest_token(
    key: ApiKey | KeyRing | str,
    *,
    capability: CapabilityLike | None = None,
    client_id: str | None = None,
    ttl: timedelta | None = None,
    endpoint: str | None = None,
    query_time: bool = False,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> TokenDetails:
    """:func:`request_token` for asyncio. Calls in one event loop with the same key,
    endpoint and options share one client, closed when the loop shuts down."""
    client = await _ASYNC_CLIENTS.client(key, endpoint, timeout, query_time)
    return await client.request_token(capability=capability, client_id=client_id, ttl=ttl)


def server_time(
    key: ApiKey | KeyRing | str,
    *,
    endpoint: str | None = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> datetime:
    """Ably's clock, from ``GET /time`` (which needs no credentials; the key picks nothing
    but the client)."""
    with _SYNC_CLIENTS.client(key, endpoint, timeout, False) as client:
        return client.server_time()


def revoke_tokens(
    key: ApiKey | KeyRing | str,
    *,
    client_ids: Iterable[str] = (),
    revocation_keys: Iterable[str] = (),
    issued_before: datetime | None = None,
    allow_reauth_margin: bool = False,
    endpoint: str | None = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> tuple[RevocationResult, ...]:
    """Revoke tokens issued by ``key`` (``POST /keys/{keyName}/revokeTokens``), by client
    id and/or by the JWT claim ``x-ably-revocation-key``; one result per target.

    Only the key that issued a token can revoke it (Ably error 40133), so with a
    :class:`~ably_authkit.KeyRing` the targets are revoked under each of its keys in
    turn, the signer first, and the results of all of them are returned, in that order
    (during a rotation a user may hold a credential of either key)."""
    from .keys import KeyRing

    body = _revocation_body(client_ids, revocation_keys, issued_before, allow_reauth_margin)
    keys: tuple[ApiKey | str, ...] = (
        (key,)
        if not isinstance(key, KeyRing)
        else (
            key.signing_key,
            *(each for each in key.keys if each.name != key.signer),
        )
    )
    results: list[RevocationResult] = []
    for each in keys:
        with _SYNC_CLIENTS.client(each, endpoint, timeout, False) as client:
            results += client._revoke(body)
    return tuple(results)
