"""Ably Chat's REST API (spec chat-features.md "Chat HTTP REST API", CHA-RST; @ably/chat
``src/core/chat-api.ts`` and ``rest-types.ts``), on the one channel model: a room
``{room}`` is the channel ``{room}::$chat`` (CHA-RC3c), and each route calls what the
Pub/Sub side of that channel calls, so a room has the same capability and clientId
rules as its channel, with the same error codes.

- ``POST /chat/v4/rooms/{room}/messages`` publishes a ``chat.message`` (data ``{text,
  metadata}``, JSON-encoded, ``extras.headers``) through ``Channels.publish`` and
  answers the Message V4 struct, 201;
- ``GET .../messages`` reads the channel's history (``Channels.history``, its pages and
  links), its Chat messages only, up to ``fromSerial``;
- ``GET .../messages/{serial}``, ``.../versions``: the mutable messages' get and
  versions (``MutableMessages``);
- ``PUT .../messages/{serial}`` and ``POST .../{serial}/delete``: an update and a delete
  through ``MutableMessages.change`` (message-update/-delete-own/-any);
- ``POST``/``DELETE .../{serial}/reactions``: annotations ``reaction:{type}.v1`` through
  ``Annotations.publish``, whose summary reaches subscribers as a ``message.summary``;
  ``GET .../{serial}/client-reactions``: one client's part of that summary;
- ``GET .../occupancy``: the channel's metrics (``_metadata``), ``{connections,
  presenceMembers}``.

Each rule names its source; ``Choice:`` marks where Ably's answer is not documented.
Uses ``_common``, ``_mutable``, ``_annotations``, ``_metadata`` and ``_routes`` (its wire
helpers); ``emulator`` uses it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from aiohttp import web

from ._annotations import summarize
from ._common import CHAT_CHANNEL, _unportable, ably_error
from ._connection import written
from ._metadata import channel_details
from ._mutable import CREATE, DELETE, UPDATE
from ._routes import _answer, _body, _link

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._common import Credential, HistoryQuery
    from ._realtime import Realtime
    from ._routes import Routes
    from ._service import Service

__all__ = ["ChatApi", "message_v4"]

#: Where the routes are: endpoint version 4, which @ably/chat 1.4 calls (chat-api.ts
#: ``_apiProtocolVersion``).
ROOM = "/chat/v4/rooms/{room}"
#: The name of a Chat message on its channel (spec "Corresponding Realtime Event V4";
#: @ably/chat messages.ts subscribes to it).
MESSAGE_NAME = "chat.message"
#: The Message V4 ``action`` of each message action (spec "Messages V4"; @ably/chat
#: events.ts ``ChatMessageAction``).
ACTIONS = {CREATE: "message.create", UPDATE: "message.update", DELETE: "message.delete"}

#: The message reaction types (spec CHA-MR; @ably/chat events.ts ``MessageReactionType``),
#: each the annotation type ``reaction:{type}.v1`` (``ReactionAnnotationType``).
REACTION_TYPES = ("unique", "distinct", "multiple")


def room_channel(room: str) -> str:
    """The channel behind a room (spec CHA-RC3c: ``{room}::$chat``)."""
    return f"{room}{CHAT_CHANNEL}"


def message_v4(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The Message V4 struct (spec "Messages V4"; @ably/chat rest-types.ts
    ``RestMessage``) of a ``chat.message`` as the channel holds it: ``serial``,
    ``clientId``, ``text``, ``timestamp``, ``metadata``, ``headers``, ``action``,
    ``version`` (``serial`` and ``timestamp`` of the latest version, and the operation's
    ``clientId``, ``description`` and ``metadata``), ``userClaim`` when its
    ``extras.userClaim`` has one (its author's JWT claim for the room, CHA-M2h), and
    ``reactions`` when the message has any (its annotations' summary by reaction type)."""
    data = _decoded(entry.get("data"), entry.get("encoding"))
    fields = data if isinstance(data, Mapping) else {}
    text = fields.get("text")
    metadata = fields.get("metadata")
    extras = entry.get("extras")
    headers = extras.get("headers") if isinstance(extras, Mapping) else None
    version = {"serial": entry.get("serial"), "timestamp": entry.get("timestamp")}
    given = entry.get("version")
    if isinstance(given, Mapping):
        version.update(given)
    answer = {
        "serial": entry.get("serial"),
        "clientId": entry.get("clientId", ""),
        "text": text if isinstance(text, str) else "",
        "timestamp": entry.get("timestamp"),
        "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
        "headers": dict(headers) if isinstance(headers, Mapping) else {},
        "action": ACTIONS.get(entry.get("action", CREATE), ACTIONS[CREATE]),
        "version": version,
    }
    claim = extras.get("userClaim") if isinstance(extras, Mapping) else None
    if isinstance(claim, str):
        answer["userClaim"] = claim
    annotations = entry.get("annotations")
    summary = annotations.get("summary") if isinstance(annotations, Mapping) else None
    if isinstance(summary, Mapping):
        reactions = {kind: summary.get(f"reaction:{kind}.v1", {}) for kind in REACTION_TYPES}
        if any(reactions.values()):
            answer["reactions"] = reactions
    return answer


def _decoded(data: object, encoding: object) -> object:
    """A message's data with its ``encoding`` undone (RSL6: ``json``, ``utf-8`` and
    ``base64``, right to left); None for one it cannot undo."""
    steps = encoding.split("/") if isinstance(encoding, str) and encoding else []
    for step in reversed(steps):
        try:
            if step == "base64" and isinstance(data, str):
                data = base64.b64decode(data, validate=True)
            elif step == "utf-8" and isinstance(data, bytes):
                data = data.decode("utf-8")
            elif step == "json" and isinstance(data, (str, bytes)):
                data = json.loads(data)
            else:
                return None
        except (ValueError, binascii.Error):
            return None
    return data


def _sender(credential: Credential) -> str:
    """The clientId a Chat message is sent as: the credential's own. Chat messages carry
    their sender's clientId (spec "Messages V4"; docs, chat/authentication: clients
    "must be identified"), so a credential with none, or a wildcard that names none, is
    refused with 40161/401 (ably-common errors/codes/40161.md, "operation not permitted
    as it requires an identified client"), as identified-only annotations are."""
    client_id = credential.client_id
    if client_id is None or client_id == "*":
        raise ably_error(
            40161,
            401,
            "operation not permitted as it requires an identified client: a Chat message "
            "is sent as the credential's clientId, and this credential has none",
        )
    return client_id


def _message_fields(body: object, where: str) -> dict[str, Any]:
    """``{text, metadata?, headers?}`` checked (spec "Sending Messages" Request V4), as
    the channel message's ``data`` (JSON-encoded, as Ably sends it: spec "Corresponding
    Realtime Event V4", ``"encoding": "json"``) and ``extras.headers``. A text that is
    not a string, metadata that is not an object, or headers that are not a flat map of
    strings, numbers, booleans and nulls (@ably/chat headers.ts) are 40003/400
    (spec "Common Error Codes": InvalidArgument)."""
    if not isinstance(body, Mapping):
        raise ably_error(40000, 400, f"{where} must be an object with text")
    text = body.get("text")
    if not isinstance(text, str):
        raise ably_error(40003, 400, f"{where}.text must be a string (the message's text)")
    metadata = body.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, Mapping):
        raise ably_error(40003, 400, f"{where}.metadata must be an object")
    headers = body.get("headers")
    if headers is None:
        headers = {}
    if not isinstance(headers, Mapping) or not all(
        value is None or isinstance(value, (str, int, float, bool)) for value in headers.values()
    ):
        raise ably_error(
            40003,
            400,
            f"{where}.headers must be a flat map of strings, numbers, booleans or nulls",
        )
    problem = _unportable({"text": text, "metadata": metadata, "headers": headers}, where)
    if problem is not None:
        # As for any message (ably-common errors/codes/40013.md).
        raise ably_error(40013, 400, f"Invalid message data: {problem}")
    data = json.dumps({"text": text, "metadata": metadata}, separators=(",", ":"))
    return {"data": data, "encoding": "json", "extras": {"headers": dict(headers)}}


class ChatApi:
    """The Chat REST routes of one emulator, on its service, realtime hub and routes."""

    def __init__(self, service: Service, realtime: Realtime, routes: Routes) -> None:
        self.service = service
        self.realtime = realtime
        self.routes = routes

    def add_to(self, app: web.Application) -> None:
        router = app.router
        router.add_post(f"{ROOM}/messages", self._send)
        router.add_get(f"{ROOM}/messages", self._history)
        router.add_get(f"{ROOM}/messages/{{serial}}", self._get)
        router.add_put(f"{ROOM}/messages/{{serial}}", self._update)
        router.add_post(f"{ROOM}/messages/{{serial}}/delete", self._delete)
        router.add_post(f"{ROOM}/messages/{{serial}}/reactions", self._react)
        router.add_delete(f"{ROOM}/messages/{{serial}}/reactions", self._unreact)
        router.add_get(f"{ROOM}/messages/{{serial}}/client-reactions", self._client_reactions)
        router.add_get(f"{ROOM}/messages/{{serial}}/versions", self._versions)
        router.add_get(f"{ROOM}/occupancy", self._occupancy)

    # -- what tests read --------------------------------------------------------------

    def messages(self, room: str, app_id: str | None) -> list[dict[str, Any]]:
        """``emu.chat_messages(room)``: the room's Chat messages as stored, oldest
        first, each its Message V4 struct (call under the service's lock)."""
        return [
            message_v4(entry)
            for _, app, entry in self.service.recorded(room_channel(room))
            if (app_id is None or app == app_id) and entry.get("name") == MESSAGE_NAME
        ]

    # -- messages ---------------------------------------------------------------------

    async def _send(self, request: web.Request) -> web.Response:
        """``POST .../messages`` (spec "Sending Messages", CHA-M3): publish a
        ``chat.message`` and answer its Message V4, 201. It needs ``publish`` on the
        room (docs, chat/authentication: "Send messages: publish"), checked by the
        channel's publish, 40160/401 as for any publish; an ``idempotencyKey`` (sent by
        @ably/chat with idempotent REST publishing) is the message's id, so a repeat
        within 2 minutes answers the first message (RSL1k)."""
        body = await _body(request)
        channel = room_channel(request.match_info["room"])
        with self.service.lock:
            credential = self.routes._credential(request)
            self.service.require(credential, channel, "publish")
            client_id = _sender(credential)
            message = {"name": MESSAGE_NAME, **_message_fields(body, "the message")}
            message["clientId"] = client_id
            key = request.query.get("idempotencyKey")
            if key:
                message["id"] = key
            (stored,) = self.service.publish(credential, channel, message)
            answer = message_v4(stored)
        await written(self.realtime._connections, credential.key.app_id, channel)
        return _answer(request, answer, status=201)

    async def _history(self, request: web.Request) -> web.Response:
        """``GET .../messages`` (spec "Fetching Message History", CHA-M6): the room's
        Chat messages as Message V4 structs, with the channel history's query
        (``start``, ``end``, ``direction``, newest first by default, ``limit``) and
        pages, and ``fromSerial`` (CHA-M5g): only messages at or before that serial,
        as @ably/chat's ``historyBeforeSubscribe`` passes the channelSerial. It needs
        ``history`` (docs, chat/authentication: "Message history: subscribe, history";
        Choice: ``history`` alone, what the channel's history needs)."""
        channel = room_channel(request.match_info["room"])
        until = request.query.get("fromSerial")

        def keep(message: dict[str, Any]) -> bool:
            if message.get("name") != MESSAGE_NAME:
                return False
            return until is None or str(message.get("serial")) <= until

        def fetch(
            credential: Credential, query: HistoryQuery
        ) -> tuple[list[dict[str, Any]], int | None]:
            page, following = self.service.history(credential, channel, query, keep=keep)
            return [message_v4(entry) for entry in page], following

        kept = {} if until is None else {"fromSerial": until}
        return self.routes.history_page(request, "./messages", fetch, kept)

    async def _get(self, request: web.Request) -> web.Response:
        """``GET .../messages/{serial}`` (spec "Fetching a Single Message", CHA-M13):
        the message's latest version, or 40400/404 (ably-common errors/codes/40400.md)
        for a serial that is not a Chat message of the room. It needs ``history``, as
        the channel's get-by-serial (docs, updates-deletes "Get the latest version")."""
        room, serial = request.match_info["room"], request.match_info["serial"]
        channel = room_channel(room)
        with self.service.lock:
            credential = self.routes._credential(request)
            entry = self.service.mutable.get(credential, channel, serial)
            if entry.get("name") != MESSAGE_NAME:
                raise ably_error(
                    40400, 404, f"No Chat message with serial {serial!r} in room {room!r}"
                )
            answer = message_v4(entry)
        return _answer(request, answer)

    # -- updates and deletes ----------------------------------------------------------------

    async def _update(self, request: web.Request) -> web.Response:
        """``PUT .../messages/{serial}`` (spec "Updating Messages", CHA-M8): body
        ``{message: {text, metadata?, headers?}, description?, metadata?}``, with PUT
        semantics (CHA-M8c: what is left out is removed). The channel's update
        (``MutableMessages.change``) checks ``message-update-own``/``-any`` and the
        own-message rule (40160/401), makes the new version and delivers it as a
        ``message.update``; the answer is the updated Message V4, 200."""
        body = await _body(request)
        if not isinstance(body, Mapping):
            raise ably_error(40000, 400, "the body must be an object with a message")
        change = {"action": UPDATE, **_message_fields(body.get("message"), "message")}
        return await self._change(request, change, body)

    async def _delete(self, request: web.Request) -> web.Response:
        """``POST .../messages/{serial}/delete`` (spec "Deleting Messages", CHA-M9): body
        ``{description?, metadata?}`` (or none). The channel's delete checks
        ``message-delete-own``/``-any`` (40160/401) and delivers a ``message.delete``.
        A deleted Chat message has empty text, metadata and headers in the answer, the
        realtime event, history, get and its versions (@ably/chat
        messages.integration.test.ts: "Delete messages have empty text", with
        ``headers: {}`` and ``metadata: {}``), so the delete sets them, where a plain
        channel's delete keeps what it does not name (docs, updates-deletes "Mixin
        semantics"). The answer is the deleted Message V4, 200."""
        body: object = {}
        if await request.read():
            body = await _body(request)
        if not isinstance(body, Mapping):
            raise ably_error(40000, 400, "the body must be an object")
        emptied = _message_fields({"text": ""}, "the message")
        return await self._change(request, {"action": DELETE, **emptied}, body)

    async def _change(
        self, request: web.Request, change: dict[str, Any], body: Mapping[str, Any]
    ) -> web.Response:
        """An update or delete of a room's message by ``MutableMessages.change``, the
        operation's ``description`` and ``metadata`` (a map of strings, MOP2c) as the
        version's; Choice: ``idempotencyKey`` is not acted on here."""
        room, serial = request.match_info["room"], request.match_info["serial"]
        channel = room_channel(room)
        change["version"] = {
            name: body[name] for name in ("description", "metadata") if body.get(name) is not None
        }
        with self.service.lock:
            credential = self.routes._credential(request)
            _, latest = self.service.mutable.change(credential, channel, serial, change)
            answer = message_v4(latest)
        await written(self.realtime._connections, credential.key.app_id, channel)
        return _answer(request, answer)

    # -- message reactions --------------------------------------------------------------------

    async def _react(self, request: web.Request) -> web.Response:
        """``POST .../messages/{serial}/reactions`` (spec "Sending message reactions",
        CHA-MR): body ``{type, name, count?}``, published as an annotation of type
        ``reaction:{type}.v1`` on the message (@ably/chat events.ts
        ``ReactionAnnotationType``) by ``Annotations.publish``: ``annotation-publish``
        (docs, chat/authentication: "Message reactions: annotation-publish"), else
        40160/401; unique and distinct reactions from an identified client (40161), as
        for any annotation of those types; the new summary reaches subscribers as a
        ``message.summary``. ``count`` is "only accepted for reactions of type
        multiple" (spec), a positive integer; else, and for an unknown type or a missing
        name, 40003/400. Answers ``{serial}`` of the annotation, 201."""
        body = await _body(request)
        if not isinstance(body, Mapping):
            raise ably_error(40000, 400, "the body must be an object with type and name")
        kind = _reaction_type(body.get("type"))
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ably_error(40003, 400, "a reaction needs a name (a non-empty string)")
        annotation: dict[str, Any] = {"action": 0, "type": f"reaction:{kind}.v1", "name": name}
        count = body.get("count")
        if count is not None:
            if kind != "multiple":
                raise ably_error(40003, 400, f"count is only for multiple reactions, not {kind}")
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ably_error(40003, 400, "count must be a positive integer")
            annotation["count"] = count
        return await self._annotate(request, annotation, 201)

    async def _unreact(self, request: web.Request) -> web.Response:
        """``DELETE .../messages/{serial}/reactions?type=&name=`` (spec "Deleting message
        reactions"): an annotation delete of the client's reaction; ``name`` "is ignored
        for reactions of type unique but it is required for all other reaction types"
        (40003/400 without it), and a unique one removes the client's reaction whatever
        its name. Answers ``{serial}`` of the delete annotation, 200."""
        kind = _reaction_type(request.query.get("type"))
        name = request.query.get("name")
        annotation: dict[str, Any] = {"action": 1, "type": f"reaction:{kind}.v1"}
        if kind != "unique":
            if not name:
                raise ably_error(40003, 400, f"deleting a {kind} reaction needs its name")
            annotation["name"] = name
        return await self._annotate(request, annotation, 200)

    async def _annotate(
        self, request: web.Request, annotation: dict[str, Any], status: int
    ) -> web.Response:
        channel = room_channel(request.match_info["room"])
        serial = request.match_info["serial"]
        with self.service.lock:
            credential = self.routes._credential(request)
            annotations = self.service.annotations
            if annotation["type"] == "reaction:unique.v1" and annotation["action"] == 1:
                # The name the client's unique reaction is under, for the summary to drop.
                summary = summarize(annotations.stored(credential.key.app_id, channel, serial)).get(
                    annotation["type"], {}
                )
                for name, entry in summary.items():
                    if credential.client_id in entry.get("clientIds", ()):
                        annotation["name"] = name
            (stored,) = annotations.publish(credential, channel, serial, annotation)
        await written(self.realtime._connections, credential.key.app_id, channel)
        return _answer(request, {"serial": stored["serial"]}, status=status)

    async def _client_reactions(self, request: web.Request) -> web.Response:
        """``GET .../messages/{serial}/client-reactions[?forClientId=]`` (spec "Fetching
        Summary of Reactions for a Message"): the message's ``reactions`` with only the
        given client (the credential's by default) in each entry's clients; each
        entry's ``total`` stays the message's (@ably/chat
        messages-reactions.integration.test.ts, "should fetch clientReactions for
        specific client"). Choice: it needs ``subscribe``, as receiving the summary
        does (docs, chat/rooms/message-reactions), else 40160/401; with neither a
        clientId nor ``forClientId`` it is 40003/400."""
        channel = room_channel(request.match_info["room"])
        serial = request.match_info["serial"]
        with self.service.lock:
            credential = self.routes._credential(request)
            self.service.require(credential, channel, "subscribe")
            client = request.query.get("forClientId") or credential.client_id
            if client is None or client == "*":
                raise ably_error(
                    40003, 400, "name the client with forClientId: this credential has none"
                )
            entry = self.service.mutable._find(credential.key.app_id, channel, serial)
            everyone = message_v4(entry).get("reactions", {})
        answer: dict[str, dict[str, Any]] = {}
        for kind in REACTION_TYPES:
            answer[kind] = {}
            for name, value in everyone.get(kind, {}).items():
                clients = value.get("clientIds", {})
                if client not in clients:
                    continue
                if kind == "multiple":
                    answer[kind][name] = {
                        **value,
                        "clientIds": {client: clients[client]},
                        "totalClientIds": 1,
                    }
                else:
                    answer[kind][name] = {**value, "clientIds": [client]}
        return _answer(request, answer)

    # -- versions and occupancy -----------------------------------------------------------------

    async def _versions(self, request: web.Request) -> web.Response:
        """``GET .../messages/{serial}/versions`` (@ably/chat chat-api.ts
        ``getMessageVersions``): every version of the message as Message V4 structs,
        oldest first, in one page, from the channel's versions (RSL14), which need
        ``history`` (40160/401) and answer 40400/404 for an unknown serial."""
        channel = room_channel(request.match_info["room"])
        serial = request.match_info["serial"]
        with self.service.lock:
            credential = self.routes._credential(request)
            versions = self.service.mutable.versions(credential, channel, serial)
            answer = [message_v4(version) for version in versions]
        response = _answer(request, answer)
        _link(response, "./versions", {"first": {}, "current": {}})
        return response

    async def _occupancy(self, request: web.Request) -> web.Response:
        """``GET .../occupancy`` (spec "Occupancy": an OccupancyData, ``{connections,
        presenceMembers}``): the room channel's metrics (CHM2), from its ChannelDetails,
        which need ``channel-metadata`` (docs, chat/authentication: "Occupancy:
        subscribe, channel-metadata"), else 40160/401."""
        channel = room_channel(request.match_info["room"])
        with self.service.lock:
            credential = self.routes._credential(request)
        metrics = channel_details(self.realtime, credential, channel)["status"]["occupancy"]
        counts = metrics["metrics"]
        answer = {
            "connections": counts["connections"],
            "presenceMembers": counts["presenceMembers"],
        }
        return _answer(request, answer)


def _reaction_type(given: object) -> str:
    if given not in REACTION_TYPES:
        raise ably_error(
            40003, 400, f"a reaction's type is unique, distinct or multiple, not {given!r}"
        )
    return str(given)
