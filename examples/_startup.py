"""What the three examples' ``python -m`` entry points share: configuration and banner.

``ABLY_API_KEY`` (with ``ABLY_ENDPOINT``, or ``ABLY_EMULATOR_HOST`` for an emulator
running elsewhere), or ``--emulator`` for an embedded one: a key is never replaced by an
emulator unless it is asked for by name. ``--chat`` (each of the three examples)
serves the Ably Chat policy, its moderators named by ``CHAT_MODERATORS``.
"""

from __future__ import annotations

import os
import sys

from ably_authkit import AuthKitError
from ably_authkit.endpoint import AuthEndpoint

#: The stand-in user the banner's client snippets sign in as (the X-User-Id header).
USER = "alice"


def start() -> tuple[AuthEndpoint, int]:
    """The endpoint and the port (``PORT``, default 8000); prints the banner."""
    port = int(os.environ.get("PORT", "8000"))
    try:
        auth = AuthEndpoint.from_env(emulator="--emulator" in sys.argv[1:])
    except AuthKitError as error:
        sys.exit(f"error: {error.message}\n(or run with --emulator for a local Ably emulator)")
    print(auth.describe(f"http://127.0.0.1:{port}/auth", headers={"X-User-Id": USER}))
    print(
        f"Serving http://127.0.0.1:{port}/auth/jwt, /auth/token-request and /auth/token "
        "(Ctrl-C to stop)",
        flush=True,
    )
    return auth, port


def chat_mode() -> bool:
    """Whether ``--chat`` asks for the Ably Chat policy (chat.py) instead of app.py's."""
    return "--chat" in sys.argv[1:]


def chat_moderators(member_room: str, moderated: str) -> list[str]:
    """The Chat policy's moderators: ``CHAT_MODERATORS``, comma-separated user ids (a
    STAND-IN for your staff directory). Prints who is who: ``member_room`` is the room
    the banner's user, a customer, is a member of; ``moderated`` the rooms moderators
    moderate."""
    named = {name.strip() for name in os.environ.get("CHAT_MODERATORS", "").split(",")}
    moderators = sorted(named - {""})
    print(
        f"Ably Chat mode: {USER} is a member of room {member_room}; moderators of "
        f"{moderated} (CHAT_MODERATORS): {', '.join(moderators) or 'none'}",
        flush=True,
    )
    return moderators
