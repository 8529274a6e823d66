"""Ably API keys: ``"appId.keyId:secret"``.

The key name (``appId.keyId``) is public: it is the JWT ``kid`` and the TokenRequest
``keyName``. The secret is everything after the one colon and never leaves this
object: it is not in the ``repr``, the ``str``, or any error message, and a malformed
key string is described, never echoed (it may be a secret with a typo).

Parsing follows ably-js (``^([^:\\s]+):([^:.\\s]+)$``), which is stricter than
ably-python, and adds that the name must have the ``appId.keyId`` form.
"""

from __future__ import annotations

import hashlib
import os

from ._frozen import Frozen
from .capability import Capability
from .errors import ApiKeyTypeError, InvalidApiKeyError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _hashlib import HASH
    from collections.abc import Mapping

    from .capability import CapabilityLike

__all__ = ["ApiKey", "as_api_key"]

_KEY_FORM = "'appId.keyId:secret'"
# RFC 2104: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), with 64-byte SHA-256 blocks.
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))


def _bad_character(text: str) -> str | None:
    """Describe the first character of ``text`` that no key part may hold, if any."""
    for position, char in enumerate(text, 1):
        if char.isspace() or char == "\ufeff":  # JavaScript's \s also takes the BOM
            return f"whitespace at character {position}"
        if not char.isprintable():
            return f"an unprintable character at character {position}"
    return None


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise ApiKeyTypeError(
            f"the key name must be a str such as 'appId.keyId', not {type(name).__name__}",
            field="name",
        )
    app_id, dot, key_id = name.partition(".")
    problem = _bad_character(name)
    if not name:
        problem = "it is empty"
    elif ":" in name:
        problem = "it contains ':'"
    elif not dot:
        problem = "it is not of the form 'appId.keyId'"
    elif not app_id or not key_id:
        problem = "its app id or key id is empty"
    if problem:
        raise InvalidApiKeyError(
            f"the key name (the part before ':') is malformed: {problem}; an Ably key looks "
            f"like {_KEY_FORM} (copy it whole from the dashboard's API Keys tab)",
            field="name",
        )
    return name


def _check_secret(secret: object) -> str:
    if not isinstance(secret, str):
        raise ApiKeyTypeError(
            f"the key secret must be a str, not {type(secret).__name__}", field="secret"
        )
    problem = _bad_character(secret)
    if not secret:
        problem = "it is empty"
    elif ":" in secret:
        problem = "it contains ':'"
    elif "." in secret:
        problem = "it contains '.', which Ably secrets never do"
    if problem:
        raise InvalidApiKeyError(
            f"the key secret (the part after ':') is malformed: {problem}; an Ably key looks "
            f"like {_KEY_FORM} (copy it whole from the dashboard's API Keys tab)",
            field="secret",
        )
    return secret


class ApiKey(Frozen):
    """An Ably API key, split into its public name and its secret.

    ``capability`` and ``revocable`` are optional facts about the key, as configured in
    the Ably dashboard. When known, minting refuses a capability the key cannot grant
    and a TTL over the 1 h that revocable keys allow, instead of leaving Ably to refuse.
    """

    __slots__ = ("_hmac_pads", "_jwt_header", "capability", "name", "revocable", "secret")
    _hidden = frozenset({"secret"})

    name: str
    secret: str
    capability: Capability | None
    revocable: bool
    _hmac_pads: tuple[HASH, HASH] | None
    _jwt_header: bytes | None

    def __init__(
        self,
        *,
        name: str,
        secret: str,
        capability: CapabilityLike | None = None,
        revocable: bool = False,
    ) -> None:
        if not isinstance(revocable, bool):
            raise ApiKeyTypeError(
                f"revocable must be True or False, not {type(revocable).__name__}",
                field="revocable",
            )
        self._set("name", _check_name(name))
        self._set("secret", _check_secret(secret))
        self._set("capability", None if capability is None else Capability.coerce(capability))
        self._set("revocable", revocable)
        self._set("_hmac_pads", None)
        self._set("_jwt_header", None)

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        capability: CapabilityLike | None = None,
        revocable: bool = False,
    ) -> ApiKey:
        """Parse ``"appId.keyId:secret"``, dropping trailing whitespace (an env file's newline)."""
        if not isinstance(text, str):
            raise ApiKeyTypeError(
                f"an API key must be a str such as {_KEY_FORM}, not {type(text).__name__}"
            )
        text = text.rstrip()
        if not text:
            raise InvalidApiKeyError(f"the API key is empty; an Ably key looks like {_KEY_FORM}")
        if text[0] in "'\"" or text[-1] in "'\"":
            raise InvalidApiKeyError(
                "the API key is wrapped in quotes; remove them (an env file or shell may "
                f"have kept them). An Ably key looks like {_KEY_FORM}"
            )
        colons = text.count(":")
        if colons == 0:
            if text.count(".") == 2 and text.startswith("eyJ"):
                what = "it looks like a JWT, which is a credential minted from a key"
            else:
                what = "it has no ':', so it is a key name or a token rather than a key"
            raise InvalidApiKeyError(
                f"that is not an API key: {what}. An Ably key looks like {_KEY_FORM}"
            )
        if colons > 1:
            raise InvalidApiKeyError(
                f"the API key has {colons} ':' characters where a key has exactly one, "
                f"between the key name and the secret: {_KEY_FORM}"
            )
        name, secret = text.split(":")
        return cls(name=name, secret=secret, capability=capability, revocable=revocable)

    @classmethod
    def from_env(
        cls,
        name: str = "ABLY_API_KEY",
        *,
        environ: Mapping[str, str] | None = None,
        capability: CapabilityLike | None = None,
        revocable: bool = False,
    ) -> ApiKey:
        """Read and parse the key in the environment variable ``name``."""
        source = os.environ if environ is None else environ
        text = source.get(name)
        if text is None:
            raise InvalidApiKeyError(
                f"the environment variable {name} is not set; set it to your Ably API key "
                f"({_KEY_FORM}, from the dashboard's API Keys tab)",
                field=name,
            )
        try:
            return cls.parse(text, capability=capability, revocable=revocable)
        except InvalidApiKeyError as error:
            raise type(error)(f"{name}: {error.message}", field=name) from None

    @property
    def app_id(self) -> str:
        """The app id: the part of the key name before the first '.'."""
        return self.name.partition(".")[0]

    @property
    def key_id(self) -> str:
        """The key id: the part of the key name after the first '.'."""
        return self.name.partition(".")[2]

    def sign(self, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under this key's secret (the raw 32-byte digest).

        The two padded-key hash states are made once per key and copied per message,
        which is ``hmac.new`` without repeating the key setup (the tests compare them).
        """
        pads = self._hmac_pads
        if pads is None:
            secret = self.secret.encode("utf-8")
            if len(secret) > 64:
                secret = hashlib.sha256(secret).digest()
            block = secret.ljust(64, b"\0")
            pads = (hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD)))
            self._set("_hmac_pads", pads)
        inner = pads[0].copy()
        inner.update(message)
        outer = pads[1].copy()
        outer.update(inner.digest())
        return outer.digest()

    def _jwt_header_segment(self) -> bytes:
        """The base64url JOSE header every JWT from this key shares, made once."""
        segment = self._jwt_header
        if segment is None:
            from ._base64 import b64url_encode
            from ._json import quote_ascii

            header = '{"alg":"HS256","kid":' + quote_ascii(self.name) + ',"typ":"JWT"}'
            segment = b64url_encode(header.encode("ascii"))
            self._set("_jwt_header", segment)
        return segment


def as_api_key(key: ApiKey | str) -> ApiKey:
    """Accept an ``ApiKey`` or the key string, as every public function does."""
    if isinstance(key, ApiKey):
        return key
    if isinstance(key, str):
        return ApiKey.parse(key)
    raise ApiKeyTypeError(
        f"key must be an ApiKey or a key string such as {_KEY_FORM}, not {type(key).__name__}",
        field="key",
    )
