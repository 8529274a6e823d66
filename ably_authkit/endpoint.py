"""The authUrl contract: the app says who the user is, this module answers the client.

An Ably client configured with ``authUrl`` calls your backend whenever it needs a
credential, and again before the last one expires. The app decides *who* is asking and
what they may do (a :class:`Grant`); :class:`AuthEndpoint` turns that into the HTTP
answer (an :class:`AuthResponse`) in one of three modes:

=================  ======================================  ==================================
mode               body                                    Content-Type
=================  ======================================  ==================================
``jwt``            the Ably JWT, as bare text              ``application/jwt``
``token-request``  a signed TokenRequest (seven wire keys)  ``application/json``
``token``          TokenDetails from ``requestToken``      ``application/json``
=================  ======================================  ==================================

Rules, whatever the framework:

- The client's own token params (``clientId``/``client_id``, ``capability``, ``ttl`` in
  milliseconds; in the query of a GET or the form body of a POST; ably-js sends camelCase,
  ably-python snake_case) can only **narrow** the grant: the capability is intersected
  with the granted one (nothing shared: 403, Ably error 40160), a longer ttl is cut to the
  grant's, and another clientId is refused (403, 40102). Other params are the app's own
  (``authParams``) and are ignored here. Malformed params: 400.
- Every answer carries ``Cache-Control: no-store``: a cached TokenRequest is a replayed
  nonce (Ably error 40105).
- No user (``grant=None``): 401 with an Ably error body, never a credential.
- Errors are Ably-shaped, ``{"error": {"message", "code", "statusCode", "href"}}``, which
  ably-js and ably-python both read, and never contain the key secret.

Nothing heavy is imported until it is used: the ``token`` mode loads the ``ably``
package (the ``network`` extra; without it, :class:`~ably_authkit.MissingExtraError`) on
its first call, and :meth:`AuthEndpoint.from_env` loads the emulator only when it is asked
for by name (``emulator=True``).
"""

from __future__ import annotations

import os
from collections import abc
from datetime import timedelta

from ._checks import check_client_id
from ._frozen import Frozen
from ._time import DEFAULT_TOKEN_TTL, ONE_MS, ONE_SECOND, check_ttl, describe, emulator_clock
from .capability import Capability
from .errors import (
    AblyApiError,
    AblyConnectionError,
    AuthKitError,
    InvalidApiKeyError,
    InvalidParameterError,
    MissingExtraError,
    ParameterTypeError,
)
from .jwt_tokens import _mint_granted, mint_jwt
from .keys import ApiKey, as_api_key
from .token_requests import create_token_request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime
    from types import TracebackType
    from typing import Any

    from .capability import CapabilityLike
    from .testing import AblyEmulator
    from .token_details import TokenDetails

__all__ = [
    "EMULATOR_HOST_ENV",
    "MODES",
    "AuthEndpoint",
    "AuthResponse",
    "Grant",
    "ably_js_response",
    "error_response",
]

#: The three modes, as URL paths spell them (``"token_request"`` is read as ``"token-request"``).
MODES = ("jwt", "token-request", "token")
_MODE_NAMES = {"jwt": "jwt", "token-request": "token-request", "token_request": "token-request"}
_MODE_NAMES["token"] = "token"

_NO_STORE = ("Cache-Control", "no-store")
_JSON = "application/json"
_JWT = "application/jwt"
_FORM = "application/x-www-form-urlencoded"
#: The variable that names a running Ably emulator (``HOST:PORT``), in the style of
#: Firebase's ``FIREBASE_AUTH_EMULATOR_HOST``: see :meth:`AuthEndpoint.from_env`.
EMULATOR_HOST_ENV = "ABLY_EMULATOR_HOST"
# More than this many params, or a body over this size, is not an Ably client.
_MAX_PARAMS = 100
_MAX_BODY = 64 * 1024
# The longest ttl digit string worth reading: anything longer is far over 24 h anyway.
_MAX_TTL_DIGITS = 15


class Grant(Frozen):
    """What the app grants the current user: who they are, what they may do, for how long.

    ``client_id`` is the identity the credential enforces (``None``: anonymous, ``"*"``:
    any). ``ttl`` is a whole number of seconds (a JWT's lifetime is whole seconds), at
    most 24 h. The client may ask for less, never for more.
    """

    __slots__ = ("client_id", "capability", "ttl")

    client_id: str | None
    capability: Capability
    ttl: timedelta

    def __init__(
        self,
        *,
        client_id: str | None,
        capability: CapabilityLike,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> None:
        if ttl is not DEFAULT_TOKEN_TTL:  # the default (1 h) is known good
            ttl = check_ttl(ttl)
            if ttl % ONE_SECOND:
                raise InvalidParameterError(
                    f"a Grant's ttl must be whole seconds (a JWT's lifetime is), "
                    f"not {describe(ttl)}",
                    field="ttl",
                    code=40003,
                    status_code=400,
                )
        set_field = self._set
        set_field("client_id", None if client_id is None else check_client_id(client_id))
        set_field("capability", Capability.coerce(capability))
        set_field("ttl", ttl)


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
    from ._json import dumps_compact

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


# -- reading the client's params ------------------------------------------------------------


def _pairs(text: str, where: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_PARAMS)
    except ValueError:
        raise _refuse(400, 40000, f"the {where} has more than {_MAX_PARAMS} params") from None
    return _merge_pairs(pairs, where)


def _merge_pairs(pairs: Iterable[tuple[str, str]], where: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params and params[name] != value:
            raise _refuse(
                400, 40000, f"param {name!r} is given twice in the {where}, with different values"
            )
        params[name] = value
    return params


def _request_params(
    method: str, query: str | bytes | Mapping[str, str], body: bytes, content_type: str
) -> dict[str, str]:
    """Query params, overridden by form-body params (ably-js and ably-python POST token
    params in the body and keep the authUrl's own query in the URL)."""
    if not query and not body:
        return {}
    if body and not isinstance(body, (bytes, bytearray)):
        raise ParameterTypeError(
            f"body must be the raw request body as bytes, not {type(body).__name__}",
            field="body",
        )
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(400, 40000, "the query string is not UTF-8") from None
    if isinstance(query, str):
        params = _pairs(query, "query")
    else:
        params = {}
        for name, value in query.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise ParameterTypeError(
                    "query must be the query string or a mapping of str to str", field="query"
                )
            params[name] = value
    if method == "POST" and body:
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type != _FORM:
            raise _refuse(
                415,
                40000,
                f"send token params as {_FORM} (as Ably clients do), not "
                f"{media_type or 'a body without a Content-Type'}",
            )
        if len(body) > _MAX_BODY:
            raise _refuse(413, 40000, f"the body is over {_MAX_BODY} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(400, 40000, "the form body is not UTF-8") from None
        params.update(_pairs(text, "form body"))
    return params


class _Asked(Frozen):
    """The token params a client asked for; ``None`` where it named none."""

    __slots__ = ("client_id", "capability", "ttl")

    client_id: str | None
    capability: Capability | None
    ttl: timedelta | None

    def __init__(
        self,
        *,
        client_id: str | None = None,
        capability: Capability | None = None,
        ttl: timedelta | None = None,
    ) -> None:
        self._set("client_id", client_id)
        self._set("capability", capability)
        self._set("ttl", ttl)


#: What a client asked for when it sent no token params at all (the usual request).
_NOTHING_ASKED = _Asked()


def _asked(params: Mapping[str, str]) -> _Asked:
    """Read ``clientId``/``client_id``, ``capability`` and ``ttl`` (ms); an empty value
    counts as not given (ably-python treats an empty client id so)."""
    camel, snake = params.get("clientId") or None, params.get("client_id") or None
    if camel is not None and snake is not None and camel != snake:
        raise _refuse(400, 40012, "clientId and client_id are both given, with different values")
    client_id = camel or snake
    if client_id is not None:
        try:
            client_id = check_client_id(client_id)
        except AuthKitError as error:
            raise _refuse(400, 40012, f"invalid clientId: {error.message}") from None
    capability = None
    capability_text = params.get("capability") or None
    if capability_text is not None:
        try:
            capability = Capability.parse(capability_text)
        except AuthKitError as error:
            raise _refuse(400, 40003, f"invalid capability param: {error.message}") from None
    ttl = None
    ttl_text = params.get("ttl") or None
    if ttl_text is not None:
        if not (ttl_text.isascii() and ttl_text.isdigit()) or len(ttl_text) > _MAX_TTL_DIGITS:
            raise _refuse(
                400, 40003, f"ttl must be a whole number of milliseconds, not {ttl_text[:40]!r}"
            )
        ttl = int(ttl_text) * ONE_MS
        if not ttl:
            raise _refuse(400, 40003, "ttl must be positive; it is in milliseconds")
    return _Asked(client_id=client_id, capability=capability, ttl=ttl)


class _Issue(Frozen):
    """What will be issued: the grant, narrowed."""

    __slots__ = ("client_id", "capability", "ttl")

    client_id: str | None
    capability: Capability
    ttl: timedelta

    def __init__(self, *, client_id: str | None, capability: Capability, ttl: timedelta) -> None:
        self._set("client_id", client_id)
        self._set("capability", capability)
        self._set("ttl", ttl)


def _narrowed(grant: Grant, asked: _Asked) -> Grant | _Issue:
    """What to issue: the grant, narrowed by what was asked, never widened."""
    if asked is _NOTHING_ASKED:  # the usual request: the grant as it is
        return grant
    client_id = grant.client_id
    if asked.client_id is not None and asked.client_id != client_id:
        if client_id != "*" or asked.client_id == "*":
            shown = "no clientId (anonymous)" if client_id is None else repr(client_id)
            raise _refuse(
                403,
                40102,
                f"clientId {asked.client_id!r} was asked for, but this user is granted {shown}; "
                "configure the client with the clientId its user has, or none",
            )
        client_id = asked.client_id  # a wildcard grant narrowed to one identity
    capability = grant.capability
    if asked.capability is not None:
        met = grant.capability.intersection(asked.capability)
        if met is None:
            raise _refuse(
                403,
                40160,
                f"the capability asked for, {asked.capability.to_json()}, shares nothing with "
                f"the one this user is granted, {grant.capability.to_json()}",
            )
        capability = met
    ttl = grant.ttl if asked.ttl is None else min(asked.ttl, grant.ttl)
    return _Issue(client_id=client_id, capability=capability, ttl=ttl)


# -- the endpoint ---------------------------------------------------------------------------


def _check_mode(mode: str) -> str:
    if not isinstance(mode, str):
        raise ParameterTypeError(f"mode must be one of {', '.join(MODES)}", field="mode")
    name = _MODE_NAMES.get(mode)
    if name is None:
        raise _refuse(404, 40400, f"no such credential mode {mode[:40]!r}; use one of {MODES}")
    return name


def _check_method(method: str) -> str:
    if not isinstance(method, str):
        raise ParameterTypeError("method must be a str such as 'GET'", field="method")
    method = method.upper()
    if method not in ("GET", "POST"):
        raise _Refusal(
            error_response(
                405,
                40500,
                f"method {method[:20]} is not allowed here: use GET or POST",
                headers=(("Allow", "GET, POST"),),
            )
        )
    return method


def _ok(content_type: str, body: bytes) -> AuthResponse:
    # Built without AuthResponse's checks: these values are ours and known good.
    answer = object.__new__(AuthResponse)
    answer._set("status", 200)
    answer._set("headers", (("Content-Type", content_type), _NO_STORE))
    answer._set("body", body)
    return answer


def _server_error(error: AuthKitError) -> AuthResponse:
    """The key cannot issue what the app granted (its capability, a revocable key's 1 h)."""
    return error_response(
        500,
        error.code or 50000,
        f"this server cannot issue the credential it grants: {error.message}",
    )


def _failure(error: AuthKitError) -> AuthResponse:
    """Ably refused or could not be reached (502), or this server is misconfigured (500)."""
    if isinstance(error, (AblyApiError, AblyConnectionError)):
        return _upstream_error(error)
    return _server_error(error)


def _upstream_error(error: AblyApiError | AblyConnectionError) -> AuthResponse:
    """Ably refused this server's token request, or could not be reached: 502."""
    if isinstance(error, AblyConnectionError):
        return error_response(502, 50002, f"could not get a token from Ably: {error.message}")
    return error_response(
        502,
        error.code or 50000,
        f"Ably refused this server's token request: {error.message}",
    )


def _endpoint_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    endpoint_variable: str = "ABLY_ENDPOINT",
    emulator_variable: str = EMULATOR_HOST_ENV,
) -> str | None:
    """The endpoint the environment names: ``ABLY_ENDPOINT``, or ``http://HOST:PORT`` for
    ``ABLY_EMULATOR_HOST``; ``None`` (Ably) when neither is set. Both set is refused."""
    source = os.environ if environ is None else environ
    endpoint = source.get(endpoint_variable) or None
    emulator_host = source.get(emulator_variable) or None
    if emulator_host is None:
        return endpoint
    if endpoint is not None:
        raise InvalidParameterError(
            f"{emulator_variable} and {endpoint_variable} are both set: the first names a "
            "local emulator, the second another service; unset one",
            field=emulator_variable,
        )
    return _emulator_url(emulator_host, emulator_variable)


def _emulator_url(host: str, variable: str) -> str:
    """``http://HOST:PORT`` for ``ABLY_EMULATOR_HOST``'s ``HOST:PORT``."""
    from .rest import check_endpoint

    url = f"http://{host}"
    try:
        options = check_endpoint(url)
    except AuthKitError:
        options = {}
    if "port" not in options:
        raise InvalidParameterError(
            f"{variable} must be the HOST:PORT of a running emulator, such as "
            "127.0.0.1:8123 (what 'ably-authkit emulator' prints), with no scheme",
            field=variable,
        )
    return url


class AuthEndpoint:
    """Answers an Ably client's authUrl requests for one API key.

    Build one per process and share it between requests and threads.

    Args:
        key: the API key that signs every credential (an :class:`~ably_authkit.ApiKey`
            or its text). Its secret never leaves the server.
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
    """

    __slots__ = (
        "_clock",
        "_emulator",
        "_emulator_host",
        "_endpoint",
        "_query_time",
        "_target",
        "_timeout",
        "key",
    )

    key: ApiKey

    def __init__(
        self,
        key: ApiKey | str,
        *,
        endpoint: str | None = None,
        query_time: bool = False,
        timeout: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from .rest import DEFAULT_TIMEOUT, _client_options

        if clock is not None and not callable(clock):
            raise ParameterTypeError(
                "clock must be a function returning an aware datetime, such as emu.now",
                field="clock",
            )
        self._clock = clock
        self.key = as_api_key(key)
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
    ) -> AuthEndpoint:
        """The endpoint an app configures from its environment (default ``os.environ``).

        - ``ABLY_API_KEY`` set: that key; ``ABLY_ENDPOINT`` (a routing policy, host or
          URL), when set, is where the ``token`` mode asks and clients connect.
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
            endpoint_variable: the name of the endpoint's variable.
            emulator_variable: the name of the running emulator's variable.
        """
        source = os.environ if environ is None else environ
        if emulator is True:
            return cls._embedded()
        if not isinstance(emulator, bool):
            raise ParameterTypeError("emulator must be True or False", field="emulator")
        endpoint = _endpoint_from_env(
            source, endpoint_variable=endpoint_variable, emulator_variable=emulator_variable
        )
        emulator_host = source.get(emulator_variable) or None
        if not source.get(key_variable):
            raise InvalidApiKeyError(
                f"the environment variable {key_variable} is not set: set it to your Ably "
                "API key (appId.keyId:secret, from the dashboard's API Keys tab). For local "
                f"development without an account, run 'ably-authkit emulator' and set "
                f"the {key_variable} and {emulator_variable} it prints, or build the "
                "endpoint with from_env(emulator=True)",
                field=key_variable,
            )
        auth = cls(ApiKey.from_env(key_variable, environ=source), endpoint=endpoint)
        auth._emulator_host = emulator_host
        return auth

    @classmethod
    def _embedded(cls) -> AuthEndpoint:
        from .testing import AblyEmulator

        emulator = AblyEmulator(host="127.0.0.1", port=0)
        emulator.start()
        try:
            auth = cls(emulator.create_key(), endpoint=emulator.url)
        except BaseException:
            emulator.stop()
            raise
        auth._emulator = emulator
        return auth

    def client_options(self, sdk: str = "ably-python") -> dict[str, Any]:
        """The options that send a client where this endpoint's credentials work
        (``endpoint``, ``port``, ``tls``...), as ``sdk`` (``"ably-python"`` or
        ``"ably-js"``) spells them. Empty for Ably itself."""
        from ._connect import SDKS, sdk_options

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
        from ._connect import js_snippet, python_snippet

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
        lines.append(f"Ably key: {self.key.name} (its secret stays on this server)")
        lines.append(f"Tokens are requested from: {self._endpoint or 'Ably (main)'}")
        if auth_url is not None:
            lines.append("Connect a realtime client:")
            for sdk, code in self.connect_snippets(auth_url, headers=headers).items():
                lines.append(f"  {sdk + ':':<12} {code}")
        elif self._target:
            from ._connect import SDKS

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
        try:
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
            params = _request_params(method, query, body, content_type)
            issue = _narrowed(grant, _asked(params) if params else _NOTHING_ASKED)
        except _Refusal as refusal:
            return refusal.response
        if mode != "token":
            return self._issue_locally(mode, issue, now)
        return issue

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
                    token = _mint_granted(key, issue.capability, issue.client_id, seconds, now)
                else:
                    token = mint_jwt(
                        key,
                        capability=issue.capability,
                        client_id=issue.client_id,
                        ttl=seconds * ONE_SECOND,
                        now=now,
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
        from .rest import _SYNC_CLIENTS

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
            return _failure(error)
        return _details_response(details)

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
        from .rest import _ASYNC_CLIENTS

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
            return _failure(error)
        return _details_response(details)

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
        body holds token params, so a GET does not pay for reading one. Let the framework
        read it (not ``wsgi.input`` directly): it knows whether the body was read already.
        """
        if type(environ) is not dict and not isinstance(environ, abc.Mapping):
            raise ParameterTypeError(
                f"environ must be the WSGI environ mapping (Flask: request.environ, "
                f"Django: request.META), not {type(environ).__name__}",
                field="environ",
            )
        method = environ.get("REQUEST_METHOD")
        if not isinstance(method, str):
            raise ParameterTypeError(
                "environ has no REQUEST_METHOD, so it is not a WSGI environ: pass "
                "request.environ (Flask) or request.META (Django)",
                field="environ",
            )
        text = environ.get("QUERY_STRING") or ""
        if not isinstance(text, str):
            raise ParameterTypeError("environ's QUERY_STRING must be a str", field="environ")
        query = text
        if not text.isascii():
            # PEP 3333: the server's bytes, decoded as latin-1; Ably clients send UTF-8.
            # Text that is not that (Django's ASGI META holds decoded text) is read as is.
            from contextlib import suppress

            with suppress(UnicodeError):
                query = text.encode("latin-1").decode("utf-8")
        content_type = environ.get("CONTENT_TYPE") or ""
        if not isinstance(content_type, str):
            raise ParameterTypeError("environ's CONTENT_TYPE must be a str", field="environ")
        if callable(body):
            body = body() if method.upper() == "POST" else b""
        return self.respond(
            mode,
            grant,
            method=method,
            query=query,
            body=body,
            content_type=content_type,
            now=now,
        )

    # -- the demo page -----------------------------------------------------------------------

    def explain_response(
        self, credential: str | bytes, *, now: datetime | None = None
    ) -> AuthResponse:
        """:func:`~ably_authkit.explain` of ``credential`` (a JWT, TokenRequest or
        TokenDetails JSON, or an Ably token), verified with this endpoint's key where it
        can be, as ``text/plain``; 400 with an Ably error when it cannot be read.

        For the demo page's live panel (``explain_url``), which posts the credential its
        client holds. It says whether a credential is genuine; it never shows the secret.
        """
        from .explain import explain

        if len(credential) > _MAX_BODY:
            return error_response(400, 40003, "that is too long to be an Ably credential")
        if isinstance(credential, bytes):
            try:
                credential = credential.decode("utf-8")
            except UnicodeDecodeError:
                return error_response(400, 40003, "a credential is UTF-8 text")
        if not credential.strip():
            return error_response(400, 40003, "no credential: send one as the request body")
        now = self._now(now)
        try:
            explanation = explain(credential, self.key, now=now)
        except AuthKitError as error:
            return error_response(400, error.code or 40003, f"cannot explain it: {error.message}")
        return _ok("text/plain; charset=utf-8", str(explanation).encode("utf-8"))

    def demo_page(
        self,
        grant: Grant | None,
        *,
        auth_path: str = "/auth",
        user_header: str = "X-User-Id",
        now: datetime | None = None,
        ably_js_url: str | None = None,
        explain_url: str | None = None,
        page_url: str | None = None,
    ) -> AuthResponse:
        """An HTML page showing, for ``grant``'s user, the answer of each mode and
        :func:`~ably_authkit.explain` of each credential, plus the client settings.

        With ``ably_js_url`` (where the app serves :func:`ably_js_response`, e.g.
        ``"/ably.js"``), the page also holds a live panel: ably-js connects through
        ``auth_path + "/jwt"`` to where :meth:`client_options` points, and shows the
        connection state, the current credential, a countdown to its renewal and a
        message box on ``chat:lobby``. Without ably-js installed, the panel says how to
        add it. With ``explain_url`` too (where the app answers a POSTed credential with
        :meth:`explain_response`), the current credential is shown through ``explain()``.
        ``page_url`` is the app's own URL (e.g. ``http://127.0.0.1:8000``): with it, the
        "Connect a client" code names the real authUrl, ready to run.

        For demos and local development: it shows the user's credentials on the page.
        """
        if grant is None:
            return _page(self._page_body(None, {}, auth_path, user_header), status=401)
        answers = {mode: self.respond(mode, grant, now=now) for mode in MODES}
        return _page(
            self._page_body(
                grant, answers, auth_path, user_header, now, (ably_js_url, explain_url, page_url)
            )
        )

    async def ademo_page(
        self,
        grant: Grant | None,
        *,
        auth_path: str = "/auth",
        user_header: str = "X-User-Id",
        now: datetime | None = None,
        ably_js_url: str | None = None,
        explain_url: str | None = None,
        page_url: str | None = None,
    ) -> AuthResponse:
        """:meth:`demo_page` for asyncio apps."""
        if grant is None:
            return _page(self._page_body(None, {}, auth_path, user_header), status=401)
        answers = {mode: await self.arespond(mode, grant, now=now) for mode in MODES}
        return _page(
            self._page_body(
                grant, answers, auth_path, user_header, now, (ably_js_url, explain_url, page_url)
            )
        )

    def _page_body(
        self,
        grant: Grant | None,
        answers: Mapping[str, AuthResponse],
        auth_path: str,
        user_header: str,
        now: datetime | None = None,
        links: tuple[str | None, str | None, str | None] = (None, None, None),
    ) -> str:
        now = self._now(now)
        return _render_page(self, grant, answers, auth_path, user_header, now, links)

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

    def __enter__(self) -> AuthEndpoint:
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
        return f"AuthEndpoint(key={self.key.name!r}{where})"


def ably_js_response() -> AuthResponse:
    """ably-js's browser bundle, for the demo page's live panel (serve it at the page's
    ``ably_js_url``): 200 with the script when :func:`ably_authkit._demo.find_ably_js`
    finds it (``$ABLY_JS_PATH``, ``./node_modules``, ``./tests/js/node_modules``), else
    404 with a script that logs how to install it."""
    from ._demo import ABLY_JS_INSTALL, find_ably_js

    found = find_ably_js()
    if found is None:
        return AuthResponse(
            status=404,
            headers=(("Content-Type", "text/javascript; charset=utf-8"), _NO_STORE),
            body=f"console.error('ably-js is not installed here: {ABLY_JS_INSTALL}');".encode(),
        )
    return AuthResponse(
        status=200,
        headers=(("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache")),
        body=found.read_bytes(),
    )


def _details_response(details: TokenDetails) -> AuthResponse:
    return _ok(_JSON, _json_bytes(details.to_dict()))


def _page(html: str, *, status: int = 200) -> AuthResponse:
    return AuthResponse(
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"), _NO_STORE),
        body=html.encode("utf-8"),
    )


def _render_page(
    auth: AuthEndpoint,
    grant: Grant | None,
    answers: Mapping[str, AuthResponse],
    auth_path: str,
    user_header: str,
    now: datetime | None,
    links: tuple[str | None, str | None, str | None] = (None, None, None),
) -> str:
    from html import escape

    parts = [
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        "<title>ably_authkit demo</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "pre{background:#f4f4f4;padding:.6rem;white-space:pre-wrap;word-break:break-all}"
        "</style></head><body>"
    ]
    if grant is None:
        parts.append(
            "<h1>Nobody is signed in</h1><p>This server hands Ably credentials only to its "
            f"users; send the <code>{escape(user_header)}</code> header.</p></body></html>"
        )
        return "".join(parts)
    who = "anonymous" if grant.client_id is None else grant.client_id
    parts.append(
        f"<h1>Ably credentials for {escape(who)}</h1>"
        f"<p>Granted: clientId <code>{escape(repr(grant.client_id))}</code>, capability "
        f"<code>{escape(grant.capability.to_json())}</code>, ttl {escape(describe(grant.ttl))}. "
        f"Key <code>{escape(auth.key.name)}</code>; its secret never leaves the server.</p>"
    )
    ably_js_url, explain_url, page_url = links
    if ably_js_url is not None:
        from ._demo import find_ably_js, live_panel

        parts.append(
            live_panel(
                client_id=grant.client_id,
                auth_url_path=f"{auth_path}/jwt",
                user_header=user_header,
                client_options=auth.client_options("ably-js"),
                ably_js_url=ably_js_url,
                ably_js_found=find_ably_js() is not None,
                explain_url=explain_url,
            )
        )
    for mode, answer in answers.items():
        url = f"{auth_path}/{mode}"
        parts.append(
            f"<h2>{escape(url)}</h2><p>HTTP {answer.status}, Content-Type "
            f"<code>{escape(answer.content_type or '')}</code></p>"
            f"<pre>{escape(answer.text)}</pre>"
        )
        if answer.status == 200:
            parts.append(
                f"<h3>explain()</h3><pre>{escape(_explained(auth, mode, answer, now))}</pre>"
            )
    base = page_url.rstrip("/") if page_url else "<this server>"
    snippets = auth.connect_snippets(
        f"{base}{auth_path}", headers={user_header: grant.client_id or ""}
    )
    parts.append(
        "<h2>Connect a client</h2><p>Any of the three URLs works as the authUrl; the client "
        "calls it again before its credential expires. The `ably` package's realtime "
        "client is given the token-request route: it cannot renew a JWT that carries a "
        "clientId.</p>"
        + "".join(
            f"<h3>{escape(sdk)}</h3><pre class=connect data-sdk={escape(sdk)}>{escape(code)}</pre>"
            for sdk, code in snippets.items()
        )
        + "</body></html>"
    )
    return "".join(parts)


def _explained(auth: AuthEndpoint, mode: str, answer: AuthResponse, now: datetime | None) -> str:
    from .explain import explain

    try:
        if mode == "jwt":
            return str(explain(answer.text, auth.key, now=now))
        if mode == "token-request":
            return str(explain(answer.json(), auth.key, now=now))
        return str(explain(answer.json(), now=now))
    except (AuthKitError, ValueError) as error:
        return f"explain() failed: {error}"
