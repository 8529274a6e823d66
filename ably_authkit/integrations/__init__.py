"""One module per framework: install the extra, write the policy, include the routes.

Each module answers ``GET`` and ``POST`` ``{prefix}/{mode}`` for the three modes (``jwt``,
``token-request``, ``token``) through :class:`~ably_authkit.endpoint.AuthEndpoint`, asking
the app only one thing: the :class:`~ably_authkit.endpoint.Grant` of the request's user
(``None``: nobody signed in, answered 401).

- ``ably_authkit.integrations.flask`` (the ``flask`` extra): ``AblyAuth``, an extension
  with ``init_app(app)`` that reads ``app.config``, and the ``@grant_loader`` policy hook;
- ``ably_authkit.integrations.django`` (``django``): a URLconf to ``include()`` and its
  views, sync and async, driven by ``settings.ABLY_AUTHKIT``;
- ``ably_authkit.integrations.fastapi`` (``fastapi``): ``auth_router()``, an ``APIRouter``
  whose policy is a dependency (``Depends``);
- ``ably_authkit.integrations.starlette`` (``fastapi``, which brings Starlette):
  ``auth_routes()``, Starlette routes whose policy is a function of the request.

Each imports its framework when it is imported itself (never by ``import ably_authkit``);
without it, :class:`~ably_authkit.MissingExtraError` names the ``pip install`` line.
Nothing here holds Ably logic: that is :mod:`ably_authkit.endpoint`'s.
"""
