"""``ably-authkit demo``: the demo app (:mod:`ably_authkit.demo`) on a local emulator."""

from __future__ import annotations

from ._common import EXIT_OK, _Stop, _stop_on_sigterm

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def _cmd_demo(args: argparse.Namespace) -> int:
    # A missing emulator extra: MissingExtraError, with the pip line.
    from ably_authkit.demo import serve

    undo = _stop_on_sigterm()
    try:
        serve(args.host, args.port, ttl=args.ttl)
    except _Stop:
        pass
    finally:
        undo()
    return EXIT_OK
