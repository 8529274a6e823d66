"""Narrowing: what the client asked for can only make the grant smaller.

The capability is intersected with the granted one (nothing shared: 403, Ably error
40160), a longer ttl is cut to the grant's, and another clientId is refused (403, 40102),
except that a grant of ``"*"`` (any identity) may be _narrowed to one.
"""

from __future__ import annotations

from ably_authkit._frozen import Frozen

from .params import _NOTHING_ASKED
from .responses import _refuse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import timedelta

    from ably_authkit.capability import Capability

    from .grant import Grant
    from .params import _Asked

__all__: list[str] = []


class _Issue(Frozen):
    """What will be issued: the grant, narrowed. Its claims stay as granted: Ably copies a
    claim only into what the holder does in a matching room or channel, so a claim for
    one the narrowed capability no longer reaches is never read."""

    __slots__ = ("client_id", "capability", "ttl", "room_claims", "channel_claims")

    client_id: str | None
    capability: Capability
    ttl: timedelta
    room_claims: Mapping[str, str]
    channel_claims: Mapping[str, str]

    def __init__(
        self,
        *,
        client_id: str | None,
        capability: Capability,
        ttl: timedelta,
        room_claims: Mapping[str, str],
        channel_claims: Mapping[str, str],
    ) -> None:
        self._set("client_id", client_id)
        self._set("capability", capability)
        self._set("ttl", ttl)
        self._set("room_claims", room_claims)
        self._set("channel_claims", channel_claims)


def _narrowed(grant: Grant, asked: _Asked) -> Grant | _Issue:
    """What to issue: the grant, narrowed by what was asked, never widened."""
    if asked is _NOTHING_ASKED:  # the usual request: the grant as it is
        return grant
    client_id = grant.client_id
    if asked.client_id is not None and asked.client_id != client_id:
        if client_id != "*" or asked.client_id == "*":
            shown = "no clientId (anonymous)" if client_id is None else repr(client_id)
            raise _refuse(
                403,
                40102,
                f"clientId {asked.client_id!r} was asked for, but this user is granted {shown}; "
                "configure the client with the clientId its user has, or none",
            )
        client_id = asked.client_id  # a wildcard grant narrowed to one identity
    capability = grant.capability
    if asked.capability is not None:
        met = grant.capability.intersection(asked.capability)
        if met is None:
            raise _refuse(
                403,
                40160,
                f"the capability asked for, {asked.capability.to_json()}, shares nothing with "
                f"the one this user is granted, {grant.capability.to_json()}",
            )
        capability = met
    ttl = grant.ttl if asked.ttl is None else min(asked.ttl, grant.ttl)
    return _Issue(
        client_id=client_id,
        capability=capability,
        ttl=ttl,
        room_claims=grant.room_claims,
        channel_claims=grant.channel_claims,
    )
