from __future__ import annotations

import copy
import hashlib
import hmac
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import ApiKey, ApiKeyTypeError, Capability, InvalidApiKeyError
from ably_authkit.keys import as_api_key

from .conftest import KEY_TEXT, SECRET


def test_parse_splits_name_and_secret() -> None:
    key = ApiKey.parse(KEY_TEXT)
    assert key.name == "appId.keyId"
    assert key.app_id == "appId"
    assert key.key_id == "keyId"
    assert key.secret == SECRET


def test_trailing_newline_from_an_env_file_is_dropped() -> None:
    assert ApiKey.parse(KEY_TEXT + "\r\n") == ApiKey.parse(KEY_TEXT)


def test_secret_never_shows_in_repr_or_str() -> None:
    key = ApiKey.parse(KEY_TEXT)
    for text in (repr(key), str(key), f"{key}", repr([key]), repr({"k": key})):
        assert SECRET not in text
        assert "appId.keyId" in text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (f"'{KEY_TEXT}'", "quotes"),
        (f'"{KEY_TEXT}"', "quotes"),
        ("appId.keyId", "no ':'"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln", "JWT"),
        (f"appId.keyId:{SECRET}:extra", "2 ':'"),
        (f"appId.keyId:{SECRET}::", "3 ':'"),
        (":" + SECRET, "empty"),
        ("appId.keyId:", "secret (the part after ':') is malformed: it is empty"),
        (f"appIdkeyId:{SECRET}", "'appId.keyId'"),
        (f"appId.:{SECRET}", "key id is empty"),
        (f"app Id.keyId:{SECRET}", "whitespace"),
        (f" appId.keyId:{SECRET}", "whitespace"),
        (f"appId.keyId:{SECRET[:10]} {SECRET[10:]}", "whitespace"),
        (f"appId.keyId:{SECRET[:10]}.{SECRET[10:]}", "'.'"),
        (f"appId.keyId:{SECRET[:10]}\ufeff", "whitespace"),
        (f"appId.keyId:{SECRET[:10]}\x00", "unprintable"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str, reason: str) -> None:
    with pytest.raises(InvalidApiKeyError) as caught:
        ApiKey.parse(text)
    message = str(caught.value)
    assert reason in message
    assert "appId.keyId:secret" in message  # says which form was expected
    assert SECRET not in message
    assert SECRET[:10] not in message
    assert caught.value.code == 40101


@pytest.mark.parametrize("value", [None, 42, b"appId.keyId:secret", ["appId.keyId:secret"]])
def test_a_key_of_the_wrong_type_is_a_type_error(value: object) -> None:
    with pytest.raises(ApiKeyTypeError) as caught:
        ApiKey.parse(value)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, InvalidApiKeyError)


def test_from_env_reads_and_names_the_variable() -> None:
    environ = {"ABLY_API_KEY": KEY_TEXT + "\n", "BAD": "appId.keyId"}
    assert ApiKey.from_env(environ=environ) == ApiKey.parse(KEY_TEXT)
    with pytest.raises(InvalidApiKeyError, match="MY_KEY is not set"):
        ApiKey.from_env("MY_KEY", environ=environ)
    with pytest.raises(InvalidApiKeyError, match=r"^BAD: that is not an API key"):
        ApiKey.from_env("BAD", environ=environ)


def test_from_env_uses_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)
    assert ApiKey.from_env().name == "appId.keyId"


def test_keys_are_frozen_values() -> None:
    key = ApiKey.parse(KEY_TEXT)
    with pytest.raises(AttributeError, match="immutable"):
        key.name = "other.key"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        del key.secret
    assert key == ApiKey.parse(KEY_TEXT)
    assert hash(key) == hash(ApiKey.parse(KEY_TEXT))
    assert key != ApiKey.parse(KEY_TEXT.replace("keyId", "keyI2"))
    assert pickle.loads(pickle.dumps(key)) == key
    assert copy.deepcopy(key) == key


def test_replace_revalidates() -> None:
    key = ApiKey.parse(KEY_TEXT)
    revocable = key.replace(revocable=True)
    assert revocable.revocable and revocable.name == key.name
    with pytest.raises(InvalidApiKeyError):
        key.replace(name="no-dot")
    with pytest.raises(TypeError, match="no field"):
        key.replace(colour="blue")


def test_a_key_can_carry_its_capability() -> None:
    key = ApiKey.parse(KEY_TEXT, capability={"chat:*": ["subscribe"]})
    assert key.capability == Capability({"chat:*": ["subscribe"]})


def test_as_api_key_accepts_either_form() -> None:
    key = ApiKey.parse(KEY_TEXT)
    assert as_api_key(key) is key
    assert as_api_key(KEY_TEXT) == key
    with pytest.raises(ApiKeyTypeError):
        as_api_key(None)  # type: ignore[arg-type]


@given(
    secret=st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")).filter(
            lambda c: c not in ":.\ufeff" and c.isprintable() and not c.isspace()
        ),
        min_size=1,
        max_size=100,
    ),
    message=st.binary(max_size=300),
)
def test_sign_is_hmac_sha256_of_the_secret(secret: str, message: bytes) -> None:
    key = ApiKey(name="appId.keyId", secret=secret)
    expected = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    assert key.sign(message) == expected
    assert key.sign(message) == expected  # the prepared state is copied, not consumed
