"""Where Ably is: the ``endpoint`` option, checked once, and the one rule every entry
point follows to find it.

``endpoint`` is what the `ably` package calls an endpoint (``"main"``, a routing-policy
name, a host such as ``"rest.example.com"``), or a URL such as ``http://127.0.0.1:8123``
whose scheme turns TLS on or off and whose port is used.

The rule (:func:`resolve_endpoint`), as Firebase's Admin SDK follows it for
``FIREBASE_AUTH_EMULATOR_HOST``: an explicit ``endpoint=`` wins; else the environment,
``ABLY_ENDPOINT`` (any endpoint) or ``ABLY_EMULATOR_HOST`` (``HOST:PORT`` of a running
emulator, as ``ably-authkit emulator`` prints it; both set is refused); else Ably's main
endpoint. :func:`~ably_authkit.request_token`, :func:`~ably_authkit.server_time`,
:func:`~ably_authkit.revoke_tokens`, :class:`~ably_authkit.RestClient`,
:class:`~ably_authkit.AsyncRestClient` and ``AuthEndpoint.from_env()`` all follow it.
"""

from __future__ import annotations

import os

from ably_authkit.errors import AuthKitError, InvalidParameterError, ParameterTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = [
    "EMULATOR_HOST_ENV",
    "ENDPOINT_ENV",
    "check_endpoint",
    "endpoint_from_env",
    "resolve_endpoint",
    "steering",
]

#: The variable that names where Ably is (any form ``endpoint`` takes).
ENDPOINT_ENV = "ABLY_ENDPOINT"
#: The variable that names a running Ably emulator (``HOST:PORT``), in the style of
#: Firebase's ``FIREBASE_AUTH_EMULATOR_HOST``.
EMULATOR_HOST_ENV = "ABLY_EMULATOR_HOST"

_ENDPOINT_FORMS = (
    "an Ably routing policy such as 'main' or 'nonprod:sandbox', a host such as "
    "'rest.example.com', or a URL such as 'http://127.0.0.1:8123'"
)


def _endpoint_error(problem: str) -> InvalidParameterError:
    # The value is never echoed: a misplaced API key ("appId.keyId:secret") or a URL with
    # a password is a secret, and an endpoint is where such a mistake lands.
    return InvalidParameterError(
        f"endpoint {problem}; give {_ENDPOINT_FORMS}", field="endpoint", code=40000
    )


def _is_host(text: str) -> bool:
    """A DNS name (letters, digits, hyphens; labels of 1-63), an IPv4 or an IPv6 address."""
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return True
    labels = text.rstrip(".").split(".") if len(text) <= 253 else []
    return bool(labels) and all(
        0 < len(label) <= 63
        and label.isascii()
        and label.replace("-", "").isalnum()
        and not label.startswith("-")
        and not label.endswith("-")
        for label in labels
    )


def _is_routing_policy(text: str) -> bool:
    return text.isascii() and bool(text) and text.replace("-", "").isalnum()


def check_endpoint(endpoint: object) -> dict[str, Any]:
    """The `ably` package's options for ``endpoint`` (``endpoint``, ``tls``, ``port`` or
    ``tls_port``), or an :class:`~ably_authkit.InvalidParameterError` that says which form
    to use without repeating the value.

    A value without a scheme is read as the spec does (REC1b): with a ``.``, a ``::`` or
    equal to ``localhost`` it is a host; ``nonprod:ID`` or ``ID`` is a routing policy.
    """
    if not isinstance(endpoint, str):
        raise ParameterTypeError(
            f"endpoint must be a str ({_ENDPOINT_FORMS}), not {type(endpoint).__name__}",
            field="endpoint",
        )
    if "://" not in endpoint:
        if "." in endpoint or "::" in endpoint or endpoint == "localhost":
            if _is_host(endpoint):
                return {"endpoint": endpoint}
            host, _, last = endpoint.rpartition(":")
            if last.isdigit() and _is_host(host):
                raise _endpoint_error(
                    "is a host and a port without a scheme: write it as a URL, "
                    "http://HOST:PORT (or https://)"
                )
            if ":" in endpoint and "." in endpoint.partition(":")[0]:
                raise _endpoint_error(
                    "looks like an API key (appId.keyId:secret): give the key as the key "
                    "(ABLY_API_KEY), not as the endpoint"
                )
            raise _endpoint_error("is not a valid host name")
        policy = endpoint[len("nonprod:") :] if endpoint.startswith("nonprod:") else endpoint
        if _is_routing_policy(policy):
            return {"endpoint": endpoint}
        if endpoint.startswith("localhost:"):
            raise _endpoint_error(
                "is a host and a port without a scheme: write it as a URL, http://HOST:PORT"
            )
        raise _endpoint_error("is neither a routing policy nor a host")
    from urllib.parse import urlsplit

    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        raise _endpoint_error("is not a valid URL") from None
    if "@" in url.netloc:
        raise _endpoint_error("is a URL with credentials: the key is given separately")
    if url.scheme not in ("http", "https"):
        raise _endpoint_error("must be an http:// or https:// URL")
    if not url.hostname or not _is_host(url.hostname):
        raise _endpoint_error("is a URL without a valid host")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise _endpoint_error("must be a URL with no path, query or fragment")
    tls = url.scheme == "https"
    options: dict[str, Any] = {"endpoint": url.hostname, "tls": tls}
    if port is not None:
        options["tls_port" if tls else "port"] = port
    return options


def endpoint_from_env(
    environ: Mapping[str, str] | None = None,
    *,
    endpoint_variable: str = ENDPOINT_ENV,
    emulator_variable: str = EMULATOR_HOST_ENV,
) -> str | None:
    """The endpoint the environment names: ``ABLY_ENDPOINT``, or ``http://HOST:PORT`` for
    ``ABLY_EMULATOR_HOST``; ``None`` (Ably) when neither is set. Both set is refused."""
    source = os.environ if environ is None else environ
    endpoint = source.get(endpoint_variable) or None
    emulator_host = source.get(emulator_variable) or None
    if emulator_host is None:
        return endpoint
    if endpoint is not None:
        raise InvalidParameterError(
            f"{emulator_variable} and {endpoint_variable} are both set: the first names a "
            "local emulator, the second another service; unset one",
            field=emulator_variable,
        )
    return _emulator_url(emulator_host, emulator_variable)


def _emulator_url(host: str, variable: str) -> str:
    """``http://HOST:PORT`` for ``ABLY_EMULATOR_HOST``'s ``HOST:PORT``."""
    url = f"http://{host}"
    try:
        options = check_endpoint(url)
    except AuthKitError:
        options = {}
    if "port" not in options:
        raise InvalidParameterError(
            f"{variable} must be the HOST:PORT of a running emulator, such as "
            "127.0.0.1:8123 (what 'ably-authkit emulator' prints), with no scheme",
            field=variable,
        )
    return url


def resolve_endpoint(endpoint: str | None) -> str | None:
    """Where Ably is, by the one rule: ``endpoint`` when given, else what the environment
    names (:func:`endpoint_from_env`), else ``None``: Ably's main endpoint."""
    return endpoint if endpoint is not None else endpoint_from_env()


def steering() -> str:
    """How the endpoint was chosen, for an error that could not reach it: the rule and
    which of its variables are set (never their values, which may hold a mistake such
    as a key)."""
    state = " and ".join(
        f"{name} is {'set' if os.environ.get(name) else 'not set'}"
        for name in (ENDPOINT_ENV, EMULATOR_HOST_ENV)
    )
    return (
        f"The endpoint comes from endpoint= when given, else ${ENDPOINT_ENV}, else the "
        f"emulator at ${EMULATOR_HOST_ENV} (HOST:PORT), else it is Ably's main endpoint; "
        f"here {state}"
    )
