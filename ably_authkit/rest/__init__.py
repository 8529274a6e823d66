"""The network: exchange a TokenRequest for a token, read Ably's clock, revoke tokens.

Every request goes through the `ably` package's own REST client — Ably's hosts and
fallback hosts, msgpack, retries and headers stay Ably's — imported on first use, so
importing this package costs nothing. The TokenRequest itself is always ours
(:func:`~ably_authkit.create_token_request`): validation and canonical form included.

``endpoint`` is what the `ably` package calls an endpoint (``"main"``, a routing-policy
name, a host such as ``"rest.example.com"``), or a URL such as ``http://127.0.0.1:8123``
whose scheme turns TLS on or off and whose port is used. Every entry point finds it by
one rule: ``endpoint=`` when given, else the environment (``ABLY_ENDPOINT``, or
``ABLY_EMULATOR_HOST``, the ``HOST:PORT`` of a running emulator), else Ably's main
endpoint. An error that could not reach Ably names the host it tried and that rule.

The module functions share their clients: calls with the same key, endpoint and
options reuse one (and its open connection), per event loop for :func:`arequest_token`
and never across ``fork()``. :class:`RestClient` and :class:`AsyncRestClient` are for
holding one yourself. The ``network`` extra (the `ably` package) is needed for all of it;
without it they raise :class:`~ably_authkit.MissingExtraError`.

One concern per module, as in ``endpoint/``:

- ``_endpoints.py``: the ``endpoint`` option, checked once, and the environment rule;
- ``_base.py``: what the two clients share (httpx's ``BaseClient`` pattern): options,
  request bodies, reading Ably's answers, turning exceptions into ours;
- ``_sync.py`` and ``_async.py``: :class:`RestClient` and :class:`AsyncRestClient`;
- ``_pool.py``: the clients the module functions share;
- ``_api.py``: the module functions.
"""

from __future__ import annotations

from ._api import arequest_token as arequest_token
from ._api import request_token as request_token
from ._api import revoke_tokens as revoke_tokens
from ._api import server_time as server_time
from ._async import AsyncRestClient as AsyncRestClient
from ._base import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from ._base import RevocationResult as RevocationResult
from ._endpoints import EMULATOR_HOST_ENV as EMULATOR_HOST_ENV
from ._endpoints import ENDPOINT_ENV as ENDPOINT_ENV
from ._endpoints import check_endpoint as check_endpoint
from ._endpoints import endpoint_from_env as endpoint_from_env
from ._pool import POOL_SIZE as POOL_SIZE
from ._sync import RestClient as RestClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "EMULATOR_HOST_ENV",
    "ENDPOINT_ENV",
    "POOL_SIZE",
    "AsyncRestClient",
    "RestClient",
    "RevocationResult",
    "arequest_token",
    "check_endpoint",
    "endpoint_from_env",
    "request_token",
    "revoke_tokens",
    "server_time",
]
