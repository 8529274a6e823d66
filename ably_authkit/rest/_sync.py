"""The blocking client: :class:`RestClient`, over the `ably` package's ``AblyRestSync``."""

from __future__ import annotations

from datetime import timedelta

from ably_authkit._extras import require
from ably_authkit._time import check_now, from_ms
from ably_authkit.token_details import TokenDetails

from ._base import (
    DEFAULT_TIMEOUT,
    _BaseClient,
    _call,
    _clock_offsets,
    _revocation_body,
    _revocation_results,
    _token_request_body,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime
    from types import TracebackType
    from typing import Any, TypeVar

    from ably.sync import AblyRestSync

    from ably_authkit.capability import CapabilityLike
    from ably_authkit.keys import ApiKey, KeyRing

    from ._base import RevocationResult

    _Client = TypeVar("_Client", bound="RestClient")

__all__ = ["RestClient"]


class RestClient(_BaseClient):
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
        self._aim(self._ably.options)

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
