"""The module functions: one call each, on a shared client (``_pool``)."""

from __future__ import annotations

from ably_authkit.keys import KeyRing

from ._base import DEFAULT_TIMEOUT, _revocation_body
from ._endpoints import resolve_endpoint
from ._pool import _ASYNC_CLIENTS, _SYNC_CLIENTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime, timedelta

    from ably_authkit.capability import CapabilityLike
    from ably_authkit.keys import ApiKey
    from ably_authkit.token_details import TokenDetails

    from ._base import RevocationResult

__all__ = ["arequest_token", "request_token", "revoke_tokens", "server_time"]


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
            as ``"http://127.0.0.1:8123"`` (an emulator). Default: what the environment
            names, ``ABLY_ENDPOINT`` or an emulator's ``ABLY_EMULATOR_HOST``
            (``HOST:PORT``), else Ably's main endpoint; the same rule everywhere
            (:mod:`ably_authkit.rest`).
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
    with _SYNC_CLIENTS.client(key, resolve_endpoint(endpoint), timeout, query_time) as client:
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
    client = await _ASYNC_CLIENTS.client(key, resolve_endpoint(endpoint), timeout, query_time)
    return await client.request_token(capability=capability, client_id=client_id, ttl=ttl)


def server_time(
    key: ApiKey | KeyRing | str,
    *,
    endpoint: str | None = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> datetime:
    """Ably's clock, from ``GET /time`` (which needs no credentials; the key picks nothing
    but the client)."""
    with _SYNC_CLIENTS.client(key, resolve_endpoint(endpoint), timeout, False) as client:
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
    endpoint = resolve_endpoint(endpoint)
    for each in keys:
        with _SYNC_CLIENTS.client(each, endpoint, timeout, False) as client:
            results += client._revoke(body)
    return tuple(results)
