from __future__ import annotations

import subprocess
import sys

import ably_authkit
from ably_authkit import errors

PUBLIC_NAMES = {
    "server_time",
    "revoke_tokens",
    "request_token",
    "resource_segment",
    "arequest_token",
    "RevocationResult",
    "RestClient",
    "AsyncRestClient",
    "AblyApiError",
    "AblyConnectionError",
    "AblyJwtClaims",
    "ApiKey",
    "ApiKeyTypeError",
    "AuthKitError",
    "Capability",
    "CapabilityTypeError",
    "ChatFeature",
    "chat_capability",
    "chat_room",
    "ClientIdTypeError",
    "Explanation",
    "InvalidApiKeyError",
    "InvalidCapabilityError",
    "InvalidClientIdError",
    "InvalidParameterError",
    "InvalidSignatureError",
    "InvalidTTLError",
    "InvalidTokenFieldError",
    "KeyMismatchError",
    "KeyRing",
    "MalformedTokenError",
    "MissingExtraError",
    "ParameterTypeError",
    "TTLTypeError",
    "TimestampNotCurrentError",
    "TokenDetails",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenRequest",
    "TokenTooLargeError",
    "create_token_request",
    "explain",
    "mint_jwt",
    "verify_jwt",
    "verify_token_request",
}


def test_all_is_exactly_the_public_names() -> None:
    assert set(ably_authkit.__all__) == PUBLIC_NAMES
    assert ably_authkit.__all__ == sorted(ably_authkit.__all__)
    for name in ably_authkit.__all__:
        assert getattr(ably_authkit, name) is not None


def test_every_error_is_an_authkit_error_and_a_builtin() -> None:
    # Bad input is a ValueError or TypeError; what Ably answers is Ably's, not reaching
    # Ably is a ConnectionError, and a missing extra is an ImportError.
    not_input = {
        errors.AuthKitError,
        errors.AblyApiError,
        errors.AblyConnectionError,
        errors.MissingExtraError,
    }
    for name in dir(errors):
        error = getattr(errors, name)
        if isinstance(error, type) and issubclass(error, Exception):
            assert issubclass(error, errors.AuthKitError)
            assert name in ably_authkit.__all__, name
            if error not in not_input:
                assert issubclass(error, (ValueError, TypeError)), name
    assert issubclass(errors.AblyConnectionError, ConnectionError)
    assert issubclass(errors.MissingExtraError, ImportError)


def test_api_errors_tell_token_errors_apart() -> None:
    import pickle

    expired = errors.AblyApiError("Token expired", code=40142, status_code=401)
    denied = errors.AblyApiError("denied", code=40160, status_code=401, href="h")
    assert expired.is_token_error and not denied.is_token_error
    copy = pickle.loads(pickle.dumps(denied))
    assert (copy.code, copy.status_code, copy.href, copy.message) == (40160, 401, "h", "denied")


def test_errors_survive_pickling() -> None:
    import pickle

    missing = errors.MissingExtraError("request_token()", extra="network", missing="ably")
    copy = pickle.loads(pickle.dumps(missing))
    assert (copy.message, copy.extra, copy.name) == (missing.message, "network", "ably")
    assert copy.message == (
        "request_token() needs the 'network' extra (ably is not installed): "
        'pip install "ably-authkit[network]"'
    )

    error = errors.TokenExpiredError("expired", field="exp")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.TokenExpiredError
    assert (copy.message, copy.field, copy.code, copy.status_code) == ("expired", "exp", 40142, 401)


def test_importing_and_minting_loads_no_heavy_dependency() -> None:
    # A serverless authUrl pays every import on each cold start.
    code = (
        "import sys, datetime\n"
        "from ably_authkit import mint_jwt, create_token_request\n"
        "key = 'appId.keyId:bW9jay1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMDAwMDAw'\n"
        "mint_jwt(key, capability={'chat:*': ['subscribe']}, client_id='u',\n"
        "         ttl=datetime.timedelta(hours=1))\n"
        "create_token_request(key, capability={'chat:*': ['subscribe']})\n"
        "heavy = {'ably', 'httpx', 'jwt', 'cryptography', 'json', 're', 'typing',\n"
        "         'dataclasses', 'inspect', 'secrets', 'random'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
