"""``python -m examples.fastapi_app [--emulator]``: uvicorn on PORT (default 8000)."""

import uvicorn

from examples._startup import start

from .app import create_app

auth, port = start()  # ABLY_API_KEY (+ ABLY_ENDPOINT or ABLY_EMULATOR_HOST), or --emulator
try:
    uvicorn.run(create_app(auth), host="127.0.0.1", port=port)
finally:
    auth.close()
