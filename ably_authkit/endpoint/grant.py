"""What the app grants the signed-in user: :class:`Grant`.

The app builds one per request from its own session; :class:`~ably_authkit.endpoint.AuthEndpoint`
issues a credential for it, narrowed by what the client asks for (:mod:`.narrowing`).
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType

from ably_authkit._checks import check_client_id
from ably_authkit._frozen import Frozen
from ably_authkit._time import DEFAULT_TOKEN_TTL, ONE_SECOND, check_ttl, describe
from ably_authkit.capability import Capability
from ably_authkit.errors import InvalidClientIdError, InvalidParameterError
from ably_authkit.jwt_tokens import _channel_claim_texts, _room_claim_texts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
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

    ``room_claims`` and ``channel_claims`` are trusted per-user claims that only an Ably
    JWT carries: ``room_claims={"support:42": {"display_name": "Ada"}}`` becomes the JWT
    claim ``ably.room.support:42``, which Ably copies into the ``userClaim`` of the
    user's Chat messages, presence, typing and reactions in that room (a room name or
    pattern, checked as :func:`~ably_authkit.chat.chat_capability` checks one); a
    ``channel_claims`` resource becomes ``ably.channel.<resource>``, copied into
    ``extras.userClaim`` of messages on matching channels (as :func:`~ably_authkit.mint_jwt`
    takes them). They are checked here and held as read-only mappings of str (a mapping
    value as its JSON text); a claim for a room or channel the capability does not reach
    is refused (:class:`~ably_authkit.InvalidParameterError`), as no one could ever read
    it. A TokenRequest or TokenDetails cannot carry them: the endpoint answers those modes
    500 for a Grant with claims (the log says to serve JWTs, or drop the claims), rather
    than hand out a credential without them.
    """

    __slots__ = ("client_id", "capability", "ttl", "room_claims", "channel_claims")

    client_id: str | None
    capability: Capability
    ttl: timedelta
    room_claims: Mapping[str, str]
    channel_claims: Mapping[str, str]

    def __init__(
        self,
        *,
        client_id: str | _AnyClientId | None,
        capability: CapabilityLike,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
        room_claims: Mapping[str, str | Mapping[str, Any]] | None = None,
        channel_claims: Mapping[str, str | Mapping[str, Any]] | None = None,
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
        granted = Capability.coerce(capability)
        set_field("capability", granted)
        set_field("ttl", ttl)
        rooms = _NO_CLAIMS if room_claims is None else _room_claim_texts(room_claims)
        channels = _NO_CLAIMS if channel_claims is None else _channel_claim_texts(channel_claims)
        for field, kind, names in (
            ("room_claims", "room", rooms),
            ("channel_claims", "channel", channels),
        ):
            for name in names:
                _check_reached(granted, field, kind, name)
        set_field("room_claims", MappingProxyType(rooms) if rooms else _NO_CLAIMS)
        set_field("channel_claims", MappingProxyType(channels) if channels else _NO_CLAIMS)

    def __hash__(self) -> int:
        return hash(
            (
                self.client_id,
                self.capability,
                self.ttl,
                frozenset(self.room_claims.items()),  # equal whatever their order
                frozenset(self.channel_claims.items()),
            )
        )

    def replace(self, **changes: Any) -> Grant:
        """A copy with some fields changed (a wildcard grant stays one)."""
        if self.client_id == "*" and "client_id" not in changes:
            changes["client_id"] = ANY_CLIENT_ID
        return super().replace(**changes)

    __replace__ = replace

    def __reduce__(self) -> tuple[Any, ...]:
        client_id = ANY_CLIENT_ID if self.client_id == "*" else self.client_id
        claims = (dict(self.room_claims), dict(self.channel_claims))
        return (_grant, (client_id, self.capability, self.ttl, *claims))


def _check_reached(capability: Capability, field: str, kind: str, name: str) -> None:
    """A claim for a room or channel the grant's capability does not reach can never be
    read (Ably copies it only into what the holder does there): refused as the typo or
    stale grant it is, rather than handed out dead."""
    if capability.intersection({name: ["*"]}) is None:
        raise InvalidParameterError(
            f"{field} names {kind} {name!r}, which the Grant's capability "
            f"{capability.to_json()} does not reach, so Ably would never copy the claim; "
            f"grant the {kind}, or drop its claim",
            field=field,
        )


#: The claims of a grant that has none (shared: read-only).
_NO_CLAIMS: Mapping[str, str] = MappingProxyType({})


def _grant(
    client_id: str | _AnyClientId | None,
    capability: Capability,
    ttl: timedelta,
    room_claims: Mapping[str, str] | None = None,
    channel_claims: Mapping[str, str] | None = None,
) -> Grant:
    return Grant(
        client_id=client_id,
        capability=capability,
        ttl=ttl,
        room_claims=room_claims,
        channel_claims=channel_claims,
    )
