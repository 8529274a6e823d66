"""FastAPI: the authUrl routes as an ``APIRouter``, the app's policy a dependency.

::

    from fastapi import Depends, FastAPI

    from ably_authkit.integrations.fastapi import auth_router

    def grant_for(user: User | None = Depends(current_user)) -> Grant | None:
        ...

    app = FastAPI()
    app.include_router(auth_router(auth, grant_for), prefix="/auth")

``grant_for`` is a FastAPI dependency like any other: it may depend on the app's own
(the session, an OAuth bearer, the database), be ``async def`` or not (FastAPI runs a
plain one in its thread pool), and be overridden in tests
(``app.dependency_overrides``). Needs the ``fastapi`` extra.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at run
# time, and the dependency in them is a local variable.
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from ably_authkit._extras import import_from
from ably_authkit.endpoint import AuthEndpoint, Grant

from ._common import check_callable, served_modes, unserved

import_from("fastapi", "fastapi", "ably_authkit.integrations.fastapi")

from fastapi import APIRouter, Depends, Request, Response  # noqa: E402

from .starlette import answer, reply  # noqa: E402

__all__ = ["auth_router"]


def auth_router(
    endpoint: AuthEndpoint,
    grant_for: Callable[..., Any],
    *,
    modes: Iterable[str] | None = None,
    include_in_schema: bool = False,
) -> APIRouter:
    """``GET``/``POST`` ``/{mode}``, for ``app.include_router(..., prefix="/auth")``.

    Args:
        endpoint: the :class:`~ably_authkit.endpoint.AuthEndpoint` to answer with.
        grant_for: the app's policy, a FastAPI dependency returning the user's
            :class:`~ably_authkit.endpoint.Grant`, or ``None`` (401).
        modes: the modes to serve (default all three); another is answered 404 (after
            FastAPI has resolved ``grant_for``, as it resolves every dependency first).
        include_in_schema: list the routes in the OpenAPI schema (default not: Ably
            clients, not people, call them, and their answers are not JSON models).
    """
    check_callable(grant_for, "grant_for")
    served = served_modes(modes, where="modes")
    router = APIRouter()

    async def credentials(
        mode: str, request: Request, grant: Annotated[Grant | None, Depends(grant_for)]
    ) -> Response:
        refusal = unserved(endpoint, mode, served)
        if refusal is not None:
            return reply(refusal)
        return await answer(endpoint, mode, grant, request)

    router.add_api_route(
        "/{mode}",
        credentials,
        methods=["GET", "POST"],
        name="ably_credentials",
        include_in_schema=include_in_schema,
    )
    return router
