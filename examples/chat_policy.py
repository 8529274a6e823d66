"""The Ably Chat policy the FastAPI, Flask and Django examples' Chat mode serve: who is who.

Each customer talks to the support team in a room of their own, ``support:<user id>``;
the support team's moderators may moderate every support room. The grants are Ably Chat
features (``ably_authkit.chat``): this module only decides who is who, and each
framework's ``chat.py`` serves it.
"""

from __future__ import annotations

from ably_authkit import InvalidCapabilityError, InvalidClientIdError
from ably_authkit.chat import MEMBER, MODERATOR, chat_capability, chat_room
from ably_authkit.endpoint import Grant

#: Every support room, which a moderator moderates.
SUPPORT_ROOMS = "support:*"


def support_room(user_id: str) -> str:
    """The support room of customer ``user_id``: ``support:<id>``, the id escaped, so that
    ``*`` or ``a:b`` names that one room and no other."""
    return chat_room("support", user_id, escape=True)


def chat_grant_for(user_id: str | None, moderators: frozenset[str]) -> Grant | None:
    """This app's Chat policy: a moderator may do everything in every support room,
    including edit and delete anyone's message; any other user is a member of their own
    support room (send, receive, edit and delete their own messages, react, be present,
    type, see who is there)."""
    if not user_id:
        return None
    try:
        if user_id in moderators:
            rooms = {SUPPORT_ROOMS: MODERATOR}
        else:
            rooms = {support_room(user_id): MEMBER}
        return Grant(client_id=user_id, capability=chat_capability(rooms))
    except (InvalidClientIdError, InvalidCapabilityError):  # "*", a 300-character id...
        return None  # an id Ably cannot carry, or one too long for a room name: 401
