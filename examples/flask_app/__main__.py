"""``python -m examples.flask_app [--emulator]``: Flask's development server on PORT."""

from examples._startup import start

from .app import create_app

auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
try:
    create_app(auth).run(host="127.0.0.1", port=port)
except KeyboardInterrupt:
    pass
finally:
    auth.close()
