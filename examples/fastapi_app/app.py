"""FastAPI glue for ably_authkit.endpoint: the app says who the user is and what they get."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse

from ably_authkit import InvalidClientIdError, resource_segment
from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant, ably_js_response


def grant_for(user_id: str | None) -> Grant | None:
    """This app's policy: every user may chat, and hears what is sent to them alone."""
    if not user_id:
        return None
    capability = {
        "chat:*": ["publish", "subscribe", "presence", "history"],
        # The id is the user's, not ours: escaped, "*" or "a:b" names one channel only.
        f"user:{resource_segment(user_id, escape=True)}": ["subscribe"],
    }
    try:
        return Grant(client_id=user_id, capability=capability)
    except InvalidClientIdError:  # "*" (the wildcard identity), or an id Ably cannot carry
        return None


def current_user(request: Request) -> str | None:
    # STAND-IN for your real session (an OAuth dependency, a session cookie...):
    # this demo trusts an X-User-Id header, which any client could forge.
    return request.headers.get("x-user-id") or None


def reply(answer: AuthResponse) -> Response:
    return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))


def create_app(auth: AuthEndpoint) -> FastAPI:
    app = FastAPI(title="Ably credentials (ably_authkit example)")

    @app.api_route("/auth/{mode}", methods=["GET", "POST"])  # jwt, token-request, token
    async def credentials(mode: str, request: Request) -> Response:
        # The method, query and content type come from the request; the body is read
        # only for a POST, the one method that carries token params in it.
        answer = await auth.respond_asgi(mode, grant_for(current_user(request)), request)
        return reply(answer)

    # The local emulator this app was started with (--emulator, `ably-authkit demo`), if any.
    emulator = auth.emulator

    @app.get("/")
    async def page(request: Request, user: str | None = None) -> Response:
        # DEMO ONLY: the page falls back to ?user= or "demo-user" so a browser shows something.
        grant = grant_for(user or current_user(request) or "demo-user")
        page = await auth.ademo_page(
            grant,
            ably_js_url="/ably.js",
            explain_url="/explain",
            clock_url=None if emulator is None else "/emulator/advance",
            page_url=str(request.base_url),
        )
        return reply(page)

    if emulator is not None:

        @app.post("/emulator/advance")  # DEMO ONLY: the page's button moves the emulator's clock
        async def advance(seconds: int = Query(ge=1, le=86_400)) -> JSONResponse:
            now = emulator.advance(timedelta(seconds=seconds))
            return JSONResponse({"now": int(now.timestamp() * 1000)})

    @app.get("/ably.js")  # the live panel's ably-js, shipped with ably_authkit: offline
    async def ably_js() -> Response:
        return reply(ably_js_response())

    @app.post("/explain")  # DEMO ONLY: the live panel shows explain() of its credential
    async def explain(request: Request) -> Response:
        return reply(auth.explain_response(await request.body()))

    return app
