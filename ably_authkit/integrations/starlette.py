"""Starlette: the authUrl routes, with the app's policy a function of the request.

::

    from starlette.applications import Starlette
    from starlette.routing import Mount

    from ably_authkit.integrations.starlette import auth_routes

    def grant_for(request: Request) -> Grant | None:   # or async def
        ...

    app = Starlette(routes=[Mount("/auth", routes=auth_routes(auth, grant_for))])

Needs the ``fastapi`` extra (which brings Starlette); FastAPI apps use
:mod:`ably_authkit.integrations.fastapi`, whose policy is a dependency.
"""

from __future__ import annotations

import inspect

from ably_authkit._extras import import_from

from ._common import check_callable, served_modes, unserved

import_from("starlette", "fastapi", "ably_authkit.integrations.starlette")

from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant

    GrantFor = Callable[[Request], Grant | Awaitable[Grant | None] | None]

__all__ = ["answer", "auth_routes", "reply"]


def auth_routes(
    endpoint: AuthEndpoint, grant_for: GrantFor, *, modes: Iterable[str] | None = None
) -> list[Route]:
    """``GET``/``POST`` ``/{mode}``, to mount where the authUrl lives (``Mount("/auth",
    routes=...)``).

    Args:
        endpoint: the :class:`~ably_authkit.endpoint.AuthEndpoint` to answer with.
        grant_for: the app's policy: the request's user's
            :class:`~ably_authkit.endpoint.Grant`, or ``None`` (401); ``async def`` or not
            (a plain function runs on the event loop: keep it free of blocking I/O).
        modes: the modes to serve (default all three); another is answered 404 before
            ``grant_for`` is asked.
    """
    check_callable(grant_for, "grant_for")
    served = served_modes(modes, where="modes")

    async def credentials(request: Request) -> Response:
        mode = request.path_params["mode"]
        refusal = unserved(endpoint, mode, served)
        if refusal is not None:
            return reply(refusal)
        grant = grant_for(request)
        if inspect.isawaitable(grant):
            grant = await grant
        return await answer(endpoint, mode, grant, request)

    return [Route("/{mode}", credentials, methods=["GET", "POST"], name="ably_credentials")]


async def answer(
    endpoint: AuthEndpoint, mode: str, grant: Grant | None, request: Request
) -> Response:
    """:meth:`AuthEndpoint.respond_asgi
    <ably_authkit.endpoint.AuthEndpoint.respond_asgi>` as a Starlette ``Response``: the
    body is awaited only for a POST, and the ``token`` mode awaits Ably."""
    return reply(await endpoint.respond_asgi(mode, grant, request))


def reply(answer: AuthResponse) -> Response:
    """``answer`` as a Starlette ``Response``."""
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))
