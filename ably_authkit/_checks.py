"""Argument checks shared by JWTs, TokenRequests and the endpoint."""

from __future__ import annotations

from ._json import is_text
from .capability import Capability
from .errors import (
    ClientIdTypeError,
    InvalidCapabilityError,
    InvalidClientIdError,
    InvalidParameterError,
    ParameterTypeError,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .capability import CapabilityLike
    from .keys import ApiKey


def check_client_id(client_id: object) -> str:
    """``"*"`` (wildcard) or a client id Ably can sign (callers let ``None`` through first).

    A newline is refused: the TokenRequest MAC is computed over newline-separated
    fields, so a client id with one could be read back as two fields.
    """
    if not isinstance(client_id, str):
        raise ClientIdTypeError(
            f"client_id must be a str (or None for an anonymous client), "
            f"not {type(client_id).__name__}",
            field="client_id",
        )
    if not client_id:
        raise InvalidClientIdError(
            "client_id is empty; pass None for an anonymous client, '*' for a client that "
            "may take any id, or the id of the user (Ably error 40012)",
            field="client_id",
        )
    if "\n" in client_id:
        raise InvalidClientIdError(
            f"client_id {client_id!r} contains a newline, which would corrupt the signed "
            "text of a TokenRequest; use an id without line breaks",
            field="client_id",
        )
    if not is_text(client_id):
        raise InvalidClientIdError(
            f"client_id {client_id!r} contains an unpaired surrogate, which cannot be sent",
            field="client_id",
        )
    return client_id


def check_grantable(key: ApiKey, capability: CapabilityLike) -> Capability:
    """The capability, checked against the key's own when the key's is known."""
    requested = Capability.coerce(capability)
    if key.capability is None:
        return requested
    if key.capability.intersection(requested) is None:
        raise InvalidCapabilityError(
            f"key {key.name} cannot grant any of {requested.to_json()}: its capability is "
            f"{key.capability.to_json()}, and Ably refuses a token whose capability "
            "shares nothing with its key's",
            field="capability",
            code=40160,
            status_code=401,
        )
    return requested


def check_text(value: object, field: str, *, example: str) -> str:
    """A non-empty str argument (revocation key, nonce, ...)."""
    if not isinstance(value, str):
        raise ParameterTypeError(
            f"{field} must be a str such as {example!r}, not {type(value).__name__}",
            field=field,
        )
    if not value:
        raise InvalidParameterError(f"{field} is empty; give e.g. {example!r}", field=field)
    return value
