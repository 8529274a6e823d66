"""docs/rotation.md, end to end: ably-js Realtime, connected through an example app's
authUrl, keeps its connection while the app's key ring changes signer, renews with the
new key, and the old key's removal (from the ring, then revoked in the emulator after the
longest TTL) disconnects nobody whose credential is current."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ably_authkit import KeyRing, mint_jwt
from ably_authkit.testing import AblyEmulator

from .realtime_peers import AblyJsRealtime
from .test_examples import FRAMEWORKS, serving
from .test_realtime_apps import RENEWAL_DUE, CountingEndpoint, js_options

#: The examples grant 1 h: the longest TTL this app hands out.
LONGEST_TTL = timedelta(hours=1)


def wait_for(found: Callable[[], Any], what: str) -> Any:
    """Poll (real time, for the client's round trip; the emulator's clock is not moved)."""
    for _ in range(500):
        value = found()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_rotating_the_key_disconnects_nobody(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime, framework: str
) -> None:
    emu = ably_emulator
    old = emu.create_key()
    auth = CountingEndpoint(KeyRing(keys=[old]), endpoint=emu.url, clock=emu.now)
    with auth, serving(framework, auth) as url:
        connected = realtime_js.call("connect", options=js_options(auth, f"{url}/auth/jwt", False))
        (connection,) = emu.connections
        assert connection.key_name == old.name
        lingering = mint_jwt(old, capability={"chat:*": ["publish"]}, now=emu.now())

        # 1. Create the new key in the dashboard and add it to the ring; the old one signs.
        new = emu.create_key()
        auth.use_keys(KeyRing(keys=[old, new], signer=old))
        # 2. Make the new key the signer. Nothing happens to the live connection.
        auth.use_keys(KeyRing(keys=[new, old], signer=new))
        time.sleep(0.3)
        assert auth.calls == ["jwt"]
        assert realtime_js.call("state")["state"] == "connected"

        # At the AUTH point (30 s before expiry) ably-js renews, now with the new key.
        emu.advance(RENEWAL_DUE)
        realtime_js.call("waitUpdates", count=1, timeoutMs=15_000)
        (renewed,) = emu.connections
        assert (renewed.connection_id, renewed.key_name) == (connected["connectionId"], new.name)
        signer_changed = emu.now()

        # 3. Wait out the longest TTL since the signer changed (the next renewal comes on
        # the way), then 4. remove the old key from the ring, and revoke it in Ably.
        first_renewal = renewed.expires
        emu.advance(RENEWAL_DUE)
        renewed_again = wait_for(
            lambda: [c for c in emu.connections if c.expires != first_renewal],
            "the second renewal",
        )
        assert renewed_again[0].connection_id == connected["connectionId"]
        emu.advance(signer_changed + LONGEST_TTL + timedelta(seconds=1) - emu.now())
        auth.use_keys(KeyRing(keys=[new]))
        emu.revoke_key(old)
        time.sleep(0.3)

        state = realtime_js.call("state")
        assert (state["state"], state["id"]) == ("connected", connected["connectionId"])
        seen = [change["current"] for change in state["states"]]
        assert "disconnected" not in seen and "failed" not in seen
        (current,) = emu.connections
        assert current.key_name == new.name
        assert auth.calls == ["jwt", "jwt", "jwt"]
        realtime_js.call("subscribe", channel="chat:lobby")
        realtime_js.call("publish", channel="chat:lobby", name="after", data="rotation")
        assert realtime_js.call("waitMessage", name="after")["clientId"] == "alice"

        # A credential of the old key that someone kept is refused now: 40131.
        refused = httpx.post(
            f"{emu.url}/channels/chat:lobby/messages",
            json={"name": "m", "data": "x"},
            headers={"Authorization": "Bearer " + base64.b64encode(lingering.encode()).decode()},
            timeout=10,
        )
        assert refused.json()["error"]["code"] == 40131
