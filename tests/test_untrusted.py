"""Untrusted values (user ids, room ids) in resource names cannot widen a capability."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    Capability,
    CapabilityTypeError,
    InvalidCapabilityError,
    resource_segment,
)
from ably_authkit.capability import OPERATIONS

from .strategies import hostile_ids

OPS = sorted(OPERATIONS - {"*"})


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "empty"),
        ("*", "'*', a wildcard"),
        ("bob*", "'*'"),
        ("bob:admin", "':'"),
        ("[*]*", "'*'"),
        ("[meta]log", "starts with '['"),
        ("[?rewind=1]x", "starts with '['"),
        ("a\nb", "line break"),
        ("a\rb", "line break"),
        ("\ud800", "surrogate"),
    ],
)
def test_values_that_would_name_other_channels_are_refused(value: str, words: str) -> None:
    with pytest.raises(InvalidCapabilityError, match=re.escape(words)) as caught:
        resource_segment(value)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == 40000
    if len(value) > 2:
        assert value not in str(caught.value)  # described, not echoed


def test_ordinary_ids_pass_unchanged_and_escape_is_for_the_rest() -> None:
    for value in ("alice", "user-42", "bob@example.com", "x.y", "é", "a]b", "a b"):
        assert resource_segment(value) == value
    assert resource_segment("bob:admin", escape=True) == "bob%3Aadmin"
    assert resource_segment("*", escape=True) == "%2A"
    assert resource_segment("[*]*", escape=True) == "%5B%2A%5D%2A"
    assert resource_segment("%2A", escape=True) == "%252A"  # one-to-one: % itself is escaped
    for bad in ("", "\ud800"):
        with pytest.raises(InvalidCapabilityError):
            resource_segment(bad, escape=True)
    with pytest.raises(CapabilityTypeError):
        resource_segment(42)  # type: ignore[arg-type]


@given(user=hostile_ids, other=hostile_ids, op=st.sampled_from(OPS))
def test_an_escaped_id_grants_its_own_channel_and_nothing_else(
    user: str, other: str, op: str
) -> None:
    try:
        mine = resource_segment(user, escape=True)
    except InvalidCapabilityError:
        return  # empty, or not UTF-8: refused, so nothing is granted
    capability = Capability({f"user:{mine}": [op], f"room:{mine}:chat": [op]})
    assert capability.allows(f"user:{mine}", op)
    assert not capability.allows(f"user:{mine}:more", op)
    assert not capability.allows("user:someone-else", op)
    for kind in ("[meta]", "[queue]"):
        assert not capability.allows(f"{kind}user:{mine}", op)
    try:
        theirs = resource_segment(other, escape=True)
    except InvalidCapabilityError:
        return
    if other != user:
        assert theirs != mine
        assert not capability.allows(f"user:{theirs}", op)
        assert not capability.allows(f"room:{theirs}:chat", op)


@given(user=hostile_ids, other=hostile_ids, op=st.sampled_from(OPS))
def test_an_accepted_id_is_literal(user: str, other: str, op: str) -> None:
    try:
        mine = resource_segment(user)
    except InvalidCapabilityError:
        return
    assert mine == user
    capability = Capability({f"user:{mine}": [op]})
    assert capability.allows(f"user:{mine}", op)
    if other != user and other and "\n" not in other and "\r" not in other:
        assert not capability.allows(f"user:{other}", op)


def test_escape_is_what_a_browser_computes() -> None:
    """ably-js apps compute the channel name with encodeURIComponent; the two agree."""
    rng = random.Random(12)
    alphabet = "*:[]?%=&#/ +!'()~._-aZ9é\u4e2d\U0001f600"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10))) for _ in range(500)]
    script = (
        "const values = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(values.map("
        "(v) => encodeURIComponent(v).replace(/\\*/g, '%2A'))));"
    )
    answer = subprocess.run(
        [shutil.which("node") or "node", "-e", script],
        input=json.dumps(values),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).parent,
    )
    assert json.loads(answer.stdout) == [resource_segment(v, escape=True) for v in values]


# -- what is refused as it is, and why -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a\x00b", "control character"),
        ("a\tb", "control character"),
        ("a\x7fb", "control character"),
        ("a\x85b", "control character"),
        ("a\u2028b", "control character"),
        ("%2A", "'%'"),
        ("50%", "'%'"),
    ],
)
def test_invisible_characters_and_percent_are_refused_as_they_are(value: str, words: str) -> None:
    with pytest.raises(InvalidCapabilityError, match=re.escape(words)):
        resource_segment(value)
    escaped = resource_segment(value, escape=True)  # and escaped, they are plain text
    assert escaped.isascii() and escaped.isprintable()


@given(raw=hostile_ids, other=hostile_ids)
def test_a_raw_segment_never_equals_another_values_escaped_one(raw: str, other: str) -> None:
    """An app that escapes ids in one place and takes them as they are in another still
    gives two users two channels: the raw '%2A' was the escaped '*'."""
    try:
        taken = resource_segment(raw)
        escaped = resource_segment(other, escape=True)
    except InvalidCapabilityError:
        return
    if raw != other:
        assert taken != escaped
    assert resource_segment("*", escape=True) == "%2A"
    with pytest.raises(InvalidCapabilityError):
        resource_segment("%2A")


def test_a_segment_is_at_most_256_characters_escaped_or_not() -> None:
    from ably_authkit.capability import MAX_SEGMENT_LENGTH

    assert MAX_SEGMENT_LENGTH == 256
    longest = "u" * 256
    assert resource_segment(longest) == longest
    assert resource_segment(longest, escape=True) == longest
    for value, escape in (("u" * 257, False), ("u" * 257, True), ("é" * 43, True)):
        with pytest.raises(InvalidCapabilityError, match="256 at most") as caught:
            resource_segment(value, escape=escape)
        assert value not in str(caught.value)
    assert resource_segment("é" * 42, escape=True) == "%C3%A9" * 42  # 252 characters
    # A hostile id of a megabyte is refused at once, never turned into an 8 KiB JWT.
    with pytest.raises(InvalidCapabilityError):
        resource_segment("a" * 2**20)


def test_nothing_is_normalised_as_ably_compares_channel_names_as_they_are() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    assert resource_segment(composed) == composed
    assert resource_segment(decomposed) == decomposed
    assert resource_segment(composed, escape=True) != resource_segment(decomposed, escape=True)
