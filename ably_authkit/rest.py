"""The network: exchange a TokenRequest for a token, read Ably's clock, revoke tokens.

Every request goes through the `ably` package's own REST client — Ably's hosts and
fallback hosts, msgpack, retries and headers stay Ably's — imported on first use, so
importing this module costs nothing. The TokenRequest itself is always ours
(:func:`~ably_authkit.create_token_request`): validation and canonical form included.

``endpoint`` is what the `ably` package calls an endpoint (``"main"``, a routing-policy
name, a host such as ``"rest.example.com"``), or a URL such as ``http://127.0.0.1:8123``
whose scheme turns TLS on or off and whose port is used.

Reuse :class:`RestClient` (or :class:`AsyncRestClient`) for many calls: the module
functions make and close one per call.
"""

from __future__ import annotations

from datetime import timedelta

from ._frozen import Frozen
from ._time import ONE_SECOND, ZERO, check_datetime, check_now, from_ms, to_ms
from .errors import (
    AblyApiError,
    AblyConnectionError,
    InvalidParameterError,
    ParameterTypeError,
)
from .keys import as_api_key
from .token_details import TokenDetails
from .token_requests import create_token_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from contextlib import AbstractContextManager
    from datetime import datetime
    from types import TracebackType
    from typing import Any

    from ably import AblyRest
    from ably.sync import AblyRestSync

    from .capability import CapabilityLike
    from .keys import ApiKey

__all__ = [
    "DEFAULT_TIMEOUT",
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
    if endpoint is None:
        return options
    if not isinstance(endpoint, str):
        raise ParameterTypeError(
            f"endpoint must be a str such as 'main' or 'http://127.0.0.1:8123', "
            f"not {type(endpoint).__name__}",
            field="endpoint",
        )
    if "://" not in endpoint:
        if not endpoint or any(char.isspace() or char in "/?#@" for char in endpoint):
            raise InvalidParameterError(
                f"endpoint {endpoint!r} is neither an Ably endpoint name or host nor a URL "
                "such as 'http://127.0.0.1:8123'",
                field="endpoint",
            )
        return {**options, "endpoint": endpoint}
    from urllib.parse import urlsplit

    url = urlsplit(endpoint)
    try:
        port = url.port
    except ValueError:
        port = -1
    if (
        url.scheme not in ("http", "https")
        or not url.hostname
        or port == -1
        or url.path not in ("", "/")
        or url.query
        or url.fragment
        or url.username
    ):
        raise InvalidParameterError(
            f"endpoint URL {endpoint!r} must be http:// or https://, a host and an optional "
            "port, with no path, query or credentials, e.g. 'http://127.0.0.1:8123'",
            field="endpoint",
        )
    tls = url.scheme == "https"
    options.update(endpoint=url.hostname, tls=tls)
    if port is not None:
        options["tls_port" if tls else "port"] = port
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


def _translated_errors(where: str) -> AbstractContextManager[None]:
    """Turn the `ably` package's and httpx's exceptions into ours."""
    from contextlib import contextmanager

    import httpx
    from ably.sync.util.exceptions import AblyException as SyncAblyException
    from ably.util.exceptions import AblyException

    # The sync client (generated by unasync) raises its own copy of the class.
    ably_exceptions = (AblyException, SyncAblyException)

    @contextmanager
    def translating() -> Iterator[None]:
        try:
            yield
        except ably_exceptions as error:
            code = error.code
            raise AblyApiError(
                str(error.message),
                code=code,
                status_code=error.status_code,
                href=f"https://help.ably.io/error/{code}" if code else None,
            ) from error
        except httpx.TimeoutException as error:
            raise AblyConnectionError(f"{where} timed out ({error})") from error
        except (httpx.TransportError, OSError) as error:
            raise AblyConnectionError(f"could not reach {where}: {error}") from error

    return translating()


class _Common:
    """What the sync and async clients share: the key, the options, the clock offset."""

    def __init__(
        self,
        key: ApiKey | str,
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
    """A reusable, blocking connection to Ably for one key (over ``ably.sync.AblyRestSync``)."""

    def __init__(
        self,
        key: ApiKey | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        super().__init__(key, endpoint=endpoint, timeout=timeout, query_time=query_time)
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
        with _translated_errors(self._where):
            answer = self._ably.http.post(path, body=body, skip_auth=True).to_native()
        return TokenDetails.from_dict(answer)

    def server_time(self) -> datetime:
        """Ably's clock (``GET /time``)."""
        with _translated_errors(self._where):
            return from_ms(self._ably.time())

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
        with _translated_errors(self._where):
            answer = self._ably.http.post(f"/keys/{self.key.name}/revokeTokens", body=body)
            return _revocation_results(answer.to_native())

    def _clock_offset(self) -> timedelta:
        offset = _clock_offsets.get(self._offset_id)
        if offset is None:
            sent = check_now(None)
            with _translated_errors(self._where):
                server_ms = self._ably.time()
            offset = self._learn_offset(sent, server_ms, check_now(None))
        return offset

    def close(self) -> None:
        self._ably.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncRestClient(_Common):
    """A reusable asyncio connection to Ably for one key (over ``ably.AblyRest``)."""

    def __init__(
        self,
        key: ApiKey | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        super().__init__(key, endpoint=endpoint, timeout=timeout, query_time=query_time)
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
        with _translated_errors(self._where):
            answer = await self._ably.http.post(path, body=body, skip_auth=True)
        return TokenDetails.from_dict(answer.to_native())

    async def server_time(self) -> datetime:
        """Ably's clock (``GET /time``)."""
        with _translated_errors(self._where):
            return from_ms(await self._ably.time())

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
        with _translated_errors(self._where):
            answer = await self._ably.http.post(f"/keys/{self.key.name}/revokeTokens", body=body)
            return _revocation_results(answer.to_native())

    async def _clock_offset(self) -> timedelta:
        offset = _clock_offsets.get(self._offset_id)
        if offset is None:
            sent = check_now(None)
            with _translated_errors(self._where):
                server_ms = await self._ably.time()
            offset = self._learn_offset(sent, server_ms, check_now(None))
        return offset

    async def close(self) -> None:
        await self._ably.close()

    async def __aenter__(self) -> AsyncRestClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def request_token(
    key: ApiKey | str,
    *,
    capability: CapabilityLike | None = None,
    client_id: str | None = None,
    ttl: timedelta | None = None,
    endpoint: str | None = None,
    query_time: bool = False,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> TokenDetails:
    """Request a token from Ably: sign a TokenRequest locally and exchange it at
    ``POST /keys/{keyName}/requestToken``. See :func:`~ably_authkit.create_token_request`
    for the arguments; ``query_time=True`` asks Ably's clock first (once per key and
    endpoint per process) so that a machine with a wrong clock still gets tokens.

    Raises :class:`~ably_authkit.AblyApiError` when Ably refuses, and
    :class:`~ably_authkit.AblyConnectionError` when it cannot be reached.
    """
    with RestClient(key, endpoint=endpoint, timeout=timeout, query_time=query_time) as client:
        return client.request_token(capability=capability, client_id=client_id, ttl=ttl)


async def arequest_token(
    key: ApiKey | str,
    *,
    capability: CapabilityLike | None = None,
    client_id: str | None = None,
    ttl: timedelta | None = None,
    endpoint: str | None = None,
    query_time: bool = False,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> TokenDetails:
    """:func:`request_token` for asyncio."""
    async with AsyncRestClient(
        key, endpoint=endpoint, timeout=timeout, query_time=query_time
    ) as client:
        return await client.request_token(capability=capability, client_id=client_id, ttl=ttl)


def server_time(
    key: ApiKey | str, *, endpoint: str | None = None, timeout: timedelta = DEFAULT_TIMEOUT
) -> datetime:
    """Ably's clock, from ``GET /time`` (which needs no credentials; the key picks nothing
    but the client)."""
    with RestClient(key, endpoint=endpoint, timeout=timeout) as client:
        return client.server_time()


def revoke_tokens(
    key: ApiKey | str,
    *,
    client_ids: Iterable[str] = (),
    revocation_keys: Iterable[str] = (),
    issued_before: datetime | None = None,
    allow_reauth_margin: bool = False,
    endpoint: str | None = None,
    timeout: timedelta = DEFAULT_TIMEOUT,
) -> tuple[RevocationResult, ...]:
    """Revoke tokens issued by ``key`` (``POST /keys/{keyName}/revokeTokens``), by client
    id and/or by the JWT claim ``x-ably-revocation-key``; one result per target."""
    with RestClient(key, endpoint=endpoint, timeout=timeout) as client:
        return client.revoke_tokens(
            client_ids=client_ids,
            revocation_keys=revocation_keys,
            issued_before=issued_before,
            allow_reauth_margin=allow_reauth_margin,
        )
