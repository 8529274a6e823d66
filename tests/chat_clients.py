"""What the Chat REST tests share: Ably Chat's REST calls made as @ably/chat makes them
(``request(method, path, 4, params, body)`` on the SDK's client, chat-api.ts), here with
the ``ably`` package's ``AblyRestSync.request``."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from ably import AblyRealtime
from ably.sync import AblyRestSync
from ably.sync.http.paginatedresult import HttpPaginatedResponseSync
from ably.types.message import Message

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator

_ids = itertools.count()


def new_room(prefix: str = "support") -> str:
    return f"{prefix}:{next(_ids)}"


def room_path(room: str, suffix: str = "", serial: str | None = None) -> str:
    """``/chat/v4/rooms/{room}/...``, each path variable percent-encoded (CHA-RST6)."""
    path = f"/chat/v4/rooms/{quote(room, safe='')}"
    if serial is not None:
        path += f"/messages/{quote(serial, safe='')}"
    return path + suffix


def call(
    client: AblyRestSync,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> HttpPaginatedResponseSync:
    return client.request(method, path, "4", params, body)


def send(client: AblyRestSync, room: str, text: str, **fields: Any) -> dict[str, Any]:
    """Send a Chat message; its Message V4 (the 201 answer)."""
    answer = call(client, "POST", room_path(room, "/messages"), body={"text": text, **fields})
    assert answer.status_code == 201, (answer.status_code, answer.error_message)
    (message,) = answer.items
    assert isinstance(message, dict)
    return message


def refused(answer: HttpPaginatedResponseSync) -> tuple[int, int]:
    """The ``(code, status)`` of a refused call."""
    assert not answer.success
    return int(answer.error_code), answer.status_code


def appender(into: list[Message]) -> Callable[[Message], None]:
    def listener(message: Message) -> None:
        into.append(message)

    return listener


def watch_while(
    emu: AblyEmulator,
    key: ApiKey,
    room: str,
    watchers: list[str],
    action: Callable[[], None],
    count: int,
    binary: bool = False,
) -> list[list[Message]]:
    """Realtime clients ``watchers`` subscribed to the room's channel while ``action``
    runs (``subscribe`` on the room alone); what each was sent, once each has ``count``
    messages."""

    async def scenario() -> list[list[Message]]:
        clients = [
            AblyRealtime(
                token=mint_jwt(
                    key, capability={room: ["subscribe"]}, client_id=name, now=emu.now()
                ),
                use_binary_protocol=binary,
                **emu.client_options(),
            )
            for name in watchers
        ]
        seen: list[list[Message]] = [[] for _ in clients]
        try:
            for client, into in zip(clients, seen, strict=True):
                await client.channels.get(f"{room}::$chat").subscribe(appender(into))
            await asyncio.to_thread(action)
            deadline = time.monotonic() + 10
            while any(len(into) < count for into in seen):
                assert time.monotonic() < deadline, f"not {count} messages each: {seen}"
                await asyncio.sleep(0.02)
            return seen
        finally:
            for client in clients:
                await client.close()

    return asyncio.run(scenario())
