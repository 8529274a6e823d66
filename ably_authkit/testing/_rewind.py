"""The ``rewind`` channel param (and ``rewindLimit``): an attachment that asks for it is
sent the channel's previously published messages right after ATTACHED, before live ones
(docs, channels/options/rewind).

- ``rewind`` is a number of messages (``rewind=3``) or a time spec, a whole number of
  seconds or minutes (``10s``, ``2m``: "The available time specifiers are ``s`` for
  seconds and ``m`` for minutes"); ``rewindLimit`` is the most messages a rewind sends.
  Anything else fails the attach (docs: "Any ``rewind`` value that cannot be parsed ...
  will cause the attachment request to fail and return an error"). Choice: the error is
  40003/400, ably-common's "Invalid request parameter value" (``errors/codes/40003.md``);
  no source names the code Ably sends.
- At most :data:`MAX_REWIND` messages, the latest ones; when more were asked for and
  exist, ATTACHED carries the non-fatal error 90004/404 "Unable to recover channel
  (message limit exceeded)" (docs, "Limits on rewind"; ably-common
  ``errors/codes/90004.md``).
- The messages are those history keeps (the channel's retention: 2 minutes, or 24 hours
  where history is persisted or the channel has the mutable-messages rule), so never an
  ephemeral one; a mutable message is sent as its latest version (ably-js
  ``test/realtime/updates-deletes.test.js``, "Should append to a message over realtime").
- Only to an attachment that may be sent messages (the ``subscribe`` mode and
  capability, as live messages), with HAS_BACKLOG in ATTACHED when there are any (spec
  RTL2i; ably-js ``test/realtime/channel.test.js``, ``rewind_has_backlog_0``/``_1``).
- Only on an initial attachment: an ATTACH that carries a ``channelSerial`` (RTL4c1: a
  channel resuming where it was; it is cleared on DETACHED, RTL15b2) or the
  ATTACH_RESUME flag (older clients) resumes, and is sent no rewind (docs: "Rewind only
  has an effect on an initial channel attachment"; ably-js ``test/realtime/resume.test.js``,
  ``resume_rewind_1``; ``channel.test.js``, "rewind works on channel after reattaching").

Uses ``_common``, ``_connection`` and ``_mutable``; the realtime hub (``_realtime``) uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from ably_authkit._time import to_ms

from ._common import ably_error
from ._connection import MESSAGE, MODE_FLAGS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ._connection import _Connection
    from ._mutable import Attachments
    from ._service import Service

__all__ = ["MAX_REWIND", "Backlog", "Rewinds"]

#: "At most 100 messages will be sent in a rewind request" (docs, "Limits on rewind").
MAX_REWIND = 100
#: ATTACHED's flag for an attachment that is sent a backlog (ably-js
#: ``protocolmessagecommon.ts``, ``HAS_BACKLOG: 1 << 1``; spec RTL2i).
HAS_BACKLOG = 1 << 1
#: The ATTACH flag older clients set on a resuming attach (ably-js ``ATTACH_RESUME: 1 << 5``).
ATTACH_RESUME = 1 << 5
_COUNT = re.compile(r"[0-9]{1,9}")
_PERIOD = re.compile(r"([0-9]{1,9})([sm])")
_UNIT_MS = {"s": 1000, "m": 60_000}


@dataclass(slots=True)
class Backlog:
    """What one attach is to be sent of its channel's past: none for most."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False

    def mark(self, attached: dict[str, Any]) -> None:
        """Flag ATTACHED: HAS_BACKLOG when there are messages, the 90004 note when cut."""
        if self.messages:
            attached["flags"] = attached.get("flags", 0) | HAS_BACKLOG
        if self.truncated:
            attached["error"] = {
                "code": 90004,
                "statusCode": 404,
                "message": "Unable to recover channel (message limit exceeded)",
                "href": "https://help.ably.io/error/90004",
            }


class Rewinds:
    """The rewinds of one emulator's realtime connections."""

    def __init__(self, service: Service, attachments: Attachments) -> None:
        self._service = service
        self._attachments = attachments
        # Per connection and channel, the channel's position when its backlog was read:
        # a live message at or before it was in the backlog (the attach raced its delivery).
        self._read_at: WeakKeyDictionary[object, dict[str, str]] = WeakKeyDictionary()

    def backlog(
        self,
        connection: _Connection,
        channel: str,
        modes: int,
        params: Mapping[str, str] | None,
        attach: Mapping[str, Any],
    ) -> Backlog:
        """The backlog an ATTACH of ``channel`` with ``params`` is to be sent, granted
        ``modes``; raises 40003 for a ``rewind`` or ``rewindLimit`` it cannot parse."""
        self._read_at.get(connection, {}).pop(channel, None)
        if params is None or "rewind" not in params:
            return Backlog()
        count, period_ms = _rewind(params["rewind"])
        limit = _rewind_limit(params.get("rewindLimit"))
        flags = attach.get("flags")
        resuming = bool(attach.get("channelSerial")) or (
            isinstance(flags, int) and bool(flags & ATTACH_RESUME)
        )
        if (
            resuming
            or not modes & MODE_FLAGS["subscribe"]
            or not connection.credential.capability.allows(channel, "subscribe")
        ):
            return Backlog()
        bounds = [n for n in (count, limit) if n is not None]
        wanted = min(bounds) if bounds else None
        app_id = connection.credential.key.app_id
        service = self._service
        with service.lock:
            service.expire()
            now = to_ms(service.now())
            oldest = now - service._retention_ms(app_id, channel)
            if period_ms is not None:
                oldest = max(oldest, now - period_ms - 1)
            found = [
                entry
                for _, app, entry in service.messages.get(channel, ())
                if app == app_id and entry["timestamp"] > oldest
            ]
            self._read_at.setdefault(connection, {})[channel] = service.mutable.position()
        if wanted is not None:
            found = found[len(found) - wanted :] if wanted else []
        return Backlog(
            messages=[dict(entry) for entry in found[-MAX_REWIND:]],
            truncated=len(found) > MAX_REWIND,
        )

    def send(self, connection: _Connection, channel: str, backlog: Backlog) -> None:
        """Send the backlog, one MESSAGE frame a message, oldest first (after ATTACHED)."""
        app_id = connection.credential.key.app_id
        position = self._read_at.get(connection, {}).get(channel)
        for message in backlog.messages:
            frame: dict[str, Any] = {"action": MESSAGE, "channel": channel, "messages": [message]}
            frame["timestamp"] = message["timestamp"]
            if position is not None:
                frame["channelSerial"] = position
            if message.get("connectionId") is not None:
                frame["connectionId"] = message["connectionId"]
            connection.send(self._attachments.frame(connection, app_id, channel, frame))

    def sent_already(self, connection: _Connection, channel: str, position: str) -> bool:
        """Whether a live frame at ``position`` came before the backlog was read (so it
        is in it, or was published before the attachment)."""
        read_at = self._read_at.get(connection, {}).get(channel)
        return read_at is not None and position <= read_at


def _rewind(value: str) -> tuple[int | None, int | None]:
    """``rewind``: (a number of messages, None) or (None, a period in ms)."""
    if _COUNT.fullmatch(value):
        return int(value), None
    period = _PERIOD.fullmatch(value)
    if period is None:
        raise ably_error(
            40003,
            400,
            f"Invalid rewind param {value!r}: use a number of messages (rewind=10) or a "
            f"number of seconds or minutes (rewind=30s, rewind=2m)",
        )
    return None, int(period[1]) * _UNIT_MS[period[2]]


def _rewind_limit(value: str | None) -> int | None:
    if value is None:
        return None
    if not _COUNT.fullmatch(value):
        raise ably_error(
            40003,
            400,
            f"Invalid rewindLimit param {value!r}: use a number of messages (rewindLimit=10)",
        )
    return int(value)
