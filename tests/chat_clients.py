"""What the Chat REST tests share: Ably Chat's REST calls made as @ably/chat makes them
(``request(method, path, 4, params, body)`` on the SDK's client, chat-api.ts), here with
the ``ably`` package's ``AblyRestSync.request``."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

from ably.sync import AblyRestSync
from ably.sync.http.paginatedresult import HttpPaginatedResponseSync

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
