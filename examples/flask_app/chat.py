"""Flask, Ably Chat: the support-room policy (``examples/chat_policy.py``: each customer
a member of their own room, moderators of every support room), served by the same
integration as app.py's.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.integrations.flask import AblyAuth
from examples.chat_policy import SUPPORT_ROOMS, chat_grant_for, support_room

from .app import current_user

__all__ = ["SUPPORT_ROOMS", "chat_grant_for", "create_app", "support_room"]


def create_app(auth: AuthEndpoint, *, moderators: Iterable[str]) -> Flask:
    """The Chat app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token
    with each user's Chat grant; ``moderators``: the user ids of the support team's
    moderators (a STAND-IN for your staff directory or roles)."""
    staff = frozenset(moderators)
    app = Flask(__name__)
    ably = AblyAuth(endpoint=auth)

    @ably.grant_loader
    def chat_grant_for_current_user() -> Grant | None:
        return chat_grant_for(current_user(), staff)

    ably.init_app(app)
    return app
