"""What the emulator's REST tests share (mutable messages, annotations, channels, Chat
claims): the ``ably`` package's REST client with a JWT for a client, and the code and
status of the refusal a call gets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from ably.sync import AblyRestSync
from ably.sync.util.exceptions import AblyException

from ably_authkit import ApiKey, mint_jwt
from ably_authkit.testing import AblyEmulator


@contextmanager
def rest(
    emu: AblyEmulator,
    key: ApiKey,
    client_id: str | None,
    capability: dict[str, list[str]],
    binary: bool = False,
    *,
    room_claims: dict[str, str] | None = None,
) -> Iterator[AblyRestSync]:
    """The ``ably`` package's REST client with a JWT (one hour) for ``client_id``, with
    ``room_claims`` if given."""
    jwt = mint_jwt(
        key,
        capability=capability,
        client_id=client_id,
        now=emu.now(),
        ttl=timedelta(hours=1),
        room_claims=room_claims,
    )
    client = AblyRestSync(token=jwt, use_binary_protocol=binary, **emu.client_options())
    try:
        yield client
    finally:
        client.close()


def refusal(call: Any) -> tuple[Any, Any]:
    """The ``(code, status)`` of the AblyException that ``call`` raises."""
    with pytest.raises(AblyException) as caught:
        call()
    return caught.value.code, caught.value.status_code
