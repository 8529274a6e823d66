"""``ably-authkit demo``: the FastAPI example app on a local emulator."""

from __future__ import annotations

import os
import sys

from ._common import EXIT_OK, PROG, _Stop, _stop_on_sigterm, _UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from datetime import timedelta
    from typing import Any


def _cmd_demo(args: argparse.Namespace) -> int:
    import importlib
    import threading
    import time

    # The examples live beside the package in a checkout, not inside it: import them from
    # the current directory (a console script's sys.path does not hold it).
    here = os.getcwd()
    if os.path.isdir(os.path.join(here, "examples", "fastapi_app")) and here not in sys.path:
        sys.path.insert(0, here)
    try:
        create_app = importlib.import_module("examples.fastapi_app.app").create_app
    except ImportError as error:
        if error.name is not None and not error.name.startswith("examples"):
            raise _UsageError(
                f"the demo needs the 'examples' extra ({error.name} is missing): "
                "pip install 'ably-authkit[examples,emulator]'"
            ) from None
        raise _UsageError(
            "the demo runs from a checkout of the repository: cd into it (the directory "
            f"holding examples/) and run '{PROG} demo' again"
        ) from None
    import uvicorn

    from ably_authkit.endpoint import AuthEndpoint

    ttl = _demo_ttl(args.ttl)
    undo = _stop_on_sigterm()
    auth: AuthEndpoint | None = None
    server: Any = None
    thread: threading.Thread | None = None
    try:
        # Asked for by name: the demo's credentials come from a local emulator, on its clock,
        # which the page may move (auth.emulator).
        auth = AuthEndpoint.from_env({}, emulator=True)
        config = uvicorn.Config(
            create_app(auth), host=args.host, port=args.port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="ably-authkit-demo", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                raise _UsageError(f"the demo app could not start on {args.host}:{args.port}")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]  # the one chosen for --port 0
        host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"Demo app: http://{host}:{port}/?ttl={ttl} (Ctrl-C to stop)")
        print(auth.describe(f"http://{host}:{port}/auth", headers={"X-User-Id": "alice"}))
        print(flush=True)
        while thread.is_alive():
            thread.join(0.2)
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        undo()
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        if auth is not None:
            auth.close()  # and its emulator
    return EXIT_OK


def _demo_ttl(ttl: timedelta | None) -> str:
    """The page's ``?ttl=`` for ``demo --ttl``: whole seconds, from 1 s to the grant's 1 h."""
    from datetime import timedelta

    if ttl is None:
        return "60s"
    if ttl % timedelta(seconds=1) or not timedelta(seconds=1) <= ttl <= timedelta(hours=1):
        raise _UsageError(
            "demo --ttl must be whole seconds from 1s to 1h (the example grants 1 h; a client "
            f"may ask for less, never more), not {ttl.total_seconds():g} s"
        )
    return f"{ttl // timedelta(seconds=1)}s"
