"""Every credential a realtime connection used, whatever its kind, in the order used:
``emu.connections[i].credentials``, and ``emu.closed_connections`` for a connection that
was disconnected and replaced. Proven with ably-js renewing through a JWT authUrl."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import aiohttp

from ably_authkit import mint_jwt
from ably_authkit.testing import AblyEmulator

from .peers import js_options
from .realtime_peers import AblyJsRealtime, AuthUrlServer

CHAT = {"chat:*": ["publish", "subscribe"]}
TTL = timedelta(minutes=10)


def test_a_jwt_auth_url_renewal_is_listed_credential_by_credential(
    ably_emulator: AblyEmulator, realtime_js: AblyJsRealtime
) -> None:
    emu = ably_emulator
    key = emu.create_key(capability=CHAT)
    minted: list[str] = []

    def mint() -> tuple[str, str]:
        minted.append(mint_jwt(key, client_id="bob", capability=CHAT, ttl=TTL, now=emu.now()))
        return "application/jwt", minted[-1]

    auth = AuthUrlServer(mint)
    try:
        connected = realtime_js.call("connect", options=js_options(emu, authUrl=auth.url))
        (first,) = emu.connections
        (used,) = first.credentials
        assert (used.kind, used.client_id, used.key_name) == ("jwt", "bob", key.name)
        assert used.expires == first.expires
        assert used.issued is not None and used.expires == used.issued + TTL

        # 30 s before expiry the emulator sends AUTH; ably-js asks the authUrl again.
        assert first.expires is not None
        emu.set_time(first.expires - timedelta(seconds=29))
        realtime_js.call("waitUpdates", count=1)
        (renewed,) = emu.connections
        assert renewed.connection_id == connected["connectionId"]
        assert [c.kind for c in renewed.credentials] == ["jwt", "jwt"]
        assert renewed.credentials[0] == used
        again = renewed.credentials[1]
        assert again.issued is not None and used.issued is not None
        assert again.issued > used.issued and again.expires == renewed.expires
        assert auth.calls == 2

        # Unrenewed past expiry: DISCONNECTED 40142, and ably-js connects anew with a
        # third JWT. The closed connection keeps its list.
        assert renewed.expires is not None
        realtime_js.call("waitState", state="connected")
        emu.set_time(renewed.expires + timedelta(seconds=1))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            live = emu.connections
            if live and live[0].connection_id != renewed.connection_id:
                break
            time.sleep(0.05)
        (replacement,) = emu.connections
        assert replacement.connection_id != renewed.connection_id
        (closed,) = [c for c in emu.closed_connections if c.connection_id == renewed.connection_id]
        assert closed.credentials == renewed.credentials
        (latest,) = replacement.credentials
        assert latest.kind == "jwt" and latest.issued is not None and again.issued is not None
        assert latest.issued > again.issued
        assert auth.calls == 3
        for snapshot in (closed, replacement):
            for credential in snapshot.credentials:
                for jwt in minted:
                    assert jwt not in repr(credential)
    finally:
        auth.close()


def test_a_key_connection_lists_the_key_without_its_secret(ably_emulator: AblyEmulator) -> None:
    emu = ably_emulator
    key = emu.create_key()

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(
                f"ws://{emu.host}:{emu.port}/",
                params={"v": "6", "key": f"{key.name}:{key.secret}", "clientId": "carol"},
            )
            assert json.loads((await ws.receive()).data)["action"] == 4
            (connection,) = await asyncio.to_thread(lambda: emu.connections)
            (used,) = connection.credentials
            assert (used.kind, used.client_id, used.key_name) == ("basic", None, key.name)
            assert (used.issued, used.expires) == (None, None)
            assert key.secret not in repr(connection) + repr(used)
            await ws.close()

    asyncio.run(scenario())
    (closed,) = emu.closed_connections
    assert closed.client_id == "carol" and closed.credentials[0].kind == "basic"
    emu.reset()
    assert emu.closed_connections == []
