"""Reading an ASGI request through Starlette's ``Request`` (FastAPI, Starlette): the method,
the raw query string bytes and the content type from its scope, and the body only for a
POST. Starlette is not imported here: the request object brings everything.

:meth:`AuthEndpoint.respond_asgi <ably_authkit.endpoint.AuthEndpoint.respond_asgi>`
awaits :func:`read_request`, then answers as
:meth:`~ably_authkit.endpoint.AuthEndpoint.arespond`.
"""

from __future__ import annotations

from collections import abc

from ably_authkit.errors import ParameterTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["read_request"]


async def read_request(request: Request) -> tuple[str, bytes, bytes, str]:
    """``(method, query, body, content_type)`` of a Starlette or FastAPI ``Request``; the
    body is awaited only for a POST (the one method whose body holds token params)."""
    scope = getattr(request, "scope", None)
    if not isinstance(scope, abc.Mapping) or scope.get("type") != "http":
        raise ParameterTypeError(
            "request must be the Starlette or FastAPI Request of an HTTP route, not "
            f"{type(request).__name__}",
            field="request",
        )
    method = scope.get("method")
    if not isinstance(method, str):
        raise ParameterTypeError("the request's scope has no method", field="request")
    query = scope.get("query_string") or b""
    if not isinstance(query, bytes):
        raise ParameterTypeError("the request's query_string must be bytes", field="request")
    content_type = request.headers.get("content-type") or ""
    body = await request.body() if method.upper() == "POST" else b""
    return method, query, body, content_type
