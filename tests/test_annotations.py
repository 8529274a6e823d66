"""Message annotations in the emulator, as in Ably: publish, delete and get by the
message's serial over REST (RSAN1-3), with the capabilities annotation-publish and
annotation-subscribe, the channel's mutable-messages rule (93002), the clientId rules
(40012, 40161), and the summaries Ably keeps per type. Each test drives a real SDK over
real sockets: the ``ably`` package and ably-js under Node, JSON and msgpack."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from ably import AblyRealtime
from ably.sync.types.annotation import Annotation, AnnotationAction
from ably.types.annotation import Annotation as AsyncAnnotation
from ably.types.annotation import AnnotationAction as AsyncAnnotationAction
from ably.types.channelmode import ChannelMode
from ably.types.channeloptions import ChannelOptions
from ably.types.connectionstate import ConnectionState
from ably.types.message import MessageAction

from ably_authkit import AblyApiError, ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .mutable_clients import refusal, rest
from .peers import AblyJs, AblyJsError, js_options
from .realtime_peers import AblyJsRealtime

MEMBER = ["publish", "subscribe", "history"]
EVERY = [*MEMBER, "annotation-publish", "annotation-subscribe"]
REACTION = "reaction:distinct.v1"
_ids = itertools.count()


@pytest.fixture(scope="module")
def emu() -> Iterator[AblyEmulator]:
    """An emulator whose app has the mutable-messages rule on the ``mutable`` namespace."""
    with AblyEmulator(mutable_messages=["mutable"]) as emulator:
        yield emulator


def channel_name(prefix: str = "mutable") -> str:
    return f"{prefix}:annotated-{next(_ids)}"


def published(emu: AblyEmulator, key: ApiKey, channel: str, author: str = "author") -> str:
    """A message on ``channel``; its serial."""
    with rest(emu, key, author, {"*": MEMBER}) as client:
        return str(client.channels.get(channel).publish("greeting", "hello").serials[0])


# -- REST: publish, get, delete, summaries -------------------------------------------


@BINARY
def test_publish_get_and_delete_with_the_summary_on_the_message(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """RSAN1-3: annotations are kept oldest first with their serials (after the
    message's), a delete is kept as an annotation.delete, and the message then carries
    the summary in get-by-serial and in history (docs, messages/annotations)."""
    channel = channel_name()
    serial = published(emu, key, channel)
    with rest(emu, key, "alice", {"mutable:*": EVERY}, binary) as client:
        chan = client.channels.get(channel)
        chan.annotations.publish(serial, Annotation(type=REACTION, name="👍", data={"n": 1}))
        chan.annotations.publish(serial, Annotation(type=REACTION, name="😕"))
        chan.annotations.delete(serial, Annotation(type=REACTION, name="😕"))
        items = chan.annotations.get(serial).items
        assert [(a.action, a.name, a.client_id) for a in items] == [
            (AnnotationAction.ANNOTATION_CREATE, "👍", "alice"),
            (AnnotationAction.ANNOTATION_CREATE, "😕", "alice"),
            (AnnotationAction.ANNOTATION_DELETE, "😕", "alice"),
        ]
        assert items[0].data == {"n": 1} and items[0].type == REACTION
        assert all(a.message_serial == serial for a in items)
        assert serial < items[0].serial < items[1].serial < items[2].serial
        expected = {REACTION: {"👍": {"total": 1, "clientIds": ["alice"], "clipped": False}}}
        assert chan.get_message(serial).annotations.summary == expected
        assert chan.history().items[0].annotations.summary == expected
    assert emu.annotation_summary(channel, serial) == expected
    assert [a["name"] for a in emu.annotations(channel, serial)] == ["👍", "😕", "😕"]


def test_each_type_summarises_as_ably_documents(emu: AblyEmulator, key: ApiKey) -> None:
    """docs, messages/annotations "Annotation types": total counts annotations, flag each
    client once, distinct each client once a name, unique one name a client, multiple
    the counts a client gives a name (and unidentified clients' apart)."""
    channel = channel_name()
    serial = published(emu, key, channel)
    for who, kind, name, count, delete in [
        ("alice", "metrics:total.v1", None, None, False),
        ("alice", "metrics:total.v1", None, None, False),
        ("bob", "metrics:total.v1", None, None, True),
        ("alice", "receipts:flag.v1", "read", None, False),
        ("alice", "receipts:flag.v1", "read", None, False),
        ("bob", "receipts:flag.v1", "read", None, False),
        ("alice", "tags:distinct.v1", "a", None, False),
        ("bob", "tags:distinct.v1", "a", None, False),
        ("alice", "tags:distinct.v1", "b", None, False),
        ("alice", "tags:distinct.v1", "a", None, True),
        ("alice", "vote:unique.v1", "yes", None, False),
        ("bob", "vote:unique.v1", "yes", None, False),
        ("alice", "vote:unique.v1", "no", None, False),
        ("alice", "stars:multiple.v1", "s", 3, False),
        ("alice", "stars:multiple.v1", "s", None, False),
        ("bob", "stars:multiple.v1", "s", 2, False),
        ("bob", "stars:multiple.v1", "s", None, True),
        (None, "stars:multiple.v1", "s", 5, False),
    ]:
        with rest(emu, key, who, {"mutable:*": EVERY}) as client:
            annotations = client.channels.get(channel).annotations
            call = annotations.delete if delete else annotations.publish
            call(serial, Annotation(type=kind, name=name, count=count))
    assert emu.annotation_summary(channel, serial) == {
        "metrics:total.v1": {"total": 1},
        "receipts:flag.v1": {"total": 2, "clientIds": ["alice", "bob"], "clipped": False},
        "tags:distinct.v1": {
            "a": {"total": 1, "clientIds": ["bob"], "clipped": False},
            "b": {"total": 1, "clientIds": ["alice"], "clipped": False},
        },
        "vote:unique.v1": {
            "yes": {"total": 1, "clientIds": ["bob"], "clipped": False},
            "no": {"total": 1, "clientIds": ["alice"], "clipped": False},
        },
        "stars:multiple.v1": {
            "s": {
                "total": 9,
                "clientIds": {"alice": 4},
                "totalUnidentified": 5,
                "totalClientIds": 1,
                "clipped": False,
            }
        },
    }


# -- the capability matrix, the channel rule, the clientId rules ----------------------


@pytest.mark.parametrize("grant", [True, False], ids=["granted", "refused"])
@pytest.mark.parametrize("method", ["publish", "delete"])
def test_publish_and_delete_need_annotation_publish(
    emu: AblyEmulator, key: ApiKey, grant: bool, method: str
) -> None:
    """docs, auth/capabilities: annotation-publish "Can publish annotations"; a delete
    is a publish with the delete action (RSAN2a). Without it 40160/401, nothing kept."""
    channel = channel_name()
    serial = published(emu, key, channel)
    capability = [*MEMBER, "annotation-publish"] if grant else [*MEMBER, "annotation-subscribe"]
    with rest(emu, key, "alice", {"mutable:*": capability}) as client:
        annotations = client.channels.get(channel).annotations

        def attempt() -> Any:
            return getattr(annotations, method)(serial, Annotation(type=REACTION, name="x"))

        if grant:
            attempt()
            assert len(emu.annotations(channel, serial)) == 1
        else:
            assert refusal(attempt) == (40160, 401)
            assert emu.annotations(channel, serial) == []


@pytest.mark.parametrize("grant", [True, False], ids=["granted", "refused"])
def test_get_needs_annotation_subscribe(emu: AblyEmulator, key: ApiKey, grant: bool) -> None:
    channel = channel_name()
    serial = published(emu, key, channel)
    with rest(emu, key, "alice", {"mutable:*": EVERY}) as client:
        client.channels.get(channel).annotations.publish(
            serial, Annotation(type=REACTION, name="x")
        )
    capability = EVERY if grant else [*MEMBER, "annotation-publish"]
    with rest(emu, key, "alice", {"mutable:*": capability}) as client:
        annotations = client.channels.get(channel).annotations
        if grant:
            assert [a.name for a in annotations.get(serial).items] == ["x"]
        else:
            assert refusal(lambda: annotations.get(serial)) == (40160, 401)


def test_a_channel_without_the_rule_is_93002(emu: AblyEmulator, key: ApiKey) -> None:
    """ably-common errors/codes/93002.md: annotations need the channel's "Message
    annotations, updates, deletes, and appends" rule."""
    channel = channel_name("plain")
    serial = published(emu, key, channel)
    with rest(emu, key, "alice", {"*": EVERY}) as client:
        annotations = client.channels.get(channel).annotations
        publish = lambda: annotations.publish(serial, Annotation(type=REACTION, name="x"))  # noqa: E731
        assert refusal(publish) == (93002, 400)
        assert refusal(lambda: annotations.get(serial)) == (93002, 400)


def test_clientid_rules(emu: AblyEmulator, key: ApiKey) -> None:
    """As for messages, an annotation naming another clientId than the credential's is
    40012/400; flag, distinct and unique annotations need an identified client (docs,
    "Annotation types"; ably-common 40161: 40161/401), total and multiple do not; an
    unknown message serial is 40400/404."""
    channel = channel_name()
    serial = published(emu, key, channel)
    with rest(emu, key, "alice", {"mutable:*": EVERY}) as alice:
        annotations = alice.channels.get(channel).annotations
        as_bob = Annotation(type=REACTION, name="x", client_id="bob")
        assert refusal(lambda: annotations.publish(serial, as_bob)) == (40012, 400)
        unknown = Annotation(type=REACTION, name="x")
        assert refusal(lambda: annotations.publish("nope", unknown)) == (40400, 404)
    with rest(emu, key, None, {"mutable:*": EVERY}) as anonymous:
        annotations = anonymous.channels.get(channel).annotations
        for kind in ("r:flag.v1", "r:distinct.v1", "r:unique.v1"):
            attempt = Annotation(type=kind, name="x")
            assert refusal(lambda a=attempt: annotations.publish(serial, a)) == (40161, 401)
        annotations.publish(serial, Annotation(type="r:total.v1"))
        annotations.publish(serial, Annotation(type="r:multiple.v1", name="x", count=2))
    assert [(a["type"], a.get("clientId")) for a in emu.annotations(channel, serial)] == [
        ("r:total.v1", None),
        ("r:multiple.v1", None),
    ]
    with pytest.raises(AblyApiError) as missing:
        emu.annotation_summary(channel, "nope")
    assert missing.value.code == 40400


# -- ably-js REST ----------------------------------------------------------------------


@BINARY
def test_ably_js_rest_publishes_pages_and_is_refused(
    ably_js: AblyJs, emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """The flow of ably-js's test/realtime/annotations.test.js ("get all annotations"):
    six reactions read back oldest first, and two at a time in three pages; ably-js's
    publish without annotation-publish is refused with 40160."""
    channel = channel_name()
    serial = published(emu, key, channel)
    client = f"annotations-{binary}"
    jwt = mint_jwt(key, capability={"mutable:*": EVERY}, client_id="alice", now=emu.now())
    ably_js.call(
        "restCreate", id=client, options=js_options(emu, token=jwt, useBinaryProtocol=binary)
    )
    try:
        names = ["👍", "😕", "👎", "👍👍", "😕😕", "👎👎"]
        for name in names:
            ably_js.call(
                "restAnnotate",
                id=client,
                channel=channel,
                method="publish",
                serial=serial,
                annotation={"type": REACTION, "name": name},
            )
        (whole,) = ably_js.call("restAnnotationPages", id=client, channel=channel, serial=serial)
        assert [a["name"] for a in whole["items"]] == names
        first = whole["items"][0]
        assert (first["action"], first["messageSerial"], first["clientId"]) == (
            "annotation.create",
            serial,
            "alice",
        )
        pages = ably_js.call(
            "restAnnotationPages", id=client, channel=channel, serial=serial, params={"limit": 2}
        )
        assert [[a["name"] for a in page["items"]] for page in pages] == [
            names[0:2],
            names[2:4],
            names[4:6],
        ]
        assert [page["hasNext"] for page in pages] == [True, True, False]
        summary = ably_js.call("restMessageSummary", id=client, channel=channel, serial=serial)
        assert summary["action"] == "message.create"
        assert summary["summary"][REACTION]["👍👍"] == {
            "total": 1,
            "clientIds": ["alice"],
            "clipped": False,
        }
    finally:
        ably_js.call("restClose", id=client)
    refused_client = f"annotations-refused-{binary}"
    jwt = mint_jwt(key, capability={"mutable:*": MEMBER}, client_id="alice", now=emu.now())
    ably_js.call(
        "restCreate",
        id=refused_client,
        options=js_options(emu, token=jwt, useBinaryProtocol=binary),
    )
    try:
        with pytest.raises(AblyJsError) as refused:
            ably_js.call(
                "restAnnotate",
                id=refused_client,
                channel=channel,
                method="delete",
                serial=serial,
                annotation={"type": REACTION, "name": "👍"},
            )
        assert (refused.value.code, refused.value.status_code) == (40160, 401)
        with pytest.raises(AblyJsError) as unreadable:
            ably_js.call("restAnnotationPages", id=refused_client, channel=channel, serial=serial)
        assert (unreadable.value.code, unreadable.value.status_code) == (40160, 401)
    finally:
        ably_js.call("restClose", id=refused_client)


# -- realtime ------------------------------------------------------------------------

ALL_MODES = ["publish", "subscribe", "annotation_publish", "annotation_subscribe"]


@BINARY
def test_ably_js_realtime_publishes_subscribes_and_gets_summaries(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime, binary: bool
) -> None:
    """The flow of ably-js's test/realtime/annotations.test.js ("publish and subscribe
    annotations"): an ANNOTATION published over the connection (RTAN1c) is ACKed and
    comes back to the annotation_subscribe channel (RTAN4b) with a serial after the
    message's, then the message.summary with the message's serial; one published over
    REST arrives too; a delete arrives as annotation.delete and empties the summary."""
    channel = channel_name()
    jwt = mint_jwt(key, capability={"mutable:*": EVERY}, client_id="alice", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt, useBinaryProtocol=binary))
    attached = realtime_js.call("attachWith", channel=channel, options={"modes": ALL_MODES})
    assert sorted(attached["modes"]) == sorted(ALL_MODES)
    realtime_js.call("subscribe", channel=channel)
    realtime_js.call("subscribeAnnotations", channel=channel)
    serial = realtime_js.call("publishSerials", channel=channel, name="message", data="foobar")[
        "serials"
    ][0]
    like = {"type": REACTION, "name": "👍"}
    realtime_js.call("annotate", channel=channel, method="publish", serial=serial, annotation=like)
    annotation = realtime_js.call("waitAnnotation", name="👍")
    assert (annotation["action"], annotation["type"], annotation["clientId"]) == (
        "annotation.create",
        REACTION,
        "alice",
    )
    assert annotation["messageSerial"] == serial and annotation["serial"] > serial
    realtime_js.call("waitAction", serial=serial, action="message.summary")
    (summary,) = realtime_js.call("summaries", serial=serial)
    assert summary["summary"] == {
        REACTION: {"👍": {"total": 1, "clientIds": ["alice"], "clipped": False}}
    }
    with rest(emu, key, "bob", {"mutable:*": EVERY}, binary) as bob:
        bob.channels.get(channel).annotations.publish(serial, Annotation(type=REACTION, name="😕"))
    assert realtime_js.call("waitAnnotation", name="😕")["clientId"] == "bob"
    realtime_js.call("annotate", channel=channel, method="delete", serial=serial, annotation=like)
    deleted = realtime_js.call("waitAnnotation", name="👍", action="annotation.delete")
    assert deleted["clientId"] == "alice"
    assert emu.annotation_summary(channel, serial) == {
        REACTION: {"😕": {"total": 1, "clientIds": ["bob"], "clipped": False}}
    }


def test_ably_js_realtime_without_annotation_subscribe_gets_summaries_only(
    emu: AblyEmulator, key: ApiKey, realtime_js: AblyJsRealtime
) -> None:
    """The annotation_subscribe mode is granted only with the annotation-subscribe
    capability, so ably-js's annotations.subscribe() refuses (93001, RTAN4e) and no
    ANNOTATION is sent; the summary still comes to a message subscriber ("The
    annotation-subscribe capability is ... not required to receive summaries", docs,
    chat message-reactions)."""
    channel = channel_name()
    grant = {"mutable:*": [*MEMBER, "annotation-publish"]}
    jwt = mint_jwt(key, capability=grant, client_id="alice", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    attached = realtime_js.call("attachWith", channel=channel, options={"modes": ALL_MODES})
    assert "annotation_subscribe" not in attached["modes"]
    realtime_js.call("subscribe", channel=channel)
    with pytest.raises(AblyJsError) as unsubscribable:
        realtime_js.call("subscribeAnnotations", channel=channel)
    assert unsubscribable.value.code == 93001
    serial = realtime_js.call("publishSerials", channel=channel, name="m", data="x")["serials"][0]
    like = {"type": REACTION, "name": "👍"}
    realtime_js.call("annotate", channel=channel, method="publish", serial=serial, annotation=like)
    realtime_js.call("waitAction", serial=serial, action="message.summary")
    assert realtime_js.call("annotationsSeen") == []
    assert len(emu.annotations(channel, serial)) == 1


@pytest.mark.parametrize(
    ("grant", "modes", "prefix", "client_id", "expected"),
    [
        ([*MEMBER, "annotation-subscribe"], ALL_MODES, "mutable", None, (40160, 401)),
        (EVERY, ["publish", "subscribe"], "mutable", None, (40165, 401)),
        (EVERY, ALL_MODES, "plain", None, (93002, 400)),
        (EVERY, ALL_MODES, "mutable", "mallory", (40012, 400)),
    ],
    ids=["no-annotation-publish", "no-annotation_publish-mode", "no-rule", "other-clientid"],
)
def test_ably_js_realtime_publish_is_nacked(
    emu: AblyEmulator,
    key: ApiKey,
    realtime_js: AblyJsRealtime,
    grant: list[str],
    modes: list[str],
    prefix: str,
    client_id: str | None,
    expected: tuple[int, int],
) -> None:
    """RTAN1d: a refused ANNOTATION is NACKed with Ably's code: the capability (40160),
    the channel mode not asked for (40165, ably-common errors/codes/40165.md), the rule
    (93002), another clientId (40012); nothing is kept."""
    channel = channel_name(prefix)
    serial = published(emu, key, channel)
    jwt = mint_jwt(key, capability={"*": grant}, client_id="alice", now=emu.now())
    realtime_js.call("connect", options=js_options(emu, token=jwt))
    realtime_js.call("attachWith", channel=channel, options={"modes": modes})
    annotation: dict[str, Any] = {"type": REACTION, "name": "👍"}
    if client_id is not None:
        annotation["clientId"] = client_id
    with pytest.raises(AblyJsError) as refused:
        realtime_js.call(
            "annotate", channel=channel, method="publish", serial=serial, annotation=annotation
        )
    assert (refused.value.code, refused.value.status_code) == expected
    assert emu.annotations(channel, serial) == []
    assert realtime_js.call("state")["state"] == "connected"


@BINARY
def test_the_ably_package_realtime_annotations_and_summary(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """The flow of ably-python's test/ably/realtime/realtimeannotations_test.py: the
    annotation comes back, then the summary reaches a subscriber of the message's name
    (subscribed after publish() returned), with the summary by type."""
    channel = channel_name()

    async def scenario() -> tuple[Any, Any]:
        jwt = mint_jwt(key, capability={"mutable:*": EVERY}, client_id="alice", now=emu.now())
        client = AblyRealtime(token=jwt, use_binary_protocol=binary, **emu.client_options())
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            modes = [
                ChannelMode.PUBLISH,
                ChannelMode.SUBSCRIBE,
                ChannelMode.ANNOTATION_PUBLISH,
                ChannelMode.ANNOTATION_SUBSCRIBE,
            ]
            chan = client.channels.get(channel, ChannelOptions(modes=modes))
            await chan.attach()
            loop = asyncio.get_running_loop()
            annotated: asyncio.Future[Any] = loop.create_future()
            summarized: asyncio.Future[Any] = loop.create_future()

            def on_annotation(annotation: Any) -> None:
                if not annotated.done():
                    annotated.set_result(annotation)

            def on_message(message: Any) -> None:
                if not summarized.done():
                    summarized.set_result(message)

            await chan.annotations.subscribe(on_annotation)
            serial = (await chan.publish("message", "foobar")).serials[0]
            # As the suite does: subscribed once publish() returns, the next message is
            # the summary, since the publisher's echo came before its ACK.
            await chan.subscribe("message", on_message)
            await chan.annotations.publish(serial, AsyncAnnotation(type=REACTION, name="👍"))
            annotation = await asyncio.wait_for(annotated, 10)
            summary = await asyncio.wait_for(summarized, 10)
            assert summary.action == MessageAction.MESSAGE_SUMMARY
            assert annotation.message_serial == summary.serial == serial
            assert annotation.serial > serial
            return annotation.action, summary.annotations.summary
        finally:
            await client.close()

    action, summary = asyncio.run(scenario())
    assert action == AsyncAnnotationAction.ANNOTATION_CREATE
    assert summary == {REACTION: {"👍": {"total": 1, "clientIds": ["alice"], "clipped": False}}}
