"""A realtime connect to the emulator takes a network round trip, as every connect to Ably
does, so an SDK test that races a short timer against the connect gets the same answer on
every run, whatever the machine's load.

ably-python's own suite has such a test: ``test/ably/realtime/realtimeconnection_test.py``,
``test_connection_state_ttl``, sets ``connectionStateTtl`` to 10 ms and expects SUSPENDED
(80002) before CONNECTED. A loopback connect can take 5 ms, so against the emulator that
test failed on a quiet machine and passed on a busy one, and its failure left the 10 ms in
place for the tests after it (up to eight more failures, connects timing out after 5 s).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ably import AblyRealtime
from ably.transport.defaults import Defaults
from ably.types.connectionstate import ConnectionState

from ably_authkit.testing import AblyEmulator
from ably_authkit.testing._connection import CONNECT_LATENCY

CONNECTS = 10


async def first_outcome(client: AblyRealtime) -> Any:
    """The first state change after CONNECTING: CONNECTED, SUSPENDED, ..."""
    outcome: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_change(change: Any) -> None:
        if change.current != ConnectionState.CONNECTING and not outcome.done():
            outcome.set_result(change)

    client.connection.on(on_change)
    client.connect()
    return await asyncio.wait_for(outcome, 10)


def test_a_connect_is_answered_no_sooner_than_a_round_trip(ably_emulator: AblyEmulator) -> None:
    key = ably_emulator.create_key()

    async def scenario() -> list[float]:
        took = []
        for _ in range(CONNECTS):
            client = AblyRealtime(
                key=f"{key.name}:{key.secret}",
                auto_connect=False,
                **ably_emulator.client_options(),
            )
            try:
                started = time.monotonic()
                change = await first_outcome(client)
                took.append(time.monotonic() - started)
                assert change.current == ConnectionState.CONNECTED, change
            finally:
                await client.close()
        return took

    took = asyncio.run(scenario())
    assert min(took) >= CONNECT_LATENCY, [round(seconds * 1000, 1) for seconds in took]


def test_a_10_ms_connection_state_ttl_suspends_every_connect(ably_emulator: AblyEmulator) -> None:
    """ably-python's test_connection_state_ttl, ten times over: SUSPENDED (80002, 400)
    comes before CONNECTED on every connect."""
    key = ably_emulator.create_key()

    async def scenario() -> None:
        for _ in range(CONNECTS):
            client = AblyRealtime(
                key=f"{key.name}:{key.secret}",
                auto_connect=False,
                **ably_emulator.client_options(),
            )
            try:
                change = await first_outcome(client)
                assert change.current == ConnectionState.SUSPENDED, change
                assert (change.reason.code, change.reason.status_code) == (80002, 400)
            finally:
                await client.close()

    saved = Defaults.connection_state_ttl
    Defaults.connection_state_ttl = 10  # ms; the suspend timer reads it at each connect
    try:
        asyncio.run(scenario())
    finally:
        Defaults.connection_state_ttl = saved
