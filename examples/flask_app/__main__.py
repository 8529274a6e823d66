"""``python -m examples.flask_app``: Flask's development server on PORT (default 8000)."""

import os

from ably_authkit.endpoint import AuthEndpoint

from .app import create_app

auth = AuthEndpoint.from_env()  # ABLY_API_KEY, or an embedded emulator; ABLY_ENDPOINT
port = int(os.environ.get("PORT", "8000"))
print(auth.describe())
print(f"Open http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
try:
    create_app(auth).run(host="127.0.0.1", port=port)
except KeyboardInterrupt:
    pass
finally:
    auth.close()
