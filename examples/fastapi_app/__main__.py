"""``python -m examples.fastapi_app [--emulator] [--chat]``: uvicorn on PORT (default 8000).

``--chat`` serves the Ably Chat policy (chat.py) instead of the Pub/Sub one (app.py);
``CHAT_MODERATORS`` (comma-separated user ids) names its moderators.
"""

import os
import sys

import uvicorn

from examples._startup import USER, start

from . import chat
from .app import create_app

auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
if "--chat" in sys.argv[1:]:
    moderators = sorted(
        {m.strip() for m in os.environ.get("CHAT_MODERATORS", "").split(",")} - {""}
    )
    print(
        f"Ably Chat mode: {USER} is a member of room {chat.support_room(USER)}; "
        f"moderators of {chat.SUPPORT_ROOMS} (CHAT_MODERATORS): {', '.join(moderators) or 'none'}",
        flush=True,
    )
    app = chat.create_app(auth, moderators=moderators)
else:
    app = create_app(auth)
try:
    uvicorn.run(app, host="127.0.0.1", port=port)
finally:
    auth.close()
