"""``python -m examples.django_app [--emulator] [--chat]``: the stdlib's threaded WSGI
server on PORT.

``--chat`` serves the Ably Chat policy (chat.py) instead of app.py's; ``CHAT_MODERATORS``
(comma-separated user ids) names its moderators.
"""

from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

from examples._startup import USER, chat_mode, chat_moderators, start

from . import chat
from .app import create_app


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
if chat_mode():
    moderators = chat_moderators(chat.support_room(USER), chat.SUPPORT_ROOMS)
    app = chat.create_app(auth, moderators=moderators)
else:
    app = create_app(auth)
with make_server("127.0.0.1", port, app, ThreadingWSGIServer) as server:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        auth.close()
