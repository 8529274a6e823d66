"""Django: this app's policy, served by ably_authkit's Django integration (a one-file
project: settings, URLs and the policy)."""

from __future__ import annotations

import secrets

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, include, path

from ably_authkit import InvalidCapabilityError, InvalidClientIdError, resource_segment
from ably_authkit.endpoint import AuthEndpoint, Grant

if not settings.configured:  # in a real project, this is settings.py
    settings.configure(
        ROOT_URLCONF=__name__,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=[],
        # A real project names its key here ("API_KEY": os.environ["ABLY_API_KEY"]);
        # create_app() hands over the endpoint that __main__ configured instead.
        ABLY_AUTHKIT={"GRANT_FOR": f"{__name__}.grant_for_request"},
    )
    django.setup()

# In a real project, this is urls.py.
urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/", include("ably_authkit.integrations.django")),
]


def grant_for(user_id: str | None) -> Grant | None:
    """This app's policy: every user may chat, and hears what is sent to them alone."""
    if not user_id:
        return None
    try:
        capability = {
            "chat:*": ["publish", "subscribe", "presence", "history"],
            # The id is the user's, not ours: escaped, "*" or "a:b" names one channel only.
            f"user:{resource_segment(user_id, escape=True)}": ["subscribe"],
        }
        return Grant(client_id=user_id, capability=capability)
    except (InvalidClientIdError, InvalidCapabilityError):  # "*", a 300-character id...
        return None  # an id Ably cannot carry, or one too long for a channel name: 401


def current_user(request: HttpRequest) -> str | None:
    # STAND-IN for your real session (request.user.get_username() after login):
    # this example trusts an X-User-Id header, which any client could forge.
    return request.META.get("HTTP_X_USER_ID") or None  # request.headers, without building it


def grant_for_request(request: HttpRequest) -> Grant | None:
    """settings.ABLY_AUTHKIT["GRANT_FOR"]: the grant of the request's user."""
    return grant_for(current_user(request))


def create_app(auth: AuthEndpoint) -> WSGIHandler:
    """The WSGI app, answering GET/POST /auth/jwt, /auth/token-request and /auth/token
    with ``auth``."""
    settings.ABLY_AUTHKIT = {**settings.ABLY_AUTHKIT, "AUTH_ENDPOINT": auth}
    return WSGIHandler()
