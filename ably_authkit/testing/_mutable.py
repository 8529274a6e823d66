"""Mutable messages: serials, and the updates, deletes and appends of published messages,
with Ably's rules (docs, messages/updates-deletes; spec RSL11, RSL14, RSL15, RTL32, TM2r,
TM2s, TM5).

Every stored message gets a ``serial`` (and ``action`` 0, ``message.create``). On a
channel whose namespace has the "Message annotations, updates, deletes, and appends" rule
(``mutableMessages`` in ``POST /apps``, or ``AblyEmulator(mutable_messages=...)``), a
message can then be updated, deleted or appended to: the stored message (what history
and ``GET /channels/{name}/messages/{serial}`` read) becomes its latest version, in the
place of the original, and the version is delivered to the channel's subscribers. The
versions of each message are kept as long as a persisted message is (24 hours, docs
storage-history/storage, as Ably persists messages of channels with the rule).

Each rule names its source; ``Choice:`` marks where Ably's answer is not documented.

A room's channel of Ably Chat (``{room}::$chat``) always has the rule. Uses ``_common``
and ``_ports`` (what it needs of the service); the service (``_service``, which holds
it), the channels (``_channels``), annotations (``_annotations``), the realtime hub (``_realtime``),
the routes and Ably Chat's (``_chat``) use it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from ably_authkit._time import ONE_MS, to_ms
from ably_authkit.errors import AblyApiError
from ably_authkit.testing._common import CHAT_CHANNEL, claim_extras

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ably_authkit.testing._common import Credential
    from ably_authkit.testing._ports import ServicePort

__all__ = ["CHAT_CHANNEL", "Attachments", "MutableMessages", "changed_serials"]

#: Message actions, in TM5's order from zero (ably-js message.ts ``actions``).
CREATE, UPDATE, DELETE, META, SUMMARY, APPEND = range(6)
_NAMES = {UPDATE: "update", DELETE: "delete", APPEND: "append"}
#: The capability an action asks for: docs, updates-deletes "Capabilities" (an append
#: needs message-update-own or -any, as an update does).
_CAPABILITY = {UPDATE: "message-update", DELETE: "message-delete", APPEND: "message-update"}
#: How long the versions of a message are kept: messages of a channel with the rule are
#: persisted ("regardless of whether or not persistence is enabled", docs
#: updates-deletes), and persisted history is kept 24 hours (docs storage-history/storage).
KEPT = timedelta(hours=24)
#: The fields an update, delete or append may set (docs, updates-deletes "Mixin
#: semantics": data, name and extras, a shallow mixin).
_MIXIN = ("name", "extras")
#: A room's channel (``_common.CHAT_CHANNEL``) always has the rule: "message
#: persistence and message edits, deletes and reactions are enabled for chat rooms"
#: (docs, chat/rooms).
#: In a delivered append, its own data, for the attachments that get it incrementally
#: (:class:`Attachments`); never sent.
_APPENDED = "_appended"


def _error(code: int, status: int, message: str) -> AblyApiError:
    from ably_authkit.testing._common import ably_error

    return ably_error(code, status, message)


class _Record:
    """One message of a channel with the rule: the stored entry (the very dict in the
    channel's log, so history reads its latest version) and its versions, oldest first."""

    __slots__ = ("created_ms", "entry", "versions")

    def __init__(self, entry: dict[str, Any], created_ms: int) -> None:
        self.entry = entry
        self.created_ms = created_ms
        self.versions: list[dict[str, Any]] = [dict(entry)]


class MutableMessages:
    """The rule per app, and the messages of channels that have it. Called under the
    service's lock, as the rest of :class:`~ably_authkit.testing._service.Service`."""

    def __init__(self, service: ServicePort, default_rule: bool | frozenset[str]) -> None:
        self._service = service
        #: app id -> True (every channel) or the channel names and namespaces with the rule.
        self._rules: dict[str, bool | frozenset[str]] = {service.default_app: default_rule}
        self._default_rule = default_rule
        #: (app id, channel, serial) -> the message and its versions.
        self._records: dict[tuple[str, str, str], _Record] = {}
        self._count = 0

    def reset(self) -> None:
        """Forget provisioned apps' rules and every message; the default app keeps the
        rule it was made with."""
        self._rules = {self._service.default_app: self._default_rule}
        self._records.clear()

    # -- the rule ----------------------------------------------------------------------

    def set_namespaces(self, app_id: str, namespaces: object) -> None:
        """Keep the ``mutableMessages`` flag of ``POST /apps``'s ``namespaces`` (ably-common
        test-resources/test-app-setup.json: ``{"id": "mutable", "mutableMessages": true}``)."""
        names = frozenset(
            entry["id"]
            for entry in (namespaces if isinstance(namespaces, list) else [])
            if isinstance(entry, Mapping)
            and isinstance(entry.get("id"), str)
            and entry.get("mutableMessages") is True
        )
        self._rules[app_id] = names

    def forget_app(self, app_id: str) -> None:
        self._rules.pop(app_id, None)
        for ident in [ident for ident in self._records if ident[0] == app_id]:
            del self._records[ident]

    def enabled(self, app_id: str, channel: str) -> bool:
        """Whether the channel has the rule: a rule names a channel or a namespace (the
        part of a channel's name before its first ``:``), as Ably's channel rules do
        (docs, updates-deletes "Enable message updates and deletes")."""
        if channel.endswith(CHAT_CHANNEL):
            return True
        rule = self._rules.get(app_id, False)
        if isinstance(rule, bool):
            return rule
        return channel in rule or channel.partition(":")[0] in rule

    def require_enabled(self, app_id: str, channel: str, what: str) -> None:
        """93002/400 unless the channel has the rule (ably-common errors/codes/93002.md:
        "... only supported on channels with mutable messages enabled"): ``what`` names
        the operations refused, e.g. ``"Annotations are"``."""
        if not self.enabled(app_id, channel):
            raise _error(
                93002,
                400,
                f"{what} only supported on channels with mutable messages enabled in "
                f"channel namespace settings; {channel!r} has not",
            )

    # -- every published message -------------------------------------------------------

    def stamp(self, app_id: str, channel: str, entry: dict[str, Any], keep: bool = True) -> None:
        """Give a message being stored its ``serial`` and ``action`` (TM2r, TM5), and
        keep it if its channel has the rule (never an ephemeral one: ``keep=False``)."""
        entry["serial"] = self._next_serial(entry["timestamp"])
        entry["action"] = CREATE
        if keep and self.enabled(app_id, channel):
            self._forget_old(entry["timestamp"])
            self._records[(app_id, channel, entry["serial"])] = _Record(entry, entry["timestamp"])

    def _next_serial(self, ms: int) -> str:
        # Serials sort as their messages and versions were made (docs, updates-deletes
        # "Version ordering": lexicographically sortable); the clock only moves forward.
        self._count += 1
        return f"{ms:014d}-{self._count:09d}@emulator"

    def position(self) -> str:
        """A serial at the end of every channel now: each message and version made so
        far sorts at or before it, each one made later after it. It is the
        ``channelSerial`` the realtime side sends (RTL15b), which @ably/chat passes back
        as a history request's ``fromSerial``."""
        now = to_ms(self._service.now())
        return f"{now:014d}-{self._count:09d}@emulator"

    def _forget_old(self, now_ms: int) -> None:
        oldest = now_ms - KEPT // ONE_MS
        if self._records and next(iter(self._records.values())).created_ms < oldest:
            for ident in [i for i, r in self._records.items() if r.created_ms < oldest]:
                del self._records[ident]

    # -- reading -----------------------------------------------------------------------

    def get(self, credential: Credential, channel: str, serial: str) -> dict[str, Any]:
        """``GET /channels/{channel}/messages/{serial}`` (RSL11): the message's latest
        version. Needs ``history`` (docs, updates-deletes "Get the latest version")."""
        self._service.require(credential, channel, "history")
        return dict(self._find(credential.key.app_id, channel, serial))

    def versions(self, credential: Credential, channel: str, serial: str) -> list[dict[str, Any]]:
        """``GET .../messages/{serial}/versions`` (RSL14): every version, oldest first.
        Needs ``history`` (docs, updates-deletes "Get message versions")."""
        self._service.require(credential, channel, "history")
        return self.stored_versions(credential.key.app_id, channel, serial)

    def stored_versions(self, app_id: str, channel: str, serial: str) -> list[dict[str, Any]]:
        self._forget_old(to_ms(self._service.now()))
        record = self._records.get((app_id, channel, serial))
        if record is None:
            return [dict(self._find(app_id, channel, serial))]
        return [dict(version) for version in record.versions]

    def _find(self, app_id: str, channel: str, serial: str) -> dict[str, Any]:
        self._service.expire()
        self._forget_old(to_ms(self._service.now()))
        record = self._records.get((app_id, channel, serial))
        if record is not None:
            return record.entry
        for _, app, entry in self._service.messages.get(channel, ()):
            if app == app_id and entry.get("serial") == serial:
                return entry
        # Choice: 40400/404, Ably's code for a resource that does not exist
        # (ably-common errors/codes/40400.md).
        raise _error(40400, 404, f"No message with serial {serial!r} on channel {channel!r}")

    # -- changing ----------------------------------------------------------------------

    def change(
        self, credential: Credential, channel: str, serial: str, body: object
    ) -> tuple[str, dict[str, Any]]:
        """``PATCH /channels/{channel}/messages/{serial}`` (RSL15), or a realtime MESSAGE
        with an update, delete or append action (RTL32): check it, make the new latest
        version and deliver it. Returns the version serial and the delivered message."""
        service = self._service
        if not isinstance(body, Mapping):
            raise _error(40000, 400, "the body must be a message object with an action")
        action = body.get("action")
        if action not in _NAMES or isinstance(action, bool):
            raise _error(
                40003,
                400,
                f"action must be 1 (update), 2 (delete) or 5 (append) (TM5), not {action!r}",
            )
        name = _NAMES[action]
        given = body.get("serial", serial)
        if given != serial:
            raise _error(40003, 400, "the message's serial differs from the one in the path")
        own = f"{_CAPABILITY[action]}-own"
        every = f"{_CAPABILITY[action]}-any"
        capability = credential.capability
        from ably_authkit.testing._common import check_channel

        check_channel(channel)
        may_any = capability.allows(channel, every)
        if not may_any and not capability.allows(channel, own):
            raise _error(
                40160,
                401,
                f"Unable to {name} a message on {channel}: the credential's capability has "
                f"neither {own!r} nor {every!r} on it",
            )
        app_id = credential.key.app_id
        self.require_enabled(app_id, channel, "Updates, deletes and appends are")
        self._forget_old(to_ms(service.now()))
        record = self._records.get((app_id, channel, serial))
        if record is None:
            self._find(app_id, channel, serial)  # 40400 for a serial the channel lacks
            raise _error(40400, 404, f"No message with serial {serial!r} on channel {channel!r}")
        identity = credential.client_id
        author = record.entry.get("clientId")
        if not may_any and (identity in (None, "*") or author != identity):
            # docs, updates-deletes: -own is for "messages where the original publisher's
            # clientId matches the updater's clientId, where both are identified".
            raise _error(
                40160,
                401,
                f"Unable to {name} this message: {own!r} allows only the credential's own "
                f"messages (clientId {identity!r}); this one's clientId is {author!r}",
            )
        version = _version(body.get("version"), identity)
        latest = {key: value for key, value in record.entry.items() if key != "version"}
        for field in _MIXIN:
            if field in body:
                latest[field] = body[field]
        # On a room's channel the version carries its author's userClaim (@ably/chat
        # messages.integration.test.ts: the updater's, then the deleter's claim).
        claim_extras(credential, channel, latest)
        appended = {name: body[name] for name in ("data", "encoding") if body.get(name) is not None}
        if "data" in body:
            fragment, encoding = body["data"], body.get("encoding")
            if action == APPEND:
                fragment, encoding = _appended(latest, fragment, encoding)
            latest["data"] = fragment
            latest.pop("encoding", None)
            if encoding:
                latest["encoding"] = encoding
        from ably_authkit.testing._common import _unportable

        problem = _unportable(latest, "message")
        if problem is not None:
            raise _error(40013, 400, f"Invalid message data: {problem}")
        now = to_ms(service.now())
        version["serial"] = self._next_serial(now)
        version["timestamp"] = now
        # An append's version is a message.update holding the whole data so far (docs,
        # updates-deletes "Append to a message").
        latest["action"] = DELETE if action == DELETE else UPDATE
        latest["version"] = version
        record.entry.clear()
        record.entry.update(latest)
        if action != APPEND:
            # Appends are "Not stored" in the version history (docs, updates-deletes
            # "Comparison with update").
            record.versions.append(dict(latest))
        delivered = dict(latest)
        if action == APPEND:
            delivered[_APPENDED] = appended
        for listener in service.on_publish:
            listener(app_id, channel, [delivered])
        return version["serial"], dict(latest)


class Attachments:
    """What each realtime attachment has been sent of a channel with the rule, by serial,
    so an append reaches it as Ably sends one: as the whole message so far, a
    ``message.update``, to an attachment that has not been sent the message, and as the
    appended data alone, a ``message.append``, to one that has (docs, updates-deletes:
    "The first append you receive for a given message on an attachment is delivered as a
    fully-aggregated message.update ... You can then just concatenate the payloads of any
    subsequent message.appends"; ably-js test/realtime/updates-deletes.test.js and
    ably-python realtimechannelmutablemessages_test.py expect both). An attachment
    remembers its latest :data:`LIMIT` serials; an append to one it forgot comes whole,
    which the docs allow at any time."""

    LIMIT = 1000

    def __init__(self, mutable: MutableMessages) -> None:
        self._mutable = mutable
        self._seen: WeakKeyDictionary[object, dict[str, dict[str, None]]] = WeakKeyDictionary()

    def attached(self, connection: object, channel: str) -> None:
        """A new attachment of ``channel`` has been sent nothing yet."""
        self._seen.get(connection, {}).pop(channel, None)

    def frame(
        self, connection: object, app_id: str, channel: str, frame: dict[str, Any]
    ) -> dict[str, Any]:
        """The MESSAGE ``frame`` as this attachment is to be sent it."""
        if not self._mutable.enabled(app_id, channel):
            return frame
        seen = self._seen.setdefault(connection, {}).setdefault(channel, {})
        messages = []
        for message in frame["messages"]:
            serial = message.get("serial")
            if _APPENDED in message:
                appended = message[_APPENDED]
                message = {name: value for name, value in message.items() if name != _APPENDED}
                if serial in seen:
                    message.pop("encoding", None)
                    message.update(appended, action=APPEND)
            messages.append(message)
            seen.pop(serial, None)
            seen[serial] = None
            if len(seen) > self.LIMIT:
                del seen[next(iter(seen))]
        return {**frame, "messages": messages}


class _Holder(Protocol):
    """What holds the mutable messages: the service, as :func:`changed_serials` sees it."""

    @property
    def mutable(self) -> MutableMessages: ...


def changed_serials(
    service: _Holder, credential: Credential, channel: str, messages: list[Any]
) -> list[str] | None:
    """A realtime MESSAGE carrying an update, delete or append (RTL32b: "a single
    Message" with its action and the operation as ``version``): make the change and
    return the version serial its ACK carries (RTL32d); None for an ordinary publish."""
    if not any(isinstance(m, Mapping) and m.get("action") in _NAMES for m in messages):
        return None
    if len(messages) != 1:
        raise _error(
            40003, 400, "an update, delete or append is a MESSAGE with exactly one message"
        )
    (message,) = messages
    serial = message.get("serial")
    if not isinstance(serial, str) or not serial:
        raise _error(40003, 400, "an update, delete or append needs the message's serial")
    version_serial, _ = service.mutable.change(credential, channel, serial, message)
    return [version_serial]


def _version(operation: object, identity: str | None) -> dict[str, Any]:
    """The version metadata (MOP2: clientId, description, metadata). An identified
    client's own clientId is filled in (docs, updates-deletes "Operation metadata":
    "automatically populated if done by an identified client")."""
    if operation is None:
        operation = {}
    if not isinstance(operation, Mapping):
        raise _error(40003, 400, "version must be an object of clientId, description, metadata")
    version: dict[str, Any] = {}
    client_id = operation.get("clientId")
    description = operation.get("description")
    metadata = operation.get("metadata")
    if client_id is not None and not isinstance(client_id, str):
        raise _error(40003, 400, "version.clientId must be a string")
    if description is not None and not isinstance(description, str):
        raise _error(40003, 400, "version.description must be a string")
    if metadata is not None and not (
        isinstance(metadata, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise _error(40003, 400, "version.metadata must be an object of strings (MOP2c)")
    if identity not in (None, "*"):
        if client_id is not None and client_id != identity:
            # Choice: 40012, as a message naming another client than the credential's.
            raise _error(
                40012,
                400,
                f"Mismatched clientId: the operation's is {client_id!r}, the "
                f"credential's is {identity!r}",
            )
        client_id = identity
    if client_id is not None:
        version["clientId"] = client_id
    if description is not None:
        version["description"] = description
    if metadata is not None:
        version["metadata"] = dict(metadata)
    return version


def _appended(latest: Mapping[str, Any], fragment: object, encoding: object) -> tuple[Any, Any]:
    """The data after an append: the fragment concatenated to the latest data (docs,
    updates-deletes: "concatenates the provided data with the current latest version";
    "must all have the same data type"). Strings join strings and binary joins binary
    (base64 over JSON is read as binary); anything else is 40013."""
    tail = _binary(fragment, encoding)
    if latest.get("data") is None:
        return tail, None
    base = _binary(latest.get("data"), latest.get("encoding"))
    if isinstance(base, str) and isinstance(tail, str):
        return base + tail, None
    if isinstance(base, bytes) and isinstance(tail, bytes):
        return base + tail, None
    # Choice: 40013, "Invalid message data or encoding" (ably-common errors/codes/40013.md).
    raise _error(
        40013,
        400,
        "An append joins a string to a string or binary to binary, with no other encoding; "
        f"the message's data is {type(base).__name__} and the appended is "
        f"{type(tail).__name__}",
    )


def _binary(data: object, encoding: object) -> object:
    if not encoding:
        return data
    if encoding == "base64" and isinstance(data, str):
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None  # another encoding (json, utf-8, cipher): not joined
