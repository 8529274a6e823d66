"""Presence in the emulator, with real clients over real sockets: the ``ably`` package
(realtime and REST, JSON and msgpack) and ably-js under Node, and bare protocol frames
where the SDKs refuse before sending (so the server's own answer is what is checked).

The capability matrix: for each presence operation, a credential that grants it succeeds
and one that lacks it is refused with Ably's code and status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import msgpack
import pytest
from ably import AblyRealtime, AblyRest
from ably.types.channeloptions import ChannelOptions
from ably.types.presence import PresenceAction
from ably.util.exceptions import AblyException

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

from .conftest import BINARY
from .peers import AblyJs, AblyJsError, js_options
from .realtime_peers import AblyJsRealtime

ROOM = "room:1"
#: What the credentials of the first test grant on ROOM's channels.
SUBSCRIBE_ONLY = {"room:*": ["subscribe"]}
MEMBER = {"room:*": ["presence", "subscribe"]}


def jwt(
    emu: AblyEmulator, key: ApiKey, capability: dict[str, list[str]], client: str | None
) -> str:
    return mint_jwt(key, capability=capability, client_id=client, now=emu.now())


def realtime(
    emu: AblyEmulator,
    key: ApiKey,
    capability: dict[str, list[str]],
    client: str | None,
    binary: bool,
    **options: Any,
) -> AblyRealtime:
    return AblyRealtime(
        token=jwt(emu, key, capability, client),
        use_binary_protocol=binary,
        **emu.client_options(),
        **options,
    )


async def until(predicate: Callable[[], object], what: str, budget: float = 10.0) -> None:
    """Wait (real time, polling) until ``predicate()`` holds; fail naming ``what``."""
    for _ in range(int(budget / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def refused(call: Awaitable[object]) -> tuple[int, int]:
    with pytest.raises(AblyException) as caught:
        await call
    return caught.value.code, caught.value.status_code


def run(scenario: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(scenario())


# -- the ably package: realtime ----------------------------------------------------------


@BINARY
def test_enter_update_leave_need_the_presence_capability(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    channel = f"{ROOM}:{binary}"

    async def scenario() -> None:
        member = realtime(emu, key, MEMBER, "alice", binary)
        outsider = realtime(emu, key, SUBSCRIBE_ONLY, "mallory", binary)
        try:
            mine = member.channels.get(channel)
            await mine.presence.enter({"status": "here"})
            assert [(m.client_id, m.data) for m in emu.present(channel)] == [
                ("alice", {"status": "here"})
            ]
            await mine.presence.update("away")
            assert [m.data for m in emu.present(channel)] == ["away"]
            theirs = outsider.channels.get(channel)
            await theirs.attach()
            assert await refused(theirs.presence.enter("x")) == (40160, 401)
            assert await refused(theirs.presence.update("x")) == (40160, 401)
            assert await refused(theirs.presence.leave("x")) == (40160, 401)
            assert outsider.connection.state == "connected"
            await mine.presence.leave()
            assert emu.present(channel) == []
        finally:
            await member.close()
            await outsider.close()

    run(scenario)


@BINARY
def test_a_key_enters_any_client(emu: AblyEmulator, binary: bool) -> None:
    """A connection made with a key, and no clientId, enters, updates and leaves as any
    client (RTP15a). (A wildcard token does too, below with ably-js and bare frames: the
    ``ably`` package 3.1 refuses enter_client itself once CONNECTED says ``"*"``.)"""
    channel = f"{ROOM}:key:{binary}"
    key = emu.create_key({channel: ["presence", "subscribe"]})

    async def scenario() -> None:
        server = AblyRealtime(
            key=f"{key.name}:{key.secret}", use_binary_protocol=binary, **emu.client_options()
        )
        try:
            presence = server.channels.get(channel).presence
            for name in ("bob", "carol"):
                await presence.enter_client(name, f"{name}'s data")
            await presence.update_client("bob", "bob again")
            members = {m.client_id: m.data for m in emu.present(channel)}
            assert members == {"bob": "bob again", "carol": "carol's data"}
            await presence.leave_client("carol")
            assert [m.client_id for m in emu.present(channel)] == ["bob"]
            got = await presence.get()
            assert [(m.client_id, m.action) for m in got] == [("bob", PresenceAction.PRESENT)]
        finally:
            await server.close()
        assert emu.present(channel) == []  # CLOSE: its members left at once

    run(scenario)


@BINARY
def test_presence_events_and_the_set_need_subscribe(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """A subscriber gets the set on attach (HAS_PRESENCE and SYNC) and every event after;
    a connection with ``presence`` but no ``subscribe`` gets no one else's presence, only
    its own members (RTP17a)."""
    channel = f"{ROOM}:events:{binary}"
    capability_member = {channel: ["presence", "subscribe"]}

    async def scenario() -> None:
        early = realtime(emu, key, capability_member, "early", binary)
        watcher = realtime(emu, key, {channel: ["subscribe"]}, "watcher", binary)
        blind = realtime(emu, key, {channel: ["presence"]}, "blind", binary)
        heard: list[tuple[int, str]] = []
        blind_heard: list[tuple[int, str]] = []
        try:
            await early.channels.get(channel).presence.enter("first")
            watching = watcher.channels.get(channel)
            await watching.presence.subscribe(lambda m: heard.append((m.action, m.client_id)))
            got = await watching.presence.get()
            assert [(m.client_id, m.data, m.action) for m in got] == [
                ("early", "first", PresenceAction.PRESENT)
            ]
            blinded = blind.channels.get(channel)
            await blinded.presence.subscribe(lambda m: blind_heard.append((m.action, m.client_id)))
            assert await blinded.presence.get() == []
            await blinded.presence.enter("hidden")
            await early.channels.get(channel).presence.update("second")
            await until(lambda: len(heard) >= 3, "the watcher's presence events")
            await until(lambda: blind_heard, "the blind connection's own event")
            await asyncio.sleep(0.2)  # time for a wrongly sent event to arrive too
            assert heard[-2:] == [
                (PresenceAction.ENTER, "blind"),
                (PresenceAction.UPDATE, "early"),
            ]
            assert blind_heard == [(PresenceAction.ENTER, "blind")]
        finally:
            for client in (early, watcher, blind):
                await client.close()

    run(scenario)


@BINARY
def test_attached_without_presence_mode_cannot_enter(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """An ATTACH that does not ask for the presence mode cannot enter (40160), and one
    without presence_subscribe is sent no presence, whatever the capability grants."""
    channel = f"{ROOM}:modes:{binary}"

    async def scenario() -> None:
        member = realtime(emu, key, {channel: ["presence", "subscribe"]}, "dan", binary)
        limited = realtime(emu, key, {channel: ["presence", "subscribe"]}, "eve", binary)
        heard: list[str] = []
        try:
            await member.channels.get(channel).presence.enter("in")
            narrow = limited.channels.get(
                channel, ChannelOptions(params={"modes": "subscribe,publish"})
            )
            await narrow.presence.subscribe(lambda m: heard.append(m.client_id))
            assert await refused(narrow.presence.enter("x")) == (40160, 401)
            await member.channels.get(channel).presence.update("still in")
            await asyncio.sleep(0.3)
            assert heard == []
        finally:
            await member.close()
            await limited.close()

    run(scenario)


@BINARY
def test_a_dropped_connection_leaves_after_15_seconds_on_the_emulators_clock(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """A connection whose transport drops with no CLOSE keeps its members 15 s (docs,
    presence), on the emulator's clock; then the subscribers get LEAVE."""
    channel = f"{ROOM}:drop:{binary}"
    grant = {channel: ["presence", "subscribe"]}

    async def scenario() -> None:
        watcher = realtime(emu, key, {channel: ["subscribe"]}, "watcher", binary)
        heard: list[tuple[int, str]] = []
        try:
            await watcher.channels.get(channel).presence.subscribe(
                lambda m: heard.append((m.action, m.client_id))
            )
            async with aiohttp.ClientSession() as session:
                member, _ = await connect(
                    emu, session, binary, accessToken=jwt(emu, key, grant, "frank")
                )
                await member.attach(channel)
                assert code_of(await member.presence(channel, {"action": 2})) == (1,)
                await until(lambda: heard, "the enter")
                await member.ws.close()  # the transport ends, with no CLOSE message
            await asyncio.sleep(0.3)
            assert [m.client_id for m in emu.present(channel)] == ["frank"]
            emu.advance(timedelta(seconds=14))
            assert [m.client_id for m in emu.present(channel)] == ["frank"]
            emu.advance(timedelta(seconds=1))
            assert emu.present(channel) == []
            await until(lambda: len(heard) >= 2, "the leave")
            assert heard == [(PresenceAction.ENTER, "frank"), (PresenceAction.LEAVE, "frank")]
        finally:
            await watcher.close()

    run(scenario)


# -- the ably package: REST ----------------------------------------------------------------


def rest(
    emu: AblyEmulator, key: ApiKey, capability: dict[str, list[str]], binary: bool
) -> AblyRest:
    return AblyRest(
        token=jwt(emu, key, capability, None), use_binary_protocol=binary, **emu.client_options()
    )


@BINARY
def test_rest_presence_set_needs_subscribe_and_history_needs_history(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    channel = f"{ROOM}:rest:{binary}"

    async def scenario() -> None:
        entering = emu.create_key({channel: ["presence"]})
        server = AblyRealtime(
            key=f"{entering.name}:{entering.secret}",
            use_binary_protocol=binary,
            **emu.client_options(),
        )
        try:
            presence = server.channels.get(channel).presence
            for index in range(5):
                await presence.enter_client(f"user{index}", {"n": index})
            await presence.leave_client("user0")
            readers = {
                "subscribe": rest(emu, key, {channel: ["subscribe"]}, binary),
                "history": rest(emu, key, {channel: ["history"]}, binary),
                "publish": rest(emu, key, {channel: ["publish", "presence"]}, binary),
            }
            try:
                page = await readers["subscribe"].channels.get(channel).presence.get(limit=3)
                names = [m.client_id for m in page.items]
                assert all(m.action == PresenceAction.PRESENT for m in page.items)
                assert page.has_next()
                following = await page.next()
                names += [m.client_id for m in following.items]
                assert not following.has_next()
                assert sorted(names) == ["user1", "user2", "user3", "user4"]
                one = await readers["subscribe"].channels.get(channel).presence.get()
                assert {m.client_id: m.data for m in one.items}["user2"] == {"n": 2}
                events = (
                    await readers["history"]
                    .channels.get(channel)
                    .presence.history(direction="forwards")
                )
                assert [(m.action, m.client_id) for m in events.items] == [
                    *[(PresenceAction.ENTER, f"user{index}") for index in range(5)],
                    (PresenceAction.LEAVE, "user0"),
                ]
                for reader, history in (
                    ("history", False),
                    ("publish", False),
                    ("subscribe", True),
                    ("publish", True),
                ):
                    presence = readers[reader].channels.get(channel).presence
                    asked = presence.history() if history else presence.get()
                    assert await refused(asked) == (40160, 401), reader
            finally:
                for client in readers.values():
                    await client.close()
        finally:
            await server.close()

    run(scenario)


def test_rest_presence_filters_by_client_and_connection(emu: AblyEmulator, key: ApiKey) -> None:
    channel = f"{ROOM}:filters"

    async def scenario() -> None:
        entering = emu.create_key({channel: ["presence"]})
        one = AblyRealtime(key=f"{entering.name}:{entering.secret}", **emu.client_options())
        two = AblyRealtime(key=f"{entering.name}:{entering.secret}", **emu.client_options())
        try:
            await one.channels.get(channel).presence.enter_client("gina", "a")
            await one.channels.get(channel).presence.enter_client("hal", "b")
            await two.channels.get(channel).presence.enter_client("gina", "c")
            second = two.connection.connection_manager.connection_id
            async with aiohttp.ClientSession() as session:
                token = jwt(emu, key, {channel: ["subscribe"]}, None)
                headers = {"Authorization": f"Bearer {token}"}
                url = f"{emu.url}/channels/{channel}/presence"
                async with session.get(url, params={"clientId": "gina"}, headers=headers) as answer:
                    assert sorted(m["data"] for m in await answer.json()) == ["a", "c"]
                async with session.get(
                    url, params={"connectionId": second}, headers=headers
                ) as answer:
                    assert [(m["clientId"], m["data"]) for m in await answer.json()] == [
                        ("gina", "c")
                    ]
        finally:
            await one.close()
            await two.close()

    run(scenario)


# -- bare protocol frames: what the server answers ------------------------------------------


class Socket:
    """A bare WebSocket to the emulator, in JSON or msgpack frames."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse[bool], binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self.serial = 0

    async def send(self, message: dict[str, Any]) -> None:
        if self.binary:
            await self.ws.send_bytes(msgpack.packb(message, use_bin_type=True))
        else:
            await self.ws.send_str(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        """The next protocol message other than HEARTBEAT."""
        while True:
            frame = await asyncio.wait_for(self.ws.receive(), 5)
            if frame.type == aiohttp.WSMsgType.TEXT:
                message: dict[str, Any] = json.loads(frame.data)
            elif frame.type == aiohttp.WSMsgType.BINARY:
                message = msgpack.unpackb(frame.data, raw=False)
            else:
                raise AssertionError(f"the socket closed: {frame}")
            if message["action"] != 0:
                return message

    async def attach(self, channel: str, **extra: Any) -> dict[str, Any]:
        await self.send({"action": 10, "channel": channel, **extra})
        return await self.receive()

    async def presence(self, channel: str, *items: dict[str, Any]) -> dict[str, Any]:
        """Send PRESENCE with ``items``; the ACK or NACK for it."""
        serial = self.serial
        self.serial += 1
        await self.send(
            {"action": 14, "channel": channel, "msgSerial": serial, "presence": list(items)}
        )
        while True:
            answer = await self.receive()
            if answer["action"] in (1, 2):
                assert answer["msgSerial"] == serial
                return answer


async def connect(
    emu: AblyEmulator, session: aiohttp.ClientSession, binary: bool, **params: str
) -> tuple[Socket, dict[str, Any]]:
    query = {"v": "6", "format": "msgpack" if binary else "json", **params}
    ws = await session.ws_connect(f"ws://{emu.host}:{emu.port}/", params=query)
    socket = Socket(ws, binary)
    connected = await socket.receive()
    assert connected["action"] == 4, connected
    return socket, connected


def code_of(answer: dict[str, Any]) -> tuple[int, int, int] | tuple[int]:
    if answer["action"] == 2:
        return (2, answer["error"]["code"], answer["error"]["statusCode"])
    return (answer["action"],)


@BINARY
def test_identity_rules_are_the_servers(emu: AblyEmulator, key: ApiKey, binary: bool) -> None:
    """What the server answers, whatever the SDK checks first: an anonymous connection,
    or a wildcard one naming nobody, 91000/400; entering as another client 40012/400;
    an anonymous token naming a client 40012/400; a key may enter anyone; a channel not
    attached 91001/400; a capability without presence 40160/401."""
    channel = f"{ROOM}:identity:{binary}"
    grant = {channel: ["presence", "subscribe"]}
    enter = {"action": 2, "data": "x"}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            anonymous, _ = await connect(
                emu, session, binary, accessToken=jwt(emu, key, grant, None)
            )
            assert (await anonymous.attach(channel))["action"] == 11
            assert code_of(await anonymous.presence(channel, enter)) == (2, 91000, 400)
            named = {**enter, "clientId": "ivy"}
            assert code_of(await anonymous.presence(channel, named)) == (2, 40012, 400)

            wildcard, _ = await connect(emu, session, binary, accessToken=jwt(emu, key, grant, "*"))
            await wildcard.attach(channel)
            assert code_of(await wildcard.presence(channel, enter)) == (2, 91000, 400)
            assert code_of(await wildcard.presence(channel, named)) == (1,)

            judy, _ = await connect(emu, session, binary, accessToken=jwt(emu, key, grant, "judy"))
            assert code_of(await judy.presence(channel, enter)) == (2, 91001, 400)
            await judy.attach(channel)
            assert code_of(await judy.presence(channel, named)) == (2, 40012, 400)
            assert code_of(await judy.presence(channel, {**enter, "clientId": "*"})) == (
                2,
                40012,
                400,
            )
            own = {**enter, "clientId": "judy"}
            assert code_of(await judy.presence(channel, own)) == (1,)
            assert code_of(await judy.presence(channel, {"action": 1})) == (2, 40000, 400)

            with_key, _ = await connect(emu, session, binary, key=str(key_of(emu, grant)))
            await with_key.attach(channel)
            assert code_of(await with_key.presence(channel, {**enter, "clientId": "kim"})) == (1,)
            assert code_of(await with_key.presence(channel, enter)) == (2, 91000, 400)

            other = {f"{channel}:x": ["presence"]}
            subscriber, _ = await connect(
                emu,
                session,
                binary,
                accessToken=jwt(emu, key, {channel: ["subscribe"], **other}, "lee"),
            )
            await subscriber.attach(channel)
            assert code_of(await subscriber.presence(channel, enter)) == (2, 40160, 401)
            for socket in (anonymous, wildcard, judy, with_key, subscriber):
                await socket.ws.close()
        assert sorted(m.client_id for m in emu.present(channel)) == ["ivy", "judy", "kim"]

    try:
        run(scenario)
    finally:
        emu.advance(timedelta(seconds=15))  # the dropped sockets' members leave


def key_of(emu: AblyEmulator, capability: dict[str, list[str]]) -> str:
    made = emu.create_key(capability)
    return f"{made.name}:{made.secret}"


@BINARY
def test_attach_sends_has_presence_then_sync_pages(
    emu: AblyEmulator, key: ApiKey, binary: bool
) -> None:
    """250 members (RTP4): ATTACHED has HAS_PRESENCE (1), then SYNC (16) pages whose
    channelSerial is ``<sync id>:<cursor>``, the last with an empty cursor (RTP18); each
    member PRESENT (1) with ``connectionId:msgSerial:index`` ids; an empty channel's
    ATTACHED has no HAS_PRESENCE and no SYNC follows."""
    channel = f"{ROOM}:many:{binary}"
    grant = {channel: ["presence", "subscribe"]}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            server, connected = await connect(
                emu, session, binary, accessToken=jwt(emu, key, grant, "*")
            )
            attached = await server.attach(channel)
            assert attached["flags"] & 1 == 0
            members = [{"action": 2, "clientId": f"m{index:03d}"} for index in range(250)]
            assert code_of(await server.presence(channel, *members[:200])) == (1,)
            assert code_of(await server.presence(channel, *members[200:])) == (1,)
            reader, _ = await connect(emu, session, binary, accessToken=jwt(emu, key, grant, "r"))
            attached = await reader.attach(channel)
            assert attached["action"] == 11 and attached["flags"] & 1 == 1
            pages: list[dict[str, Any]] = []
            while not pages or pages[-1]["channelSerial"].split(":", 1)[1]:
                pages.append(await reader.receive())
            assert [page["action"] for page in pages] == [16, 16, 16]
            sync_ids = {page["channelSerial"].split(":", 1)[0] for page in pages}
            assert len(sync_ids) == 1 and sync_ids.pop().isalnum()
            synced = [member for page in pages for member in page["presence"]]
            assert sorted(member["clientId"] for member in synced) == [
                m["clientId"] for m in members
            ]
            first = next(member for member in synced if member["clientId"] == "m201")
            assert first["action"] == 1
            assert first["id"] == f"{connected['connectionId']}:1:1"
            assert first["connectionId"] == connected["connectionId"]
            assert isinstance(first["timestamp"], int)
            await server.send({"action": 7})
            assert (await server.receive())["action"] == 8
            leaves = await reader.receive()
            assert leaves["action"] == 14 and len(leaves["presence"]) == 250
            assert {member["action"] for member in leaves["presence"]} == {3}
            await reader.ws.close()

    run(scenario)


def test_detach_leaves_and_remain_present_for(emu: AblyEmulator, key: ApiKey) -> None:
    """DETACH makes the connection's members leave at once; ``remainPresentFor`` (ms,
    at least 1 s) shortens the 15 s a dropped connection's members stay."""
    channel = f"{ROOM}:detach"
    grant = {channel: ["presence", "subscribe"]}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            socket, _ = await connect(emu, session, False, accessToken=jwt(emu, key, grant, "mo"))
            await socket.attach(channel)
            await socket.presence(channel, {"action": 2})
            assert [m.client_id for m in emu.present(channel)] == ["mo"]
            await socket.send({"action": 12, "channel": channel})
            assert (await socket.receive())["action"] == 13
            assert emu.present(channel) == []
            brief, _ = await connect(
                emu,
                session,
                False,
                accessToken=jwt(emu, key, grant, "nia"),
                remainPresentFor="10",
            )
            await brief.attach(channel)
            await brief.presence(channel, {"action": 2})
            await brief.ws.close()
            await asyncio.sleep(0.2)
            assert [m.client_id for m in emu.present(channel)] == ["nia"]
            emu.advance(timedelta(seconds=1))
            assert emu.present(channel) == []
            await socket.ws.close()

    run(scenario)


# -- ably-js -----------------------------------------------------------------------------------


@pytest.fixture
def second_js() -> Iterator[AblyJsRealtime]:
    peer = AblyJsRealtime()
    yield peer
    peer.close()


@BINARY
def test_ably_js_presence_matrix(
    emu: AblyEmulator,
    key: ApiKey,
    realtime_js: AblyJsRealtime,
    second_js: AblyJsRealtime,
    binary: bool,
) -> None:
    """ably-js Realtime (msgpack, its default in Node, and JSON) enters, updates and
    leaves; another ably-js client gets the set and the events; entering without
    ``presence`` and enterClient as another client are refused by the server (40160,
    40012)."""
    channel = f"{ROOM}:js:{binary}"
    member = {channel: ["presence", "subscribe"]}
    realtime_js.call(
        "connect",
        options=js_options(emu, useBinaryProtocol=binary, token=jwt(emu, key, member, "olga")),
    )
    realtime_js.call("presence", channel=channel, method="enter", data={"mood": "ok"})
    second_js.call(
        "connect",
        options=js_options(
            emu, useBinaryProtocol=binary, token=jwt(emu, key, {channel: ["subscribe"]}, "pat")
        ),
    )
    second_js.call("presenceSubscribe", channel=channel)
    olga = realtime_js.call("state")["id"]
    assert second_js.call("presenceGet", channel=channel) == [
        {"action": "present", "clientId": "olga", "connectionId": olga, "data": {"mood": "ok"}}
    ]
    realtime_js.call("presence", channel=channel, method="update", data="busy")
    realtime_js.call("presence", channel=channel, method="leave")
    # The member already there comes as "present" from the SYNC (RTP2d1), then the events.
    events = second_js.call("waitPresence", count=3)
    assert [(e["action"], e["data"]) for e in events] == [
        ("present", {"mood": "ok"}),
        ("update", "busy"),
        ("leave", "busy"),
    ]
    with pytest.raises(AblyJsError) as denied:
        second_js.call("presence", channel=channel, method="enter", data="x")
    assert (denied.value.code, denied.value.status_code) == (40160, 401)
    with pytest.raises(AblyJsError) as impostor:
        realtime_js.call("presence", channel=channel, method="enter", clientId="pat", data="x")
    assert (impostor.value.code, impostor.value.status_code) == (40012, 400)
    assert realtime_js.call("state")["state"] == "connected"
    assert emu.present(channel) == []


def test_ably_js_rest_presence(
    emu: AblyEmulator, key: ApiKey, ably_js: AblyJs, realtime_js: AblyJsRealtime
) -> None:
    """ably-js REST (JSON and msgpack): the set with ``subscribe`` in pages, the history
    with ``history``, each refused (40160/401) without; the members entered by an ably-js
    Realtime client with a wildcard token (enterClient)."""
    channel = f"{ROOM}:jsrest"
    realtime_js.call(
        "connect", options=js_options(emu, token=jwt(emu, key, {channel: ["presence"]}, "*"))
    )
    for name in ("quinn", "ray", "sam"):
        realtime_js.call(
            "presence", channel=channel, method="enter", clientId=name, data=name.upper()
        )
    for binary in (True, False):
        for name, grant in (("sub", ["subscribe"]), ("hist", ["history"])):
            ably_js.call(
                "restCreate",
                id=f"{name}-{binary}",
                options=js_options(
                    emu, token=jwt(emu, key, {channel: grant}, None), useBinaryProtocol=binary
                ),
            )
        pages = ably_js.call(
            "restPresence", id=f"sub-{binary}", channel=channel, params={"limit": 2}
        )
        assert [len(page) for page in pages] == [2, 1]
        assert sorted((m["clientId"], m["data"], m["action"]) for p in pages for m in p) == [
            ("quinn", "QUINN", "present"),
            ("ray", "RAY", "present"),
            ("sam", "SAM", "present"),
        ]
        history = ably_js.call(
            "restPresence",
            id=f"hist-{binary}",
            channel=channel,
            history=True,
            params={"direction": "forwards"},
        )
        assert [(m["action"], m["clientId"]) for m in history[0]] == [
            ("enter", "quinn"),
            ("enter", "ray"),
            ("enter", "sam"),
        ]
        for reader, history_call in ((f"hist-{binary}", False), (f"sub-{binary}", True)):
            with pytest.raises(AblyJsError) as denied:
                ably_js.call("restPresence", id=reader, channel=channel, history=history_call)
            assert (denied.value.code, denied.value.status_code) == (40160, 401)
            ably_js.call("restClose", id=reader)


def test_fixtures_of_a_test_app_spec(emu: AblyEmulator) -> None:
    """``POST /apps`` with ably-common's ``persisted:presence_fixtures`` members: present
    for good, as Ably's sandbox has them for the SDK suites."""
    app = emu.create_app(
        {
            "keys": [{}],
            "channels": [
                {
                    "name": "persisted:presence_fixtures",
                    "presence": [
                        {"clientId": "client_bool", "data": "true"},
                        {"clientId": "client_decoded", "data": '{"a":1}', "encoding": "json"},
                    ],
                }
            ],
        }
    )
    members = emu.present("persisted:presence_fixtures", app_id=app["appId"])
    assert [(m.client_id, m.data) for m in members] == [
        ("client_bool", "true"),
        ("client_decoded", {"a": 1}),
    ]
    assert emu.present("persisted:presence_fixtures", app_id=emu.app_id) == []


def test_a_clients_sync_request_gets_the_set_again(emu: AblyEmulator, key: ApiKey) -> None:
    """A SYNC from the client (ably-js ``channel.sync()``) gets the set in SYNC pages,
    ending with an empty cursor; on an empty channel, one SYNC with no members, so the
    client's sync still ends (ably-js suite: leave_published_for_member_missing_from_sync)."""
    channel = f"{ROOM}:resync"
    grant = {channel: ["presence", "subscribe"]}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            socket, connected = await connect(
                emu, session, False, accessToken=jwt(emu, key, grant, "uma")
            )
            await socket.attach(channel)
            await socket.send({"action": 16, "channel": channel})
            empty = await socket.receive()
            assert (empty["action"], empty["presence"]) == (16, [])
            assert empty["channelSerial"].endswith(":")
            await socket.presence(channel, {"action": 2, "data": "hi"})
            await socket.send({"action": 16, "channel": channel})
            synced = await socket.receive()
            while synced["action"] != 16:
                synced = await socket.receive()
            assert synced["channelSerial"].endswith(":")
            assert [(m["clientId"], m["action"], m["data"]) for m in synced["presence"]] == [
                ("uma", 1, "hi")
            ]
            assert synced["presence"][0]["connectionId"] == connected["connectionId"]
            await socket.send({"action": 7})

    run(scenario)


def test_members_leave_when_the_emulator_stops() -> None:
    """A stopped emulator keeps keys and messages for its next start, but its
    connections are gone, and their members with them (fixtures stay)."""
    with AblyEmulator() as emulator:
        key = emulator.create_key()
        app = emulator.create_app(
            {"channels": [{"name": "fixed", "presence": [{"clientId": "bot"}]}]}
        )

        async def enter() -> None:
            async with aiohttp.ClientSession() as session:
                socket, _ = await connect(
                    emulator,
                    session,
                    False,
                    accessToken=jwt(emulator, key, {"fixed": ["presence"]}, "vic"),
                )
                await socket.attach("fixed")
                assert code_of(await socket.presence("fixed", {"action": 2})) == (1,)
                emulator.stop()

        run(enter)
        assert [m.client_id for m in emulator.present("fixed")] == ["bot"]
        emulator.start()
        assert [m.client_id for m in emulator.present("fixed", app_id=app["appId"])] == ["bot"]


def test_a_channel_holds_at_most_10000_members(emu: AblyEmulator, key: ApiKey) -> None:
    """Choice: the 10001st member is refused with 91003/400 (ably-common 91003.md: Ably
    limits the members of a channel); updates of members already there still go."""
    channel = f"{ROOM}:crowd"
    grant = {channel: ["presence"]}

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            server, _ = await connect(emu, session, False, accessToken=jwt(emu, key, grant, "*"))
            await server.attach(channel)
            crowd = [{"action": 2, "clientId": f"c{index}"} for index in range(10_001)]
            assert code_of(await server.presence(channel, *crowd)) == (2, 91003, 400)
            assert code_of(await server.presence(channel, *crowd[:10_000])) == (1,)
            assert code_of(await server.presence(channel, crowd[-1])) == (2, 91003, 400)
            update = {"action": 4, "clientId": "c0", "data": "still here"}
            assert code_of(await server.presence(channel, update)) == (1,)
            await server.send({"action": 7})
            while (await server.receive())["action"] != 8:
                pass  # its own presence events first, then CLOSED

    run(scenario)
    assert emu.present(channel) == []


def test_binary_data_crosses_encodings(emu: AblyEmulator, key: ApiKey) -> None:
    """Bytes entered over msgpack reach a JSON client as bytes (base64 on the wire,
    RSL4), in the SYNC, in events and over REST."""
    channel = f"{ROOM}:bytes"
    grant = {channel: ["presence", "subscribe", "history"]}

    async def scenario() -> None:
        sender = realtime(emu, key, grant, "wes", True)
        reader = realtime(emu, key, grant, "xia", False)
        heard: list[object] = []
        try:
            await sender.channels.get(channel).presence.enter(b"\x00\xffraw")
            got = await reader.channels.get(channel).presence.get()
            assert [m.data for m in got] == [b"\x00\xffraw"]
            await reader.channels.get(channel).presence.subscribe(lambda m: heard.append(m.data))
            await sender.channels.get(channel).presence.update(b"\x01")
            await until(lambda: heard, "the update")
            assert heard == [b"\x01"]
            client = rest(emu, key, grant, False)
            try:
                page = await client.channels.get(channel).presence.get()
                assert [m.data for m in page.items] == [b"\x01"]
            finally:
                await client.close()
        finally:
            await sender.close()
            await reader.close()

    run(scenario)
