"""Flask glue for ably_authkit.endpoint: the app says who the user is and what they get."""

from __future__ import annotations

from flask import Flask, Response, request

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


def current_user() -> str | None:
    # STAND-IN for your real session (flask_login.current_user, a session cookie...):
    # this demo trusts an X-User-Id header, which any client could forge.
    return request.environ.get("HTTP_X_USER_ID") or None  # request.headers, without building it


def reply(answer: AuthResponse) -> Response:
    return Response(answer.body, status=answer.status, headers=list(answer.headers))


def create_app(auth: AuthEndpoint) -> Flask:
    app = Flask(__name__)

    @app.route("/auth/<mode>", methods=["GET", "POST"])  # jwt, token-request, token
    def credentials(mode: str) -> Response:
        # The method, query and content type come from the WSGI environ; the body is
        # read only for a POST, the one method that carries token params in it.
        answer = auth.respond_wsgi(
            mode, grant_for(current_user()), request.environ, body=lambda: request.get_data()
        )
        return reply(answer)

    @app.get("/")
    def page() -> Response:
        # DEMO ONLY: the page falls back to ?user= or "demo-user" so a browser shows something.
        user = request.args.get("user") or current_user() or "demo-user"
        page = auth.demo_page(
            grant_for(user),
            page_url=request.host_url,
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
    def ably_js() -> Response:
        return reply(ably_js_response())

    @app.post("/explain")
    def explain() -> Response:
        return reply(auth.explain_response(request.get_data()))

    @app.post("/emulator/advance")
    def advance() -> Response:
        return reply(auth.clock_response(request.args.get("seconds")))

    return app
