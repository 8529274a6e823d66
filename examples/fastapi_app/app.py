"""FastAPI: this app's policy, served by ably_authkit's FastAPI integration."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Header

from ably_authkit import InvalidCapabilityError, InvalidClientIdError, resource_segment
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.fastapi import auth_router


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


def current_user(x_user_id: Annotated[str | None, Header()] = None) -> str | None:
    # STAND-IN for your real session (an OAuth dependency, a session cookie...):
    # this example trusts an X-User-Id header, which any client could forge.
    return x_user_id or None


def current_grant(user_id: Annotated[str | None, Depends(current_user)]) -> Grant | None:
    """The policy as a dependency: the grant of the request's user."""
    return grant_for(user_id)


def create_app(auth: AuthEndpoint) -> FastAPI:
    """The app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token."""
    app = FastAPI(title="Ably credentials (ably_authkit example)")
    app.include_router(auth_router(auth, current_grant), prefix="/auth")
    return app
