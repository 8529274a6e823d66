"""Every error ably_authkit raises.

One base class, and each bad-input error is also the built-in a Python caller already
catches (attrs' ``NotAnAttrsClassError(ValueError)`` pattern)::

    AuthKitError
    ├── InvalidApiKeyError (ValueError)                40101
    │   └── ApiKeyTypeError (TypeError)
    ├── InvalidCapabilityError (ValueError)            40000 (40160: the key cannot grant it)
    │   └── CapabilityTypeError (TypeError)
    ├── InvalidTTLError (ValueError)                   40003
    │   └── TTLTypeError (TypeError)
    ├── InvalidClientIdError (ValueError)              40012
    │   └── ClientIdTypeError (TypeError)
    ├── InvalidParameterError (ValueError)             40003
    │   └── ParameterTypeError (TypeError)
    ├── TokenTooLargeError (ValueError)
    ├── MissingExtraError (ImportError)                an optional extra is not installed
    ├── AblyApiError                                   Ably answered with an error (its code)
    ├── AblyConnectionError (ConnectionError)          Ably could not be reached
    └── TokenError (ValueError)                        verifying a JWT or TokenRequest
        ├── MalformedTokenError                        40144 (JWT), 40001 (TokenRequest)
        ├── InvalidTokenFieldError                     the field's own code (40003, 40012)
        ├── InvalidSignatureError                      40144 (JWT), 40101 (TokenRequest MAC)
        ├── KeyMismatchError                           40101
        ├── TokenExpiredError                          40142
        ├── TokenNotYetValidError                      40144
        └── TimestampNotCurrentError                   40104

Each error carries ``code`` (Ably's error code, or ``None`` where Ably has none),
``status_code`` (the HTTP status Ably answers with) and ``field`` (the argument or
claim at fault, where there is one). Messages name the bad value and the fix, and
never contain a key secret.
"""

from __future__ import annotations


class AuthKitError(Exception):
    """Base class of every error raised by ably_authkit."""

    code: int | None = None
    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: int | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only context through pickling (multiprocessing, pytest-xdist).
        return (_rebuild, (type(self), self.message, self.field, self.code, self.status_code))


def _rebuild(
    cls: type[AuthKitError],
    message: str,
    field: str | None,
    code: int | None,
    status_code: int | None,
) -> AuthKitError:
    return cls(message, field=field, code=code, status_code=status_code)


class InvalidApiKeyError(AuthKitError, ValueError):
    """The API key is malformed. The message says what is wrong, never what the key is."""

    code = 40101
    status_code = 401


class ApiKeyTypeError(InvalidApiKeyError, TypeError):
    """Something other than a ``str`` or ``ApiKey`` was given as the key."""


class InvalidCapabilityError(AuthKitError, ValueError):
    """The capability is malformed, names an unknown operation, or cannot be granted.

    Its code is 40000 (status 400), the code Ably's sandbox gives a requested capability
    with an unknown operation, ``"*"`` among other operations, or an empty operation list
    (ably-python ``test/ably/rest/restcapability_test.py``, ``test_invalid_capabilities*``);
    40160 (401) when the key cannot grant any of it.
    """

    code = 40000
    status_code = 400


class CapabilityTypeError(InvalidCapabilityError, TypeError):
    """The capability, a resource name or an operation has the wrong type."""


class InvalidTTLError(AuthKitError, ValueError):
    """The TTL is not positive, is over Ably's limit, or has a precision Ably cannot carry."""

    code = 40003
    status_code = 400


class TTLTypeError(InvalidTTLError, TypeError):
    """The TTL is not a ``datetime.timedelta`` (a bare number is refused: which unit?)."""


class InvalidClientIdError(AuthKitError, ValueError):
    """The client id is empty or contains a character Ably cannot sign."""

    code = 40012
    status_code = 400


class ClientIdTypeError(InvalidClientIdError, TypeError):
    """The client id is not a ``str``."""


class InvalidParameterError(AuthKitError, ValueError):
    """Another argument (``now``, ``nonce``, a JWT claim, ...) has a value that is refused."""

    code = 40003
    status_code = 400


class ParameterTypeError(InvalidParameterError, TypeError):
    """Another argument has the wrong type."""


class TokenTooLargeError(AuthKitError, ValueError):
    """The credential would not fit where clients must carry it (a JWT over 8 KiB)."""


class MissingExtraError(AuthKitError, ImportError):
    """A feature needs an optional extra that is not installed.

    ``extra`` is the extra's name (``"network"``, ``"emulator"``), ``name`` the module that
    is missing, and the message holds ``install``, the ``pip install`` line that adds it to
    this install of the package (from a clone or a folder, the line names that folder;
    from an index, ``pip install "ably-authkit[extra]"``). It is an :class:`ImportError`,
    so code that probes for optional features keeps working.
    """

    def __init__(
        self, feature: str, *, extra: str, missing: str | None, install: str | None = None
    ) -> None:
        what = f" ({missing} is not installed)" if missing else ""
        line = install or f'pip install "ably-authkit[{extra}]"'
        super().__init__(f"{feature} needs the {extra!r} extra{what}: {line}")
        self.feature = feature
        self.extra = extra
        self.name = missing
        self.install = line

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_missing_extra, (self.feature, self.extra, self.name, self.install))


def _rebuild_missing_extra(
    feature: str, extra: str, missing: str | None, install: str | None = None
) -> MissingExtraError:
    return MissingExtraError(feature, extra=extra, missing=missing, install=install)


class AblyApiError(AuthKitError):
    """Ably (or an Ably-compatible service) answered a request with an error.

    ``code``, ``status_code`` and ``href`` are Ably's; ``message`` is Ably's message.
    A token error (``40140 <= code < 40150``, see :attr:`is_token_error`) means the
    credential must be renewed; anything else is a request Ably refuses as made.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None,
        status_code: int | None,
        href: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.href = href

    @property
    def is_token_error(self) -> bool:
        """Whether Ably refused the credential itself (40140-40149): renew and retry."""
        return self.code is not None and 40140 <= self.code < 40150

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_api_error, (self.message, self.code, self.status_code, self.href))


def _rebuild_api_error(
    message: str, code: int | None, status_code: int | None, href: str | None
) -> AblyApiError:
    return AblyApiError(message, code=code, status_code=status_code, href=href)


class AblyConnectionError(AuthKitError, ConnectionError):
    """Ably could not be reached (refused, timed out, TLS failure). The message says where."""


class TokenError(AuthKitError, ValueError):
    """A JWT or TokenRequest did not verify. Subclasses say why; ``code`` is Ably's."""

    code = 40140
    status_code = 401


class MalformedTokenError(TokenError):
    """The credential cannot be read: bad encoding, a missing field, an unsupported algorithm."""

    code = 40144


class InvalidTokenFieldError(TokenError):
    """A field reads fine but its value is refused (TTL over the limit, bad capability, ...)."""

    code = 40003
    status_code = 400


class InvalidSignatureError(TokenError):
    """The signature (JWT) or MAC (TokenRequest) was not made with this key's secret."""

    code = 40144


class KeyMismatchError(TokenError):
    """The credential names another key (JWT ``kid``, TokenRequest ``keyName``)."""

    code = 40101


class TokenExpiredError(TokenError):
    """The credential has expired."""

    code = 40142


class TokenNotYetValidError(TokenError):
    """The credential was issued in the future (``iat``/``nbf``): the issuer's clock is ahead."""

    code = 40144


class TimestampNotCurrentError(TokenError):
    """A TokenRequest's timestamp is more than two minutes from the verifier's clock."""

    code = 40104
