"""ably_authkit: hand Ably credentials to your clients.

Mint Ably JWTs and TokenRequests locally, request tokens from Ably, verify and explain
any credential, and test it all offline against :mod:`ably_authkit.testing`.
"""

from .capability import Capability as Capability
from .capability import resource_segment as resource_segment
from .chat import ChatFeature as ChatFeature
from .chat import chat_capability as chat_capability
from .chat import chat_room as chat_room
from .errors import AblyApiError as AblyApiError
from .errors import AblyConnectionError as AblyConnectionError
from .errors import ApiKeyTypeError as ApiKeyTypeError
from .errors import AuthKitError as AuthKitError
from .errors import CapabilityTypeError as CapabilityTypeError
from .errors import ClientIdTypeError as ClientIdTypeError
from .errors import InvalidApiKeyError as InvalidApiKeyError
from .errors import InvalidCapabilityError as InvalidCapabilityError
from .errors import InvalidClientIdError as InvalidClientIdError
from .errors import InvalidParameterError as InvalidParameterError
from .errors import InvalidSignatureError as InvalidSignatureError
from .errors import InvalidTokenFieldError as InvalidTokenFieldError
from .errors import InvalidTTLError as InvalidTTLError
from .errors import KeyMismatchError as KeyMismatchError
from .errors import MalformedTokenError as MalformedTokenError
from .errors import MissingExtraError as MissingExtraError
from .errors import ParameterTypeError as ParameterTypeError
from .errors import TimestampNotCurrentError as TimestampNotCurrentError
from .errors import TokenError as TokenError
from .errors import TokenExpiredError as TokenExpiredError
from .errors import TokenNotYetValidError as TokenNotYetValidError
from .errors import TokenTooLargeError as TokenTooLargeError
from .errors import TTLTypeError as TTLTypeError
from .explain import Explanation as Explanation
from .explain import explain as explain
from .jwt_tokens import AblyJwtClaims as AblyJwtClaims
from .jwt_tokens import mint_jwt as mint_jwt
from .jwt_tokens import verify_jwt as verify_jwt
from .keys import ApiKey as ApiKey
from .keys import KeyRing as KeyRing
from .rest import AsyncRestClient as AsyncRestClient
from .rest import RestClient as RestClient
from .rest import RevocationResult as RevocationResult
from .rest import arequest_token as arequest_token
from .rest import request_token as request_token
from .rest import revoke_tokens as revoke_tokens
from .rest import server_time as server_time
from .token_details import TokenDetails as TokenDetails
from .token_requests import TokenRequest as TokenRequest
from .token_requests import create_token_request as create_token_request
from .token_requests import verify_token_request as verify_token_request

__version__ = "0.1.0.dev0"

__all__ = [
    "AblyApiError",
    "AblyConnectionError",
    "AblyJwtClaims",
    "ApiKey",
    "ApiKeyTypeError",
    "AsyncRestClient",
    "AuthKitError",
    "Capability",
    "CapabilityTypeError",
    "ChatFeature",
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
    "RestClient",
    "RevocationResult",
    "TTLTypeError",
    "TimestampNotCurrentError",
    "TokenDetails",
    "TokenError",
    "TokenExpiredError",
    "TokenNotYetValidError",
    "TokenRequest",
    "TokenTooLargeError",
    "arequest_token",
    "chat_capability",
    "chat_room",
    "create_token_request",
    "explain",
    "mint_jwt",
    "request_token",
    "resource_segment",
    "revoke_tokens",
    "server_time",
    "verify_jwt",
    "verify_token_request",
]
