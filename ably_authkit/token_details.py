"""TokenDetails: an Ably token as Ably issues it (``POST /keys/{keyName}/requestToken``).

Wire form (spec TD1-TD6): ``token``, ``issued`` and ``expires`` in integer
**milliseconds**, ``capability`` as JSON text, ``clientId`` when the token has one, and
``keyName``, which Ably adds. Here the times are aware ``datetime`` objects.
"""

from __future__ import annotations

from ._frozen import Frozen
from ._time import check_datetime, check_now, from_ms, to_ms
from .capability import Capability
from .errors import AuthKitError, MalformedTokenError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime, timedelta

    from .capability import CapabilityLike

__all__ = ["TokenDetails"]


class TokenDetails(Frozen):
    """An issued Ably token and what it allows."""

    __slots__ = ("capability", "client_id", "expires", "issued", "key_name", "token")

    token: str
    issued: datetime
    expires: datetime
    capability: Capability
    client_id: str | None
    key_name: str | None

    def __init__(
        self,
        *,
        token: str,
        issued: datetime,
        expires: datetime,
        capability: CapabilityLike,
        client_id: str | None = None,
        key_name: str | None = None,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise MalformedTokenError("TokenDetails.token must be a non-empty str", field="token")
        issued = check_datetime(issued, "issued")
        expires = check_datetime(expires, "expires")
        if expires <= issued:
            raise MalformedTokenError(
                "TokenDetails.expires must be later than issued", field="expires"
            )
        if client_id is not None and (not isinstance(client_id, str) or not client_id):
            raise MalformedTokenError(
                "TokenDetails.client_id must be a non-empty str or None", field="client_id"
            )
        if key_name is not None and (not isinstance(key_name, str) or not key_name):
            raise MalformedTokenError(
                "TokenDetails.key_name must be a non-empty str or None", field="key_name"
            )
        self._set("token", token)
        self._set("issued", issued)
        self._set("expires", expires)
        # What Ably granted may name operations newer than this library: read, don't judge.
        if isinstance(capability, str):
            capability = Capability.parse(capability, allow_unknown_operations=True)
        elif not isinstance(capability, Capability):
            capability = Capability(capability, allow_unknown_operations=True)
        self._set("capability", capability)
        self._set("client_id", client_id)
        self._set("key_name", key_name)

    @property
    def ttl(self) -> timedelta:
        return self.expires - self.issued

    def expires_in(self, *, now: datetime | None = None) -> timedelta:
        """Time left before expiry (negative once expired)."""
        return self.expires - check_now(now)

    def to_dict(self) -> dict[str, str | int]:
        """Ably's wire form; ``clientId`` and ``keyName`` only when set."""
        wire: dict[str, str | int] = {"token": self.token}
        if self.key_name is not None:
            wire["keyName"] = self.key_name
        wire["issued"] = to_ms(self.issued)
        wire["expires"] = to_ms(self.expires)
        wire["capability"] = self.capability.to_json()
        if self.client_id is not None:
            wire["clientId"] = self.client_id
        return wire

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TokenDetails:
        """Read Ably's wire form (JSON or msgpack, already decoded). Unknown keys are
        ignored: Ably may add fields."""
        if not hasattr(data, "get"):
            raise MalformedTokenError(
                f"TokenDetails must be a JSON object, not {type(data).__name__}"
            )
        try:
            return cls(
                token=data.get("token"),  # type: ignore[arg-type]
                issued=_ms_field(data, "issued"),
                expires=_ms_field(data, "expires"),
                capability=_capability_field(data),
                client_id=data.get("clientId"),  # type: ignore[arg-type]
                key_name=data.get("keyName"),  # type: ignore[arg-type]
            )
        except MalformedTokenError:
            raise
        except AuthKitError as error:
            raise MalformedTokenError(
                f"TokenDetails is malformed: {error.message}", field=error.field
            ) from None


def _ms_field(data: Mapping[str, object], name: str) -> datetime:
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return from_ms(value)
        except ValueError:
            pass
    raise MalformedTokenError(
        _field_problem(data, name, "an integer of milliseconds since 1970"), field=name
    )


def _capability_field(data: Mapping[str, object]) -> CapabilityLike:
    value = data.get("capability")
    if isinstance(value, (str, dict)):
        return value
    raise MalformedTokenError(
        _field_problem(data, "capability", "the capability's JSON text"), field="capability"
    )


def _field_problem(data: Mapping[str, object], name: str, wanted: str) -> str:
    """The message for a wire field that is missing or of the wrong kind, showing the
    value as the JSON it came as."""
    from ._json import show_json

    if name not in data:
        return f"TokenDetails has no {name} ({wanted})"
    return f"TokenDetails.{name} must be {wanted}, not {show_json(data[name])}"
