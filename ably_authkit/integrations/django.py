"""Django: the authUrl views and a URLconf to ``include()``, driven by settings.

::

    # settings.py
    ABLY_AUTHKIT = {
        "API_KEY": os.environ["ABLY_API_KEY"],
        "GRANT_FOR": "myapp.ably.grant_for",   # grant_for(request) -> Grant | None
    }

    # urls.py
    urlpatterns = [path("auth/", include("ably_authkit.integrations.django"))]

``settings.ABLY_AUTHKIT`` holds:

- ``API_KEY`` (or ``API_KEYS``, a key ring, the signing key first), ``ENDPOINT`` or
  ``EMULATOR_HOST``: as :meth:`AuthEndpoint.from_env
  <ably_authkit.endpoint.AuthEndpoint.from_env>` reads ``ABLY_API_KEY`` and the others;
  or ``AUTH_ENDPOINT``, an :class:`~ably_authkit.endpoint.AuthEndpoint` (or the dotted
  path of one) to use as it is;
- ``GRANT_FOR`` (required): the dotted path of the app's policy, ``grant_for(request)``
  returning the user's :class:`~ably_authkit.endpoint.Grant` or ``None`` (401); it may be
  ``async def`` for :func:`async_credentials`;
- ``MODES``: the modes to serve (default all three);
- ``ON_ISSUE``, ``ON_REFUSE``: dotted paths of the endpoint's hooks (docs/operations.md).

The settings are read on the first request and again whenever ``ABLY_AUTHKIT`` is
replaced (``override_settings`` in tests). Needs the ``django`` extra.
"""

from __future__ import annotations

import inspect

from ably_authkit._extras import import_from
from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant
from ably_authkit.errors import InvalidParameterError, ParameterTypeError

from ._common import endpoint_from_settings, served_modes, unserved

import_from("django", "django", "ably_authkit.integrations.django")

from django.conf import settings  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from typing import Any

    GrantFor = Callable[[HttpRequest], Grant | Awaitable[Grant | None] | None]

__all__ = [
    "app_name",
    "async_credentials",
    "configured",
    "credentials",
    "endpoint",
    "reply",
    "urlpatterns",
]

#: The setting this module reads.
SETTING = "ABLY_AUTHKIT"
#: The settings' names for the variables AuthEndpoint.from_env reads.
_NAMES = {
    "ABLY_API_KEY": "API_KEY",
    "ABLY_API_KEYS": "API_KEYS",
    "ABLY_ENDPOINT": "ENDPOINT",
    "ABLY_EMULATOR_HOST": "EMULATOR_HOST",
}
_KNOWN = frozenset(
    {*_NAMES.values(), "AUTH_ENDPOINT", "GRANT_FOR", "MODES", "ON_ISSUE", "ON_REFUSE"}
)


class _Config:
    """``settings.ABLY_AUTHKIT``, read and checked."""

    __slots__ = ("endpoint", "grant_for", "modes", "source")

    def __init__(self, source: Mapping[str, Any]) -> None:
        where = f"settings.{SETTING}"
        unknown = sorted(set(source) - _KNOWN)
        if unknown:
            raise InvalidParameterError(
                f"{where} has unknown entries {unknown}; it takes {sorted(_KNOWN)}",
                field=SETTING,
            )
        self.source = source
        self.grant_for: GrantFor = _function(source.get("GRANT_FOR"), f"{where}['GRANT_FOR']")
        self.modes = served_modes(source.get("MODES"), where=f"{where}['MODES']")
        given = source.get("AUTH_ENDPOINT")
        if given is not None:
            if isinstance(given, str):
                given = _import(given, f"{where}['AUTH_ENDPOINT']")
            if not isinstance(given, AuthEndpoint):
                raise ParameterTypeError(
                    f"{where}['AUTH_ENDPOINT'] must be an AuthEndpoint or its dotted path, "
                    f"not {type(given).__name__}",
                    field=SETTING,
                )
            self.endpoint = given
            return
        hooks = {
            name: _function(source[key], f"{where}[{key!r}]")
            for name, key in (("on_issue", "ON_ISSUE"), ("on_refuse", "ON_REFUSE"))
            if source.get(key) is not None
        }
        self.endpoint = endpoint_from_settings(source, where=where, names=_NAMES, **hooks)


def _function(value: object, where: str) -> Any:
    if value is None:
        raise InvalidParameterError(
            f"{where} is not set: name your policy's function by its dotted path, such as "
            "'myapp.ably.grant_for' (grant_for(request) returns a Grant or None)",
            field=SETTING,
        )
    if isinstance(value, str):
        value = _import(value, where)
    if not callable(value):
        raise ParameterTypeError(
            f"{where} must be a function or its dotted path, not {type(value).__name__}",
            field=SETTING,
        )
    return value


def _import(dotted: str, where: str) -> Any:
    """What ``dotted`` names; text that is no dotted path (an API key in the wrong entry)
    is refused without being repeated."""
    if not all(part.isidentifier() for part in dotted.split(".")) or "." not in dotted:
        raise InvalidParameterError(
            f"{where} must be a dotted path such as 'myapp.ably.grant_for', and the text "
            "given is not one (it is not repeated here, in case it is a secret)",
            field=SETTING,
        )
    return import_string(dotted)


_config: _Config | None = None


def configured() -> _Config:
    """The checked ``settings.ABLY_AUTHKIT`` (read again when it was replaced). Call it in
    your ``AppConfig.ready()`` to refuse a bad setting at start-up."""
    global _config
    source = getattr(settings, SETTING, None)
    if source is None:
        raise InvalidParameterError(
            f"settings.{SETTING} is not set: give it at least 'API_KEY' and 'GRANT_FOR' "
            "(see ably_authkit.integrations.django)",
            field=SETTING,
        )
    config = _config
    if config is None or config.source is not source:
        config = _config = _Config(source)
    return config


def endpoint() -> AuthEndpoint:
    """The endpoint the views answer with."""
    return configured().endpoint


def reply(answer: AuthResponse) -> HttpResponse:
    """``answer`` as a Django ``HttpResponse`` (for a view of your own around
    :func:`credentials`, such as a rate limit's 429)."""
    return HttpResponse(answer.body, status=answer.status, headers=dict(answer.headers))


def _credentials(request: HttpRequest, mode: str) -> HttpResponse:
    config = configured()
    answer = unserved(config.endpoint, mode, config.modes)
    if answer is None:
        grant_for = config.grant_for
        if inspect.iscoroutinefunction(grant_for):
            raise ParameterTypeError(
                "GRANT_FOR is async: route the async view, async_credentials, under ASGI",
                field=SETTING,
            )
        grant = grant_for(request)
        if grant is not None and not isinstance(grant, Grant):
            raise ParameterTypeError(
                f"GRANT_FOR must return a Grant or None, not {type(grant).__name__}",
                field=SETTING,
            )
        # request.META is the WSGI environ (method, query, content type); the body is
        # read only for a POST, the one method whose body holds token params.
        answer = config.endpoint.respond_wsgi(mode, grant, request.META, body=lambda: request.body)
    return reply(answer)


async def _async_credentials(request: HttpRequest, mode: str) -> HttpResponse:
    from asgiref.sync import sync_to_async

    config = configured()
    answer = unserved(config.endpoint, mode, config.modes)
    if answer is None:
        grant_for = config.grant_for
        if inspect.iscoroutinefunction(grant_for):
            grant = await grant_for(request)
        else:  # request.user reads the session from the database: not on the event loop
            grant = await sync_to_async(grant_for)(request)
        # As respond_wsgi reads it (refused on its head alone, the body read only for a
        # POST that passed), then answered by the async twin.
        read = config.endpoint._read_wsgi(mode, grant, request.META, lambda: request.body)
        if isinstance(read, AuthResponse):
            return reply(read)
        method, query, body, content_type = read
        answer = await config.endpoint.arespond(
            mode, grant, method=method, query=query, body=body, content_type=content_type
        )
    return reply(answer)


# CSRF-exempt: Ably clients POST their token params as a form, with no CSRF token. (The
# attribute csrf_exempt sets, without its wrapper, which is sync before Django 5.0.)
_credentials.csrf_exempt = True  # type: ignore[attr-defined]
_async_credentials.csrf_exempt = True  # type: ignore[attr-defined]

#: The view for WSGI (and ASGI, in a thread): ``GET``/``POST`` ``<mode>``.
credentials = _credentials
#: The view for ASGI: the ``token`` mode awaits Ably on the event loop, and a sync
#: ``GRANT_FOR`` runs in a thread (``sync_to_async``), so it may read ``request.user``.
async_credentials = _async_credentials

#: The namespace of ``include("ably_authkit.integrations.django")``:
#: ``reverse("ably_authkit:credentials", args=["jwt"])``.
app_name = "ably_authkit"
#: ``<mode>`` for the three modes, answered by :func:`credentials`.
urlpatterns = [path("<str:mode>", credentials, name="credentials")]
