"""What the parts the service holds need of it, as a typing :class:`~typing.Protocol`,
so that they name no module above them: :class:`ServicePort` is what mutable messages
(``_mutable``) and annotations (``_annotations``) call on the service (its clock, its
ids, its expiry, its channels' logs, its capability check and its publish listeners).
:class:`~ably_authkit.testing._service.Service` has it all, structurally; nothing
subclasses it.

Uses ``_common`` (for types only); ``_mutable`` and ``_annotations`` use it.
"""

from __future__ import annotations

from typing import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from typing import Any

    from ._common import Credential

__all__ = ["ServicePort"]


class ServicePort(Protocol):
    """The service as its parts see it; every call is made under its lock."""

    @property
    def default_app(self) -> str:
        """The emulator's own app id."""
        ...

    @property
    def messages(self) -> Mapping[str, Sequence[tuple[int, str, dict[str, Any]]]]:
        """Channel name -> (serial, app id, message) of its stored messages, oldest first."""
        ...

    @property
    def on_publish(self) -> Sequence[Callable[[str, str, list[dict[str, Any]]], None]]:
        """Called with (app id, channel, messages) to deliver messages to subscribers."""
        ...

    def now(self) -> datetime:
        """The emulator's clock, in whole milliseconds."""
        ...

    def next_id(self, prefix: str) -> str:
        """A new id, ``prefix`` then a serial and random hex."""
        ...

    def expire(self) -> None:
        """Forget what Ably would have forgotten by now."""
        ...

    def require(self, credential: Credential, channel: str, operation: str) -> None:
        """Refuse (40160) a credential without ``operation`` on ``channel``."""
        ...
