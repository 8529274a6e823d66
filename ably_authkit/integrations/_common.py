"""What the framework modules share: the settings they read, the modes they serve, and the
404 of a mode left out. No framework is imported here."""

from __future__ import annotations

from ably_authkit.endpoint.auth_endpoint import AuthEndpoint
from ably_authkit.endpoint.params import _MODE_NAMES, MODES
from ably_authkit.endpoint.responses import error_response
from ably_authkit.errors import InvalidApiKeyError, InvalidParameterError, ParameterTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from ably_authkit.endpoint import AuthResponse, IssuedCredential, RefusedRequest

__all__: list[str] = []

#: The key, ring, endpoint and emulator settings, as AuthEndpoint.from_env reads them.
ENV_NAMES = ("ABLY_API_KEY", "ABLY_API_KEYS", "ABLY_ENDPOINT", "ABLY_EMULATOR_HOST")


def endpoint_from_settings(
    settings: Mapping[str, object],
    *,
    where: str,
    names: Mapping[str, str] | None = None,
    on_issue: Callable[[IssuedCredential], object] | None = None,
    on_refuse: Callable[[RefusedRequest], object] | None = None,
) -> AuthEndpoint:
    """:meth:`AuthEndpoint.from_env` on ``settings`` (Flask's ``app.config``, Django's
    ``ABLY_AUTHKIT``), read for the variables of :data:`ENV_NAMES`; ``names`` maps each
    variable to its name in ``settings`` when that differs. ``where`` names the settings in
    messages ("app.config")."""
    spelt = {name: name for name in ENV_NAMES} if names is None else dict(names)
    values: dict[str, str] = {}
    for variable in ENV_NAMES:
        value = settings.get(spelt[variable])
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ParameterTypeError(
                f"{where}[{spelt[variable]!r}] must be text, not {type(value).__name__}",
                field=spelt[variable],
            )
        values[variable] = value
    key, ring = spelt["ABLY_API_KEY"], spelt["ABLY_API_KEYS"]
    if "ABLY_API_KEY" in values and "ABLY_API_KEYS" in values:
        raise InvalidApiKeyError(
            f"{where} sets both {key!r} and {ring!r}: the first holds one key, the second a "
            "key ring (every key, the signing key first); keep one",
            field=key,
        )
    if "ABLY_API_KEY" not in values and "ABLY_API_KEYS" not in values:
        raise InvalidApiKeyError(
            f"{where} sets neither {key!r} nor {ring!r}: set {key!r} to your Ably API key "
            "(appId.keyId:secret, from the dashboard's API Keys tab), for instance from "
            f"os.environ['ABLY_API_KEY'], or {ring!r} to a key ring (the signing key first)",
            field=key,
        )
    return AuthEndpoint.from_env(values, on_issue=on_issue, on_refuse=on_refuse)


def served_modes(modes: Iterable[str] | None, *, where: str) -> frozenset[str]:
    """The modes a route serves (default all three), checked now: an unknown name is
    refused here, not answered 404 on every request."""
    if modes is None:
        return frozenset(MODES)
    if isinstance(modes, str) or not hasattr(modes, "__iter__"):
        raise ParameterTypeError(
            f"{where} must be a list of modes such as ['jwt', 'token-request'], "
            f"not {type(modes).__name__}",
            field="modes",
        )
    served = set()
    for mode in modes:
        name = _MODE_NAMES.get(mode) if isinstance(mode, str) else None
        if name is None:
            raise InvalidParameterError(
                f"{where} names {mode!r}, which is no credential mode; use some of {MODES}",
                field="modes",
            )
        served.add(name)
    if not served:
        raise InvalidParameterError(f"{where} serves no mode; name some of {MODES}", field="modes")
    return frozenset(served)


def unserved(endpoint: AuthEndpoint, mode: str, served: frozenset[str]) -> AuthResponse | None:
    """The 404 for a mode this route does not serve (as the endpoint answers an unknown
    one), before the app is asked for a grant, reported as the endpoint reports every
    refusal; ``None`` for a served mode."""
    if _MODE_NAMES.get(mode) in served:
        return None
    shown = tuple(name for name in MODES if name in served)
    refusal = error_response(
        404, 40400, f"no such credential mode {mode[:40]!r}; use one of {shown}"
    )
    return endpoint._refused(mode, None, refusal)


def check_callable(value: object, name: str) -> None:
    if not callable(value):
        raise ParameterTypeError(
            f"{name} must be a function, not {type(value).__name__}", field=name
        )
