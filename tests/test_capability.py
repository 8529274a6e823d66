from __future__ import annotations

import json
import pickle
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import Capability, CapabilityTypeError, InvalidCapabilityError

from .peers import AblyJs
from .strategies import (
    CONCRETE_OPERATIONS,
    any_capability_dicts,
    capability_dicts,
    resource_names,
)

# --- canonical form ---------------------------------------------------------------


def test_canonical_text_is_sorted_and_compact() -> None:
    capability = Capability({"chat:*": ["subscribe", "publish"], "alerts": ["subscribe"]})
    assert capability.to_json() == '{"alerts":["subscribe"],"chat:*":["publish","subscribe"]}'
    assert str(capability) == capability.to_json()
    assert list(capability) == ["alerts", "chat:*"]
    assert capability["chat:*"] == ("publish", "subscribe")
    assert capability.to_dict() == {"alerts": ["subscribe"], "chat:*": ["publish", "subscribe"]}


def test_non_ascii_is_left_as_is_like_ably_js() -> None:
    capability = Capability({"café:*": ["subscribe"]})
    assert capability.to_json() == '{"café:*":["subscribe"]}'


def test_array_index_names_come_first_numerically_as_javascript_lists_them() -> None:
    capability = Capability({"b": ["*"], "10": ["*"], "2": ["*"], "01": ["*"], "a": ["*"]})
    assert list(capability) == ["2", "10", "01", "a", "b"]


def test_a_duplicate_operation_is_refused_rather_than_tidied() -> None:
    with pytest.raises(InvalidCapabilityError, match="listed twice"):
        Capability({"a": ["publish", "publish"]})


def test_parse_reads_json_text_strictly() -> None:
    assert Capability.parse('{"a":["publish"]}') == Capability({"a": ["publish"]})
    with pytest.raises(InvalidCapabilityError, match="double quotes"):
        Capability.parse("{'a': ['publish']}")  # no single-quote guessing (ably-python does)
    with pytest.raises(InvalidCapabilityError, match="appears twice"):
        Capability.parse('{"a":["publish"],"a":["subscribe"]}')
    with pytest.raises(InvalidCapabilityError, match="object"):
        Capability.parse('["publish"]')
    with pytest.raises(CapabilityTypeError):
        Capability.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ({}, InvalidCapabilityError, "must grant something"),
        ({"a": []}, InvalidCapabilityError, "empty operation list"),
        ({"a": "publish"}, CapabilityTypeError, "such as ['publish']"),
        ({"a": ["pubish"]}, InvalidCapabilityError, "Did you mean 'publish'?"),
        ({"a": ["*", "publish"]}, InvalidCapabilityError, "list ['*'] alone"),
        ({"a": ("publish", "*")}, InvalidCapabilityError, "list ['*'] alone"),
        ({"a": iter(["*", "subscribe"])}, InvalidCapabilityError, "list ['*'] alone"),
        ({"a": ["presence-subscribe"]}, InvalidCapabilityError, "not an Ably operation"),
        ({"a": [1]}, CapabilityTypeError, "must be str"),
        ({1: ["publish"]}, CapabilityTypeError, "resource must be a str"),
        ({"": ["publish"]}, InvalidCapabilityError, "empty"),
        ({":a": ["publish"]}, InvalidCapabilityError, "starts with ':'"),
        ({"[foo]a": ["publish"]}, InvalidCapabilityError, "[queue]"),
        ({"[queue]": ["publish"]}, InvalidCapabilityError, "nothing after [queue]"),
        ({"a\nb": ["publish"]}, InvalidCapabilityError, "line break"),
        ({"a\ud800": ["publish"]}, InvalidCapabilityError, "surrogate"),
        (["a"], CapabilityTypeError, "mapping"),
        (42, CapabilityTypeError, "mapping"),
    ],
)
def test_invalid_capabilities_are_refused_with_a_reason(
    value: object, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as caught:
        Capability.coerce(value)  # type: ignore[arg-type]
    assert words in str(caught.value)
    # Ably's code for an invalid capability (ably-python restcapability_test.py).
    assert (caught.value.code, caught.value.status_code) == (40000, 400)  # type: ignore[attr-defined]


def test_star_alone_is_still_every_operation() -> None:
    assert Capability({"a": ["*"]}).to_json() == '{"a":["*"]}'
    with pytest.raises(InvalidCapabilityError):
        Capability.parse('{"a":["*","*"]}')


def test_unknown_operations_can_be_read_from_ably_but_never_sent() -> None:
    from_ably = Capability.parse('{"a":["future-op"]}', allow_unknown_operations=True)
    assert from_ably["a"] == ("future-op",)
    with pytest.raises(InvalidCapabilityError):
        Capability.parse('{"a":["future-op"]}')


def test_capabilities_are_immutable_values() -> None:
    capability = Capability({"a": ["publish"]})
    with pytest.raises(AttributeError):
        capability._text = "{}"
    assert pickle.loads(pickle.dumps(capability)) == capability
    assert hash(capability) == hash(Capability.parse('{"a":["publish"]}'))
    assert Capability.coerce(capability) is capability


def test_the_caller_s_dict_is_not_changed() -> None:
    grants = {"b": ["subscribe", "publish"], "a": ["publish"]}
    snapshot = json.dumps(grants)
    Capability(grants)
    assert json.dumps(grants) == snapshot


@given(capability_dicts)
def test_canonical_form_is_idempotent(grants: dict[str, list[str]]) -> None:
    once = Capability(grants)
    assert Capability.parse(once.to_json()).to_json() == once.to_json()
    assert Capability(once.to_dict()) == once


@given(capability_dicts, st.randoms(use_true_random=False))
def test_canonical_form_ignores_input_order(
    grants: dict[str, list[str]], rnd: random.Random
) -> None:
    items = list(grants.items())
    rnd.shuffle(items)
    shuffled = {resource: rnd.sample(ops, len(ops)) for resource, ops in items}
    assert Capability(shuffled).to_json() == Capability(grants).to_json()


@given(any_capability_dicts)
def test_canonical_text_is_byte_identical_to_ably_js(
    ably_js: AblyJs, grants: dict[str, list[str]]
) -> None:
    produced = ably_js.call(
        "createTokenRequest",
        key="appId.keyId:secret",
        tokenParams={"capability": grants, "timestamp": 1, "nonce": "0123456789abcdef"},
    )
    assert Capability(grants).to_json() == produced["capability"]


# --- allows() ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("*", "chat", True),
        ("*", "chat:lobby:x", True),
        ("*", "[queue]q", False),
        ("*", "[meta]m", False),
        ("chat:*", "chat:lobby", True),
        ("chat:*", "chat:lobby:x", True),
        ("chat:*", "chat", False),
        ("chat:*", "chatter:x", False),
        ("foo:*:baz", "foo:bar:baz", True),
        ("foo:*:baz", "foo:bar:bam:baz", False),
        ("foo*", "foo*", True),
        ("foo*", "foobar", False),
        ("[queue]*", "[queue]appid-q", True),
        ("[queue]*", "q", False),
        ("[meta]*", "[meta]log", True),
        ("[*]*", "[queue]q", True),
        ("[*]*", "[meta]m", True),
        ("[*]*", "anything:at:all", True),
        ("exact", "exact", True),
        ("exact", "exactly", False),
        # Chat docs, "Room-scoped capabilities": rooms are granted by room name, and the
        # room's channel is "{room}::$chat".
        ("my-chat-room", "my-chat-room::$chat", True),
        ("dms:*", "dms:alice-bob::$chat", True),
        ("*", "lobby::$chat", True),
        ("my-chat-room", "my-chat-room-2::$chat", False),
        ("dms:*", "dms::$chat", False),
        ("my-chat-room::$chat", "my-chat-room::$chat", False),
    ],
)
def test_resource_wildcards_match_as_ably_documents(
    pattern: str, name: str, expected: bool
) -> None:
    assert Capability({pattern: ["subscribe"]}).allows(name, "subscribe") is expected


def test_allows_checks_the_operation() -> None:
    capability = Capability({"chat:*": ["publish", "subscribe"], "user:42": ["*"]})
    assert capability.allows("chat:lobby", "publish")
    assert not capability.allows("chat:lobby", "presence")
    assert capability.allows("user:42", "presence")
    assert capability.allows("user:42", "*")
    assert not capability.allows("chat:lobby", "*")
    with pytest.raises(InvalidCapabilityError, match="Did you mean 'subscribe'"):
        capability.allows("chat:lobby", "subscibe")


def test_grants_on_overlapping_resources_add_up() -> None:
    capability = Capability({"*": ["subscribe"], "chat": ["publish"]})
    assert capability.allows("chat", "subscribe") and capability.allows("chat", "publish")


# --- intersection() ---------------------------------------------------------------


def test_intersection_follows_the_ably_docs_example() -> None:
    key = Capability(
        {
            "your-namespace:*": ["publish", "subscribe", "presence"],
            "notifications": ["subscribe", "history"],
            "alerts": ["subscribe"],
        }
    )
    requested = {
        "your-namespace:user-123": ["subscribe"],
        "notifications": ["*"],
        "private": ["publish", "subscribe"],
    }
    assert key.intersection(requested) == Capability(
        {"your-namespace:user-123": ["subscribe"], "notifications": ["subscribe", "history"]}
    )


def test_intersection_of_disjoint_capabilities_is_none() -> None:
    assert Capability({"your-namespace": ["*"]}).intersection({"other-namespace": ["*"]}) is None
    assert Capability({"a": ["publish"]}).intersection({"a": ["subscribe"]}) is None


@pytest.mark.parametrize(
    ("first", "second", "meet"),
    [
        ("chat:*", "*:lobby", "chat:lobby"),
        ("*", "chat:*", "chat:*"),
        ("a:*", "a:*:c", "a:*:c"),
        ("a:*:c", "a:b:*", "a:b:c"),
        ("[*]*", "[queue]q", "[queue]q"),
        ("[queue]*", "[queue]a:*", "[queue]a:*"),
    ],
)
def test_wildcards_meet_exactly(first: str, second: str, meet: str) -> None:
    result = Capability({first: ["*"]}).intersection({second: ["*"]})
    assert result == Capability({meet: ["*"]})


@pytest.mark.parametrize(("first", "second"), [("*", "[queue]*"), ("a:*", "a"), ("a:b", "a:c")])
def test_wildcards_that_share_nothing_meet_in_nothing(first: str, second: str) -> None:
    assert Capability({first: ["*"]}).intersection({second: ["*"]}) is None


@given(capability_dicts, capability_dicts, resource_names(), st.sampled_from(CONCRETE_OPERATIONS))
def test_allows_agrees_with_intersection(
    first: dict[str, list[str]], second: dict[str, list[str]], name: str, operation: str
) -> None:
    a, b = Capability(first), Capability(second)
    both = a.intersection(b)
    allowed_by_both = a.allows(name, operation) and b.allows(name, operation)
    assert (both is not None and both.allows(name, operation)) == allowed_by_both


@given(capability_dicts, capability_dicts)
def test_intersection_is_symmetric_and_never_widens(
    first: dict[str, list[str]], second: dict[str, list[str]]
) -> None:
    a, b = Capability(first), Capability(second)
    assert a.intersection(b) == b.intersection(a)
    assert (a.intersection(a) is not None) and all(
        a.allows(name, op) for name, op in _samples(a.intersection(a))
    )


def _samples(capability: Capability | None) -> list[tuple[str, str]]:
    """Concrete (resource, operation) pairs a capability grants."""
    if capability is None:
        return []
    pairs = []
    for pattern, operations in capability.items():
        name = pattern.replace("[*]*", "x").replace("*", "x")
        for operation in operations:
            pairs.append((name, CONCRETE_OPERATIONS[0] if operation == "*" else operation))
    return pairs
