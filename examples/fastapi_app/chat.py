"""FastAPI, Ably Chat: the support-room policy (``examples/chat_policy.py``: each customer
a member of their own room, moderators of every support room), served by the same
integration as app.py's.
"""

# No `from __future__ import annotations`: FastAPI reads the dependency's annotations at
# run time, and create_app's dependency is a local function.
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, FastAPI

from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.fastapi import auth_router
from examples.chat_policy import SUPPORT_ROOMS, chat_grant_for, support_room

from .app import current_user

__all__ = ["SUPPORT_ROOMS", "chat_grant_for", "create_app", "support_room"]


def create_app(auth: AuthEndpoint, *, moderators: Iterable[str]) -> FastAPI:
    """The Chat app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token
    with each user's Chat grant; ``moderators``: the user ids of the support team's
    moderators (a STAND-IN for your staff directory or roles)."""
    staff = frozenset(moderators)

    def current_chat_grant(user_id: Annotated[str | None, Depends(current_user)]) -> Grant | None:
        """The policy as a dependency: the Chat grant of the request's user."""
        return chat_grant_for(user_id, staff)

    app = FastAPI(title="Ably Chat credentials (ably_authkit example)")
    app.include_router(auth_router(auth, current_chat_grant), prefix="/auth")
    return app
