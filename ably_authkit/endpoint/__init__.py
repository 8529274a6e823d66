"""The authUrl contract: the app says who the user is, this package answers the client.

An Ably client configured with ``authUrl`` calls your backend whenever it needs a
credential, and again before the last one expires. The app decides *who* is asking and
what they may do (a :class:`Grant`); :class:`AuthEndpoint` turns that into the HTTP
answer (an :class:`AuthResponse`) in one of three modes:

=================  ======================================  ==================================
mode               body                                    Content-Type
=================  ======================================  ==================================
``jwt``            the Ably JWT, as bare text              ``application/jwt``
``token-request``  a signed TokenRequest (seven wire keys)  ``application/json``
``token``          TokenDetails from ``requestToken``      ``application/json``
=================  ======================================  ==================================

Rules, whatever the framework:

- The client's own token params (``clientId``/``client_id``, ``capability``, ``ttl`` in
  milliseconds; in the query of a GET or the form body of a POST; ably-js sends camelCase,
  ably-python snake_case) can only **narrow** the grant: the capability is intersected
  with the granted one (nothing shared: 403, Ably error 40160), a longer ttl is cut to the
  grant's, and another clientId is refused (403, 40102). Other params are the app's own
  (``authParams``) and are ignored here. Malformed params: 400.
- Every answer carries ``Cache-Control: no-store``: a cached TokenRequest is a replayed
  nonce (Ably error 40105).
- No user (``grant=None``): 401 with an Ably error body, never a credential.
- Errors are Ably-shaped, ``{"error": {"message", "code", "statusCode", "href"}}``, which
  ably-js and ably-python both read, and never contain the key secret.

One concern per module, in the order a request meets them:

- ``grant.py``: :class:`Grant`, what the app gives its user;
- ``params.py``: reading the request: mode, method, and the client's token params;
- ``narrowing.py``: what the client asked for, applied to the grant (never widening it);
- ``auth_endpoint.py``: :class:`AuthEndpoint`, signing or requesting the credential, and its
  configuration (:meth:`AuthEndpoint.from_env`, :meth:`AuthEndpoint.describe`);
- ``responses.py``: :class:`AuthResponse` and the Ably-shaped errors;
- ``issuance.py``: what each answer reports (:class:`IssuedCredential`,
  :class:`RefusedRequest`), to the ``ably_authkit.endpoint`` logger and to the
  ``on_issue``/``on_refuse`` hooks;
- ``wsgi.py`` and ``asgi.py``: a framework's request object read for
  :meth:`AuthEndpoint.respond_wsgi` and :meth:`AuthEndpoint.respond_asgi`.

The demo page (``ably-authkit demo``) is :mod:`ably_authkit.demo`, which uses this package.
"""

from __future__ import annotations

from .auth_endpoint import EMULATOR_HOST_ENV as EMULATOR_HOST_ENV
from .auth_endpoint import AuthEndpoint as AuthEndpoint
from .grant import ANY_CLIENT_ID as ANY_CLIENT_ID
from .grant import Grant as Grant
from .issuance import IssuedCredential as IssuedCredential
from .issuance import RefusedRequest as RefusedRequest
from .params import MODES as MODES
from .responses import AuthResponse as AuthResponse
from .responses import error_response as error_response

__all__ = [
    "ANY_CLIENT_ID",
    "EMULATOR_HOST_ENV",
    "MODES",
    "AuthEndpoint",
    "AuthResponse",
    "Grant",
    "IssuedCredential",
    "RefusedRequest",
    "error_response",
]
