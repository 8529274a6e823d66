"""Channels in the emulator as in Ably, where ably-python's own suite checks them against
the sandbox: history's ``start``/``end`` and pages (RSL2b, TG4), idempotent publishing
(RSL1k), ATTACHED's channel params (RTL4k1), ``connectionKey`` (TM2h), ``_forceNack``, and
a channel belonging to its app. Each drives the ``ably`` package's own clients over real
sockets; the ably-python test each follows is named in its docstring."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.types.message import Message as SyncMessage
from ably.sync.util.exceptions import AblyException
from ably.types.channeloptions import ChannelOptions
from ably.types.connectionstate import ConnectionState
from ably.types.message import Message
from ably.util.exceptions import AblyException as AsyncAblyException

from ably_authkit import ApiKey, mint_jwt, request_token
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .mutable_clients import rest
from .peers import AblyJs, AblyJsError, js_options
from .realtime_peers import AblyJsRealtime

EVERYTHING = {"*": ["*"]}


def token(key: ApiKey, emu: AblyEmulator) -> str:
    return mint_jwt(key, capability=EVERYTHING, now=emu.now(), ttl=timedelta(hours=1))


def names(page: Any) -> list[str]:
    return [message.name for message in page.items]


# -- history -------------------------------------------------------------------------------


@BINARY
def test_history_keeps_to_start_and_end_in_either_direction(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    """restchannelhistory_test.py, test_channel_history_time_forwards/backwards: the
    messages timestamped from ``start`` to ``end``, both inclusive (RSL2b1)."""
    emu = ably_emulator
    with rest(emu, emu.create_key(), None, EVERYTHING, binary) as client:
        channel = client.channels.get("persisted:times")
        for index in range(9):
            if index in (3, 6):
                emu.advance(timedelta(seconds=1))
                if index == 3:
                    start = emu.now()
                else:
                    end = emu.now() - timedelta(milliseconds=1)
            channel.publish(f"m{index}", str(index))
        forwards = channel.history(direction="forwards", start=start, end=end)
        assert names(forwards) == ["m3", "m4", "m5"]
        backwards = channel.history(direction="backwards", start=start, end=end)
        assert names(backwards) == ["m5", "m4", "m3"]
        assert names(channel.history(start=end + timedelta(milliseconds=1))) == [
            "m8",
            "m7",
            "m6",
        ]


@BINARY
@pytest.mark.parametrize("direction", ["forwards", "backwards"])
def test_history_comes_in_pages_that_continue_where_the_last_ended(
    ably_emulator: AblyEmulator, binary: bool, direction: str
) -> None:
    """restchannelhistory_test.py, test_channel_history_paginate_forwards/backwards and
    _first: ``next()`` continues exactly after a page, ``first()`` starts again, the last
    page has no next (TG4, TG6)."""
    emu = ably_emulator
    with rest(emu, emu.create_key(), None, EVERYTHING, binary) as client:
        channel = client.channels.get("persisted:pages")
        channel.publish(messages=[SyncMessage(f"m{index:02}", str(index)) for index in range(25)])
        for index in range(25, 30):  # several publishes in one millisecond keep their order
            channel.publish(f"m{index:02}", str(index))
        expected = [f"m{index:02}" for index in range(30)]
        if direction == "backwards":
            expected.reverse()
        page = channel.history(direction=direction, limit=12)
        seen = names(page)
        assert seen == expected[:12]
        assert page.has_next() and not page.is_last()
        page = page.next()
        seen += names(page)
        assert names(page) == expected[12:24]
        emu.advance(timedelta(milliseconds=1))  # after the first page's end, not at it
        channel.publish("late", "published after the first page")
        page = page.next()
        assert names(page) == expected[24:]
        assert page.is_last() and page.next() is None
        assert names(page.first()) == expected[:12]


@pytest.mark.parametrize("direction", ["forwards", "backwards"])
def test_ably_js_pages_through_history_with_the_same_links(
    ably_emulator: AblyEmulator, ably_js: AblyJs, direction: str
) -> None:
    """ably-js's PaginatedResult reads the same Link headers (paginatedresource.ts)."""
    emu = ably_emulator
    key = emu.create_key()
    with rest(emu, key, None, EVERYTHING) as client:
        channel = client.channels.get("persisted:js")
        channel.publish(messages=[SyncMessage(f"m{index:02}", str(index)) for index in range(7)])
    expected = [f"m{index:02}" for index in range(7)]
    if direction == "backwards":
        expected.reverse()
    ably_js.call(
        "restCreate",
        id="pages",
        options={
            "token": token(key, emu),
            "endpoint": emu.host,
            "port": emu.port,
            "tls": False,
            "fallbackHosts": [],
        },
    )
    try:
        answer = ably_js.call(
            "restHistoryPages",
            id="pages",
            channel="persisted:js",
            params={"direction": direction, "limit": 3},
        )
    finally:
        ably_js.call("restClose", id="pages")
    assert answer["pages"] == [expected[:3], expected[3:6], expected[6:]]
    assert answer["first"] == expected[:3]


def test_history_refuses_bad_times_with_40003(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key()
    headers = {"Authorization": f"Bearer {token(key, emu)}"}
    url = f"{emu.url}/channels/persisted:bad/messages"
    for query in ("start=soon", "end=-1", "start=20&end=10", "direction=sideways", "cursor=x"):
        answer = httpx.get(f"{url}?{query}", headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40003), query


def test_a_channel_belongs_to_its_app(ably_emulator: AblyEmulator) -> None:
    """Two apps' channels of one name are two channels, in history and in delivery."""
    emu = ably_emulator
    mine = emu.create_app()["keys"][0]["apiKey"]
    theirs = emu.create_app()["keys"][0]["apiKey"]

    async def scenario() -> list[str]:
        heard: list[str] = []
        listener = AblyRealtime(token=token(theirs, emu), **emu.client_options())
        try:
            channel = listener.channels.get("chat:shared")
            await channel.subscribe(lambda message: heard.append(message.name))
            with rest(emu, mine, None, EVERYTHING) as client:
                client.channels.get("chat:shared").publish("mine", "1")
            with rest(emu, theirs, None, EVERYTHING) as client:
                client.channels.get("chat:shared").publish("theirs", "2")
                assert names(client.channels.get("chat:shared").history()) == ["theirs"]
            for _ in range(500):
                if heard:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # time for a wrongly delivered "mine" to arrive too
            return heard
        finally:
            await listener.close()

    assert asyncio.run(scenario()) == ["theirs"]
    with rest(emu, mine, None, EVERYTHING) as client:
        assert names(client.channels.get("chat:shared").history()) == ["mine"]
    assert [m["name"] for m in emu.published("chat:shared")] == ["mine", "theirs"]
    assert [m["name"] for m in emu.published("chat:shared", app_id=theirs.app_id)] == ["theirs"]


# -- idempotent publishing -----------------------------------------------------------------


@BINARY
def test_a_repeated_message_id_is_published_once(ably_emulator: AblyEmulator, binary: bool) -> None:
    """restchannelpublish_test.py, test_idempotent_client_supplied_publish (RSL1k5): the
    same id three times is one message, each publish acknowledged; after the 2-minute
    window (docs, pub-sub/advanced) the id counts as new."""
    emu = ably_emulator
    with rest(emu, emu.create_key(), None, EVERYTHING, binary) as client:
        channel = client.channels.get("persisted:once")
        for _ in range(3):
            channel.publish(messages=[SyncMessage("name1", "data1", id="foobar")])
        assert [(m.id, m.data) for m in channel.history().items] == [("foobar", "data1")]
        # An array shares one key, its base id; a retry of it is one publish too.
        batch = [SyncMessage(f"b{index}", str(index), id=f"batch:{index}") for index in range(3)]
        channel.publish(messages=batch)
        channel.publish(messages=batch)
        assert names(channel.history(direction="forwards")) == ["name1", "b0", "b1", "b2"]
        # Ids that only look alike are different messages.
        channel.publish(messages=[SyncMessage("o1", "x", id="order:1")])
        channel.publish(messages=[SyncMessage("o2", "x", id="order:2")])
        assert names(channel.history(limit=2)) == ["o2", "o1"]
        emu.advance(timedelta(minutes=2, seconds=1))
        channel.publish(messages=[SyncMessage("name1", "again", id="foobar")])
        assert [m.data for m in channel.history(limit=1).items] == ["again"]


def test_a_library_generated_id_makes_the_retry_harmless(ably_emulator: AblyEmulator) -> None:
    """restchannelpublish_test.py, test_idempotent_library_generated_retry (RSL1k4): the
    library sends one id for a publish and its retries."""
    emu = ably_emulator
    key = emu.create_key()
    with rest(emu, key, None, EVERYTHING) as client:
        body = client.channels.get("persisted:retry")
        sent = {"id": "6cGfzuYY9AThbJ:0", "name": "n", "data": "d"}  # what RSL1k1 makes
        url = f"{emu.url}/channels/persisted:retry/messages"
        headers = {"Authorization": f"Bearer {token(key, emu)}"}
        answers = [httpx.post(url, json=sent, headers=headers) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [201, 201, 201]
        assert {answer.json()["messageId"] for answer in answers} == {sent["id"]}
        assert [m.id for m in body.history().items] == [sent["id"]]


def test_ids_of_an_array_share_one_base_or_get_40031(ably_emulator: AblyEmulator) -> None:
    """docs, pub-sub/advanced "ID format requirements"; ably-common 40031."""
    emu = ably_emulator
    with rest(emu, emu.create_key(), None, EVERYTHING) as client:
        channel = client.channels.get("persisted:ids")
        for ids in (["foo", "bar"], ["foo:0", "bar:1"], ["foo:1", "foo:0"], ["foo:0", None]):
            batch = [SyncMessage("m", str(index), id=ident) for index, ident in enumerate(ids)]
            with pytest.raises(AblyException) as refused:
                channel.publish(messages=batch)
            assert (refused.value.code, refused.value.status_code) == (40031, 400), ids
        assert channel.history().items == []


@BINARY
def test_a_realtime_message_repeating_an_id_is_acknowledged_and_not_delivered_again(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    """realtimechannel_publish_test.py, test_idempotent_realtime_publishing: two publishes
    with one id and one with another; subscribers get two messages."""
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> list[Any]:
        client = AblyRealtime(
            token=token(key, emu), use_binary_protocol=binary, **emu.client_options()
        )
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            channel = client.channels.get("chat:idempotent")
            heard: list[Any] = []
            done = asyncio.Event()

            def on_message(message: Any) -> None:
                heard.append(message.data)
                if message.id == "other-id":
                    done.set()

            await channel.subscribe(on_message)
            await channel.publish(Message(name="e", data="first", id="same-id"))
            await channel.publish(Message(name="e", data="second", id="same-id"))
            await channel.publish(Message(name="e", data="third", id="other-id"))
            await asyncio.wait_for(done.wait(), 10)
            return heard
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["first", "third"]
    assert [m["data"] for m in emu.published("chat:idempotent")] == ["first", "third"]


# -- channel params, connectionKey, _forceNack --------------------------------------------


@BINARY
def test_attached_echoes_the_channel_params_ably_recognises(
    ably_emulator: AblyEmulator, binary: bool
) -> None:
    """realtimechannel_test.py, test_channel_params_*: ATTACHED carries the recognised
    params (RTL4k1), unknown ones dropped."""
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> list[dict[str, str]]:
        client = AblyRealtime(
            token=token(key, emu), use_binary_protocol=binary, **emu.client_options()
        )
        try:
            seen = []
            for name, params in (
                ("chat:rewind", {"rewind": "1", "foo": "bar"}),
                ("chat:delta", {"delta": "vcdiff"}),
                ("chat:plain", {}),
            ):
                channel = client.channels.get(name, ChannelOptions(params=params))
                await channel.attach()
                seen.append(dict(channel.params or {}))
            return seen
        finally:
            await client.close()

    assert asyncio.run(scenario()) == [{"rewind": "1"}, {"delta": "vcdiff"}, {}]


def test_a_connection_key_must_name_a_live_connection(ably_emulator: AblyEmulator) -> None:
    """restchannelpublish_test.py, test_invalid_connection_key (TM2h): 400 with 40006;
    a live connection's key is accepted, and the message is that connection's."""
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> tuple[str, str]:
        client = AblyRealtime(token=token(key, emu), **emu.client_options())
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            manager = client.connection.connection_manager
            assert manager.connection_details is not None
            live_key, live_id = manager.connection_details.connection_key, manager.connection_id
            assert live_key and live_id
            with rest(emu, key, None, EVERYTHING) as publisher:
                channel = publisher.channels.get("chat:behalf")
                with pytest.raises(AblyException) as refused:
                    channel.publish(messages=[SyncMessage(data="x", connection_key="wrong.key")])
                assert (refused.value.code, refused.value.status_code) == (40006, 400)
                channel.publish(messages=[SyncMessage(data="y", connection_key=live_key)])
                stored = channel.history().items
            assert [m.data for m in stored] == ["y"]
            return stored[0].connection_id, live_id
        finally:
            await client.close()

    on_behalf_of, connection = asyncio.run(scenario())
    assert on_behalf_of == connection
    assert "connectionKey" not in emu.published("chat:behalf")[0]


def test_force_nack_refuses_the_publish_with_40099(ably_emulator: AblyEmulator) -> None:
    """restchannelpublish_test.py, test_publish_params: ``_forceNack=true``, the sandbox's
    test switch, gets 400 with 40099 (ably-common: reserved for testing)."""
    emu = ably_emulator
    with rest(emu, emu.create_key(), None, EVERYTHING) as client:
        channel = client.channels.get("chat:nack")
        with pytest.raises(AblyException) as refused:
            channel.publish(SyncMessage("n", "d"), {"_forceNack": "true"})
        assert (refused.value.code, refused.value.status_code) == (40099, 400)
        assert channel.history().items == []


# -- what ably-js's own suite expects of attach, clientId and the REST routes ---------------


def test_attach_modes_and_params_as_ably_js_expects(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """ably-js test/realtime/channel.test.js: the default modes of a key that may do
    everything (attachWithInvalidChannelParams), ``params.modes`` winning over ``modes``
    and echoed (attachWithChannelParamsModesAndChannelModes, ...BasicChannelsGet), and a
    publish refused on a channel attached without ``publish`` (checkCantPublish)."""
    emu = ably_emulator
    key = emu.create_key()
    realtime_js.call(
        "connect", options=js_options(emu, useBinaryProtocol=False, token=token(key, emu))
    )
    plain = realtime_js.call("attachWith", channel="chat:plain")
    assert plain["modes"] == [
        "presence",
        "publish",
        "subscribe",
        "presence_subscribe",
        "annotation_publish",
    ]
    assert plain["params"] == {}
    params = {"modes": "subscribe", "delta": "vcdiff"}
    only = realtime_js.call(
        "attachWith",
        channel="chat:subscribe-only",
        options={"params": params, "modes": ["publish", "presence_subscribe"]},
    )
    assert (only["modes"], only["params"]) == (["subscribe"], params)
    with pytest.raises(AblyJsError) as refused:
        realtime_js.call("publish", channel="chat:subscribe-only", name="n", data="d")
    assert (refused.value.code, refused.value.status_code) == (40160, 401)
    assert emu.published("chat:subscribe-only") == []


def test_an_empty_channel_name_fails_that_channel_only(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """ably-js test/realtime/channel.test.js, channelattachempty: the attach fails
    (40010) and the connection stays up."""
    emu = ably_emulator
    key = emu.create_key()
    realtime_js.call(
        "connect", options=js_options(emu, useBinaryProtocol=False, token=token(key, emu))
    )
    with pytest.raises(AblyJsError) as refused:
        realtime_js.call("attach", channel="")
    assert refused.value.code == 40010
    assert realtime_js.call("attach", channel="chat:after") == "attached"
    assert realtime_js.call("state")["state"] == "connected"


def test_a_wildcard_token_connects_as_the_wildcard(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    """ably-js test/realtime/init.test.js, init_usetokenauth_defaulttokenparams_wildcard:
    CONNECTED's ``connectionDetails.clientId`` is ``"*"`` (RSA7b4, CD2a), and the
    connection may publish as any client."""
    emu = ably_emulator
    key = emu.create_key()
    wildcard = mint_jwt(key, capability=EVERYTHING, client_id="*", now=emu.now())
    connected = realtime_js.call(
        "connect", options=js_options(emu, useBinaryProtocol=False, token=wildcard)
    )
    assert connected["clientId"] == "*"
    assert emu.connections[0].client_id == "*"
    realtime_js.call("publish", channel="chat:any", name="n", data="d")
    assert emu.published("chat:any")[0].get("clientId") is None

    async def as_bob() -> None:  # the `ably` package's client, naming a client
        client = AblyRealtime(token=wildcard, **emu.client_options())
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            await client.channels.get("chat:any").publish(Message("m", "d", client_id="bob"))
        finally:
            await client.close()

    asyncio.run(as_bob())
    assert emu.published("chat:any")[1]["clientId"] == "bob"


def test_a_route_asked_with_another_method_is_not_found(ably_emulator: AblyEmulator) -> None:
    """ably-js test/rest/request.test.js, request_404: ``GET`` on requestToken is
    404 with 40400."""
    emu = ably_emulator
    key = emu.create_key()
    answer = httpx.get(f"{emu.url}/keys/{key.name}/requestToken")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, 40400)
    assert answer.headers["X-Ably-ErrorCode"] == "40400"


def test_stats_take_interval_ids(ably_emulator: AblyEmulator) -> None:
    """ably-js test/rest/stats.test.js (appstats_minute0 ...): ``start``/``end`` as
    interval ids; anything else is 40003."""
    emu = ably_emulator
    key = emu.create_key()
    headers = {"Authorization": f"Bearer {token(key, emu)}"}
    for start, end in (("2025-02-03:15:03", "2025-02-03:15:05"), ("2025-02-03", "2025-02")):
        answer = httpx.get(f"{emu.url}/stats", params={"start": start, "end": end}, headers=headers)
        assert (answer.status_code, answer.json()) == (200, []), answer.text
    for bad in ("2025-2-3", "2025-02-03T15:03", "yesterday"):
        answer = httpx.get(f"{emu.url}/stats", params={"start": bad}, headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (400, 40003), bad


def embedded_token_jwt(inner: str, *, exp: int, where: str = "header") -> str:
    """An app's own JWT (HS256 with a secret Ably does not hold, no ``kid``) carrying an
    Ably token, as ably-js's echo server makes them (``createJWT?...&jwtType=embedded``)."""
    import jwt

    extra = {"x-ably-token": inner}
    return jwt.encode(
        {"exp": exp, **(extra if where == "claims" else {})},
        "the-apps-own-secret-of-32-bytes!",
        algorithm="HS256",
        headers=extra if where == "header" else None,
    )


@pytest.mark.parametrize("where", ["header", "claims"])
def test_an_embedded_token_jwt_authenticates_as_its_token(
    ably_emulator: AblyEmulator, where: str
) -> None:
    """docs, auth/token "Embedded Token JWT"; ably-js test/rest/auth.test.js, "Rest
    embedded JWT": ``stats()`` succeeds with it; its exp may not outlive the token."""
    emu = ably_emulator
    key = emu.create_key()
    inner = request_token(key, endpoint=emu.url, client_id="alice")
    now = int(emu.now().timestamp())
    inside = int(inner.expires.timestamp())
    good = embedded_token_jwt(inner.token, exp=now + 600, where=where)
    with AblyRestSync(token=good, **emu.client_options()) as client:
        assert client.stats().items == []
        client.channels.get("chat:embedded").publish("n", "d")
    assert emu.published("chat:embedded")[0]["clientId"] == "alice"
    headers = {}
    for outer, code in ((inside + 60, 40144), (now - 1, 40142)):
        bad = embedded_token_jwt(inner.token, exp=outer, where=where)
        headers["Authorization"] = "Bearer " + base64.b64encode(bad.encode()).decode()
        answer = httpx.get(f"{emu.url}/stats", headers=headers)
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, code)


def test_a_capability_upgraded_through_auth_counts_on_attached_channels(
    ably_emulator: AblyEmulator,
) -> None:
    """ably-js test/realtime/reauth.test.js, reauthCapabilityUpgradeAddPublish (RTC8a1):
    attached with a subscribe-only token, the channel can publish once AUTH brings a
    token that may, with no new attach."""
    emu = ably_emulator
    key = emu.create_key()
    tokens = iter(
        [
            mint_jwt(key, capability={"chat:up": ["subscribe"]}, now=emu.now()),
            mint_jwt(key, capability={"chat:up": ["subscribe", "publish"]}, now=emu.now()),
        ]
    )

    async def callback(params: Any) -> str:
        return next(tokens)

    async def scenario() -> list[int]:
        client = AblyRealtime(auth_callback=callback, **emu.client_options())
        codes = []
        try:
            await asyncio.wait_for(client.connection.once_async(ConnectionState.CONNECTED), 10)
            channel = client.channels.get("chat:up")
            await channel.attach()
            for _ in range(2):
                try:
                    await channel.publish("n", "d")
                    codes.append(0)
                except AsyncAblyException as error:
                    codes.append(error.code)
                if len(codes) == 1:
                    await client.auth.authorize()
            return codes
        finally:
            await client.close()

    assert asyncio.run(scenario()) == [40160, 0]
    assert len(emu.published("chat:up")) == 1


def test_a_jwt_issued_under_a_second_ahead_is_taken_as_ably_takes_it(
    ably_emulator: AblyEmulator,
) -> None:
    """@ably/chat's own suite signs ``iat = Math.round(Date.now() / 1000)``, up to half a
    second ahead of the clock (test/helper/realtime-client.ts), and passes against Ably's
    sandbox: Ably takes a JWT issued within the current second. One issued 2 s ahead is a
    clock that is wrong, and Ably refuses it ("issuedAt time must not be in the future")."""
    emu = ably_emulator
    key = emu.create_key()
    moment = (emu.now() + timedelta(seconds=1)).replace(microsecond=400_000)
    emu.set_time(moment)
    rounded_up = mint_jwt(key, capability=EVERYTHING, now=moment + timedelta(milliseconds=600))
    with AblyRestSync(token=rounded_up, **emu.client_options()) as client:
        client.channels.get("chat:rounded").publish("n", "d")
    assert [entry["data"] for entry in emu.published("chat:rounded")] == ["d"]
    ahead = mint_jwt(key, capability=EVERYTHING, now=moment + timedelta(seconds=2))
    bearer = "Bearer " + base64.b64encode(ahead.encode()).decode()
    answer = httpx.get(f"{emu.url}/stats", headers={"Authorization": bearer})
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, 40144)
