"""Reading an authUrl request: its mode, its method, and the token params the client sent.

The client's own token params (``clientId``/``client_id``, ``capability``, ``ttl`` in
milliseconds) come in the query of a GET or the form body of a POST; ably-js sends
camelCase, ably-python snake_case. Other params are the app's own (``authParams``) and are
ignored. Malformed params, or a body that is not a form: 4xx, as a
:class:`~.responses._Refusal`. What the params then do to the grant is :mod:`.narrowing`'s.
"""

from __future__ import annotations

from ably_authkit._checks import check_client_id
from ably_authkit._frozen import Frozen
from ably_authkit._time import ONE_MS
from ably_authkit.capability import Capability
from ably_authkit.errors import AuthKitError, ParameterTypeError

from .responses import _Refusal, _refuse, error_response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import timedelta

__all__ = ["MODES"]

#: The three modes, as URL paths spell them (``"token_request"`` is read as ``"token-request"``).
MODES = ("jwt", "token-request", "token")
_MODE_NAMES = {"jwt": "jwt", "token-request": "token-request", "token_request": "token-request"}
_MODE_NAMES["token"] = "token"

_FORM = "application/x-www-form-urlencoded"
# More than this many params, or a body over this size, is not an Ably client.
_MAX_PARAMS = 100
_MAX_BODY = 64 * 1024
# The longest ttl digit string worth reading: anything longer is far over 24 h anyway.
_MAX_TTL_DIGITS = 15


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
        _check_form(content_type)
        if len(body) > _MAX_BODY:
            raise _refuse(413, 40000, f"the body is over {_MAX_BODY} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(400, 40000, "the form body is not UTF-8") from None
        params.update(_pairs(text, "form body"))
    return params


def _check_body_head(content_type: str, declared: int | None) -> None:
    """What the headers of a POST refuse before its body is read: a Content-Length over
    the limit (413), a body declared in another type than a form (415)."""
    if not declared:
        return
    _check_form(content_type)
    if declared > _MAX_BODY:
        raise _refuse(413, 40000, f"the body is over {_MAX_BODY} bytes")


def _check_form(content_type: str) -> None:
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != _FORM:
        raise _refuse(
            415,
            40000,
            f"send token params as {_FORM} (as Ably clients do), not "
            f"{media_type or 'a body without a Content-Type'}",
        )


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
