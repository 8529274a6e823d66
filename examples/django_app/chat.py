"""Django, Ably Chat: the support-room policy (``examples/chat_policy.py``: each customer
a member of their own room, moderators of every support room), named in the settings as
app.py's is and served by the same integration."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest

from ably_authkit.endpoint import AuthEndpoint, Grant
from examples.chat_policy import SUPPORT_ROOMS, chat_grant_for, support_room

from .app import current_user

__all__ = [
    "SUPPORT_ROOMS",
    "chat_grant_for",
    "chat_grant_for_request",
    "create_app",
    "support_room",
]


def chat_grant_for_request(request: HttpRequest) -> Grant | None:
    """settings.ABLY_AUTHKIT["GRANT_FOR"] in Chat mode: the Chat grant of the request's
    user; ``settings.CHAT_MODERATORS``: the user ids of the support team's moderators (a
    STAND-IN for your staff directory or roles, such as ``request.user.is_staff``)."""
    return chat_grant_for(current_user(request), settings.CHAT_MODERATORS)


def create_app(auth: AuthEndpoint, *, moderators: Iterable[str]) -> WSGIHandler:
    """The Chat app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token
    with each user's Chat grant and ``auth``; ``moderators`` become
    ``settings.CHAT_MODERATORS``."""
    # In a real project, both are in settings.py:
    #     CHAT_MODERATORS = frozenset(...)
    #     ABLY_AUTHKIT = {..., "GRANT_FOR": "myproject.chat.chat_grant_for_request"}
    settings.CHAT_MODERATORS = frozenset(moderators)
    settings.ABLY_AUTHKIT = {
        **settings.ABLY_AUTHKIT,
        "GRANT_FOR": f"{__name__}.chat_grant_for_request",
        "AUTH_ENDPOINT": auth,
    }
    return WSGIHandler()
