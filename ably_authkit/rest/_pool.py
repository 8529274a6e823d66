"""The clients the module functions share: one per key, endpoint and options, kept
across calls (and their open connections), never across ``fork()``."""

from __future__ import annotations

import atexit
import os
import threading
from contextlib import contextmanager
from datetime import timedelta

from ably_authkit.errors import ParameterTypeError
from ably_authkit.keys import as_api_key

from ._async import AsyncRestClient
from ._base import _client_options
from ._sync import RestClient

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncIterator, Iterator

    from ably_authkit.keys import ApiKey, KeyRing

__all__ = ["POOL_SIZE"]

#: Identifies a pooled client: key name and secret, endpoint, timeout, query_time.
_Ident = tuple[str, str, "str | None", timedelta, bool]

#: How many clients the module functions keep at most (each holds a connection pool);
#: the least recently used is closed once no call is using it.
POOL_SIZE = 16


def _pinned(endpoint: str | None) -> str:
    """The endpoint a pooled client is built for. Callers have applied the environment
    rule already (the module functions) or configure the endpoint themselves
    (``AuthEndpoint``), so ``None`` here is Ably's own endpoint, ``"main"``, and the
    client must not read the environment again."""
    return "main" if endpoint is None else endpoint


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
                    RestClient(
                        api_key, endpoint=_pinned(endpoint), timeout=timeout, query_time=query_time
                    )
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
                api_key, endpoint=_pinned(endpoint), timeout=timeout, query_time=query_time
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
