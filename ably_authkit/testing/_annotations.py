"""Message annotations (reactions and the like), with Ably's rules (docs,
messages/annotations; spec RSAN1-3, RTAN1-4, TAN2, TM2u, TM7, TM8).

An annotation is published on a message of a channel with the "Message annotations,
updates, deletes, and appends" rule (the mutable-messages rule, ``_mutable.py``), by the
message's ``serial``: ``POST /channels/{name}/messages/{serial}/annotations`` (RSAN1c6)
or a realtime ANNOTATION (21) ProtocolMessage (RTAN1c). Each is kept (``GET`` of the same
path reads them back, oldest first, RSAN3), delivered as ANNOTATION to the connections
attached with the ``annotation_subscribe`` mode (RTAN4b), and folded into the message's
summary (``annotations.summary``, TM8a), which goes to the channel's subscribers as a
``message.summary`` (action 4) and is what history and get-by-serial then show.

Each rule names its source; ``Choice:`` marks where Ably's answer is not documented.

Uses ``_common``, ``_connection``, ``_ports`` (what it needs of the service) and
``_mutable``; the service (``_service``, which holds it), the
realtime hub (``_realtime``), the routes and Ably Chat's reactions (``_chat``) use it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ably_authkit._time import ONE_MS, to_ms
from ably_authkit.errors import AblyApiError
from ably_authkit.testing._common import claim_extras
from ably_authkit.testing._mutable import KEPT
from ably_authkit.testing._ports import ServicePort

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ably_authkit.testing._common import Credential
    from ably_authkit.testing._mutable import MutableMessages

__all__ = ["Annotations", "annotate", "deliver", "summarize"]

#: Annotation actions (TAN2b): ANNOTATION_CREATE, ANNOTATION_DELETE.
CREATE, DELETE = 0, 1
#: The message action a summary is delivered with (TM5, MESSAGE_SUMMARY).
SUMMARY = 4
#: The summarization methods whose annotations must come from an identified client (docs,
#: messages/annotations "Annotation types": flag, distinct and unique "Clients must be
#: identified"; total and multiple take unidentified clients).
IDENTIFIED = frozenset({"flag.v1", "distinct.v1", "unique.v1"})
#: The methods that aggregate per annotation ``name`` (docs: "you should also specify a
#: name" for distinct, unique and multiple).
NAMED = frozenset({"distinct.v1", "unique.v1", "multiple.v1"})
#: The fields an annotation keeps as given (TAN2); the server sets the others.
_GIVEN = ("id", "name", "count", "data", "encoding", "extras")


def _error(code: int, status: int, message: str) -> AblyApiError:
    from ably_authkit.testing._common import ably_error

    return ably_error(code, status, message)


def _created_ms(serial: str, now_ms: int) -> int:
    """When the message of ``serial`` was created: the ms its serial starts with
    (``_mutable``), or ``now_ms`` for a serial not of that shape."""
    head, dash, _ = serial.partition("-")
    return int(head) if dash and len(head) == 14 and head.isdigit() else now_ms


def method_of(kind: str) -> str:
    """The summarization method of an annotation type, ``namespace:method.version``
    (docs, "Annotation types"): ``reaction:distinct.v1`` -> ``distinct.v1``."""
    return kind.rpartition(":")[2]


class _Host(ServicePort, Protocol):
    """The service, as annotations see it: its lock and the parts it holds."""

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def mutable(self) -> MutableMessages: ...

    @property
    def annotations(self) -> Annotations: ...


class Annotations:
    """Every annotation of every message, per app. Called under the service's lock, as
    the rest of :class:`~ably_authkit.testing._service.Service`."""

    def __init__(self, service: _Host) -> None:
        self._service = service
        #: (app id, channel, message serial) -> its annotations as stored, oldest first.
        self._events: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        #: (ms the message was created, its key in _events): they are forgotten with
        #: the message, KEPT after it was created (``_mutable``).
        self._ages: list[tuple[int, tuple[str, str, str]]] = []
        #: Called with (app id, channel, annotations) after each publish; the realtime
        #: side delivers them as ANNOTATION to annotation_subscribe connections.
        self.listeners: list[Callable[[str, str, list[dict[str, Any]]], None]] = []

    def reset(self) -> None:
        self._events.clear()
        self._ages.clear()

    def expire(self, now_ms: int) -> None:
        """Forget the annotations of the messages forgotten by now: a message of a
        channel with the rule is kept KEPT (24 hours), and its annotations with it."""
        oldest = now_ms - KEPT // ONE_MS
        while self._ages and self._ages[0][0] < oldest:
            self._events.pop(heapq.heappop(self._ages)[1], None)

    def forget_app(self, app_id: str) -> None:
        for ident in [ident for ident in self._events if ident[0] == app_id]:
            del self._events[ident]

    def stored(self, app_id: str, channel: str, serial: str) -> list[dict[str, Any]]:
        return [dict(event) for event in self._events.get((app_id, channel, serial), [])]

    # -- publishing --------------------------------------------------------------------

    def publish(
        self,
        credential: Credential,
        channel: str,
        serial: str | None,
        body: object,
        *,
        id_prefix: str | None = None,
    ) -> list[dict[str, Any]]:
        """Check, store and deliver the annotations of ``body`` (one or an array, RSAN1c)
        on the message ``serial`` (None: each annotation's ``messageSerial``, as a
        realtime ANNOTATION carries it); return them as stored."""
        service = self._service
        items = body if isinstance(body, list) else [body]
        if not items or not all(isinstance(item, Mapping) for item in items):
            raise _error(40000, 400, "the body must be an annotation object or an array of them")
        # docs, auth/capabilities: annotation-publish "Can publish annotations to
        # messages on a channel"; a delete is a publish with the delete action (RSAN2a).
        service.require(credential, channel, "annotation-publish")
        app_id = credential.key.app_id
        service.mutable.require_enabled(app_id, channel, "Annotations are")
        now = to_ms(service.now())
        checked = [
            self._checked(credential, serial, item) for item in items if isinstance(item, Mapping)
        ]
        for target in {annotation["messageSerial"] for annotation in checked}:
            service.mutable._find(app_id, channel, target)  # 40400 for an unknown serial
        stored = []
        for index, annotation in enumerate(checked):
            if "id" not in annotation:
                annotation["id"] = (
                    service.next_id("ann") if id_prefix is None else f"{id_prefix}:{index}"
                )
            annotation["serial"] = service.mutable._next_serial(now)
            annotation["timestamp"] = now
            claim_extras(credential, channel, annotation)  # Ably Chat's userClaim (CHA-MR7d)
            ident = (app_id, channel, annotation["messageSerial"])
            if ident not in self._events:
                heapq.heappush(self._ages, (_created_ms(ident[2], now), ident))
            self._events.setdefault(ident, []).append(annotation)
            stored.append(annotation)
        for listener in self.listeners:
            listener(app_id, channel, [dict(annotation) for annotation in stored])
        for target in dict.fromkeys(annotation["messageSerial"] for annotation in stored):
            self._summarize(app_id, channel, target)
        return stored

    def _checked(
        self, credential: Credential, serial: str | None, given: Mapping[str, Any]
    ) -> dict[str, Any]:
        action = given.get("action", CREATE)
        if action not in (CREATE, DELETE) or isinstance(action, bool):
            raise _error(
                40003, 400, f"action must be 0 (create) or 1 (delete) (TAN2b), not {action!r}"
            )
        kind = given.get("type")
        if not isinstance(kind, str) or not kind:
            # RSAN1a3: the type is required (the SDKs check it before sending).
            raise _error(40003, 400, "an annotation needs a type, such as reaction:distinct.v1")
        target = given.get("messageSerial", serial)
        if serial is not None and target != serial:
            raise _error(40003, 400, "the annotation's messageSerial differs from the path's")
        if not isinstance(target, str) or not target:
            raise _error(40003, 400, "an annotation needs the messageSerial it annotates")
        name = given.get("name")
        if name is not None and not isinstance(name, str):
            raise _error(40003, 400, "an annotation's name must be a string")
        method = method_of(kind)
        if method in NAMED and name is None and action == CREATE:
            # Choice: 40003, as the docs say a name is to be given for these methods.
            raise _error(40003, 400, f"a {method} annotation needs a name")
        count = given.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise _error(40003, 400, "an annotation's count must be an integer")
        client_id = _client_id(credential, given.get("clientId"))
        if client_id is None and method in IDENTIFIED:
            # docs, "Annotation types": "Clients must be identified to publish" flag,
            # distinct and unique annotations; ably-common errors/codes/40161.md.
            raise _error(
                40161,
                401,
                f"operation not permitted as it requires an identified client: {method} "
                "annotations are attributed to a clientId",
            )
        annotation = {field: given[field] for field in _GIVEN if given.get(field) is not None}
        annotation.update(action=action, type=kind, messageSerial=target)
        if client_id is not None:
            annotation["clientId"] = client_id
        from ably_authkit.testing._common import _unportable

        problem = _unportable(annotation, "annotation")
        if problem is not None:
            # As for messages: ably-common errors/codes/40013.md.
            raise _error(40013, 400, f"Invalid annotation data: {problem}")
        return annotation

    def _summarize(self, app_id: str, channel: str, serial: str) -> None:
        """Put the message's new summary on it (history and get-by-serial read it: docs,
        "Subscribe to annotation summaries") and deliver it as a ``message.summary``."""
        service = self._service
        entry = service.mutable._find(app_id, channel, serial)
        entry["annotations"] = {"summary": summarize(self._events[(app_id, channel, serial)])}
        # docs: "the new version of that message will be delivered to subscribers with
        # an action of message.summary ... and a serial matching the serial of the
        # original message. It will have an annotations field".
        delivered = {**entry, "action": SUMMARY}
        for listener in service.on_publish:
            listener(app_id, channel, [delivered])

    # -- reading -----------------------------------------------------------------------

    def get(self, credential: Credential, channel: str, serial: str) -> list[dict[str, Any]]:
        """``GET /channels/{channel}/messages/{serial}/annotations`` (RSAN3b): every
        annotation of the message, oldest first (docs, "Retrieve annotations":
        "starting from the earliest")."""
        service = self._service
        # Choice: annotation-subscribe, which "can subscribe to individual annotations"
        # (docs, auth/capabilities): the individual annotations are what get reads.
        service.require(credential, channel, "annotation-subscribe")
        app_id = credential.key.app_id
        service.mutable.require_enabled(app_id, channel, "Annotations are")
        service.mutable._find(app_id, channel, serial)  # 40400 for an unknown serial
        return self.stored(app_id, channel, serial)


# -- realtime (the hooks _realtime.py calls on the emulator's loop) ----------------------


def annotate(service: _Host, connection: Any, message: Mapping[str, Any]) -> dict[str, Any]:
    """An ANNOTATION (21) ProtocolMessage of ``connection`` (RTAN1c): publish or delete
    its annotations as on REST; answer the ACK, or the NACK with the error (RTAN1d)."""
    from ably_authkit.testing._common import ably_error
    from ably_authkit.testing._connection import ACK, MODE_FLAGS, _channel, _nack

    items = message.get("annotations")
    try:
        channel = _channel(message)
        if not isinstance(items, list) or not items:
            raise ably_error(40000, 400, "ANNOTATION needs a non-empty annotations array")
        modes = connection.channels.get(channel)
        if modes is not None and not modes & MODE_FLAGS["annotation_publish"]:
            # ably-common errors/codes/40165.md: the mode was not asked for when attaching.
            raise ably_error(
                40165,
                401,
                "Unable to publish an annotation as client did not request the "
                "ANNOTATION_PUBLISH mode when attaching",
            )
        identity = connection.credential.acting_as(connection.client_id)
        prefix = f"{connection.id}:{message.get('msgSerial')}"
        with service.lock:
            service.annotations.publish(identity, channel, None, items, id_prefix=prefix)
    except AblyApiError as error:
        return _nack(message, error)
    return {"action": ACK, "msgSerial": message.get("msgSerial"), "count": 1}


def deliver(
    connections: Mapping[str, Any], app_id: str, channel: str, annotations: list[dict[str, Any]]
) -> None:
    """Send ``annotations`` as ANNOTATION (RTAN4b) to the app's connections attached to
    ``channel`` with the annotation_subscribe mode (docs, messages/annotations: "you must
    request the ANNOTATION_SUBSCRIBE mode") whose capability has annotation-subscribe."""
    from ably_authkit.testing._connection import ANNOTATION, MODE_FLAGS

    frame = {"action": ANNOTATION, "channel": channel, "annotations": annotations}
    for connection in list(connections.values()):
        modes = connection.channels.get(channel)
        if modes is None or connection.credential.key.app_id != app_id:
            continue
        if modes & MODE_FLAGS["annotation_subscribe"] and (
            connection.credential.capability.allows(channel, "annotation-subscribe")
        ):
            connection.send(frame)


def _client_id(credential: Credential, given: object) -> str | None:
    """The annotation's clientId, as a message's (RSA7): the credential's when it is
    identified (another is 40012), the given one with a wildcard token or a key, none
    for an anonymous token (naming one is 40012)."""
    if given is not None and not isinstance(given, str):
        raise _error(40012, 400, "an annotation's clientId must be a string")
    identity = credential.client_id
    if identity not in (None, "*"):
        if given is not None and given != identity:
            raise _error(
                40012,
                400,
                f"Mismatched clientId: the annotation's is {given!r}, the credential's is "
                f"{identity!r}",
            )
        return identity
    if given is not None and credential.kind != "basic" and identity is None:
        raise _error(40012, 400, "this credential has no clientId, so annotations cannot name one")
    return given


def summarize(annotations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The summary of a message's annotations, by type (TM8a), each as its method
    aggregates (docs, messages/annotations "Annotation types"; shapes TM7b-TM7e):

    - ``total.v1``: ``{total}``, each create +1 and each delete -1 (never below 0);
    - ``flag.v1``: ``{total, clientIds, clipped}``, each client once;
    - ``distinct.v1``: per name ``{total, clientIds, clipped}``, each client once a name;
    - ``unique.v1``: as distinct, but a client is under one name at a time (a create
      under another name moves it);
    - ``multiple.v1``: per name ``{total, clientIds: {clientId: count},
      totalUnidentified, totalClientIds, clipped}``, a create adding its ``count``
      (default 1), a delete removing the client's contributions to that name.

    Choice: a name or type with nothing left is dropped; other methods get no entry.
    """
    totals: dict[str, int] = {}
    flags: dict[str, list[str]] = {}
    names: dict[str, dict[str, list[str]]] = {}
    counts: dict[str, dict[str, dict[str, int]]] = {}
    unidentified: dict[str, dict[str, int]] = {}
    order: list[str] = []
    for annotation in annotations:
        kind = annotation["type"]
        method = method_of(kind)
        if kind not in order:
            order.append(kind)
        create = annotation["action"] == CREATE
        client = annotation.get("clientId")
        name = annotation.get("name")
        if method == "total.v1":
            totals[kind] = max(0, totals.get(kind, 0) + (1 if create else -1))
        elif method == "flag.v1" and isinstance(client, str):
            _toggle(flags.setdefault(kind, []), client, create)
        elif method in ("distinct.v1", "unique.v1") and isinstance(client, str):
            by_name = names.setdefault(kind, {})
            if create and method == "unique.v1":
                for other, clients in by_name.items():
                    if other != name:
                        _toggle(clients, client, False)
            if isinstance(name, str):
                _toggle(by_name.setdefault(name, []), client, create)
        elif method == "multiple.v1" and isinstance(name, str):
            amount = annotation.get("count")
            amount = 1 if amount is None else amount
            if isinstance(client, str):
                per_client = counts.setdefault(kind, {}).setdefault(name, {})
                if create:
                    per_client[client] = per_client.get(client, 0) + amount
                else:
                    per_client.pop(client, None)
            elif create:
                anonymous = unidentified.setdefault(kind, {})
                anonymous[name] = anonymous.get(name, 0) + amount
    summary: dict[str, Any] = {}
    for kind in order:
        method = method_of(kind)
        if method == "total.v1" and totals.get(kind):
            summary[kind] = {"total": totals[kind]}
        elif method == "flag.v1" and flags.get(kind):
            summary[kind] = _client_list(flags[kind])
        elif method in ("distinct.v1", "unique.v1"):
            value = {name: _client_list(ids) for name, ids in names.get(kind, {}).items() if ids}
            if value:
                summary[kind] = value
        elif method == "multiple.v1":
            per_name = counts.get(kind, {})
            anonymous = unidentified.get(kind, {})
            value = {}
            for name in dict.fromkeys([*per_name, *anonymous]):
                by_client = per_name.get(name, {})
                extra = anonymous.get(name, 0)
                if by_client or extra:
                    value[name] = {
                        "total": sum(by_client.values()) + extra,
                        "clientIds": dict(by_client),
                        "totalUnidentified": extra,
                        "totalClientIds": len(by_client),
                        "clipped": False,
                    }
            if value:
                summary[kind] = value
    return summary


def _toggle(clients: list[str], client: str, present: bool) -> None:
    if present and client not in clients:
        clients.append(client)
    elif not present and client in clients:
        clients.remove(client)


def _client_list(clients: list[str]) -> dict[str, Any]:
    return {"total": len(clients), "clientIds": list(clients), "clipped": False}
