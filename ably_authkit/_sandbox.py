"""Ably's test-app API (``POST /apps``, ``DELETE /apps/{appId}``), as Ably's SDK test
suites use it against Ably's sandbox: for the pytest fixtures when ``ABLY_TEST_ENDPOINT``
names a service other than the embedded emulator. Standard library only.

Shapes: ably-python's ``test/ably/testapp.py`` (the key is ``{appId}.{id}:{value}`` of
each entry of ``keys``) and ably-js's ``test/common/modules/testapp_manager.js`` (the app
is deleted with its first key as basic auth).
"""

from __future__ import annotations

from .errors import AblyApiError, InvalidParameterError
from .keys import ApiKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["delete_test_app", "provision_test_app", "rest_url"]

#: The app asked for: one key, with the sandbox's default capability.
_APP_SPEC: dict[str, list[dict[str, str]]] = {"keys": [{}]}


def rest_url(endpoint: str) -> str:
    """The REST base URL of ``endpoint``, by the specification's rules (REC1b): a URL as
    it is, a host over TLS, ``nonprod:ID`` at ``ID.realtime.ably-nonprod.net``, ``ID`` at
    ``ID.realtime.ably.net``. ``sandbox`` alone is refused: by those rules it is a
    production routing policy, where ``nonprod:sandbox`` was surely meant."""
    from .rest import check_endpoint

    if isinstance(endpoint, str) and endpoint.strip().lower() == "sandbox":
        # Not mapped: "sandbox" is a production routing policy by the specification's
        # rules, and an endpoint is never silently read as another.
        raise InvalidParameterError(
            f"ABLY_TEST_ENDPOINT={endpoint} names the production routing policy "
            f"{endpoint!r} (https://{endpoint}.realtime.ably.net, spec REC1b4), not Ably's "
            "sandbox, which is the non-production policy: set ABLY_TEST_ENDPOINT=nonprod:sandbox "
            "(as ably-js's test suite does)",
            field="ABLY_TEST_ENDPOINT",
        )
    options = check_endpoint(endpoint)
    host = str(options["endpoint"])
    if "://" in endpoint:
        return endpoint.rstrip("/")
    if not ("." in host or "::" in host or host == "localhost"):
        if host.startswith("nonprod:"):
            host = f"{host[len('nonprod:') :]}.realtime.ably-nonprod.net"
        else:
            host = f"{host}.realtime.ably.net"
    return f"https://{host}"


def _call(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Any:
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (http/https only)
            data = answer.read()
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")[:300]
        raise AblyApiError(
            f"{method} {url} was refused ({error.code}): {text}",
            code=None,
            status_code=error.code,
        ) from None
    return json.loads(data) if data else None


def provision_test_app(endpoint: str) -> dict[str, Any]:
    """Provision a test app at ``endpoint``: ``{"appId", "key", "endpoint"}``."""
    import json

    base = rest_url(endpoint)
    answer = _call(
        "POST",
        f"{base}/apps",
        json.dumps(_APP_SPEC).encode("utf-8"),
        {"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        app_id = answer["appId"]
        first = answer["keys"][0]
        capability = first.get("capability")
        key = ApiKey.parse(
            f"{app_id}.{first['id']}:{first['value']}",
            capability=json.loads(capability) if isinstance(capability, str) else capability,
        )
    except (KeyError, IndexError, TypeError, ValueError):
        raise InvalidParameterError(
            f"{base}/apps did not answer as Ably's test-app API does (appId, keys)",
            field="ABLY_TEST_ENDPOINT",
        ) from None
    return {"appId": app_id, "key": key, "endpoint": endpoint}


def delete_test_app(endpoint: str, app: dict[str, Any]) -> None:
    """Delete the app :func:`provision_test_app` made (its key as basic auth)."""
    import base64

    key: ApiKey = app["key"]
    credentials = base64.b64encode(f"{key.name}:{key.secret}".encode()).decode("ascii")
    _call(
        "DELETE",
        f"{rest_url(endpoint)}/apps/{app['appId']}",
        None,
        {"Authorization": f"Basic {credentials}"},
    )
