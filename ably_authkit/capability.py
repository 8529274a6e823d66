"""Ably capabilities: which operations a credential may perform on which resources.

A capability maps resource names to operation lists::

    {"chat:*": ["publish", "subscribe"], "user:42": ["subscribe"]}

Resources (Ably docs, "Capabilities"): a channel name, where ``*`` stands for one whole
``:``-delimited segment, or for one or more segments at the end (``chat:*`` matches
``chat:a`` and ``chat:a:b``; a lone ``*`` matches every channel, ``foo*`` only itself);
``[queue]name`` and ``[meta]name`` with the same wildcards; and ``[*]*``, which matches
everything. The operation list ``["*"]`` grants every operation. The channel behind an Ably
Chat room, ``{room}::$chat``, is matched by its room name (Chat docs, "Room-scoped
capabilities").

The canonical text is what ably-js's ``c14n`` produces, byte for byte: resources and
operations sorted (as JavaScript sorts: UTF-16 code units, with array-index resource
names such as ``"10"`` first in numeric order, as JavaScript objects enumerate them),
compact separators, non-ASCII characters left as they are. A TokenRequest's MAC
covers that text, so "nearly the same" would be a different request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._json import is_text, json_type, quote, quote_ascii
from .errors import CapabilityTypeError, InvalidCapabilityError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import ClassVar, NoReturn, TypeAlias

    CapabilityLike: TypeAlias = "Capability | Mapping[str, Iterable[str]] | str"

__all__ = [
    "OPERATIONS",
    "QUALIFIER_MARK",
    "Capability",
    "CapabilityLike",
    "resource_segment",
    "room_of",
]

#: Every operation Ably knows (ably-js ``capabilityOp``, docs "Capability operations"), and ``*``.
OPERATIONS: frozenset[str] = frozenset(
    {
        "publish",
        "subscribe",
        "presence",
        "history",
        "stats",
        "channel-metadata",
        "push-subscribe",
        "push-admin",
        "privileged-headers",
        "object-subscribe",
        "object-publish",
        "annotation-subscribe",
        "annotation-publish",
        "message-update-own",
        "message-update-any",
        "message-delete-own",
        "message-delete-any",
        "*",
    }
)
_CONCRETE_OPERATIONS = OPERATIONS - {"*"}
_EVERYTHING = "[*]*"
_KIND_PREFIXES = ("[queue]", "[meta]")
_MAX_ARRAY_INDEX = 2**32 - 2
# Empty, a queue/meta/[*]* prefix, or ':' at the start: the slow path judges these.
_FIRST_CHARACTER_REFUSED = ("", "[", ":")


def _utf16_order(text: str) -> bytes:
    """Sort key equal to JavaScript's default string order (UTF-16 code units)."""
    return text.encode("utf-16-be")


def _js_key_order(resource: str) -> tuple[int, int, bytes]:
    """Sort key for the order in which a JavaScript object lists its keys after ably-js
    has inserted them sorted: array indices first, numerically, then the rest."""
    if (
        resource.isascii()
        and resource.isdigit()
        and (resource == "0" or resource[0] != "0")
        and int(resource) <= _MAX_ARRAY_INDEX
    ):
        return (0, int(resource), b"")
    return (1, 0, _utf16_order(resource))


def _js_item_order(item: tuple[str, tuple[str, ...]]) -> tuple[int, int, bytes]:
    return _js_key_order(item[0])


#: Memo of operation lists already found valid, in the order given -> canonical order.
_KNOWN_OPERATION_LISTS: dict[tuple[str, ...], tuple[str, ...]] = {}


def _operations_json(operations: tuple[str, ...]) -> str:
    """``["a","b"]`` for sorted operations; known ones need no escaping, and are memoised."""
    text = _OPERATIONS_JSON.get(operations)
    if text is None:
        text = "[" + ",".join(map(quote, operations)) + "]"
        if len(_OPERATIONS_JSON) < 4096 and OPERATIONS.issuperset(operations):
            _OPERATIONS_JSON[operations] = text
    return text


_OPERATIONS_JSON: dict[tuple[str, ...], str] = {}


def _split_kind(resource: str) -> tuple[str, str]:
    for prefix in _KIND_PREFIXES:
        if resource.startswith(prefix):
            return prefix, resource[len(prefix) :]
    return "", resource


def _check_resource(resource: object) -> str:
    if (
        type(resource) is str
        and resource.isascii()  # so it encodes; O(1) for Python's compact strings
        and resource[:1] not in _FIRST_CHARACTER_REFUSED
        and "\n" not in resource
        and "\r" not in resource
    ):
        return resource
    if not isinstance(resource, str):
        raise CapabilityTypeError(
            f"a capability resource must be a str such as 'chat:*', not {type(resource).__name__}",
            field="capability",
        )
    if resource == _EVERYTHING:
        return resource
    kind, name = _split_kind(resource)
    problem = None
    if not resource:
        problem = "it is empty"
    elif resource.startswith("[") and not kind:
        problem = "it starts with '[' but is not [queue]..., [meta]... or [*]*"
    elif not name:
        problem = f"it has nothing after {kind}"
    elif name.startswith(":"):
        problem = "it starts with ':', which Ably channel names may not"
    elif "\n" in name or "\r" in name:
        problem = "it contains a line break, which Ably channel names may not"
    elif not is_text(name):
        problem = "it contains an unpaired surrogate, which cannot be sent as UTF-8"
    if problem:
        raise InvalidCapabilityError(
            f"capability resource {resource!r} is invalid: {problem}", field="capability"
        )
    return resource


def _suggest(operation: str) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(operation, sorted(_CONCRETE_OPERATIONS), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_operations(resource: str, operations: object, known_only: bool) -> tuple[str, ...]:
    if type(operations) is list or type(operations) is tuple:
        # The common case, decided in C: distinct, known operations (all ASCII, so
        # JavaScript's UTF-16 order is the plain order). Anything else is checked below.
        try:
            given = tuple(operations)
            known = _KNOWN_OPERATION_LISTS.get(given)
            if known is not None:
                return known
            distinct = frozenset(given)
        except TypeError:  # an unhashable operation
            pass
        else:
            if (
                len(distinct) == len(given)
                and distinct
                and distinct <= OPERATIONS
                and ("*" not in distinct or len(given) == 1)
            ):
                known = tuple(sorted(distinct))
                if len(_KNOWN_OPERATION_LISTS) < 4096:
                    _KNOWN_OPERATION_LISTS[given] = known
                return known
    if isinstance(operations, str) or not isinstance(operations, Iterable):
        hint = f" such as [{operations!r}]" if isinstance(operations, str) else ""
        raise CapabilityTypeError(
            f"the operations for {resource!r} must be a list{hint}, "
            f"not {type(operations).__name__}",
            field="capability",
        )
    checked = set()
    for operation in operations:
        if not isinstance(operation, str):
            raise CapabilityTypeError(
                f"operations for {resource!r} must be str such as 'subscribe', "
                f"not {type(operation).__name__}",
                field="capability",
            )
        if operation not in OPERATIONS and (known_only or not operation or not is_text(operation)):
            raise InvalidCapabilityError(
                f"{operation!r} (for {resource!r}) is not an Ably operation."
                f"{_suggest(operation)} Valid operations: {', '.join(sorted(OPERATIONS))}",
                field="capability",
            )
        if operation in checked:
            raise InvalidCapabilityError(
                f"operation {operation!r} is listed twice for {resource!r}; list it once "
                "(the capability is signed as written, so it is not tidied silently)",
                field="capability",
            )
        checked.add(operation)
    if not checked:
        raise InvalidCapabilityError(
            f"resource {resource!r} has an empty operation list; grant at least one "
            f"operation, or leave the resource out",
            field="capability",
        )
    if "*" in checked and len(checked) > 1:
        raise InvalidCapabilityError(
            f"the operations for {resource!r} list '*' with other operations; '*' already "
            "means every operation, and Ably refuses the mix: list ['*'] alone",
            field="capability",
        )
    return tuple(sorted(checked, key=_utf16_order))


# Capability.coerce's memo: mapping snapshot -> validated Capability (bounded).
_COERCED_MAX = 1024
_coerced: dict[tuple[tuple[object, tuple[object, ...]], ...], Capability] = {}


def _json_shape_problem(grants: dict[str, object]) -> str | None:
    """What is wrong with decoded capability JSON in JSON's terms, if its shape is."""
    if not grants:
        return (
            'a capability must grant something, e.g. {"chat:*":["subscribe"]}; an empty '
            "one would be refused by Ably"
        )
    for resource, operations in grants.items():
        if not isinstance(operations, list):
            hint = f" such as [{quote(operations)}]" if isinstance(operations, str) else ""
            return (
                f"the operations for {resource!r} must be a JSON array{hint}, "
                f"not a JSON {json_type(operations)}"
            )
        for operation in operations:
            if not isinstance(operation, str):
                return (
                    f'the operations for {resource!r} must be strings such as "subscribe", '
                    f"not a JSON {json_type(operation)}"
                )
    return None


class Capability(Mapping[str, "tuple[str, ...]"]):
    """An immutable, validated capability in canonical order.

    Build one from a mapping (``Capability({"chat:*": ["subscribe"]})``) or from JSON
    text (:meth:`parse`). It reads like a mapping from resource to a sorted tuple of
    operations; :meth:`to_json` (and ``str()``) give the canonical text.
    """

    __slots__ = ("_grants", "_text", "_claim")

    _grants: dict[str, tuple[str, ...]]
    _text: str
    _claim: str  # _text as an ASCII JSON string literal, made on first use
    #: Everything: what Ably assumes for a TokenRequest that names no capability.
    ALL: ClassVar[Capability]

    def __init__(
        self, grants: Mapping[str, Iterable[str]], *, allow_unknown_operations: bool = False
    ) -> None:
        if type(grants) is not dict:
            if isinstance(grants, Capability):
                object.__setattr__(self, "_grants", grants._grants)
                object.__setattr__(self, "_text", grants._text)
                return
            if not isinstance(grants, Mapping):
                raise CapabilityTypeError(
                    "a capability must be a mapping such as {'chat:*': ['subscribe']} or its "
                    f"JSON text, not {type(grants).__name__}",
                    field="capability",
                )
        if not grants:
            raise InvalidCapabilityError(
                "a capability must grant something, e.g. {'chat:*': ['subscribe']}; "
                "an empty one would be refused by Ably",
                field="capability",
            )
        known_only = not allow_unknown_operations
        items = []
        javascript_order = False  # does the plain sort differ from JavaScript's here?
        for resource, operations in grants.items():
            checked = _check_resource(resource)
            items.append((checked, _check_operations(checked, operations, known_only)))
            javascript_order = javascript_order or not checked.isascii() or checked.isdigit()
        # Resources are distinct, so the sort never compares the operation tuples.
        items.sort(key=_js_item_order if javascript_order else None)
        object.__setattr__(self, "_grants", dict(items))
        object.__setattr__(
            self,
            "_text",
            "{" + ",".join([quote(r) + ":" + _operations_json(ops) for r, ops in items]) + "}",
        )

    @classmethod
    def parse(cls, text: str, *, allow_unknown_operations: bool = False) -> Capability:
        """Parse capability JSON text, strictly (no single quotes, no duplicate keys).

        ``allow_unknown_operations`` is for reading what Ably sent, which may name
        operations newer than this library; what you send is always checked.
        """
        if not isinstance(text, str):
            raise CapabilityTypeError(
                f"capability text must be a str of JSON, not {type(text).__name__}",
                field="capability",
            )
        from ._json import loads_strict

        try:
            value = loads_strict(text)
        except (ValueError, RecursionError) as error:
            raise InvalidCapabilityError(
                f"the capability is not valid JSON ({error}); write it as JSON with double "
                'quotes, e.g. {"chat:*":["subscribe"]}',
                field="capability",
            ) from None
        if not isinstance(value, dict):
            raise InvalidCapabilityError(
                f"capability JSON must be an object of resource to operations, "
                f'such as {{"chat:*":["subscribe"]}}, not a JSON {json_type(value)}',
                field="capability",
            )
        try:
            return cls(value, allow_unknown_operations=allow_unknown_operations)
        except InvalidCapabilityError:
            # The same fault, told in JSON's words: the text came as JSON.
            problem = _json_shape_problem(value)
            if problem is None:
                raise
            raise InvalidCapabilityError(problem, field="capability") from None

    @classmethod
    def coerce(cls, value: CapabilityLike) -> Capability:
        """Accept a ``Capability``, a mapping, or JSON text, as every public function does."""
        if type(value) is dict:
            # An app builds the same few grants per request (one per role or user); a
            # snapshot of the mapping finds the validated result again in a few µs.
            # Only lists and tuples of operations: a bare "*" must still be refused.
            parts = []
            for resource, ops in value.items():
                kind = type(ops)
                if kind is not list and kind is not tuple:
                    return cls(value)
                parts.append((resource, tuple(ops)))
            snapshot = tuple(parts)
            try:
                cached = _coerced.get(snapshot)
            except TypeError:  # unhashable parts: validation will say what is wrong
                return cls(value)
            if cached is None:
                cached = cls(value)
                if len(_coerced) >= _COERCED_MAX:
                    _coerced.clear()
                _coerced[snapshot] = cached
            return cached
        if isinstance(value, Capability):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        return cls(value)

    def to_json(self) -> str:
        """The canonical JSON text (ably-js's form, byte for byte)."""
        return self._text

    def _jwt_claim(self) -> str:
        """The ``x-ably-capability`` claim's value: the JSON text, quoted as an ASCII JSON
        string. Made once per capability (a grant mints many JWTs)."""
        try:
            return self._claim
        except AttributeError:
            claim = quote_ascii(self._text)
            object.__setattr__(self, "_claim", claim)
            return claim

    def to_dict(self) -> dict[str, list[str]]:
        """A plain ``dict`` of resource to operation list, in canonical order."""
        return {resource: list(operations) for resource, operations in self._grants.items()}

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Capability({self.to_dict()!r})"

    def __getitem__(self, resource: str) -> tuple[str, ...]:
        return self._grants[resource]

    def __iter__(self) -> Iterator[str]:
        return iter(self._grants)

    def __len__(self) -> int:
        return len(self._grants)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Capability):
            return self._text == other._text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __reduce__(self) -> tuple[object, ...]:
        return (_from_wire_text, (self._text,))

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_text"):
            raise AttributeError("Capability is immutable")
        object.__setattr__(self, name, value)

    def allows(self, resource: str, operation: str) -> bool:
        """Whether ``operation`` on ``resource`` (a channel name, ``[queue]...`` or
        ``[meta]...``) is granted. ``operation="*"`` asks whether every operation is.

        A qualified channel (``room::$chat``, the channel behind an Ably Chat room) is
        matched by its room name, as Ably does: ``{"support:*": [...]}`` covers
        ``support:42::$chat``."""
        if not isinstance(resource, str) or not isinstance(operation, str):
            raise CapabilityTypeError(
                "allows() takes a resource name and an operation name, both str",
                field="capability",
            )
        if operation not in OPERATIONS:
            raise InvalidCapabilityError(
                f"{operation!r} is not an Ably operation.{_suggest(operation)}",
                field="operation",
            )
        if operation == "*":
            return all(self.allows(resource, each) for each in _CONCRETE_OPERATIONS)
        return any(
            (operation in operations or "*" in operations) and _matches(pattern, resource)
            for pattern, operations in self._grants.items()
        )

    def intersection(self, other: CapabilityLike) -> Capability | None:
        """What both capabilities grant, as Ably computes a token's capability from the
        key's and the requested one; ``None`` when they share nothing (Ably refuses
        such a request). Wildcards meet exactly: ``chat:*`` and ``*:lobby`` give
        ``chat:lobby``."""
        other = Capability.coerce(other)
        result: dict[str, set[str]] = {}
        for pattern, operations in self._grants.items():
            for other_pattern, other_operations in other._grants.items():
                shared = _operations_meet(operations, other_operations)
                if not shared:
                    continue
                meet = _pattern_meet(pattern, other_pattern)
                if meet is not None:
                    result.setdefault(meet, set()).update(shared)
        if not result:
            return None
        return Capability(
            {resource: ["*"] if "*" in ops else ops for resource, ops in result.items()},
            allow_unknown_operations=True,
        )


Capability.ALL = Capability({_EVERYTHING: ["*"]})


#: What Ably appends to a room's name to name the channel behind it: the ``$chat``
#: qualifier (Chat docs, "Rooms": "the room name with an appended suffix of ``::$chat``").
QUALIFIER_MARK = "::$"


def room_of(channel: str) -> str:
    """The name a capability is matched against for ``channel``: for a qualified channel
    such as ``support:42::$chat`` (the channel behind Ably Chat room ``support:42``),
    the part before ``::$``; for any other channel, the channel itself.

    Ably's Chat docs ("Chat authentication", "Room-scoped capabilities") give
    capabilities on room names (``my-chat-room``, ``dms:*``, ``*``), and Ably checks them
    against the room's channel ``{room}::$chat``."""
    mark = channel.find(QUALIFIER_MARK)
    return channel if mark <= 0 else channel[:mark]


def _from_wire_text(text: str) -> Capability:
    return Capability.parse(text, allow_unknown_operations=True)


def _operations_meet(first: tuple[str, ...], second: tuple[str, ...]) -> set[str]:
    if "*" in first:
        return set(second)
    if "*" in second:
        return set(first)
    return set(first) & set(second)


def _matches(pattern: str, resource: str) -> bool:
    if pattern == _EVERYTHING:
        return True
    pattern_kind, pattern_name = _split_kind(pattern)
    kind, name = _split_kind(resource)
    if kind != pattern_kind:
        return False
    if not kind:
        name = room_of(name)
    segments = pattern_name.split(":")
    names = name.split(":")
    if segments[-1] == "*":  # a trailing wildcard takes one or more segments
        if len(names) < len(segments):
            return False
        segments = segments[:-1]
    elif len(names) != len(segments):
        return False
    # After a trailing wildcard, `names` may be longer: its tail is what the wildcard takes.
    return all(segment in ("*", each) for segment, each in zip(segments, names, strict=False))


def _segments_meet(first: list[str], second: list[str]) -> list[str] | None:
    """The pattern matching exactly the names both segment patterns match, or None."""
    first_open, second_open = first[-1] == "*", second[-1] == "*"
    if not first_open and not second_open:
        if len(first) != len(second):
            return None
        return _pairwise_meet(first, second)
    # Let `first` be an open (trailing-wildcard) pattern no longer than `second`.
    if not first_open or (second_open and len(second) < len(first)):
        first, second = second, first
    if len(second) < len(first):
        return None
    head = _pairwise_meet(first[:-1], second[: len(first) - 1])
    return None if head is None else head + second[len(first) - 1 :]


def _pairwise_meet(first: list[str], second: list[str]) -> list[str] | None:
    met = []
    for one, two in zip(first, second, strict=True):
        if one == two or two == "*":
            met.append(one)
        elif one == "*":
            met.append(two)
        else:
            return None
    return met


def _pattern_meet(first: str, second: str) -> str | None:
    if first == _EVERYTHING:
        return second
    if second == _EVERYTHING:
        return first
    kind, name = _split_kind(first)
    other_kind, other_name = _split_kind(second)
    if kind != other_kind:
        return None
    segments = _segments_meet(name.split(":"), other_name.split(":"))
    return None if segments is None else kind + ":".join(segments)


# Untrusted values in resource names ---------------------------------------------------

# JavaScript's encodeURIComponent leaves these unescaped, and '*' too; this escapes '*'.
_ESCAPE_SAFE = "!'()"
#: The characters of a segment that is safe as it is and that percent-encoding leaves as
#: it is: those ``quote()`` never encodes, and _ESCAPE_SAFE. Most ids hold nothing else;
#: they take the fast path (``str.translate`` deletes them all).
_PLAIN_SEGMENT = dict.fromkeys(
    map(ord, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~-" + _ESCAPE_SAFE)
)
#: The longest segment :func:`resource_segment` returns, in characters. Ably sets no limit
#: on channel names but advises under 2048 characters (docs, "Channels"), and a JWT must
#: stay under 8 KiB; an id longer than this is someone's attack or mistake, not a user.
MAX_SEGMENT_LENGTH = 256
#: Characters refused as they are (escape=True encodes them): C0 and C1 controls, DEL, and
#: the Unicode line and paragraph separators, which JavaScript reads as line breaks.
_INVISIBLE = frozenset(
    [chr(code) for code in range(0x20)]
    + [chr(code) for code in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029"]
)


def resource_segment(value: str, *, escape: bool = False) -> str:
    """An untrusted value (a user id, a room id) made safe as one segment of a resource
    name: ``f"user:{resource_segment(user_id)}"`` names that user's channel and nothing
    else, whatever ``user_id`` holds.

    Ably reads resource names by their characters (docs, "Capabilities" and "Channels"):
    ``*`` as a whole segment is a wildcard, ``:`` separates segments (the first is the
    namespace), a name starting with ``[`` is a qualifier (``[*]*``, ``[meta]``,
    ``[queue]``, ``[?rewind=1]``), and channel names may not be empty or hold a line
    break. A value with any of them (any ``*`` at all, as namespaces may not hold one)
    would name other channels, or several.

    By default such a value is refused (:class:`~ably_authkit.InvalidCapabilityError`,
    a ``ValueError``), the message naming the character and not the value. With
    ``escape=True`` it is percent-encoded instead, as JavaScript's
    ``encodeURIComponent(value).replace(/\\*/g, "%2A")`` does (so a browser client can
    compute the same channel name); the encoding is one-to-one, so two different values
    never share a segment.

    Also refused as they are: a control character (NUL, tab, ...: invisible in a channel
    name, and cut short by C code), ``%`` (so a value taken as it is never equals another
    value's escaped form: ``"%2A"`` would be ``"*"`` escaped), and a segment over
    :data:`MAX_SEGMENT_LENGTH` (256) characters, escaped or not. Nothing is normalised:
    ``"é"`` composed and decomposed are two segments, as they are two channel names to
    Ably; normalise ids where your users are stored, if they are the same user there.
    """
    if not isinstance(value, str):
        raise CapabilityTypeError(
            f"a resource segment must be a str (a user id, a room id), not {type(value).__name__}",
            field="capability",
        )
    if 0 < len(value) <= MAX_SEGMENT_LENGTH and not value.translate(_PLAIN_SEGMENT):
        return value
    if escape and value and is_text(value):
        from urllib.parse import quote

        escaped = quote(value, safe=_ESCAPE_SAFE)
        if len(escaped) > MAX_SEGMENT_LENGTH:
            _refuse_long(len(escaped), " escaped")
        return escaped
    problem = None
    if not value:
        problem = "it is empty"
    elif len(value) > MAX_SEGMENT_LENGTH:
        _refuse_long(len(value), "")
    elif "*" in value:
        problem = "it holds '*', a wildcard"
    elif ":" in value:
        problem = "it holds ':', which separates namespaces and segments"
    elif value.startswith("["):
        problem = "it starts with '[', which starts a qualifier such as [*] or [meta]"
    elif "\n" in value or "\r" in value:
        problem = "it holds a line break, which channel names may not"
    elif not is_text(value):
        problem = "it holds an unpaired surrogate, which cannot be sent as UTF-8"
    elif not _INVISIBLE.isdisjoint(value):
        problem = "it holds a control character (such as NUL or a tab), invisible in a name"
    elif "%" in value:
        problem = (
            "it holds '%', so it could equal another value's escaped form (escape=True "
            "writes '*' as %2A)"
        )
    if problem is not None:
        _refuse_segment(problem)
    return value


def _refuse_long(length: int, how: str) -> NoReturn:
    raise InvalidCapabilityError(
        f"that value is {length} characters long{how}, and a resource segment may have "
        f"{MAX_SEGMENT_LENGTH} at most: an id that long is no user's or room's (and would "
        "make a JWT too large for an HTTP header); refuse it",
        field="capability",
    )


def _refuse_segment(problem: str) -> NoReturn:
    raise InvalidCapabilityError(
        f"that value cannot be put in a resource name as it is: {problem}; it could name "
        "another channel than its own. Refuse it, or pass escape=True to percent-encode it",
        field="capability",
    )
