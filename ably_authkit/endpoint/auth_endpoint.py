"""Issuing credentials: :class:`AuthEndpoint` signs (``jwt``, ``token-request``) or requests
(``token``) the credential for a :class:`~.grant.Grant`, and is configured from the
environment (:meth:`AuthEndpoint.from_env`). It reads requests through :mod:`.params` and
:mod:`.narrowing`, answers with :mod:`.responses`, and leaves each framework's request
object to :mod:`.wsgi` and :mod:`.asgi`.

Nothing heavy is imported until it is used: the ``token`` mode loads the ``ably``
package (the ``network`` extra; without it, :class:`~ably_authkit.MissingExtraError`) on
its first call, and :meth:`AuthEndpoint.from_env` loads the emulator only when it is asked
for by name (``emulator=True``).
"""

from __future__ import annotations

import os
from datetime import timedelta

from ably_authkit._time import ONE_SECOND, emulator_clock
from ably_authkit.errors import (
    AuthKitError,
    InvalidApiKeyError,
    InvalidParameterError,
    MissingExtraError,
    ParameterTypeError,
    TokenTooLargeError,
)
from ably_authkit.jwt_tokens import _mint_granted, mint_jwt
from ably_authkit.keys import KEYS_ENV, ApiKey, KeyRing, as_keys
from ably_authkit.rest._endpoints import EMULATOR_HOST_ENV, endpoint_from_env
from ably_authkit.token_requests import create_token_request

from .asgi import read_body, request_head
from .grant import Grant
from .issuance import (
    INFO,
    WARNING,
    IssuedCredential,
    RefusedRequest,
    report_issued,
    report_refused,
    wanted,
)
from .narrowing import _Issue, _narrowed
from .params import (
    _MAX_BODY,
    _NOTHING_ASKED,
    _asked,
    _check_body_head,
    _check_method,
    _check_mode,
    _request_params,
)
from .responses import (
    _JSON,
    _JWT,
    AuthResponse,
    _claims_need_jwt,
    _details_response,
    _failure,
    _ok,
    _Refusal,
    _refuse,
    _server_error,
    error_response,
)
from .wsgi import environ_head

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from datetime import datetime
    from types import TracebackType
    from typing import Any, TypeVar

    from starlette.requests import Request

    from ably_authkit.testing import AblyEmulator
    from ably_authkit.token_details import TokenDetails

    _Endpoint = TypeVar("_Endpoint", bound="AuthEndpoint")

__all__ = ["EMULATOR_HOST_ENV", "AuthEndpoint"]

# The one rule for where Ably is (ably_authkit.rest._endpoints), which request_token() and
# the REST clients follow too; under the name the CLI imports it by.
_endpoint_from_env = endpoint_from_env


def _check_head(mode: str, grant: Grant | None, method: str) -> tuple[str, str, Grant]:
    """The mode, the method and the grant, checked before anything of the body is read:
    a request nobody is signed in for is answered 401 unread."""
    mode = _check_mode(mode)
    method = _check_method(method)
    if grant is None:
        raise _refuse(
            401,
            40100,
            "no signed-in user: this server hands Ably credentials only to its own users",
        )
    if not isinstance(grant, Grant):
        raise ParameterTypeError(
            f"grant must be a Grant or None, not {type(grant).__name__}", field="grant"
        )
    return mode, method, grant


def _refusal_before_body(
    mode: str, grant: Grant | None, method: str, content_type: str, declared: int | None
) -> AuthResponse | None:
    """The answer that the request line and headers alone give (a wrong mode or method, no
    grant, a body of another type or declared over the limit), or ``None`` to read on."""
    try:
        mode, method, grant = _check_head(mode, grant, method)
        if method == "POST":
            _check_body_head(content_type, declared)
    except _Refusal as refusal:
        return refusal.response
    return None


class AuthEndpoint:
    """Answers an Ably client's authUrl requests for one API key.

    Build one per process and share it between requests and threads.

    Args:
        key: the API key that signs every credential (an :class:`~ably_authkit.ApiKey`
            or its text), or a :class:`~ably_authkit.KeyRing`, whose signer signs and whose
            keys all verify (:attr:`keys`, for :func:`~ably_authkit.explain`);
            :meth:`use_keys` swaps it while serving, to rotate keys (docs/rotation.md).
            Secrets never leave the server.
        endpoint: where the ``token`` mode exchanges TokenRequests, and where
            :meth:`client_options` sends clients: an Ably routing policy (``"main"``,
            ``"nonprod:sandbox"``), a host, or a URL such as ``"http://127.0.0.1:8123"``
            (an emulator). ``None``: Ably. Checked here: a malformed value, a host and
            port without a scheme, a URL with credentials or something shaped like an API
            key is refused at once (without repeating it), never on the first request.
        query_time: have the ``token`` mode ask Ably's clock first (once per key and
            endpoint per process), for a server whose clock may be wrong.
        timeout: how long a ``token``-mode request to Ably may take (default 10 s).
        clock: where the issue time of every credential comes from, a function returning
            an aware ``datetime``. Default: the clock of the :class:`AblyEmulator
            <ably_authkit.testing.AblyEmulator>` running in this process at ``endpoint``,
            if there is one (so a test that moves it with ``advance()`` needs nothing
            more), else the machine's clock.
        on_issue: called with an :class:`~ably_authkit.endpoint.IssuedCredential` (mode,
            clientId, key name, TTL, capability; never the credential) for every credential
            handed out, before the answer is returned: to feed an audit log or a metrics
            counter (docs/operations.md). Every answer is also logged on the
            ``ably_authkit.endpoint`` logger. If it raises, the exception is logged and
            propagates: no credential leaves whose issue was not recorded (the framework
            answers 500).
        on_refuse: the same for every refusal, with a
            :class:`~ably_authkit.endpoint.RefusedRequest` (status, Ably code, message).
    """

    __slots__ = (
        "_clock",
        "_emulator",
        "_emulator_host",
        "_endpoint",
        "_keys",
        "_on_issue",
        "_on_refuse",
        "_query_time",
        "_target",
        "_timeout",
    )

    def __init__(
        self,
        key: ApiKey | KeyRing | str,
        *,
        endpoint: str | None = None,
        query_time: bool = False,
        timeout: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
        on_issue: Callable[[IssuedCredential], object] | None = None,
        on_refuse: Callable[[RefusedRequest], object] | None = None,
    ) -> None:
        from ably_authkit.rest import DEFAULT_TIMEOUT
        from ably_authkit.rest._base import _client_options

        if clock is not None and not callable(clock):
            raise ParameterTypeError(
                "clock must be a function returning an aware datetime, such as emu.now",
                field="clock",
            )
        for name, hook in (("on_issue", on_issue), ("on_refuse", on_refuse)):
            if hook is not None and not callable(hook):
                raise ParameterTypeError(
                    f"{name} must be a function taking one argument, not {type(hook).__name__}",
                    field=name,
                )
        self._clock = clock
        self._on_issue = on_issue
        self._on_refuse = on_refuse
        self._keys = as_keys(key)
        self._timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        options = _client_options(endpoint, self._timeout)  # a bad endpoint is refused now
        self._target = {
            name: value
            for name, value in options.items()
            if name in ("endpoint", "port", "tls_port", "tls")
        }
        if not isinstance(query_time, bool):
            raise ParameterTypeError("query_time must be True or False", field="query_time")
        self._endpoint = endpoint
        self._query_time = query_time
        self._emulator: AblyEmulator | None = None
        self._emulator_host: str | None = None

    @property
    def key(self) -> ApiKey:
        """The key that signs new credentials (a ring's signer)."""
        keys = self._keys
        return keys if isinstance(keys, ApiKey) else keys.signing_key

    @property
    def keys(self) -> KeyRing:
        """Every key this endpoint knows, as a :class:`~ably_authkit.KeyRing`."""
        keys = self._keys
        return keys if isinstance(keys, KeyRing) else KeyRing(keys=[keys])

    def use_keys(self, keys: ApiKey | KeyRing | str) -> None:
        """Sign with another key or ring from the next request on (requests in flight
        finish with the old one): to rotate keys without a restart, or after reloading
        them from a secret store. Checked here, as in the constructor."""
        self._keys = as_keys(keys)

    @property
    def endpoint(self) -> str | None:
        """Where the ``token`` mode asks for tokens (``None``: Ably's default)."""
        return self._endpoint

    @property
    def emulator(self) -> AblyEmulator | None:
        """The emulator :meth:`from_env` embedded (``emulator=True``), else ``None``."""
        return self._emulator

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        emulator: bool = False,
        key_variable: str = "ABLY_API_KEY",
        endpoint_variable: str = "ABLY_ENDPOINT",
        emulator_variable: str = EMULATOR_HOST_ENV,
        keys_variable: str = KEYS_ENV,
        on_issue: Callable[[IssuedCredential], object] | None = None,
        on_refuse: Callable[[RefusedRequest], object] | None = None,
    ) -> AuthEndpoint:
        """The endpoint an app configures from its environment (default ``os.environ``).

        - ``ABLY_API_KEY`` set: that key; ``ABLY_ENDPOINT`` (a routing policy, host or
          URL), when set, is where the ``token`` mode asks and clients connect.
        - ``ABLY_API_KEYS`` set instead: a :class:`~ably_authkit.KeyRing` of those keys
          (separated by spaces or commas), the first of which signs; both set is refused.
        - ``ABLY_EMULATOR_HOST`` set (``HOST:PORT``, as Firebase's emulators are named):
          the Ably emulator running there (``ably-authkit emulator``) is used instead of
          Ably; the key is still ``ABLY_API_KEY`` (the emulator prints one).
        - Neither a key nor the emulator asked for: an
          :class:`~ably_authkit.InvalidApiKeyError` naming the variable. A production
          deploy with a misspelt variable must not hand out credentials Ably rejects.

        Args:
            environ: the variables to read (default ``os.environ``).
            emulator: start an embedded :class:`~ably_authkit.testing.AblyEmulator` on
                127.0.0.1, take a key from it and use it, whatever the variables say (for
                demos, examples and local development; needs the ``emulator`` extra).
                :meth:`close` stops it; :meth:`describe` says so plainly.
            key_variable: the name of the key's variable.
            keys_variable: the name of the key ring's variable.
            endpoint_variable: the name of the endpoint's variable.
            emulator_variable: the name of the running emulator's variable.
            on_issue: as in the constructor: called for every credential handed out.
            on_refuse: as in the constructor: called for every refusal.
        """
        source = os.environ if environ is None else environ
        if emulator is True:
            return cls._embedded(on_issue=on_issue, on_refuse=on_refuse)
        if not isinstance(emulator, bool):
            raise ParameterTypeError("emulator must be True or False", field="emulator")
        endpoint = _endpoint_from_env(
            source, endpoint_variable=endpoint_variable, emulator_variable=emulator_variable
        )
        emulator_host = source.get(emulator_variable) or None
        if source.get(keys_variable):
            if source.get(key_variable):
                raise InvalidApiKeyError(
                    f"{key_variable} and {keys_variable} are both set: the first holds one "
                    "key, the second a key ring (every key, the signing key first); unset one",
                    field=keys_variable,
                )
            ring = cls(
                KeyRing.from_env(keys_variable, environ=source),
                endpoint=endpoint,
                on_issue=on_issue,
                on_refuse=on_refuse,
            )
            ring._emulator_host = emulator_host
            return ring
        if not source.get(key_variable):
            raise InvalidApiKeyError(
                f"the environment variable {key_variable} is not set: set it to your Ably "
                "API key (appId.keyId:secret, from the dashboard's API Keys tab), or "
                f"{keys_variable} to several (a key ring, the signing key first). For local "
                f"development without an account, run 'ably-authkit emulator' and set "
                f"the {key_variable} and {emulator_variable} it prints, or build the "
                "endpoint with from_env(emulator=True)",
                field=key_variable,
            )
        auth = cls(
            ApiKey.from_env(key_variable, environ=source),
            endpoint=endpoint,
            on_issue=on_issue,
            on_refuse=on_refuse,
        )
        auth._emulator_host = emulator_host
        return auth

    @classmethod
    def _embedded(
        cls,
        *,
        on_issue: Callable[[IssuedCredential], object] | None,
        on_refuse: Callable[[RefusedRequest], object] | None,
    ) -> AuthEndpoint:
        from ably_authkit.testing import AblyEmulator

        emulator = AblyEmulator(host="127.0.0.1", port=0)
        emulator.start()
        try:
            auth = cls(
                emulator.create_key(),
                endpoint=emulator.url,
                on_issue=on_issue,
                on_refuse=on_refuse,
            )
        except BaseException:
            emulator.stop()
            raise
        auth._emulator = emulator
        return auth

    def client_options(self, sdk: str = "ably-python") -> dict[str, Any]:
        """The options that send a client where this endpoint's credentials work
        (``endpoint``, ``port``, ``tls``...), as ``sdk`` (``"ably-python"`` or
        ``"ably-js"``) spells them. Empty for Ably itself."""
        from ably_authkit._connect import SDKS, sdk_options

        if sdk not in SDKS:
            raise InvalidParameterError(f"sdk must be one of {SDKS}, not {sdk!r}", field="sdk")
        return sdk_options(self._target, sdk)

    def connect_snippets(
        self, auth_url: str, *, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Code that connects a realtime client through this endpoint's routes at
        ``auth_url`` (the base of ``auth_url + "/jwt"`` and the others), by SDK: ably-js
        through the ``jwt`` route, and the `ably` package through ``token-request``
        (given a JWT with a clientId, its realtime client fails to renew, 40102)."""
        from ably_authkit._connect import js_snippet, python_snippet

        base = auth_url.rstrip("/")
        sent = {} if headers is None else dict(headers)
        return {
            "ably-js": js_snippet(self._target, auth_url=f"{base}/jwt", headers=sent),
            "ably-python": python_snippet(
                self._target, auth_url=f"{base}/token-request", headers=sent
            ),
        }

    def describe(
        self, auth_url: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> str:
        """A few lines for a startup banner: where credentials come from (plainly, when it
        is a local emulator), which key (by name only), and, with ``auth_url`` (the base of
        the app's routes), the code that connects each SDK's realtime client."""
        lines = []
        emulator = self._emulator
        if emulator is not None:
            lines.append(
                f"Credentials come from a LOCAL ABLY EMULATOR at {emulator.url}, started "
                "by this process (offline; not Ably: they work only there, and its data is "
                "lost on exit)."
            )
        elif self._emulator_host is not None or self._emulator_clock() is not None:
            lines.append(
                f"Credentials come from the LOCAL ABLY EMULATOR at {self._endpoint} "
                "(not Ably: they work only there)."
            )
        keys = self._keys
        if isinstance(keys, KeyRing) and len(keys) > 1:
            others = ", ".join(name for name in keys.names if name != keys.signer)
            lines.append(
                f"Ably keys: {keys.signer} signs; {others} verify only "
                "(their secrets stay on this server)"
            )
        else:
            lines.append(f"Ably key: {self.key.name} (its secret stays on this server)")
        lines.append(f"Tokens are requested from: {self._endpoint or 'Ably (main)'}")
        if auth_url is not None:
            lines.append("Connect a realtime client:")
            for sdk, code in self.connect_snippets(auth_url, headers=headers).items():
                lines.append(f"  {sdk + ':':<12} {code}")
        elif self._target:
            from ably_authkit._connect import SDKS

            lines.append("Client options to reach it:")
            for sdk in SDKS:
                options = ", ".join(f"{k}={v!r}" for k, v in self.client_options(sdk).items())
                lines.append(f"  {sdk + ':':<12} {options}")
        return "\n".join(lines)

    def _emulator_clock(self) -> Callable[[], datetime] | None:
        return emulator_clock(self._target) if self._target else None

    # -- answering ---------------------------------------------------------------------------

    def _answer_or_issue(
        self,
        mode: str,
        grant: Grant | None,
        method: str,
        query: str | bytes | Mapping[str, str],
        body: bytes,
        content_type: str,
        now: datetime | None,
    ) -> AuthResponse | Grant | _Issue:
        """The answer, except in ``token`` mode: then what to ask Ably for."""
        asked = mode
        try:
            mode, method, grant = _check_head(mode, grant, method)
            params = _request_params(method, query, body, content_type)
            issue = _narrowed(grant, _asked(params) if params else _NOTHING_ASKED)
        except _Refusal as refusal:
            return self._refused(asked, grant, refusal.response)
        if mode != "jwt" and (issue.room_claims or issue.channel_claims):
            # Only a JWT carries claims: no credential without them (the app's mistake).
            refused = _claims_need_jwt(mode, issue.room_claims, issue.channel_claims)
            return self._refused(mode, grant, refused)
        if mode != "token":
            answer = self._issue_locally(mode, issue, now)
            if answer.status != 200:
                return self._refused(mode, grant, answer)
            if self._on_issue is not None or wanted(INFO):
                ttl = issue.ttl
                if mode == "jwt":
                    ttl = ttl // ONE_SECOND * ONE_SECOND  # a JWT's lifetime is whole seconds
                issued = IssuedCredential(
                    mode=mode,
                    client_id=issue.client_id,
                    key_name=self.key.name,
                    ttl=ttl,
                    capability=issue.capability,
                    claimed_rooms=tuple(issue.room_claims),
                    claimed_channels=tuple(issue.channel_claims),
                )
                report_issued(issued, self._on_issue)
            return answer
        return issue

    def _refused(self, mode: str, grant: Grant | None, answer: AuthResponse) -> AuthResponse:
        """``answer``, a refusal, after reporting it (the log, ``on_refuse``)."""
        if self._on_refuse is not None or wanted(WARNING if answer.status >= 500 else INFO):
            error = answer.json()["error"]
            refused = RefusedRequest(
                mode=mode,
                client_id=grant.client_id if isinstance(grant, Grant) else None,
                status=answer.status,
                code=error["code"],
                message=error["message"],
            )
            report_refused(refused, self._on_refuse)
        return answer

    def _issued_token(self, details: TokenDetails) -> AuthResponse:
        """The ``token`` mode's answer, after reporting it (the log, ``on_issue``)."""
        if self._on_issue is not None or wanted(INFO):
            issued = IssuedCredential(
                mode="token",
                client_id=details.client_id,
                key_name=details.key_name or self.key.name,
                ttl=details.expires - details.issued,
                capability=details.capability,
            )
            report_issued(issued, self._on_issue)
        return _details_response(details)

    def _now(self, now: datetime | None) -> datetime | None:
        """The issue time: the caller's, else the endpoint's clock (None: the machine's)."""
        if now is None:
            clock = self._clock
            if clock is None and self._target:
                clock = emulator_clock(self._target)
            if clock is not None:
                return clock()
        return now

    def _issue_locally(
        self, mode: str, issue: Grant | _Issue, now: datetime | None
    ) -> AuthResponse:
        now = self._now(now)
        try:
            if mode == "jwt":
                seconds = issue.ttl // ONE_SECOND
                if not seconds:
                    return error_response(
                        400, 40003, "ttl under 1 s: a JWT's lifetime is whole seconds"
                    )
                key = self.key
                if key.capability is None and not key.revocable:
                    # The Grant checked the rest: nothing of the key's own to check against.
                    token = _mint_granted(
                        key,
                        issue.capability,
                        issue.client_id,
                        seconds,
                        now,
                        issue.channel_claims,
                        issue.room_claims,
                    )
                else:
                    token = mint_jwt(
                        key,
                        capability=issue.capability,
                        client_id=issue.client_id,
                        ttl=seconds * ONE_SECOND,
                        now=now,
                        channel_claims=issue.channel_claims,
                        room_claims=issue.room_claims,
                    ).encode("ascii")
                return _ok(_JWT, token)
            request = create_token_request(
                self.key,
                capability=issue.capability,
                client_id=issue.client_id,
                ttl=issue.ttl,
                now=now,
            )
            return _ok(_JSON, request.to_json().encode("utf-8"))
        except TokenTooLargeError as error:
            if isinstance(issue, _Issue):  # the client's capability param made it so
                return error_response(
                    400,
                    40003,
                    f"the capability asked for lists too many resources: {error.message}; ask "
                    "for fewer, or for wildcard resources such as 'chat:*'",
                )
            return _server_error(error)
        except AuthKitError as error:
            return _server_error(error)

    def respond(
        self,
        mode: str,
        grant: Grant | None,
        *,
        method: str = "GET",
        query: str | bytes | Mapping[str, str] = "",
        body: bytes = b"",
        content_type: str = "",
        now: datetime | None = None,
    ) -> AuthResponse:
        """Answer one authUrl request.

        Args:
            mode: ``"jwt"``, ``"token-request"`` (or ``"token_request"``) or ``"token"``;
                anything else is answered 404, so a route may pass a path segment as is.
            grant: what the signed-in user gets, or ``None`` when nobody is signed in.
            method: the request's method; GET and POST are answered, others get 405.
            query: the raw query string, as text or bytes (or a mapping of parsed params).
            body: the raw request body; read as the token params of a POST when it is
                ``application/x-www-form-urlencoded`` (``content_type``).
            now: the issue time for ``jwt`` and ``token-request`` (default: the clock).
        """
        issue = self._answer_or_issue(mode, grant, method, query, body, content_type, now)
        if isinstance(issue, AuthResponse):
            return issue
        from ably_authkit.rest._pool import _SYNC_CLIENTS

        try:
            with _SYNC_CLIENTS.client(
                self.key, self._endpoint, self._timeout, self._query_time
            ) as client:
                details = client.request_token(
                    capability=issue.capability,
                    client_id=issue.client_id,
                    ttl=issue.ttl,
                    now=self._now(now),
                )
        except MissingExtraError:
            raise  # the deploy lacks the network extra: not the client's fault, nor Ably's
        except AuthKitError as error:
            return self._refused("token", grant, _failure(error))
        return self._issued_token(details)

    async def arespond(
        self,
        mode: str,
        grant: Grant | None,
        *,
        method: str = "GET",
        query: str | bytes | Mapping[str, str] = "",
        body: bytes = b"",
        content_type: str = "",
        now: datetime | None = None,
    ) -> AuthResponse:
        """:meth:`respond` for asyncio apps (FastAPI, Starlette, aiohttp): the ``token``
        mode awaits Ably instead of blocking the event loop."""
        issue = self._answer_or_issue(mode, grant, method, query, body, content_type, now)
        if isinstance(issue, AuthResponse):
            return issue
        from ably_authkit.rest._pool import _ASYNC_CLIENTS

        try:
            client = await _ASYNC_CLIENTS.client(
                self.key, self._endpoint, self._timeout, self._query_time
            )
            details = await client.request_token(
                capability=issue.capability,
                client_id=issue.client_id,
                ttl=issue.ttl,
                now=self._now(now),
            )
        except MissingExtraError:
            raise
        except AuthKitError as error:
            return self._refused("token", grant, _failure(error))
        return self._issued_token(details)

    def respond_wsgi(
        self,
        mode: str,
        grant: Grant | None,
        environ: Mapping[str, Any],
        *,
        body: bytes | Callable[[], bytes] = b"",
        now: datetime | None = None,
    ) -> AuthResponse:
        """:meth:`respond` for WSGI apps (Flask, Django, Pyramid, Bottle...): the method,
        query string and content type are read from the request's WSGI ``environ``
        (Flask's ``request.environ``, Django's ``request.META``), as the server gave them.

        ``body`` is the request body, or better a function that returns it, such as
        Flask's ``request.get_data``: it is called only for a POST, the one method whose
        body holds token params, and only once the mode, the method, the grant (``None``:
        401), the Content-Type and the Content-Length (over 64 KiB: 413) have passed, so
        nothing is read for a request that is refused anyway. A POST whose body comes
        without a Content-Length (chunked) is answered 411 without calling it, as the
        framework would read such a body whole. Let the framework read it (not
        ``wsgi.input`` directly): it knows whether the body was read already.
        """
        read = self._read_wsgi(mode, grant, environ, body)
        if isinstance(read, AuthResponse):
            return read
        method, query, body, content_type = read
        return self.respond(
            mode,
            grant,
            method=method,
            query=query,
            body=body,
            content_type=content_type,
            now=now,
        )

    def _read_wsgi(
        self,
        mode: str,
        grant: Grant | None,
        environ: Mapping[str, Any],
        body: bytes | Callable[[], bytes],
    ) -> AuthResponse | tuple[str, str, bytes, str]:
        """``(method, query, body, content_type)`` of a WSGI request, or the refusal its
        head alone gives (reported); :meth:`respond_wsgi` and an async WSGI-style view
        (Django's, under ASGI) share it."""
        method, query, content_type, declared, chunked = environ_head(environ)
        refusal = _refusal_before_body(mode, grant, method, content_type, declared)
        if refusal is not None:
            return self._refused(mode, grant, refusal)
        if callable(body):
            if method.upper() != "POST":
                body = b""
            elif chunked:
                refusal = error_response(
                    411,
                    40000,
                    "send the token params with a Content-Length (as Ably clients do), not as "
                    "a chunked body",
                )
                return self._refused(mode, grant, refusal)
            else:
                body = body()
        return method, query, body, content_type

    async def respond_asgi(
        self,
        mode: str,
        grant: Grant | None,
        request: Request,
        *,
        now: datetime | None = None,
    ) -> AuthResponse:
        """:meth:`arespond` for Starlette and FastAPI: the method, query string and content
        type are read from ``request`` (a ``starlette.requests.Request``, which FastAPI
        hands to a route that asks for one). Its body is read only for a POST, the one
        method whose body holds token params, and only once the mode, the method, the
        grant (``None``: 401), the Content-Type and the Content-Length (over 64 KiB: 413)
        have passed; then it is read from the request's stream, never past the limit, so
        a large or endless body costs no more than 64 KiB of memory. Starlette is not
        imported by this library: the request brings everything.

        Example, a whole FastAPI route::

            @app.api_route("/auth/{mode}", methods=["GET", "POST"])
            async def credentials(mode: str, request: Request) -> Response:
                answer = await auth.respond_asgi(mode, grant_for(request), request)
                return Response(answer.body, status_code=answer.status,
                                headers=dict(answer.headers))
        """
        method, query, content_type, declared = request_head(request)
        refusal = _refusal_before_body(mode, grant, method, content_type, declared)
        if refusal is not None:
            return self._refused(mode, grant, refusal)
        body = await read_body(request, _MAX_BODY) if method.upper() == "POST" else b""
        return await self.arespond(
            mode,
            grant,
            method=method,
            query=query,
            body=body,
            content_type=content_type,
            now=now,
        )

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the embedded emulator, if any. (The ``token`` mode's REST clients are
        shared with :func:`~ably_authkit.request_token` and closed at exit, or with their
        event loop.)"""
        emulator, self._emulator = self._emulator, None
        if emulator is not None:
            emulator.stop()

    async def aclose(self) -> None:
        """:meth:`close`, for an asyncio app's shutdown."""
        self.close()

    def __enter__(self: _Endpoint) -> _Endpoint:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f", endpoint={self._endpoint!r}" if self._endpoint else ""
        keys = self._keys
        if isinstance(keys, KeyRing) and len(keys) > 1:
            return f"AuthEndpoint(keys={keys.names!r}, signer={keys.signer!r}{where})"
        return f"AuthEndpoint(key={self.key.name!r}{where})"
