"""FastAPI glue for ably_authkit.endpoint: the app says who the user is and what they get."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

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

    @app.get("/")
    async def page(request: Request, user: str | None = None) -> Response:
        # DEMO ONLY: the page falls back to ?user= or "demo-user" so a browser shows something.
        grant = grant_for(user or current_user(request) or "demo-user")
        page = await auth.ademo_page(
            grant,
            page_url=str(request.base_url),
            # The live panel, served below; the clock button only on the app's own emulator.
            ably_js_url="/ably.js",
            explain_url="/explain",
            clock_url=None if auth.emulator is None else "/emulator/advance",
        )
        return reply(page)

    # DEMO ONLY, the page's live panel: its ably-js (shipped with ably_authkit: offline),
    # explain() of its credential, and its button that moves the local emulator's clock
    # (404 unless the app was started with its own: --emulator, `ably-authkit demo`).
    @app.get("/ably.js")
    async def ably_js() -> Response:
        return reply(ably_js_response())

    @app.post("/explain")
    async def explain(request: Request) -> Response:
        return reply(auth.explain_response(await request.body()))

    @app.post("/emulator/advance")
    async def advance(seconds: str | None = None) -> Response:
        return reply(auth.clock_response(seconds))

    return app
