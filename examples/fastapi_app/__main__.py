"""``python -m examples.fastapi_app``: uvicorn on PORT (default 8000)."""

import os

import uvicorn

from ably_authkit.endpoint import AuthEndpoint

from .app import create_app

auth = AuthEndpoint.from_env()  # ABLY_API_KEY, or an embedded emulator; ABLY_ENDPOINT
port = int(os.environ.get("PORT", "8000"))
print(auth.describe())
print(f"Open http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
try:
    uvicorn.run(create_app(auth), host="127.0.0.1", port=port)
finally:
    auth.close()
