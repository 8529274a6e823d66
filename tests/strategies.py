"""Hypothesis strategies for Ably inputs."""

from __future__ import annotations

from hypothesis import strategies as st

from ably_authkit.capability import OPERATIONS

CONCRETE_OPERATIONS = sorted(OPERATIONS - {"*"})

# A small alphabet so that generated patterns and names often meet.
segment_literals = st.sampled_from(["a", "b", "chat", "10", "é", "x y"])
segments = st.one_of(segment_literals, st.just("*"))


@st.composite
def resource_patterns(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return "[*]*"
    kind = draw(st.sampled_from(["", "", "", "[queue]", "[meta]"]))
    parts = draw(st.lists(segments, min_size=1, max_size=4))
    return kind + ":".join(parts)


@st.composite
def resource_names(draw: st.DrawFn) -> str:
    """Concrete names (channels, queues, metachannels): no wildcard segments."""
    kind = draw(st.sampled_from(["", "", "", "[queue]", "[meta]"]))
    parts = draw(st.lists(segment_literals, min_size=1, max_size=5))
    return kind + ":".join(parts)


operation_lists = st.one_of(
    st.just(["*"]),
    st.lists(st.sampled_from(CONCRETE_OPERATIONS), min_size=1, max_size=5, unique=True),
)

capability_dicts = st.dictionaries(resource_patterns(), operation_lists, min_size=1, max_size=5)

# Channel names of any text Ably allows, to test canonical form with odd characters.
any_channel_names = st.text(min_size=1, max_size=12).filter(
    lambda s: (
        not s.startswith(("[", ":"))
        and "\n" not in s
        and "\r" not in s
        and all(not 0xD800 <= ord(c) <= 0xDFFF for c in s)
    )
)
any_capability_dicts = st.dictionaries(any_channel_names, operation_lists, min_size=1, max_size=6)

client_ids = st.text(min_size=1, max_size=20).filter(
    lambda s: "\n" not in s and all(not 0xD800 <= ord(c) <= 0xDFFF for c in s)
)

# User and room ids an attacker chooses: Ably's resource-name metacharacters, often.
_hostile_pieces = st.sampled_from(
    ["*", ":", "[", "]", "[*]", "[meta]", "[queue]", "?", "%", "%2A", "a", "b", "é", " ", "\n"]
)
hostile_ids = st.lists(
    _hostile_pieces | st.text(st.characters(codec="utf-8"), max_size=2), max_size=6
).map("".join)
