"""``python -m examples.flask_app [--emulator] [--chat]``: Flask's development server on PORT.

``--chat`` serves the Ably Chat policy (chat.py) instead of app.py's; ``CHAT_MODERATORS``
(comma-separated user ids) names its moderators.
"""

from examples._startup import USER, chat_mode, chat_moderators, start

from . import chat
from .app import create_app

auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
if chat_mode():
    moderators = chat_moderators(chat.support_room(USER), chat.SUPPORT_ROOMS)
    app = chat.create_app(auth, moderators=moderators)
else:
    app = create_app(auth)
try:
    app.run(host="127.0.0.1", port=port)
except KeyboardInterrupt:
    pass
finally:
    auth.close()
