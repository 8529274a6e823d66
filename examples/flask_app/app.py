"""Flask: this app's policy, served by ably_authkit's Flask integration."""

from __future__ import annotations

from flask import Flask, request

from ably_authkit import InvalidCapabilityError, InvalidClientIdError, resource_segment
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.flask import AblyAuth


def grant_for(user_id: str | None) -> Grant | None:
    """This app's policy: every user may chat, and hears what is sent to them alone."""
    if not user_id:
        return None
    try:
        capability = {
            "chat:*": ["publish", "subscribe", "presence", "history"],
            # The id is the user's, not ours: escaped, "*" or "a:b" names one channel only.
            f"user:{resource_segment(user_id, escape=True)}": ["subscribe"],
        }
        return Grant(client_id=user_id, capability=capability)
    except (InvalidClientIdError, InvalidCapabilityError):  # "*", a 300-character id...
        return None  # an id Ably cannot carry, or one too long for a channel name: 401


def current_user() -> str | None:
    # STAND-IN for your real session (flask_login.current_user, a session cookie...):
    # this example trusts an X-User-Id header, which any client could forge.
    return request.environ.get("HTTP_X_USER_ID") or None  # request.headers, without building it


def create_app(auth: AuthEndpoint) -> Flask:
    """The app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token."""
    app = Flask(__name__)
    ably = AblyAuth(endpoint=auth)  # without endpoint=, built from app.config["ABLY_API_KEY"]

    @ably.grant_loader
    def grant_for_current_user() -> Grant | None:
        return grant_for(current_user())

    ably.init_app(app)
    return app
