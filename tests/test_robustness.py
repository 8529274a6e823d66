"""Any input to the public functions gives a result or an AuthKitError, and no error
ever carries the key secret."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    AuthKitError,
    Capability,
    TokenDetails,
    TokenRequest,
    create_token_request,
    explain,
    mint_jwt,
    verify_jwt,
    verify_token_request,
)

from .conftest import KEY_TEXT, NOW, SECRET

anything = st.deferred(
    lambda: (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.text(max_size=30)
        | st.binary(max_size=10)
        | st.datetimes()
        | st.datetimes(timezones=st.just(timezone.utc))
        | st.timedeltas()
        | st.lists(anything, max_size=3)
        | st.dictionaries(st.text(max_size=8), anything, max_size=3)
    )
)
# Keys: the valid one, broken variants of it (still secret-bearing), and anything.
keys = (
    st.sampled_from(
        [
            KEY_TEXT,
            KEY_TEXT + ":",
            KEY_TEXT.replace(":", ""),
            KEY_TEXT.replace(":", " :"),
            "'" + KEY_TEXT + "'",
            KEY_TEXT.replace("appId.", ""),
            KEY_TEXT + ".x",
            ApiKey.parse(KEY_TEXT),
        ]
    )
    | anything
)


def assert_clean(error: BaseException) -> None:
    text = "".join(traceback.format_exception_only(type(error), error)) + repr(error)
    text += repr(error.args) + repr(getattr(error, "__dict__", {}))
    assert SECRET not in text
    assert SECRET[:12] not in text


def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    try:
        function(*args, **kwargs)
    except AuthKitError as error:
        assert_clean(error)
        assert isinstance(error, (ValueError, TypeError))


@given(key=keys, capability=anything, client_id=anything, ttl=anything, now=anything)
def test_mint_jwt(key: Any, capability: Any, client_id: Any, ttl: Any, now: Any) -> None:
    call(mint_jwt, key, capability=capability, client_id=client_id, ttl=ttl, now=now)


@given(
    key=keys,
    channel_claims=anything,
    rates=anything,
    revocation_key=anything,
    client_type=anything,
    embedded=anything,
    extra=anything,
)
def test_mint_jwt_options(
    key: Any,
    channel_claims: Any,
    rates: Any,
    revocation_key: Any,
    client_type: Any,
    embedded: Any,
    extra: Any,
) -> None:
    call(
        mint_jwt,
        key,
        capability={"*": ["*"]},
        channel_claims=channel_claims,
        publish_rate_limits=rates,
        revocation_key=revocation_key,
        client_type=client_type,
        embedded_token=embedded,
        extra_claims=extra,
    )


@given(
    key=keys, capability=anything, client_id=anything, ttl=anything, now=anything, nonce=anything
)
def test_create_token_request(
    key: Any, capability: Any, client_id: Any, ttl: Any, now: Any, nonce: Any
) -> None:
    call(
        create_token_request,
        key,
        capability=capability,
        client_id=client_id,
        ttl=ttl,
        now=now,
        nonce=nonce,
    )


@given(
    token=anything | st.text(alphabet="eyJ0123456789abcdef._-", max_size=80),
    key=keys,
    now=anything,
    leeway=anything,
)
def test_verify_jwt(token: Any, key: Any, now: Any, leeway: Any) -> None:
    call(verify_jwt, token, key, now=now, leeway=leeway)


@given(data=anything, key=keys, now=anything)
def test_verify_token_request(data: Any, key: Any, now: Any) -> None:
    call(verify_token_request, data, key, now=now)


wire_like = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "keyName",
            "ttl",
            "capability",
            "clientId",
            "timestamp",
            "nonce",
            "mac",
            "token",
            "issued",
            "expires",
        ),
        anything,
    ),
)


@given(data=wire_like, key=keys)
def test_verify_and_explain_wire_shaped_dicts(data: dict[str, Any], key: Any) -> None:
    call(verify_token_request, data, key, now=NOW)
    call(explain, data, key if isinstance(key, (str, ApiKey)) else None, now=NOW)
    call(TokenDetails.from_dict, data)
    call(TokenRequest.from_dict, data)


@given(value=anything)
def test_parsers(value: Any) -> None:
    call(ApiKey.parse, value)
    call(Capability.coerce, value)
    call(Capability.parse, value)
    call(explain, value)


@given(resource=anything, operation=anything, other=anything)
def test_capability_methods(resource: Any, operation: Any, other: Any) -> None:
    capability = Capability({"chat:*": ["publish"]})
    call(capability.allows, resource, operation)
    call(capability.intersection, other)


def test_errors_on_a_valid_key_do_not_show_its_secret() -> None:
    key = ApiKey.parse(KEY_TEXT)
    token = mint_jwt(key, capability={"*": ["*"]}, now=NOW)
    attempts: list[Callable[[], Any]] = [
        lambda: verify_jwt(token, key, now=NOW + timedelta(days=2)),
        lambda: verify_jwt(token[:-2], key, now=NOW),
        lambda: verify_jwt(token, key.replace(name="appId.other"), now=NOW),
        lambda: verify_token_request({"keyName": key.name}, key),
        lambda: create_token_request(key, ttl=timedelta(days=2)),
        lambda: mint_jwt(key, capability={"x": ["nope"]}),
        lambda: ApiKey.from_env("UNSET_FOR_TEST", environ={}),
        lambda: ApiKey(name=key.name, secret=SECRET + ".x"),
        lambda: ApiKey(name=SECRET, secret=SECRET),
    ]
    for attempt in attempts:
        with pytest.raises(AuthKitError) as caught:
            attempt()
        assert_clean(caught.value)


def test_a_naive_now_is_an_error_not_a_crash() -> None:
    with pytest.raises(AuthKitError):
        mint_jwt(KEY_TEXT, capability={"*": ["*"]}, now=datetime(2026, 1, 1))
