"""The channels half of the emulator's :class:`~ably_authkit.testing._service.Service`:
the one model of a channel that REST routes and realtime connections both call. A
publish (capability, clientId, idempotency, portable data) stores its messages in the
channel's log (unless they are ephemeral) and hands them to ``on_publish`` (the realtime
side delivers them); history
reads pages of that log; messages are forgotten past their channel's retention.
:class:`Channels` is a mixin: its state is made in ``Service.__init__`` (declared here
for the type checker), and every method is called under the service's lock.

Uses ``_common`` (and the type of ``_mutable``); ``_service`` uses it. The choices made
where Ably's behaviour is not documented are marked ``Choice:``.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping
from datetime import datetime, timedelta

from ably_authkit._time import ONE_MS, to_ms

from ._common import (
    Credential,
    HistoryQuery,
    _Recent,
    _unportable,
    ably_error,
    check_channel,
    claim_extras,
    json_text,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable
    from typing import Any

    from ._mutable import MutableMessages

__all__ = ["Channels"]

#: How long a message id is remembered for idempotent publishing: "Ably can only detect
#: duplicate messages within a 2-minute window" (docs, pub-sub/advanced, Idempotent
#: publishing).
IDEMPOTENCY_WINDOW = timedelta(minutes=2)
#: How long a channel's messages are kept, on the emulator's clock: "Ably stores all
#: messages for two minutes by default" (docs, storage-history/storage, "Default message
#: storage - two minutes").
HISTORY_RETENTION = timedelta(minutes=2)
#: How long they are kept on a channel of a namespace with persisted history (a channel
#: rule; ``POST /apps``'s ``namespaces: [{"id": ..., "persisted": true}]``): 24 hours, the
#: Free package's period (docs, storage-history/storage, "Persist all messages").
PERSISTED_RETENTION = timedelta(hours=24)
#: How many messages past their retention ``published()`` still lists, the latest to
#: expire, and the most (JSON) bytes they may hold (Choice: a record for assertions, gone
#: from history as on Ably).
EXPIRED_MESSAGES_KEPT = 1000
EXPIRED_MESSAGES_BYTES = 8 * 1024 * 1024


class Channels:
    """Publish, history and retention of the app's channels: a mixin of ``Service``."""

    if TYPE_CHECKING:
        persisted: dict[str, frozenset[str]]
        messages: dict[str, list[tuple[int, str, dict[str, Any]]]]
        _expiries: list[tuple[int, str]]
        _expired_messages: deque[tuple[str, tuple[int, str, dict[str, Any]], int]]
        _expired_bytes: int
        _published_ids: _Recent[tuple[str, str, str], list[dict[str, Any]]]
        _serial: int
        on_publish: list[Callable[[str, str, list[dict[str, Any]]], None]]
        mutable: MutableMessages
        now: Callable[[], datetime]
        next_id: Callable[[str], str]
        expire: Callable[[], None]

    def require(self, credential: Credential, channel: str, operation: str) -> None:
        check_channel(channel)
        if not credential.capability.allows(channel, operation):
            raise ably_error(
                40160,
                401,
                f"Unable to perform channel operation (operation = {operation}, "
                f"channel = {channel}); the credential's capability does not allow it",
            )

    def require_stats(self, credential: Credential) -> None:
        # Choice: the stats capability counts only on "*" or "[*]*" (docs,
        # Capabilities: "stats are app-wide"), so that is what GET /stats asks for.
        if not credential.capability.allows("*", "stats"):
            raise ably_error(
                40160,
                401,
                "Unable to read the app's stats; the credential's capability has no "
                "'stats' on '*' or '[*]*'",
            )

    def publish(
        self,
        credential: Credential,
        channel: str,
        body: object,
        *,
        id_prefix: str | None = None,
        force_nack: bool = False,
        ephemeral: bool = False,
    ) -> list[dict[str, Any]]:
        """Store and deliver the messages of ``body`` (one or an array, published
        atomically); return them as stored. A message with no id gets
        ``{id_prefix}:{index}`` (a realtime publish: connection id and msgSerial, as
        Ably forms them) or one of the emulator's. A publish that repeats a
        client-supplied id within the idempotency window is acknowledged with the
        messages first stored for it, and neither stored nor delivered again (RSL1k).
        Ephemeral messages (``extras.ephemeral``, or ``ephemeral`` for the whole
        publish: REST's ``?ephemeral=true``) are delivered and never stored."""
        self.require(credential, channel, "publish")
        if force_nack:
            # ably-python's suite (restchannelpublish_test.py, test_publish_params) asks
            # the sandbox to refuse a publish with ?_forceNack=true: 400, 40099.
            raise ably_error(40099, 400, "the publish was refused as asked (_forceNack)")
        messages = [
            message
            for message in (body if isinstance(body, list) else [body])
            if isinstance(message, Mapping)
        ]
        if not messages or len(messages) != (len(body) if isinstance(body, list) else 1):
            raise ably_error(40000, 400, "the body must be a message object or an array of them")
        ephemeral = _ephemeral(messages, ephemeral)
        app_id = credential.key.app_id
        key = _idempotency_key(messages)
        now = to_ms(self.now())
        self.expire()
        if key is not None:
            first = self._published_ids.get((app_id, channel, key))
            if first is not None:
                return [dict(message) for message in first]
        stored = []
        for index, message in enumerate(messages):
            client_id = message.get("clientId")
            if client_id is not None and not isinstance(client_id, str):
                raise ably_error(40012, 400, "a message's clientId must be a string")
            identity = credential.client_id
            if client_id is not None and identity not in (None, "*") and client_id != identity:
                raise ably_error(
                    40012,
                    400,
                    f"Mismatched clientId: the message's is {client_id!r}, the "
                    f"credential's is {identity!r}",
                )
            if client_id is None and identity not in (None, "*"):
                client_id = identity
            if client_id is not None and credential.kind != "basic" and identity is None:
                # Choice: an anonymous token may not publish as a named client, as the
                # realtime protocol refuses it (RSA7, 40012).
                raise ably_error(
                    40012, 400, "this credential has no clientId, so messages cannot name one"
                )
            problem = _unportable(message, "message")
            if problem is not None:
                # Every reader must be able to read it, in JSON and in msgpack alike: what
                # one encoding cannot carry is refused at publish (40013, "Invalid message
                # data or encoding", ably-common errors/codes/40013.md).
                raise ably_error(
                    40013,
                    400,
                    f"Invalid message data: {problem}, which JSON or msgpack clients cannot read",
                )
            entry = {name: value for name, value in message.items() if name != "clientId"}
            if "id" not in entry:
                entry["id"] = self.next_id("msg") if id_prefix is None else f"{id_prefix}:{index}"
            entry["timestamp"] = now
            if client_id is not None:
                entry["clientId"] = client_id
            claim_extras(credential, channel, entry, published=True)  # its userClaim
            stored.append(entry)
        if key is not None:
            self._published_ids.add((app_id, channel, key), now, stored)
        if ephemeral:
            # "exempt from everything except being delivered to currently-connected
            # realtime connections" (docs, pub-sub/advanced "Ephemeral messages").
            for entry in stored:
                self.mutable.stamp(app_id, channel, entry, keep=False)
        else:
            log = self.messages.setdefault(channel, [])
            for entry in stored:
                self._serial += 1
                self.mutable.stamp(app_id, channel, entry)
                log.append((self._serial, app_id, entry))
            heapq.heappush(self._expiries, (now + self._retention_ms(app_id, channel), channel))
        for listener in self.on_publish:
            listener(app_id, channel, stored)
        return stored

    def history(
        self,
        credential: Credential,
        channel: str,
        query: HistoryQuery | None = None,
        *,
        keep: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the channel's messages for ``query`` (every message, oldest
        first, without one), and the serial the next page continues from, if any;
        only those ``keep`` keeps, when given (Ably Chat's history: its messages, up to
        a ``fromSerial``)."""
        self.require(credential, channel, "history")
        app_id = credential.key.app_id
        self.expire()
        oldest = to_ms(self.now()) - self._retention_ms(app_id, channel)
        log = self.messages.get(channel, [])
        if query is None:
            return [
                m
                for _, app, m in log
                if app == app_id and m["timestamp"] > oldest and (keep is None or keep(m))
            ], None
        # The log is in serial order: walk it in the page's direction from where the page
        # starts (after the serial it continues from), and stop at the first message past
        # the page (which says there is a next one).
        start, end, after, forwards = query.start, query.end, query.after, query.forwards
        if forwards:
            first = 0 if after is None else bisect.bisect_right(log, after, key=_serial)
            walk = range(first, len(log))
        else:
            last = len(log) if after is None else bisect.bisect_left(log, after, key=_serial)
            walk = range(last - 1, -1, -1)
        page: list[tuple[int, dict[str, Any]]] = []
        for index in walk:
            serial, app, message = log[index]
            timestamp = message["timestamp"]
            if app != app_id or timestamp <= oldest or not start <= timestamp <= end:
                continue
            if keep is not None and not keep(message):
                continue
            if len(page) == query.limit:
                return [message for _, message in page], page[-1][0]
            page.append((serial, message))
        return [message for _, message in page], None

    def _expire_messages(self, now: int) -> None:
        """Forget messages past their channel's retention (and channels left with none),
        and idempotency ids past their window (``now`` in ms)."""
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, channel = heapq.heappop(expiries)
            log = self.messages.get(channel)
            if log is None:
                continue
            gone = 0
            for entry in log:
                if entry[2]["timestamp"] + self._retention_ms(entry[1], channel) > now:
                    break
                gone += 1
                self._keep_expired(channel, entry)
            del log[:gone]
            if not log:
                del self.messages[channel]
        self._published_ids.forget_before(now - IDEMPOTENCY_WINDOW // ONE_MS)

    def _keep_expired(self, channel: str, entry: tuple[int, str, dict[str, Any]]) -> None:
        try:
            size = len(json_text(entry[2]))
        except (TypeError, ValueError):
            size = EXPIRED_MESSAGES_BYTES
        kept = self._expired_messages
        kept.append((channel, entry, size))
        self._expired_bytes += size
        while kept and (
            len(kept) > EXPIRED_MESSAGES_KEPT or self._expired_bytes > EXPIRED_MESSAGES_BYTES
        ):
            self._expired_bytes -= kept.popleft()[2]

    def recorded(self, channel: str) -> list[tuple[int, str, dict[str, Any]]]:
        """``published()``'s record of ``channel``: its stored messages, after the latest
        of those past their retention, oldest first."""
        self.expire()
        past = [entry for name, entry, _ in self._expired_messages if name == channel]
        return sorted(past + self.messages.get(channel, []))

    def _retention_ms(self, app_id: str, channel: str) -> int:
        namespace, colon, _ = channel.partition(":")
        persisted = colon and namespace in self.persisted.get(app_id, ())
        # A channel with the mutable-messages rule is persisted too (docs,
        # updates-deletes: "regardless of whether or not persistence is enabled").
        persisted = persisted or self.mutable.enabled(app_id, channel)
        return (PERSISTED_RETENTION if persisted else HISTORY_RETENTION) // ONE_MS


def _serial(entry: tuple[int, str, dict[str, Any]]) -> int:
    return entry[0]


def _ephemeral(messages: list[Mapping[str, Any]], every: bool) -> bool:
    """Whether a publish is ephemeral: ``ephemeral: true`` in each message's ``extras``,
    or for the whole publish. "Either all the messages must be marked ephemeral or none
    of them. If they are mixed, the publish will be rejected" (docs, pub-sub/advanced
    "Ephemeral messages"); Choice: with 40003/400, the code is not documented."""
    marked = [
        isinstance(extras, Mapping) and extras.get("ephemeral") is True
        for extras in (message.get("extras") for message in messages)
    ]
    if any(marked) and not all(marked):
        raise ably_error(
            40003,
            400,
            "the messages of one publish must all be ephemeral (extras.ephemeral) or none",
        )
    return every or all(marked)


def _base(ident: str) -> str:
    """The base of a ``<base id>:<index>`` id, or the whole id."""
    base, colon, index = ident.rpartition(":")
    return base if colon and base and index.isascii() and index.isdigit() else ident


def _idempotency_key(messages: list[Mapping[str, Any]]) -> str | None:
    """The idempotency key of a publish: one message's id (so ``order:1`` and
    ``order:2`` are two messages), or the base id several messages share; None when no
    message carries an id. Several messages with ids must have ``<base id>:<index>``
    ids of one base, indexed from 0 in order (docs, pub-sub/advanced, "ID format
    requirements"); else 40031 (ably-common errors/codes/40031.md)."""
    idents = [message.get("id") for message in messages]
    if all(ident is None for ident in idents):
        return None
    texts = [ident for ident in idents if isinstance(ident, str) and ident]
    if len(texts) != len(idents):
        raise ably_error(
            40031, 400, "Client-specified message id cannot be empty: an id is a non-empty string"
        )
    if len(texts) == 1:
        return texts[0]
    base = _base(texts[0])
    if texts != [f"{base}:{index}" for index in range(len(texts))]:
        raise ably_error(
            40031,
            400,
            "Client-specified message ids do not match the required format for "
            "multi-message ProtocolMessages: <base id>:<index> for each, indexed from 0",
        )
    return base
