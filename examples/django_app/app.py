"""Django glue for ably_authkit.endpoint, as a one-file project (settings, URLs, views)."""

from __future__ import annotations

import secrets

import django
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from ably_authkit import InvalidClientIdError, resource_segment
from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant, ably_js_response

if not settings.configured:  # in a real project, this is settings.py
    settings.configure(
        ROOT_URLCONF=__name__,
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=[],
    )
    django.setup()

urlpatterns: list[URLPattern] = []  # filled by create_app()


def grant_for(user_id: str | None) -> Grant | None:
    """This app's policy: every user may chat, and hears what is sent to them alone."""
    if not user_id:
        return None
    capability = {
        "chat:*": ["publish", "subscribe", "presence", "history"],
        # The id is the user's, not ours: escaped, "*" or "a:b" names one channel only.
        f"user:{resource_segment(user_id, escape=True)}": ["subscribe"],
    }
    try:
        return Grant(client_id=user_id, capability=capability)
    except InvalidClientIdError:  # "*" (the wildcard identity), or an id Ably cannot carry
        return None


def current_user(request: HttpRequest) -> str | None:
    # STAND-IN for your real session (request.user.get_username() after login):
    # this demo trusts an X-User-Id header, which any client could forge.
    return request.META.get("HTTP_X_USER_ID") or None  # request.headers, without building it


def reply(answer: AuthResponse) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, headers=dict(answer.headers))


def create_app(auth: AuthEndpoint) -> WSGIHandler:
    @csrf_exempt  # Ably clients POST token params as a form, with no CSRF token
    def credentials(request: HttpRequest, mode: str) -> HttpResponse:
        # request.META is the WSGI environ (method, query, content type); the body is
        # read only for a POST, the one method that carries token params in it.
        answer = auth.respond_wsgi(
            mode, grant_for(current_user(request)), request.META, body=lambda: request.body
        )
        return reply(answer)

    def page(request: HttpRequest) -> HttpResponse:
        # DEMO ONLY: the page falls back to ?user= or "demo-user" so a browser shows something.
        user = request.GET.get("user") or current_user(request) or "demo-user"
        page = auth.demo_page(
            grant_for(user),
            page_url=request.build_absolute_uri("/"),
            # The live panel, served below; the clock button only on the app's own emulator.
            ably_js_url="/ably.js",
            explain_url="/explain",
            clock_url=None if auth.emulator is None else "/emulator/advance",
        )
        return reply(page)

    # DEMO ONLY, the page's live panel: its ably-js (shipped with ably_authkit: offline),
    # explain() of its credential, and its button that moves the local emulator's clock
    # (404 unless the app was started with its own: --emulator, `ably-authkit demo`).
    @require_GET
    def ably_js(request: HttpRequest) -> HttpResponse:
        return reply(ably_js_response())

    @csrf_exempt
    @require_POST
    def explain(request: HttpRequest) -> HttpResponse:
        return reply(auth.explain_response(request.body))

    @csrf_exempt
    @require_POST
    def advance(request: HttpRequest) -> HttpResponse:
        return reply(auth.clock_response(request.GET.get("seconds")))

    urlpatterns[:] = [
        path("", page),
        path("auth/<str:mode>", credentials),
        path("ably.js", ably_js),
        path("explain", explain),
        path("emulator/advance", advance),
    ]
    return WSGIHandler()
