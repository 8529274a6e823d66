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
from ably_authkit.errors import InvalidParameterError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ably_authkit.capability import CapabilityLike

__all__ = ["Grant"]


class Grant(Frozen):
    """What the app grants the current user: who they are, what they may do, for how long.

    ``client_id`` is the identity the credential enforces (``None``: anonymous, ``"*"``:
    any). ``ttl`` is a whole number of seconds (a JWT's lifetime is whole seconds), at
    most 24 h. The client may ask for less, never for more.
    """

    __slots__ = ("client_id", "capability", "ttl")

    client_id: str | None
    capability: Capability
    ttl: timedelta

    def __init__(
        self,
        *,
        client_id: str | None,
        capability: CapabilityLike,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> None:
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
