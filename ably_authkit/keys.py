"""Ably API keys: ``"appId.keyId:secret"``.

The key name (``appId.keyId``) is public: it is the JWT ``kid`` and the TokenRequest
``keyName``. The secret is everything after the one colon and never leaves this
object: it is not in the ``repr``, the ``str``, or any error message, and a malformed
key string is described, never echoed (it may be a secret with a typo).

Parsing follows ably-js (``^([^:\\s]+):([^:.\\s]+)$``), which is stricter than
ably-python, and adds that the name must have the ``appId.keyId`` form.

A :class:`KeyRing` holds several keys, one of them the signer, so that a key can be
rotated with no client noticing: everything that signs takes the signer, everything
that verifies takes the key the credential names (JWT ``kid``, TokenRequest
``keyName``). Wherever a key is accepted, a ring is too.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from ._frozen import Frozen
from .capability import Capability
from .errors import ApiKeyTypeError, InvalidApiKeyError, KeyMismatchError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from .capability import CapabilityLike

__all__ = ["KEYS_ENV", "KEY_ENV", "ApiKey", "KeyRing", "as_api_key", "as_keys", "signing_key"]

#: The variable that holds the API key.
KEY_ENV = "ABLY_API_KEY"
#: The variable that holds a key ring: several keys, the first of which signs.
KEYS_ENV = "ABLY_API_KEYS"

_KEY_FORM = "'appId.keyId:secret'"


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

    __slots__ = ("_hmac", "_jwt_header", "capability", "name", "revocable", "secret")
    _hidden = frozenset({"secret"})

    name: str
    secret: str
    capability: Capability | None
    revocable: bool
    _hmac: hmac.HMAC | None
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
        self._set("_hmac", None)
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
            ring = (
                f"; {KEYS_ENV} is set: read that ring with KeyRing.from_env()"
                if (source.get(KEYS_ENV))
                else ""
            )
            raise InvalidApiKeyError(
                f"the environment variable {name} is not set; set it to your Ably API key "
                f"({_KEY_FORM}, from the dashboard's API Keys tab){ring}",
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

        The standard library's :mod:`hmac`, keyed once per key (``hmac.new``) and copied
        per message, so the key setup is not repeated.
        """
        keyed = self._hmac
        if keyed is None:
            keyed = hmac.new(self.secret.encode("utf-8"), digestmod=hashlib.sha256)
            self._set("_hmac", keyed)
        mac = keyed.copy()
        mac.update(message)
        return mac.digest()

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


def _separate(text: str) -> list[str]:
    """The keys in a ring's text: separated by commas and/or whitespace (neither is ever
    part of a key: ``ApiKey.parse`` refuses whitespace, and Ably secrets hold no comma)."""
    return text.replace(",", " ").split()


class KeyRing(Frozen):
    """Several API keys, one of which (the ``signer``) signs every new credential, while
    credentials of any of them verify: the key a credential names (JWT ``kid``,
    TokenRequest ``keyName``) checks it, and a name not in the ring is refused.

    Rotate a key with no client noticing (docs/rotation.md): add the new key, make it the
    signer, wait out the longest TTL handed out, remove the old one.

    Args:
        keys: the keys (``ApiKey`` or key strings), with distinct names.
        signer: the name of the key that signs (or that ``ApiKey``); required when the
            ring holds more than one key (a ring of one is signed by that key).
            :meth:`parse` and :meth:`from_env` (``ABLY_API_KEYS``) take the first.
    """

    __slots__ = ("keys", "signer")

    keys: tuple[ApiKey, ...]
    signer: str

    def __init__(self, *, keys: Iterable[ApiKey | str], signer: ApiKey | str | None = None) -> None:
        if isinstance(keys, (str, ApiKey)) or not hasattr(keys, "__iter__"):
            raise ApiKeyTypeError(
                "keys must be a list of keys (ApiKey or key strings), such as [new_key, "
                f"old_key], not {type(keys).__name__}; KeyRing.parse() reads a ring's text",
                field="keys",
            )
        checked: list[ApiKey] = []
        for position, key in enumerate(keys, 1):
            try:
                if not isinstance(key, (ApiKey, str)):
                    raise ApiKeyTypeError(
                        f"each key must be an ApiKey or a key string, not {type(key).__name__}"
                    )
                checked.append(as_api_key(key))
            except InvalidApiKeyError as error:
                raise type(error)(
                    f"key #{position} of the ring: {error.message}", field="keys"
                ) from None
        if not checked:
            raise InvalidApiKeyError(
                "a key ring needs at least one key (the one that signs)", field="keys"
            )
        names = [key.name for key in checked]
        for name in names:
            if names.count(name) > 1:
                raise InvalidApiKeyError(
                    f"the key ring holds key {name} twice; each key once (a ring verifies a "
                    "credential with the key it names, so two keys of one name are ambiguous)",
                    field="keys",
                )
        if signer is None:
            if len(names) > 1:
                # Conventions differ (itsdangerous signs with the last key, Django keeps
                # fallbacks apart): a ring built in code says which key signs.
                raise ApiKeyTypeError(
                    f"a key ring of {len(names)} keys ({', '.join(names)}) needs signer=, "
                    "the name of the key that signs new credentials (the others only "
                    f"verify), such as KeyRing(keys=[...], signer={names[0]!r}); "
                    "KeyRing.parse() and ABLY_API_KEYS take the first key as the signer",
                    field="signer",
                )
            signer_name = names[0]
        elif isinstance(signer, ApiKey):
            if signer not in checked:
                raise InvalidApiKeyError(
                    f"the signer, key {signer.name}, is not in the ring "
                    f"({', '.join(names)}); add it to keys as well",
                    field="signer",
                )
            signer_name = signer.name
        elif isinstance(signer, str):
            if signer not in names:
                shown = signer if ":" not in signer else "a key string (give its name, appId.keyId)"
                raise InvalidApiKeyError(
                    f"the signer must name a key of the ring ({', '.join(names)}), not {shown}",
                    field="signer",
                )
            signer_name = signer
        else:
            raise ApiKeyTypeError(
                f"signer must be a key name (str) or an ApiKey, not {type(signer).__name__}",
                field="signer",
            )
        self._set("keys", tuple(checked))
        self._set("signer", signer_name)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Read keys separated by commas or whitespace; the first one signs."""
        if not isinstance(text, str):
            raise ApiKeyTypeError(
                f"a key ring's text must be a str of keys, not {type(text).__name__}"
            )
        keys = _separate(text)
        # The keys are checked before the signer, so this is the first key's name.
        return cls(keys=keys, signer=keys[0].partition(":")[0] if keys else None)

    @classmethod
    def from_env(cls, name: str = KEYS_ENV, *, environ: Mapping[str, str] | None = None) -> KeyRing:
        """The ring in the environment variable ``name`` (default ``ABLY_API_KEYS``):
        keys separated by commas or whitespace, the first of which signs, as in
        ``ABLY_API_KEYS="appId.newKey:... appId.oldKey:..."``."""
        source = os.environ if environ is None else environ
        text = source.get(name)
        if text is None or not text.strip():
            raise InvalidApiKeyError(
                f"the environment variable {name} is {'empty' if text is not None else 'not set'}; "
                "set it to your Ably API keys separated by spaces or commas, the signing key "
                f"first ({_KEY_FORM} each)",
                field=name,
            )
        try:
            return cls.parse(text)
        except InvalidApiKeyError as error:
            raise type(error)(f"{name}: {error.message}", field=name) from None

    @property
    def signing_key(self) -> ApiKey:
        """The key that signs new credentials."""
        for key in self.keys:
            if key.name == self.signer:
                return key
        raise AssertionError  # pragma: no cover - checked when the ring was built

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the ring's keys, in order."""
        return tuple(key.name for key in self.keys)

    def get(self, name: str) -> ApiKey | None:
        """The ring's key named ``name`` (``appId.keyId``), or ``None``."""
        for key in self.keys:
            if key.name == name:
                return key
        return None

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)


def as_api_key(key: ApiKey | KeyRing | str) -> ApiKey:
    """Accept an ``ApiKey`` or the key string, as every public function does (a ring
    gives its signer: use :func:`as_keys` where a ring verifies by name)."""
    if isinstance(key, ApiKey):
        return key
    if isinstance(key, str):
        return ApiKey.parse(key)
    if isinstance(key, KeyRing):
        return key.signing_key
    raise ApiKeyTypeError(
        f"key must be an ApiKey, a KeyRing or a key string such as {_KEY_FORM}, "
        f"not {type(key).__name__}",
        field="key",
    )


#: The key that signs: a key's own, or a ring's signer.
signing_key = as_api_key


def as_keys(key: ApiKey | KeyRing | str) -> ApiKey | KeyRing:
    """A key or a ring, for verifying: the ring is kept, to pick a key by name."""
    return key if isinstance(key, KeyRing) else as_api_key(key)


def key_named(
    keys: ApiKey | KeyRing, name: object, what: str, *, field: str, known_app_code: int
) -> ApiKey:
    """The key of ``keys`` named ``name`` (a credential's ``kid`` or ``keyName``), or a
    :class:`~ably_authkit.KeyMismatchError` carrying Ably's answer for a key it does not
    know: 40400/404 when the name's app is none of the ring's (ably-js
    ``test/rest/auth.test.js``, "JWT request with invalid key"), else ``known_app_code``.
    """
    if isinstance(keys, ApiKey):
        if name == keys.name:
            return keys
        raise KeyMismatchError(
            f"{what} names key {name!r}, not {keys.name}; verify it with the key it names",
            field=field,
        )
    found = keys.get(name) if isinstance(name, str) else None
    if found is not None:
        return found
    apps = {key.app_id for key in keys.keys}
    known_app = isinstance(name, str) and name.partition(".")[0] in apps
    code = known_app_code if known_app else 40400
    raise KeyMismatchError(
        f"{what} names key {name!r}, which is not in the key ring ({', '.join(keys.names)}); "
        "a key removed from the ring no longer verifies its credentials: the client must "
        "fetch a new one",
        field=field,
        code=code,
        status_code=404 if code == 40400 else 401,
    )
