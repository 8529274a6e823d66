"""``python -m examples.django_app``: the stdlib's WSGI server, threaded, on PORT (default 8000)."""

import os
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

from ably_authkit.endpoint import AuthEndpoint

from .app import create_app


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


auth = AuthEndpoint.from_env()  # ABLY_API_KEY, or an embedded emulator; ABLY_ENDPOINT
port = int(os.environ.get("PORT", "8000"))
print(auth.describe())
print(f"Open http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
with make_server("127.0.0.1", port, create_app(auth), ThreadingWSGIServer) as server:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        auth.close()
