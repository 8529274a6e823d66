"""What the commands that serve (``emulator``, ``demo``) share: ``--host`` and ``--port``,
and a port already in use told in words, with a free one to use instead."""

from __future__ import annotations

import argparse
import errno
import socket

from ._common import _UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: How far above a port in use to look for a free one to suggest.
_NEARBY = 20


def _port_arg(text: str) -> int:
    spec = text.strip()
    if not spec.isdigit() or int(spec) > 65535:
        # Not echoed: it may be anything pasted in the wrong place.
        raise argparse.ArgumentTypeError(
            "give a port number from 1 to 65535, or 0 for any free port"
        )
    return int(spec)


def _listen_options(command: argparse.ArgumentParser, *, port: int) -> None:
    """``--host`` and ``--port`` of a command that serves on 127.0.0.1 by default."""
    command.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    command.add_argument(
        "--port", type=_port_arg, default=port, help=f"port (default: {port}; 0: any free port)"
    )


def _in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` now, tried as the servers bind
    (``SO_REUSEADDR``, so a closed connection's TIME_WAIT does not count)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (OSError, UnicodeError):
        return False  # the server itself will say what is wrong with the host
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            return error.errno == errno.EADDRINUSE
    return False


def _port_in_use(host: str, port: int) -> _UsageError:
    """The error for ``--port`` taken: which port, and another that is free now."""
    nearby = range(port + 1, min(port + _NEARBY, 65535) + 1)
    free = next((other for other in nearby if not _in_use(host, other)), None)
    instead = f"--port {free} (free now), or " if free is not None else ""
    return _UsageError(
        f"port {port} on {host} is already in use (another emulator, demo or server is "
        f"listening there): stop it, or give another port: {instead}--port 0 for any "
        "free port (the address printed has the port chosen)"
    )


def _port_free_first(run: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """``run``, after checking that ``--port`` is free, so that a port in use is told in
    words before anything starts (the demo's server would report it from a thread)."""

    def checked(args: argparse.Namespace) -> int:
        if args.port and _in_use(args.host, args.port):
            raise _port_in_use(args.host, args.port)
        return run(args)

    return checked
