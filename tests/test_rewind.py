"""The ``rewind`` channel param (and ``rewindLimit``), as Ably's docs describe it
(channels/options/rewind): an attachment that asks is sent the channel's earlier
messages, the latest first cut to 100, before live ones, within the channel's retention;
never an ephemeral one, a mutable message as its latest version, nothing to an
attachment that may not subscribe, and a bad value refused. Each drives real clients
(the ``ably`` package's ``AblyRealtime``, ably-js under Node) over real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from ably import AblyRealtime
from ably.sync.types.message import Message as SyncMessage
from ably.types.channeloptions import ChannelOptions
from ably.util.exceptions import AblyException

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .mutable_clients import rest
from .peers import js_options
from .realtime_peers import AblyJsRealtime

EVERYTHING = {"*": ["*"]}


@pytest.fixture(scope="module")
def emu() -> Iterator[AblyEmulator]:
    """An emulator whose app has the mutable-messages rule on the ``mutable`` namespace."""
    with AblyEmulator(mutable_messages=["mutable"]) as emulator:
        yield emulator


def jwt(emu: AblyEmulator, key: ApiKey, capability: dict[str, list[str]] = EVERYTHING) -> str:
    return mint_jwt(key, capability=capability, now=emu.now(), ttl=timedelta(hours=1))


def publish(emu: AblyEmulator, key: ApiKey, channel: str, *data: str, **extras: Any) -> None:
    """REST-publish one message named ``m`` per ``data``, one publish each."""
    with rest(emu, key, None, EVERYTHING) as client:
        for item in data:
            if extras:
                client.channels.get(channel).publish(SyncMessage("m", item, extras=extras))
            else:
                client.channels.get(channel).publish("m", item)


def rewound_python(
    emu: AblyEmulator, key: ApiKey, channel: str, params: dict[str, str], binary: bool
) -> list[str]:
    """What an ``ably`` package subscriber attached with ``params`` is sent, up to and
    including a message ``live`` published once it is attached."""

    async def scenario() -> list[str]:
        client = AblyRealtime(
            token=jwt(emu, key), use_binary_protocol=binary, **emu.client_options()
        )
        try:
            heard: list[str] = []
            live = asyncio.Event()

            def listener(message: Any) -> None:
                heard.append(message.data)
                if message.data == "live":
                    live.set()

            await client.channels.get(channel, ChannelOptions(params=params)).subscribe(listener)
            await asyncio.to_thread(publish, emu, key, channel, "live")
            await asyncio.wait_for(live.wait(), 10)
            return heard
        finally:
            await client.close()

    return asyncio.run(scenario())


def rewound_js(
    emu: AblyEmulator,
    key: ApiKey,
    channel: str,
    params: dict[str, str],
    marker: str = "live",
) -> tuple[dict[str, Any], list[str]]:
    """ably-js attached with ``params``: ATTACHED's state change (hasBacklog, reason) and
    what it is sent, up to and including a message ``marker`` published once attached."""
    peer = AblyJsRealtime()
    try:
        peer.call("connect", options=js_options(emu, token=jwt(emu, key)))
        change = peer.call("subscribeChange", channel=channel, options={"params": params})
        publish(emu, key, channel, marker)
        seen: list[str] = []
        while marker not in seen:
            seen = [m["data"] for m in peer.call("waitMessages", name="m", count=len(seen) + 1)]
        return change, seen
    finally:
        peer.close()


@BINARY
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"rewind": "2"}, ["c", "d"]),
        ({"rewind": "9"}, ["a", "b", "c", "d"]),
        ({"rewind": "0"}, []),
        ({}, []),
    ],
)
def test_rewind_n_sends_the_last_n_in_order_before_live(
    emu: AblyEmulator, emu_key: ApiKey, binary: bool, params: dict[str, str], expected: list[str]
) -> None:
    """Docs: "A rewind value that is a number, N, is a request to attach to the channel at
    a position N messages before the present position"; fewer when fewer exist, and
    nothing without the param."""
    channel = f"rewind-n-{binary}-{params.get('rewind')}"
    publish(emu, emu_key, channel, "a", "b", "c", "d")
    assert rewound_python(emu, emu_key, channel, params, binary) == [*expected, "live"]


def test_ably_js_sees_the_backlog_flag_and_the_messages(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """ably-js channel.test.js, rewind_has_backlog_0/_1 (RTL2i): hasBacklog is true only
    when there is something to rewind."""
    change, seen = rewound_js(emu, emu_key, "rewind-backlog-empty", {"rewind": "1"})
    assert change == {"hasBacklog": False, "reason": None}
    assert seen == ["live"]
    publish(emu, emu_key, "rewind-backlog", "x", "y")
    change, seen = rewound_js(emu, emu_key, "rewind-backlog", {"rewind": "1"})
    assert change == {"hasBacklog": True, "reason": None}
    assert seen == ["y", "live"]


def test_a_time_spec_sends_what_was_published_within_it(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs, "Retrieve messages from a period of time": ``10s``, ``1m``."""
    for spec in ("10s", "1m"):
        publish(emu, emu_key, f"rewind-time-{spec}", "old")
    emu.advance(timedelta(seconds=30))
    for spec in ("10s", "1m"):
        publish(emu, emu_key, f"rewind-time-{spec}", "new")
    assert rewound_python(emu, emu_key, "rewind-time-10s", {"rewind": "10s"}, False) == [
        "new",
        "live",
    ]
    assert rewound_python(emu, emu_key, "rewind-time-1m", {"rewind": "1m"}, False) == [
        "old",
        "new",
        "live",
    ]


def test_rewind_stops_at_the_channels_retention(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs, "Limits on rewind": "if you specify rewind=3m without persisted history
    enabled, you will only receive the last 2 minutes of messages"; a channel with the
    mutable-messages rule keeps its messages 24 hours (docs, updates-deletes)."""
    channels = ("rewind-retention-3m", "rewind-retention-5", "mutable:rewind-retention")
    for channel in channels:
        publish(emu, emu_key, channel, "earlier")
    emu.advance(timedelta(seconds=100))
    for channel in channels:
        publish(emu, emu_key, channel, "later")
    emu.advance(timedelta(seconds=30))  # earlier is 130 s old, later 30 s
    assert rewound_python(emu, emu_key, channels[0], {"rewind": "3m"}, False) == [
        "later",
        "live",
    ]
    assert rewound_python(emu, emu_key, channels[1], {"rewind": "5"}, False) == ["later", "live"]
    assert rewound_python(emu, emu_key, channels[2], {"rewind": "5"}, False) == [
        "earlier",
        "later",
        "live",
    ]


def test_rewind_limit_caps_the_count(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs, "Number of messages and period of time": ``rewind=5m&rewindLimit=10``."""
    channel = "rewind-limit"
    publish(emu, emu_key, channel, *"abcde")
    params = {"rewind": "1m", "rewindLimit": "2"}
    assert rewound_python(emu, emu_key, channel, params, False) == ["d", "e", "live"]


def test_at_most_100_are_sent_with_90004_in_attached(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs, "Limits on rewind": at most 100, the most recent, and "truncation of the
    message backlog is indicated as a non-fatal error in the attachment response"
    (ably-common errors/codes/90004.md: 404, "Unable to recover channel (message limit
    exceeded)")."""
    channel = "rewind-cap"
    with rest(emu, emu_key, None, EVERYTHING) as client:
        client.channels.get(channel).publish(
            messages=[SyncMessage("m", str(i)) for i in range(105)]
        )
    # Exactly 100 asked for: no error.
    change, seen = rewound_js(emu, emu_key, channel, {"rewind": "100"}, marker="first")
    assert change == {"hasBacklog": True, "reason": None}
    assert seen == [str(i) for i in range(5, 105)] + ["first"]
    # More: the latest 100 (first is one of them now), and 90004.
    change, seen = rewound_js(emu, emu_key, channel, {"rewind": "2m"})
    assert seen == [str(i) for i in range(6, 105)] + ["first", "live"]
    assert change["hasBacklog"] is True
    assert change["reason"]["code"] == 90004 and change["reason"]["statusCode"] == 404


@pytest.mark.parametrize(
    "params",
    [{"rewind": "abc"}, {"rewind": "-1"}, {"rewind": "10x"}, {"rewind": "1", "rewindLimit": "x"}],
)
def test_an_unparsable_value_fails_the_attach(
    emu: AblyEmulator, emu_key: ApiKey, params: dict[str, str]
) -> None:
    """Docs: "Any rewind value that cannot be parsed either as a number or a time
    specifier will cause the attachment request to fail and return an error" (40003,
    ably-common's invalid parameter value); the connection stays up."""

    async def scenario() -> tuple[int | None, str]:
        client = AblyRealtime(token=jwt(emu, emu_key), **emu.client_options())
        try:
            channel = client.channels.get("rewind-bad", ChannelOptions(params=params))
            with pytest.raises(AblyException) as refused:
                await channel.attach()
            await client.channels.get("rewind-other").attach()  # the connection is fine
            return refused.value.code, str(refused.value)
        finally:
            await client.close()

    code, message = asyncio.run(scenario())
    assert code == 40003
    assert "rewind" in message


def test_a_mutable_message_is_rewound_as_its_latest_version(
    emu: AblyEmulator, emu_key: ApiKey
) -> None:
    """ably-js updates-deletes.test.js, "Should append to a message over realtime": after
    an append, rewind=1 sends the whole message, a ``message.update`` with the append's
    version; a later append then reaches that attachment as a ``message.append``."""
    channel = "mutable:rewind-append"
    writer = AblyJsRealtime()
    reader = AblyJsRealtime()
    try:
        writer.call("connect", options=js_options(emu, token=jwt(emu, emu_key)))
        serial = writer.call("publishSerials", channel=channel, name="m", data="Hello")["serials"][
            0
        ]
        append = {"serial": serial, "data": " World"}
        result = writer.call(
            "changeMessage", channel=channel, method="appendMessage", message=append
        )
        reader.call("connect", options=js_options(emu, token=jwt(emu, emu_key)))
        reader.call("subscribeChange", channel=channel, options={"params": {"rewind": "1"}})
        update = reader.call("waitAction", serial=serial, action="message.update")
        assert update["data"] == "Hello World"
        assert update["version"]["serial"] == result["versionSerial"]
        more = {"serial": serial, "data": "!"}
        writer.call("changeMessage", channel=channel, method="appendMessage", message=more)
        assert reader.call("waitAction", serial=serial, action="message.append")["data"] == "!"
    finally:
        writer.close()
        reader.close()


def test_ephemeral_messages_are_never_rewound(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs, pub-sub/advanced "Ephemeral messages": never stored, so never rewound."""
    channel = "rewind-ephemeral"
    publish(emu, emu_key, channel, "kept")
    publish(emu, emu_key, channel, "fleeting", ephemeral=True)
    publish(emu, emu_key, channel, "kept")
    publish(emu, emu_key, channel, "fleeting", ephemeral=True)
    assert rewound_python(emu, emu_key, channel, {"rewind": "5"}, False) == [
        "kept",
        "kept",
        "live",
    ]


def test_an_attachment_that_may_not_subscribe_is_sent_none(
    emu: AblyEmulator, emu_key: ApiKey
) -> None:
    """As live messages: no rewind (no backlog) without the ``subscribe`` capability, nor
    without the subscribe mode; the same attach with both has it."""
    channel = "rewind-nosub"
    publish(emu, emu_key, channel, "secret")
    cases = [
        ({channel: ["publish", "presence"]}, {"rewind": "5"}, False),
        (EVERYTHING, {"rewind": "5", "modes": "publish,presence"}, False),
        (EVERYTHING, {"rewind": "5"}, True),
    ]
    for capability, params, backlog in cases:
        peer = AblyJsRealtime()
        try:
            peer.call("connect", options=js_options(emu, token=jwt(emu, emu_key, capability)))
            change = peer.call("attachChange", channel=channel, options={"params": params})
            assert change == {"state": "attached", "hasBacklog": backlog}, (capability, params)
        finally:
            peer.close()


def test_only_an_initial_attachment_is_rewound(emu: AblyEmulator, emu_key: ApiKey) -> None:
    """Docs: "Rewind only has an effect on an initial channel attachment": an ATTACH that
    resumes (with the channelSerial it was sent, RTL4c1, as ably-js re-attaches for new
    options, RTL16a) is sent no backlog; after a detach (which clears the channelSerial,
    RTL15b2) the next attach rewinds again (ably-js channel.test.js, "rewind works on
    channel after reattaching")."""
    channel = "rewind-reattach"
    publish(emu, emu_key, channel, "before")
    peer = AblyJsRealtime()
    try:
        peer.call("connect", options=js_options(emu, token=jwt(emu, emu_key)))
        change = peer.call("subscribeChange", channel=channel, options={"params": {"rewind": "1"}})
        assert change["hasBacklog"] is True
        assert peer.call("waitMessages", name="m", count=1)[0]["data"] == "before"
        assert peer.call("setOptions", channel=channel, options={"params": {"rewind": "2"}}) == (
            "attached"
        )
        publish(emu, emu_key, channel, "live")
        seen = [m["data"] for m in peer.call("waitMessages", name="m", count=2)]
        assert seen == ["before", "live"]  # nothing again on the re-attach
        assert peer.call("detach", channel=channel) == "detached"
        change = peer.call("attachChange", channel=channel, options={"params": {"rewind": "2"}})
        assert change == {"state": "attached", "hasBacklog": True}
        seen = [m["data"] for m in peer.call("waitMessages", name="m", count=4)]
        assert seen == ["before", "live", "before", "live"]
    finally:
        peer.close()
