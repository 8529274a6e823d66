"""What a client needs to reach an endpoint: options and a "connect a client" snippet,
for ably-js and for the `ably` package (ably-python), which spell them differently.

ably-python 3.1's realtime client ignores ``port`` and ``tls_port`` (ably/ably-python#567)
and opens ``ws://{endpoint}``: for it the port goes in ``endpoint`` (``"127.0.0.1:8123/"``;
the trailing ``/`` keeps its REST URLs right too). ably-js takes ``endpoint``, ``port``
and ``tlsPort`` as they are. Every snippet this library prints comes from here, and the
tests run each one with both SDKs.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["SDKS", "js_snippet", "python_snippet", "sdk_options"]

#: The SDKs whose spelling of the options this module knows.
SDKS = ("ably-js", "ably-python")


def sdk_options(options: Mapping[str, Any], sdk: str) -> dict[str, Any]:
    """``options`` (``endpoint``, ``tls``, ``port`` or ``tls_port``, as
    :func:`ably_authkit.rest.check_endpoint` gives them) as ``sdk`` takes them."""
    if sdk == "ably-js":
        return {"tlsPort" if name == "tls_port" else name: value for name, value in options.items()}
    if sdk != "ably-python":
        raise ValueError(f"sdk must be one of {SDKS}")
    port = options.get("tls_port", options.get("port"))
    if port is None:
        return dict(options)
    host = str(options["endpoint"])
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return {**options, "endpoint": f"{host}:{port}/", "fallback_hosts": []}


def _credentials(
    auth_url: str | None, headers: Mapping[str, str] | None, key: str | None
) -> list[tuple[str, str, Any]]:
    """(ably-js name, ably-python name, value) of how the client authenticates."""
    if key is not None:
        return [("key", "key", key)]
    if auth_url is None:
        raise ValueError("give auth_url or key")
    named: list[tuple[str, str, Any]] = [("authUrl", "auth_url", auth_url)]
    if headers:
        named.append(("authHeaders", "auth_headers", dict(headers)))
    return named


def js_snippet(
    options: Mapping[str, Any],
    *,
    auth_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
) -> str:
    """``new Ably.Realtime({...})`` through ``auth_url`` (with ``headers``), or with
    ``key``, for ably-js."""
    import json

    config = {js: value for js, _, value in _credentials(auth_url, headers, key)}
    config.update(sdk_options(options, "ably-js"))
    return f"new Ably.Realtime({json.dumps(config, ensure_ascii=False)})"


def python_snippet(
    options: Mapping[str, Any],
    *,
    auth_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    key: str | None = None,
) -> str:
    """``AblyRealtime(...)`` through ``auth_url`` (with ``headers``), or with ``key``, for
    the `ably` package."""
    named = [(py, value) for _, py, value in _credentials(auth_url, headers, key)]
    named += sdk_options(options, "ably-python").items()
    return f"AblyRealtime({', '.join(f'{name}={value!r}' for name, value in named)})"
