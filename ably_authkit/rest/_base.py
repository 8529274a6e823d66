"""What the blocking and the asyncio clients share, as httpx's ``BaseClient`` does: the
key, the options, the clock offset, the request bodies, reading Ably's answers and
turning the `ably` package's and httpx's exceptions into ours. The twins add only the
calls that block or await."""

from __future__ import annotations

from datetime import timedelta

from ably_authkit._frozen import Frozen
from ably_authkit._time import ONE_SECOND, ZERO, check_datetime, check_now, from_ms, to_ms
from ably_authkit.errors import (
    AblyApiError,
    AblyConnectionError,
    AuthKitError,
    InvalidParameterError,
    ParameterTypeError,
)
from ably_authkit.keys import as_api_key
from ably_authkit.token_requests import create_token_request

from ._endpoints import check_endpoint, resolve_endpoint, steering

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable
    from datetime import datetime
    from typing import Any, TypeVar

    from ably_authkit.capability import CapabilityLike
    from ably_authkit.keys import ApiKey, KeyRing

    _T = TypeVar("_T")

__all__ = ["DEFAULT_TIMEOUT", "RevocationResult"]

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
        return AblyConnectionError(f"{where} timed out. {steering()}")
    if isinstance(error, (httpx.TransportError, OSError)):
        return AblyConnectionError(f"could not reach {where}: {_reason(error)}. {steering()}")
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


class _BaseClient:
    """What the sync and async clients share: the key, the options, the clock offset.

    ``endpoint`` follows the one rule (:func:`~ably_authkit.rest._endpoints.resolve_endpoint`):
    given, else the environment, else Ably's main endpoint.
    """

    def __init__(
        self,
        key: ApiKey | KeyRing | str,
        *,
        endpoint: str | None = None,
        timeout: timedelta = DEFAULT_TIMEOUT,
        query_time: bool = False,
    ) -> None:
        self.key = as_api_key(key)
        endpoint = resolve_endpoint(endpoint)
        self._options = _client_options(endpoint, timeout)
        self._endpoint_id = endpoint or "main"
        if not isinstance(query_time, bool):
            raise ParameterTypeError("query_time must be True or False", field="query_time")
        self.query_time = query_time
        self._where = f"Ably at {self._endpoint_id}"

    def _aim(self, options: Any) -> None:
        """Name, for errors, the host the `ably` package's client (its ``options``) tries."""
        port = options.tls_port if options.tls else options.port
        where = f"{'https' if options.tls else 'http'}://{options.get_host()}"
        where += f":{port}" if port else ""
        fallbacks = " (or its fallback hosts)" if options.get_fallback_hosts() else ""
        self._where = f"Ably at {where}{fallbacks}"

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
