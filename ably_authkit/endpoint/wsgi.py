"""Reading a WSGI request (Flask, Django, Pyramid, Bottle...): the method, query string,
content type and declared length from its ``environ``; the body of a POST only once they
pass.

:meth:`AuthEndpoint.respond_wsgi <ably_authkit.endpoint.AuthEndpoint.respond_wsgi>`
takes :func:`environ_head`, checks what it can without the body, then reads it and answers
as :meth:`~ably_authkit.endpoint.AuthEndpoint.respond`.
"""

from __future__ import annotations

from collections import abc

from ably_authkit.errors import ParameterTypeError

from .asgi import declared_length

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["environ_head"]


def environ_head(environ: Mapping[str, Any]) -> tuple[str, str, str, int | None, bool]:
    """``(method, query, content_type, declared_length, chunked)`` of a WSGI request:
    ``declared_length`` is its Content-Length (``None`` when there is none), ``chunked``
    whether a body comes without one (Transfer-Encoding)."""
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
    length = environ.get("CONTENT_LENGTH")
    declared = declared_length(length) if isinstance(length, str) else None
    chunked = declared is None and bool(environ.get("HTTP_TRANSFER_ENCODING"))
    return method, query, content_type, declared, chunked
