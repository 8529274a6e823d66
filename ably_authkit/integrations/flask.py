"""Flask: the authUrl routes as an extension, configured from ``app.config``.

::

    from ably_authkit.integrations.flask import AblyAuth

    ably = AblyAuth()

    @ably.grant_loader
    def grant_for_current_user() -> Grant | None:
        ...  # the signed-in user's Grant, or None

    ably.init_app(app)  # GET/POST /auth/jwt, /auth/token-request, /auth/token

``init_app`` reads ``app.config``: ``ABLY_API_KEY`` (or ``ABLY_API_KEYS``, a key ring),
``ABLY_ENDPOINT`` or ``ABLY_EMULATOR_HOST``, as :meth:`AuthEndpoint.from_env
<ably_authkit.endpoint.AuthEndpoint.from_env>` reads the environment, and
``ABLY_AUTH_MODES``, the modes to serve (default all three). Needs the ``flask`` extra.
"""

from __future__ import annotations

from ably_authkit._extras import import_from
from ably_authkit.errors import InvalidParameterError

from ._common import check_callable, endpoint_from_settings, served_modes, unserved

import_from("flask", "flask", "ably_authkit.integrations.flask")

from flask import Blueprint, Flask, Response, current_app, request  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ably_authkit.endpoint import (
        AuthEndpoint,
        AuthResponse,
        Grant,
        IssuedCredential,
        RefusedRequest,
    )

    GrantLoader = Callable[[], Grant | None]

__all__ = ["AblyAuth", "reply"]

#: The key of ``app.extensions`` under which each app keeps its endpoint.
EXTENSION = "ably_authkit"


class _State:
    """What one app serves: its endpoint and modes."""

    __slots__ = ("endpoint", "modes")

    def __init__(self, endpoint: AuthEndpoint, modes: frozenset[str]) -> None:
        self.endpoint = endpoint
        self.modes = modes


class AblyAuth:
    """The authUrl routes for one or more Flask apps (the ``init_app`` pattern).

    Args:
        app: the app to set up at once (else call :meth:`init_app`).
        endpoint: the :class:`~ably_authkit.endpoint.AuthEndpoint` to answer with; default,
            one built from ``app.config`` by :meth:`init_app`.
        grant_loader: the app's policy, a function of no arguments returning the current
            user's :class:`~ably_authkit.endpoint.Grant`, or ``None`` when nobody is signed
            in (answered 401). Or set it with the :meth:`grant_loader` decorator.
        url_prefix: where the routes go (default ``/auth``: ``/auth/jwt``...).
        modes: the modes to serve (default ``app.config["ABLY_AUTH_MODES"]``, else all
            three); another is answered 404 before the policy is asked.
        on_issue: the ``on_issue`` hook of the endpoint built from ``app.config``
            (docs/operations.md); an ``endpoint`` given here brings its own.
        on_refuse: its ``on_refuse`` hook, likewise.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        endpoint: AuthEndpoint | None = None,
        grant_loader: GrantLoader | None = None,
        url_prefix: str = "/auth",
        modes: Iterable[str] | None = None,
        on_issue: Callable[[IssuedCredential], object] | None = None,
        on_refuse: Callable[[RefusedRequest], object] | None = None,
    ) -> None:
        if grant_loader is not None:
            check_callable(grant_loader, "grant_loader")
        self._endpoint = endpoint
        self._grant_loader = grant_loader
        self._url_prefix = url_prefix
        self._modes = None if modes is None else served_modes(modes, where="modes")
        self._on_issue = on_issue
        self._on_refuse = on_refuse
        if app is not None:
            self.init_app(app)

    def grant_loader(self, loader: GrantLoader) -> GrantLoader:
        """Decorator: ``loader`` (no arguments: it reads Flask's ``request``, ``g``, the
        session or ``flask_login.current_user``) returns the current user's Grant, or
        ``None``. Returns ``loader`` unchanged."""
        check_callable(loader, "grant_loader")
        self._grant_loader = loader
        return loader

    def init_app(self, app: Flask) -> None:
        """Register the routes on ``app`` (a blueprint named ``ably_authkit``) and build
        its endpoint from ``app.config`` (unless one was given). A missing key or a bad
        setting is refused here, at start-up."""
        endpoint = self._endpoint
        if endpoint is None:
            endpoint = endpoint_from_settings(
                app.config, where="app.config", on_issue=self._on_issue, on_refuse=self._on_refuse
            )
        modes = self._modes
        if modes is None:
            modes = served_modes(
                app.config.get("ABLY_AUTH_MODES"), where="app.config['ABLY_AUTH_MODES']"
            )
        app.extensions[EXTENSION] = _State(endpoint, modes)
        blueprint = Blueprint(EXTENSION, __name__, url_prefix=self._url_prefix)
        blueprint.add_url_rule("/<mode>", "credentials", self._credentials, methods=["GET", "POST"])
        app.register_blueprint(blueprint)

    def endpoint(self, app: Flask | None = None) -> AuthEndpoint:
        """The endpoint ``app`` (default: the current app) answers with."""
        return self._state(current_app if app is None else app).endpoint

    def _state(self, app: Flask) -> _State:
        state = app.extensions.get(EXTENSION)
        if not isinstance(state, _State):
            raise InvalidParameterError(
                f"AblyAuth is not set up on the app {app.name!r}: call init_app(app)"
            )
        return state

    def _credentials(self, mode: str) -> Response:
        state = self._state(current_app)
        answer = unserved(state.endpoint, mode, state.modes)
        if answer is None:
            loader = self._grant_loader
            if loader is None:
                raise InvalidParameterError(
                    "AblyAuth has no grant_loader: decorate the function that returns the "
                    "current user's Grant (or None) with @ably.grant_loader",
                    field="grant_loader",
                )
            # The method, query and content type come from the WSGI environ; the body is
            # read (by Flask) only for a POST, the one method whose body holds token params.
            answer = state.endpoint.respond_wsgi(
                mode, loader(), request.environ, body=request.get_data
            )
        return reply(answer)


def reply(answer: AuthResponse) -> Response:
    """``answer`` as a ``flask.Response``."""
    return Response(answer.body, status=answer.status, headers=list(answer.headers))
