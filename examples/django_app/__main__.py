"""``python -m examples.django_app [--emulator]``: the stdlib's threaded WSGI server on PORT."""

from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

from examples._startup import start

from .app import create_app


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
with make_server("127.0.0.1", port, create_app(auth), ThreadingWSGIServer) as server:
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        auth.close()
