"""What the app grants the signed-in user: :class:`Grant`.

The app builds one per request from its own session; :class:`~ably_authkit.endpoint.AuthEndpoint`
issues a credential for it, narrowed by what the client asks for (:mod:`.narrowing`).
"""

from __future__ import annotations

from datetime import timedelta

from ably_authkit._checks import check_client_id
from ably_authkit._frozen import Frozen
from ably_authkit._time import DEFAULT_TOKEN_TTL, ONE_SECOND, check_ttl, describe
from ably_authkit.capability import Capability
from ably_authkit.errors import InvalidClientIdError, InvalidParameterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ably_authkit.capability import CapabilityLike

__all__ = ["ANY_CLIENT_ID", "Grant"]


class _AnyClientId:
    """The type of :data:`ANY_CLIENT_ID`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY_CLIENT_ID"

    def __reduce__(self) -> str:
        return "ANY_CLIENT_ID"  # unpickled as the one instance, so `is` still finds it


#: Grant the wildcard identity, ``"*"``: the holder may act as any client id. Passed as
#: ``Grant(client_id=ANY_CLIENT_ID, ...)``, because the text ``"*"`` is refused there: a
#: wildcard identity is a deliberate choice, never a user's string that happens to be ``*``.
ANY_CLIENT_ID = _AnyClientId()


class Grant(Frozen):
    """What the app grants the current user: who they are, what they may do, for how long.

    ``client_id`` is the identity the credential enforces (``None``: anonymous). Give the
    user's id as it is: the text ``"*"`` is refused
    (:class:`~ably_authkit.InvalidClientIdError`), since it would be the wildcard
    identity; grant that one deliberately with ``client_id=ANY_CLIENT_ID`` (then
    ``grant.client_id`` reads ``"*"``). Put untrusted ids into resource names with
    :func:`~ably_authkit.resource_segment`. ``ttl`` is a whole number of seconds (a
    JWT's lifetime is whole seconds), at most 24 h. The client may ask for less, never
    for more.
    """

    __slots__ = ("client_id", "capability", "ttl")

    client_id: str | None
    capability: Capability
    ttl: timedelta

    def __init__(
        self,
        *,
        client_id: str | _AnyClientId | None,
        capability: CapabilityLike,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> None:
        if client_id is ANY_CLIENT_ID:
            client_id = "*"
        elif client_id == "*":
            raise InvalidClientIdError(
                "a Grant's client_id '*' would be the wildcard identity (the holder may act "
                "as anyone); a user's id must never become it. Refuse such a user id, or "
                "grant the wildcard deliberately with client_id=ANY_CLIENT_ID",
                field="client_id",
            )
        if ttl is not DEFAULT_TOKEN_TTL:  # the default (1 h) is known good
            ttl = check_ttl(ttl)
            if ttl % ONE_SECOND:
                raise InvalidParameterError(
                    f"a Grant's ttl must be whole seconds (a JWT's lifetime is), "
                    f"not {describe(ttl)}",
                    field="ttl",
                    code=40003,
                    status_code=400,
                )
        set_field = self._set
        set_field("client_id", None if client_id is None else check_client_id(client_id))
        set_field("capability", Capability.coerce(capability))
        set_field("ttl", ttl)

    def replace(self, **changes: Any) -> Grant:
        """A copy with some fields changed (a wildcard grant stays one)."""
        if self.client_id == "*" and "client_id" not in changes:
            changes["client_id"] = ANY_CLIENT_ID
        return super().replace(**changes)

    __replace__ = replace

    def __reduce__(self) -> tuple[Any, ...]:
        client_id = ANY_CLIENT_ID if self.client_id == "*" else self.client_id
        return (_grant, (client_id, self.capability, self.ttl))


def _grant(client_id: str | _AnyClientId | None, capability: Capability, ttl: timedelta) -> Grant:
    return Grant(client_id=client_id, capability=capability, ttl=ttl)
