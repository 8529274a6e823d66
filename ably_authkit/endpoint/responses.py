"""The HTTP answer: :class:`AuthResponse` (status, headers, body) for any framework, the
Ably-shaped error body (:func:`error_response`), and what each failure is answered with.

Every answer carries ``Cache-Control: no-store``: a cached TokenRequest is a replayed nonce
(Ably error 40105). Errors are ``{"error": {"message", "code", "statusCode", "href"}}``,
which ably-js and ably-python both read, and never contain the key secret.
"""

from __future__ import annotations

from ably_authkit._frozen import Frozen
from ably_authkit.errors import (
    AblyApiError,
    AblyConnectionError,
    AuthKitError,
    InvalidParameterError,
    ParameterTypeError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ably_authkit.token_details import TokenDetails

__all__ = ["AuthResponse", "error_response"]

_NO_STORE = ("Cache-Control", "no-store")
_JSON = "application/json"
_JWT = "application/jwt"


class AuthResponse(Frozen):
    """An HTTP answer, for any framework: ``status``, ``headers`` (name, value) pairs and
    the ``body`` bytes. Hand them to your framework's response class as they are."""

    __slots__ = ("status", "headers", "body")

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __init__(self, *, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        if type(status) is not int or not 100 <= status <= 599:
            raise InvalidParameterError(f"status must be an HTTP status, not {status!r}")
        if not isinstance(body, bytes):
            raise ParameterTypeError(f"body must be bytes, not {type(body).__name__}")
        pairs = tuple((str(name), str(value)) for name, value in headers)
        self._set("status", status)
        self._set("headers", pairs)
        self._set("body", body)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        wanted = name.lower()
        for each, value in self.headers:
            if each.lower() == wanted:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        return self.header("Content-Type")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON (for tests and the demo page)."""
        import json

        return json.loads(self.body)


def _json_bytes(value: object) -> bytes:
    from ably_authkit._json import dumps_compact

    return dumps_compact(value).encode("utf-8")


def error_response(
    status: int,
    code: int,
    message: str,
    *,
    headers: Iterable[tuple[str, str]] = (),
) -> AuthResponse:
    """An Ably-shaped error answer: ``{"error": {"message", "code", "statusCode", "href"}}``."""
    body = {
        "error": {
            "message": message,
            "code": code,
            "statusCode": status,
            "href": f"https://help.ably.io/error/{code}",
        }
    }
    return AuthResponse(
        status=status,
        headers=(("Content-Type", _JSON), _NO_STORE, ("X-Ably-ErrorCode", str(code)), *headers),
        body=_json_bytes(body),
    )


class _Refusal(Exception):
    """Internal: the request is refused with this answer."""

    def __init__(self, response: AuthResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _refuse(status: int, code: int, message: str) -> _Refusal:
    return _Refusal(error_response(status, code, message))


def _ok(content_type: str, body: bytes) -> AuthResponse:
    # Built without AuthResponse's checks: these values are ours and known good.
    answer = object.__new__(AuthResponse)
    answer._set("status", 200)
    answer._set("headers", (("Content-Type", content_type), _NO_STORE))
    answer._set("body", body)
    return answer


#: Where the endpoint says what the client is not told: a grant the key cannot issue, why
#: Ably could not be reached. Standard :mod:`logging`; the app configures its handlers.
LOGGER_NAME = "ably_authkit.endpoint"


def _server_error(error: AuthKitError) -> AuthResponse:
    """The key cannot issue what the app granted (its capability, a revocable key's 1 h, a
    JWT over 8 KiB): the app's mistake, so the cause goes to this server's log, and the
    client gets Ably's code and no more (the key's capability is none of its business).

    500, not 403: ably-js and the ``ably`` package fail a connection for good on a 403 from
    the authUrl, even one that still holds a valid token (spec RSA4d, RSA4d1), while on
    another failure a connected client stays connected (RSA4c3) and a connecting one
    retries with backoff (RSA4c2), so the clients recover on their own once the server
    is fixed."""
    import logging

    code = error.code or 50000
    logging.getLogger(LOGGER_NAME).error(
        "authUrl: this server's key cannot issue the credential the app grants "
        "(Ably error %s): %s; change the grant or the key",
        code,
        error.message,
    )
    return error_response(
        500,
        code,
        f"this server cannot issue the credential it grants (Ably error {code}); the cause "
        "is in this server's log",
    )


def _claims_need_jwt(mode: str, rooms: Iterable[str], channels: Iterable[str]) -> AuthResponse:
    """The app grants claims (``Grant(room_claims=..., channel_claims=...)``), which only a
    JWT carries, to a client that asked for a TokenRequest or TokenDetails: the app's
    mistake, answered as :func:`_server_error` answers a grant the key cannot issue (500,
    the cause in this server's log), rather than a credential silently without them.
    The log names the rooms and channels, never the claims' values."""
    import logging

    named = [f"room {room!r}" for room in rooms] + [f"channel {each!r}" for each in channels]
    logging.getLogger(LOGGER_NAME).error(
        "authUrl %s mode: the app's Grant carries claims (%s), which only an Ably JWT can "
        "carry, and a %s cannot; serve JWTs (mode 'jwt'), or drop the claims from the "
        "Grant for this mode",
        mode,
        ", ".join(named),
        "TokenRequest" if mode == "token-request" else "TokenDetails",
    )
    return error_response(
        500,
        50000,
        f"this server cannot issue the credential it grants in {mode} mode (Ably error "
        "50000); the cause is in this server's log",
    )


def _failure(error: AuthKitError) -> AuthResponse:
    """Ably refused or could not be reached (502), or this server is misconfigured (500)."""
    if isinstance(error, (AblyApiError, AblyConnectionError)):
        return _upstream_error(error)
    return _server_error(error)


def _upstream_error(error: AblyApiError | AblyConnectionError) -> AuthResponse:
    """Ably refused this server's token request, or could not be reached: 502.

    The body tells the client no more than that: where this server reaches Ably (an
    internal address), errno and the like stay in this server's log (the
    ``ably_authkit.endpoint`` logger). Ably's own refusal (a 4xxxx code, such as 40131 for
    a revoked key) is passed on with its code."""
    import logging

    logging.getLogger(LOGGER_NAME).warning(
        "authUrl token mode: no token from Ably: %s (code %s)", error.message, error.code
    )
    code = error.code
    if isinstance(error, AblyApiError) and code is not None and 40000 <= code < 50000:
        return error_response(
            502, code, f"Ably refused this server's token request (Ably error {code})"
        )
    return error_response(502, 50002, "could not get a token from Ably; this server's log says why")


def _details_response(details: TokenDetails) -> AuthResponse:
    return _ok(_JSON, _json_bytes(details.to_dict()))
