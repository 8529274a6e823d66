"""Ably Chat grants by feature: the capability a Chat user needs, built from what they may do.

Ably Chat rooms run on Pub/Sub channels: room ``support:42`` is the channel
``support:42::$chat`` (Chat spec CHA-RC3c; Chat docs, "Rooms"), and a capability grants
a room by its *room* name or pattern (``support:42``, ``support:*``, ``*``; Chat docs,
"Chat authentication", "Room-scoped capabilities"). Each Chat feature needs some Pub/Sub
operations on that channel; :data:`FEATURE_OPERATIONS` is the docs' table as code, and
:func:`chat_capability` turns rooms and features into the exact :class:`Capability`::

    chat_capability({chat_room("support", ticket_id): MEMBER, "announcements": {"receive"}})

:func:`chat_room` makes a room name of untrusted ids, :func:`chat_features` says which
features a capability allows in a room, and :func:`room_channel` names a room's channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from types import MappingProxyType

from .capability import Capability, _check_resource, _pattern_meet, resource_segment
from .errors import CapabilityTypeError, InvalidCapabilityError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from .capability import CapabilityLike

__all__ = [
    "FEATURE_OPERATIONS",
    "MEMBER",
    "MODERATOR",
    "ChatFeature",
    "chat_capability",
    "chat_features",
    "chat_room",
    "room_channel",
]


class ChatFeature(str, Enum):
    """One row of the Chat docs' feature table: something a Chat user does in a room.

    A member equals its value (``ChatFeature.SEND == "send"``), so the values can be given
    as plain strings wherever a feature is taken, and ``str()`` gives the value."""

    SEND = "send"
    RECEIVE = "receive"
    UPDATE_OWN = "update-own"
    UPDATE_ANY = "update-any"
    DELETE_OWN = "delete-own"
    DELETE_ANY = "delete-any"
    HISTORY = "history"
    MESSAGE_REACTIONS = "message-reactions"
    RAW_MESSAGE_REACTIONS = "raw-message-reactions"
    PRESENCE = "presence"
    TYPING = "typing"
    ROOM_REACTIONS = "room-reactions"
    OCCUPANCY = "occupancy"

    def __str__(self) -> str:
        return self.value  # as StrEnum does (Python 3.11+), on 3.10 too


# Ably docs, "Chat authentication" -> "Chat capabilities" (the same rows in "SDK setup").
FEATURE_OPERATIONS: Mapping[ChatFeature, frozenset[str]] = MappingProxyType(
    {
        ChatFeature.SEND: frozenset({"publish"}),
        ChatFeature.RECEIVE: frozenset({"subscribe"}),
        ChatFeature.UPDATE_OWN: frozenset({"message-update-own"}),
        ChatFeature.UPDATE_ANY: frozenset({"message-update-any"}),
        ChatFeature.DELETE_OWN: frozenset({"message-delete-own"}),
        ChatFeature.DELETE_ANY: frozenset({"message-delete-any"}),
        ChatFeature.HISTORY: frozenset({"subscribe", "history"}),
        ChatFeature.MESSAGE_REACTIONS: frozenset({"annotation-publish"}),
        ChatFeature.RAW_MESSAGE_REACTIONS: frozenset({"annotation-subscribe"}),
        ChatFeature.PRESENCE: frozenset({"subscribe", "presence"}),
        ChatFeature.TYPING: frozenset({"publish", "subscribe"}),
        ChatFeature.ROOM_REACTIONS: frozenset({"publish", "subscribe"}),
        ChatFeature.OCCUPANCY: frozenset({"subscribe", "channel-metadata"}),
    }
)
"""The operations each Chat feature needs on a room's channel, exactly as Ably's docs table
them ("Chat authentication", "Chat capabilities"; the same rows in "SDK setup"). Where the
docs give a choice (``message-update-any`` or ``message-update-own``) each choice is a
feature of its own; the docs' "optionally ``annotation-subscribe``" for message reactions
is ``RAW_MESSAGE_REACTIONS``, which @ably/chat's ``rawMessageReactions`` room option needs
(Chat spec CHA-RC3d2). Read-only."""

MEMBER: frozenset[ChatFeature] = frozenset(
    {
        ChatFeature.SEND,
        ChatFeature.RECEIVE,
        ChatFeature.UPDATE_OWN,
        ChatFeature.DELETE_OWN,
        ChatFeature.HISTORY,
        ChatFeature.MESSAGE_REACTIONS,
        ChatFeature.PRESENCE,
        ChatFeature.TYPING,
        ChatFeature.ROOM_REACTIONS,
        ChatFeature.OCCUPANCY,
    }
)
"""What a room's ordinary member does: every feature but raw message reactions. Its
own-message rights (``update-own``, ``delete-own``, not ``-any``) follow the docs' "All
Chat features" row; that row also lists ``annotation-subscribe``, which only raw reactions
need: add ``RAW_MESSAGE_REACTIONS`` for a client that sets ``rawMessageReactions``."""

MODERATOR: frozenset[ChatFeature] = MEMBER | {
    ChatFeature.UPDATE_ANY,
    ChatFeature.DELETE_ANY,
    ChatFeature.RAW_MESSAGE_REACTIONS,
}
"""A member (:data:`MEMBER`, with the docs' "All Chat features" own-message rights) who may
also update and delete anyone's messages and read raw message reactions (who reacted with
what): ``MEMBER`` plus ``UPDATE_ANY``, ``DELETE_ANY`` and ``RAW_MESSAGE_REACTIONS``."""

# What Ably appends to a room's name to name its channel (Chat spec CHA-RC3c).
_CHAT_SUFFIX = "::$chat"
# A member hashes and compares as its value, so this finds a feature by member or string.
_FEATURES: dict[str, ChatFeature] = {feature.value: feature for feature in ChatFeature}
_FEATURE_LIST = ", ".join(_FEATURES)


def chat_capability(rooms: Mapping[str, Iterable[ChatFeature | str]]) -> Capability:
    """The capability that grants each room (a name such as ``support:42``, or a pattern
    such as ``support:*`` or ``*``) its Chat features, and nothing else.

    Each room becomes one resource, its operations the union of its features'
    (:data:`FEATURE_OPERATIONS`); Ably matches a room's channel ``{room}::$chat`` by the
    room name, so the resource is the room as given. The result goes wherever a
    capability does (``mint_jwt``, ``create_token_request``, ``Grant``)::

        chat_capability({"support:*": MEMBER, "announcements": {ChatFeature.RECEIVE}})

    Refused with :class:`~ably_authkit.InvalidCapabilityError` (a ``ValueError``): an
    unknown feature (with the nearest one suggested), a room with no features (it would
    grant nothing), a channel name (``room::$chat``) where a room name belongs, a
    ``[queue]``/``[meta]`` resource, and a room name that is no valid resource. Build
    room names from untrusted ids with :func:`chat_room`. ``rooms`` is only read.
    """
    if not isinstance(rooms, Mapping):
        raise CapabilityTypeError(
            "chat_capability() takes a mapping of room name to Chat features, such as "
            f"{{'support:*': MEMBER}}, not {type(rooms).__name__}",
            field="capability",
        )
    if not rooms:
        raise InvalidCapabilityError(
            "chat_capability() was given no rooms; name at least one, such as "
            "{'support:*': MEMBER}: an empty capability would be refused by Ably",
            field="capability",
        )
    grants: dict[str, list[str]] = {}
    for room, features in rooms.items():
        _check_room(room)
        operations: set[str] = set()
        for feature in _features_of(room, features):
            operations |= FEATURE_OPERATIONS[feature]
        grants[room] = sorted(operations)
    return Capability(grants)


def chat_room(*segments: str, escape: bool = False) -> str:
    """A room name made of ``:``-separated segments, each an untrusted value made safe by
    :func:`~ably_authkit.resource_segment`: ``chat_room("support", ticket_id)`` is
    ``"support:T-42"`` for ticket ``T-42``, and names that one room whatever the id holds.

    A segment holding ``*``, ``:``, a leading ``[``, ``%``, a line break or a control
    character is refused (:class:`~ably_authkit.InvalidCapabilityError`), as is an empty
    or over-long one; ``escape=True`` percent-encodes instead (one-to-one, as JavaScript's
    ``encodeURIComponent`` does, with ``*`` as ``%2A``)."""
    if not segments:
        raise InvalidCapabilityError(
            "chat_room() needs at least one segment, such as chat_room('support', ticket_id)",
            field="capability",
        )
    return ":".join([resource_segment(segment, escape=escape) for segment in segments])


def room_channel(room: str) -> str:
    """The Pub/Sub channel behind Chat room ``room``: ``f"{room}::$chat"`` (Chat spec
    CHA-RC3c). ``room`` is checked as :func:`chat_capability` checks a room name."""
    return _check_room(room) + _CHAT_SUFFIX


def chat_features(capability: CapabilityLike, room: str) -> frozenset[ChatFeature]:
    """The Chat features ``capability`` allows in room ``room`` (a concrete room name): each
    feature every operation of which it allows on the room's channel ``{room}::$chat``."""
    granted = Capability.coerce(capability)
    channel = room_channel(room)
    return frozenset(
        feature
        for feature, operations in FEATURE_OPERATIONS.items()
        if all(granted.allows(channel, operation) for operation in operations)
    )


def _features_by_resource(capability: Capability) -> dict[str, tuple[ChatFeature, ...]]:
    """For each channel resource of ``capability`` (a room name or pattern, or ``[*]*``),
    the Chat features allowed in every room it matches, in the table's order; resources
    allowing none are left out. Grants on wider patterns count: with ``{"*": ["subscribe"],
    "support:*": ["publish"]}``, rooms ``support:*`` may send, receive, type and react.
    ``[queue]`` and ``[meta]`` resources name no room."""
    found: dict[str, tuple[ChatFeature, ...]] = {}
    for resource in capability:
        if resource.startswith(("[queue]", "[meta]")):
            continue
        operations: set[str] = set()
        for pattern, granted in capability.items():
            if pattern.startswith(("[queue]", "[meta]")):
                continue
            if _pattern_meet(pattern, resource) == resource:  # pattern covers resource
                operations.update(granted)
        every = "*" in operations
        features = tuple(
            feature
            for feature, needed in FEATURE_OPERATIONS.items()
            if every or needed <= operations
        )
        if features:
            found[resource] = features
    return found


def _check_room(room: object) -> str:
    if not isinstance(room, str):
        raise CapabilityTypeError(
            f"a Chat room name must be a str such as 'support:42', not {type(room).__name__}",
            field="capability",
        )
    _check_resource(room)  # the capability's own refusals, in its words
    if room.startswith("["):
        raise InvalidCapabilityError(
            f"{room!r} is not a Chat room: a room is a channel, not a queue, a metachannel "
            "or everything; give a room name or pattern such as 'support:42', 'support:*', "
            "or '*' for every room",
            field="capability",
        )
    if "::" in room:
        name = room[: -len(_CHAT_SUFFIX)] if room.endswith(_CHAT_SUFFIX) else ""
        if name and "::" not in name:
            problem = f"it is the channel of Chat room {name!r}"
        else:
            problem = "it holds '::', which starts a channel qualifier such as '::$chat'"
        raise InvalidCapabilityError(
            f"{room!r} is not a Chat room name: {problem}. Give the room name, not the "
            f"channel name; Ably adds {_CHAT_SUFFIX!r} itself (room 'support:42' is channel "
            "'support:42::$chat')",
            field="capability",
        )
    return room


def _features_of(room: str, features: object) -> set[ChatFeature]:
    if isinstance(features, str) or not isinstance(features, Iterable):
        hint = f" such as [{str(features)!r}]" if isinstance(features, str) else ""
        raise CapabilityTypeError(
            f"the Chat features for room {room!r} must be a collection{hint}, "
            f"not {type(features).__name__}",
            field="capability",
        )
    chosen: set[ChatFeature] = set()
    for feature in features:
        if not isinstance(feature, str):
            raise CapabilityTypeError(
                f"a Chat feature (for room {room!r}) must be a ChatFeature or its str value "
                f"such as 'send', not {type(feature).__name__}",
                field="capability",
            )
        known = _FEATURES.get(feature)
        if known is None:
            _refuse_feature(room, feature)
        chosen.add(known)
    if not chosen:
        raise InvalidCapabilityError(
            f"room {room!r} has no Chat features, so it would grant nothing; give at least "
            "one, such as {ChatFeature.RECEIVE}, or leave the room out",
            field="capability",
        )
    return chosen


def _refuse_feature(room: str, feature: str) -> NoReturn:
    users = [value for value, each in _FEATURES.items() if feature in FEATURE_OPERATIONS[each]]
    if users:
        hint = f" It is an Ably operation; the features that use it: {', '.join(users)}."
    else:
        import difflib  # only on this error path

        spelled = feature.strip().lower().replace("_", "-")
        close = [spelled] if spelled in _FEATURES else []
        close = close or difflib.get_close_matches(spelled, list(_FEATURES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidCapabilityError(
        f"{feature!r} (for room {room!r}) is not a Chat feature.{hint} "
        f"Chat features: {_FEATURE_LIST}",
        field="capability",
    )
