"""The seed scenario, end to end: ably-js ``Realtime`` under Node connects to the emulator
with an ``authUrl`` pointing at each example app (served on a real socket), and the app
re-authenticates it before its credential expires, on the emulator's clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant
from ably_authkit.testing import AblyEmulator

from .realtime_peers import AblyJsRealtime, check_channels
from .test_examples import FRAMEWORKS, serving

# The examples' grant_for gives a 1 h credential; Ably (and the emulator) send AUTH 30 s
# before it expires.
RENEWAL_DUE = timedelta(minutes=59, seconds=35)
BEFORE_RENEWAL = timedelta(minutes=59)


def near(span: timedelta, expected: timedelta) -> bool:
    """Equal but for the real time the test takes (the emulator's clock also runs; a
    JWT's times are whole seconds)."""
    return abs(span - expected) < timedelta(seconds=5)


class CountingEndpoint(AuthEndpoint):
    """An AuthEndpoint that counts the authUrl requests it answers, per mode."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def respond(self, mode: str, grant: Grant | None, **kwargs: Any) -> AuthResponse:
        self.calls.append(mode)
        return super().respond(mode, grant, **kwargs)

    async def arespond(self, mode: str, grant: Grant | None, **kwargs: Any) -> AuthResponse:
        self.calls.append(mode)
        return await super().arespond(mode, grant, **kwargs)


@pytest.fixture
def auth(ably_emulator: AblyEmulator) -> Iterator[CountingEndpoint]:
    emu = ably_emulator
    with CountingEndpoint(emu.create_key(), endpoint=emu.url, clock=emu.now) as endpoint:
        yield endpoint


def js_options(auth: AuthEndpoint, auth_url: str, binary: bool) -> dict[str, Any]:
    """What a browser page would pass to ``new Ably.Realtime``: the authUrl, who the user
    is, and where ``auth.client_options("ably-js")`` says Ably is."""
    return {
        "authUrl": auth_url,
        "authHeaders": {"X-User-Id": "alice"},
        **auth.client_options("ably-js"),
        "fallbackHosts": [],
        "useBinaryProtocol": binary,
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
# Not the "token" mode: its TokenRequest to the emulator is signed on this machine's clock,
# not AuthEndpoint's clock=, so once the emulator is 55 min ahead the renewal is refused
# with 40104 (the app answers 502).
@pytest.mark.parametrize("mode", ["jwt", "token-request"])
@pytest.mark.parametrize("binary", [False, True], ids=["json", "msgpack"])
def test_ably_js_realtime_through_each_app(
    ably_emulator: AblyEmulator,
    auth: CountingEndpoint,
    realtime_js: AblyJsRealtime,
    framework: str,
    mode: str,
    binary: bool,
) -> None:
    emu = ably_emulator
    with serving(framework, auth) as url:
        options = js_options(auth, f"{url}/auth/{mode}", binary)
        connected = realtime_js.call("connect", options=options)
        assert connected["clientId"] == "alice"
        assert auth.calls == [mode]
        (connection,) = emu.connections
        assert connection.connection_id == connected["connectionId"]
        assert connection.client_id == "alice"
        assert connection.expires is not None
        assert near(connection.expires - emu.now(), timedelta(hours=1))

        check_channels(
            realtime_js,
            client_id="alice",
            connection_id=connected["connectionId"],
            name="hello",
            data="from alice",
        )

        # Nothing happens until 30 s before the hour is up; then the emulator sends AUTH, and
        # ably-js asks the app's authUrl again and upgrades the same connection.
        first_expiry: datetime = connection.expires
        emu.advance(BEFORE_RENEWAL)
        time.sleep(0.3)
        assert auth.calls == [mode]
        emu.advance(RENEWAL_DUE - BEFORE_RENEWAL)
        realtime_js.call("waitUpdates", count=1, timeoutMs=15_000)
        assert auth.calls == [mode, mode]
        (renewed,) = emu.connections
        assert renewed.connection_id == connected["connectionId"]
        assert renewed.expires is not None
        assert near(renewed.expires - first_expiry, RENEWAL_DUE)
        state = realtime_js.call("state")
        assert (state["state"], state["id"]) == ("connected", connected["connectionId"])
        assert [s["current"] for s in state["states"]].count("disconnected") == 0

        # Still a working connection with the renewed credential.
        realtime_js.call("publish", channel="chat:lobby", name="after", data="renewal")
        assert realtime_js.call("waitMessage", name="after")["clientId"] == "alice"
