"""Reading an ASGI request through Starlette's ``Request`` (FastAPI, Starlette): the method,
the raw query string bytes, the content type and the declared length from its scope, then,
once they pass, the body of a POST, read as a stream and never past the endpoint's limit.
Starlette is not imported here: the request object brings everything.

:meth:`AuthEndpoint.respond_asgi <ably_authkit.endpoint.AuthEndpoint.respond_asgi>`
takes :func:`request_head`, checks what it can without the body, awaits :func:`read_body`,
then answers as :meth:`~ably_authkit.endpoint.AuthEndpoint.arespond`.
"""

from __future__ import annotations

from collections import abc

from ably_authkit.errors import ParameterTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["read_body", "request_head"]


def request_head(request: Request) -> tuple[str, bytes, str, int | None]:
    """``(method, query, content_type, declared_length)`` of a Starlette or FastAPI
    ``Request``, from its scope alone: nothing of the body is read. ``declared_length`` is
    the Content-Length, or ``None`` when there is none (a chunked body)."""
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
    headers = request.headers
    content_type = headers.get("content-type") or ""
    return method, query, content_type, declared_length(headers.get("content-length"))


def declared_length(text: str | None) -> int | None:
    """A Content-Length header's value, or ``None`` when it is absent or not a number."""
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read from the request's stream until it ends or passes ``limit`` bytes:
    at most ``limit`` + 1 bytes are returned (one more than the limit tells that it is over),
    and the rest is never read."""
    chunks = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    body = b"".join(chunks)
    return body[: limit + 1]
