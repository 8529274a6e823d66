"""Reading a WSGI request (Flask, Django, Pyramid, Bottle...): the method, query string and
content type from its ``environ``, and the body only for a POST.

:meth:`AuthEndpoint.respond_wsgi <ably_authkit.endpoint.AuthEndpoint.respond_wsgi>`
calls :func:`read_environ`, then answers as :meth:`~ably_authkit.endpoint.AuthEndpoint.respond`.
"""

from __future__ import annotations

from collections import abc

from ably_authkit.errors import ParameterTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

__all__ = ["read_environ"]


def read_environ(
    environ: Mapping[str, Any], body: bytes | Callable[[], bytes]
) -> tuple[str, str, bytes, str]:
    """``(method, query, body, content_type)`` of a WSGI request. ``body`` is the body, or a
    function that returns it, called only for a POST (the one method whose body holds
    token params)."""
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
    return method, query, body, content_type
