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

anything: st.SearchStrategy[Any] = st.deferred(
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
    room_claims=anything,
    rates=anything,
    revocation_key=anything,
    client_type=anything,
    embedded=anything,
    extra=anything,
)
def test_mint_jwt_options(
    key: Any,
    channel_claims: Any,
    room_claims: Any,
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
        room_claims=room_claims,
        publish_rate_limits=rates,
        revocation_key=revocation_key,
        client_type=client_type,
        embedded_token=embedded,
        extra_claims=extra,
    )


@given(capability=anything, room_claims=anything, channel_claims=anything)
def test_grant_claims(capability: Any, room_claims: Any, channel_claims: Any) -> None:
    from ably_authkit.endpoint import Grant

    for granted in (capability, {"*": ["*"]}):
        call(
            Grant,
            client_id="ada",
            capability=granted,
            room_claims=room_claims,
            channel_claims=channel_claims,
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


# -- everything reachable from an error, the CLI's output -----------------------------------


def reachable_text(value: object, depth: int = 0, seen: set[int] | None = None) -> list[str]:
    """The text of ``value`` and of everything reachable from it: an exception's args,
    ``__cause__``, ``__context__`` and attributes (an httpx error's ``request.headers``,
    whose ``repr`` hides Authorization but whose items do not), mappings, sequences."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return []
    seen.add(id(value))
    texts = [repr(value)]
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return [str(value), repr(value)]
    children: list[object] = []
    if isinstance(value, BaseException):
        texts.append(str(value))
        children += [value.args, value.__cause__, value.__context__]
    if hasattr(value, "multi_items"):  # httpx.Headers, httpx.QueryParams
        children.append(list(value.multi_items()))
    if isinstance(value, dict):
        children += [list(value.keys()), list(value.values())]
    elif isinstance(value, (list, tuple, set, frozenset)):
        children += list(value)
    for name in getattr(value, "__dict__", {}):
        children.append(getattr(value, name, None))
    for slots in (getattr(klass, "__slots__", ()) for klass in type(value).__mro__):
        for name in (slots,) if isinstance(slots, str) else slots:
            if name != "secret":  # an ApiKey holds its own secret, as it must
                children.append(getattr(value, name, None))
    for child in children:
        texts += reachable_text(child, depth + 1, seen)
    return texts


def assert_nothing_reachable_holds(error: BaseException, *secrets: str) -> None:
    import base64

    texts = reachable_text(error)
    # Basic auth sends the key base64-encoded: look for that form too.
    secrets += (base64.b64encode(KEY_TEXT.encode()).decode()[8:40],)
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"{type(error).__name__} reaches {text[:80]!r}"


def test_the_walk_finds_a_key_in_an_httpx_request_s_headers() -> None:
    """The check above would see the leak this file guards against."""
    import base64

    import httpx

    basic = base64.b64encode(KEY_TEXT.encode()).decode()
    request = httpx.Request(
        "GET", "http://10.0.0.1:1/time", headers={"Authorization": f"Basic {basic}"}
    )
    assert "[secure]" in repr(request.headers)  # httpx hides it from repr...
    try:
        try:
            raise httpx.ConnectError("refused", request=request)
        except httpx.ConnectError as inner:
            raise AuthKitError("could not reach Ably") from inner
    except AuthKitError as outer:
        with pytest.raises(AssertionError):  # ...but not from the walk
            assert_nothing_reachable_holds(outer, SECRET)


def test_network_errors_reach_no_secret_through_causes_or_requests() -> None:
    """An unreachable Ably: the error has no cause or context holding httpx's request,
    whose Authorization header is the key itself (basic auth)."""
    import socket

    from ably_authkit import AblyApiError, AblyConnectionError, RestClient

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with RestClient(
        KEY_TEXT, endpoint=f"http://127.0.0.1:{port}", timeout=timedelta(seconds=2)
    ) as client:
        for attempt in (client.server_time, lambda: client.revoke_tokens(client_ids=["x"])):
            # The ably package wraps some transport errors in its own (AblyApiError here).
            with pytest.raises((AblyConnectionError, AblyApiError)) as caught:
                attempt()
            assert caught.value.__cause__ is None and caught.value.__context__ is None
            assert_nothing_reachable_holds(caught.value, SECRET, SECRET[:12])


def test_ably_s_refusals_reach_no_secret(ably_emulator: Any) -> None:
    from ably_authkit import AblyApiError, KeyRing, request_token

    stranger = ApiKey.parse(KEY_TEXT)  # not a key of the emulator
    with pytest.raises(AblyApiError) as refused:
        request_token(KeyRing(keys=[stranger]), endpoint=ably_emulator.url)
    assert_nothing_reachable_holds(refused.value, SECRET, SECRET[:12])


def test_key_ring_errors_reach_no_secret() -> None:
    from ably_authkit import KeyRing

    attempts: list[Callable[[], Any]] = [
        lambda: KeyRing(keys=[KEY_TEXT, KEY_TEXT]),
        lambda: KeyRing(keys=[KEY_TEXT], signer=KEY_TEXT),
        lambda: KeyRing.parse(f"{KEY_TEXT} {KEY_TEXT}::"),
        lambda: KeyRing.from_env(environ={"ABLY_API_KEYS": f"{KEY_TEXT},{SECRET}"}),
        lambda: verify_jwt(
            mint_jwt(KEY_TEXT, capability={"*": ["*"]}, now=NOW),
            KeyRing(keys=[f"appId.other:{SECRET[::-1]}"]),
            now=NOW,
        ),
    ]
    for attempt in attempts:
        with pytest.raises(AuthKitError) as caught:
            attempt()
        assert_nothing_reachable_holds(caught.value, SECRET, SECRET[:12], SECRET[::-1])


@given(
    args=st.lists(
        st.sampled_from(
            [
                "jwt",
                "verify",
                "inspect",
                "token-request",
                "--capability",
                '{"*":["*"]}',
                "--client-id",
                "*",
                "--ttl",
                "3600",
                "--key-env",
                KEY_TEXT,
                f"--key={KEY_TEXT}",
                f"--api_token={KEY_TEXT}",
                SECRET,
                "x" + KEY_TEXT,
                "--json",
            ]
        ),
        max_size=6,
    )
)
def test_cli_output_never_holds_a_secret(args: list[str]) -> None:
    """Whatever is typed, with a key ring in the environment, stdout and stderr hold no
    secret (the CLI blanks key-shaped arguments in argparse's messages)."""
    import contextlib
    import io
    import os
    from unittest import mock

    from ably_authkit.cli import main

    ring = f"appId.other:{SECRET[::-1]} {KEY_TEXT}"
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {"ABLY_API_KEYS": ring}, clear=False),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        os.environ.pop("ABLY_API_KEY", None)
        with contextlib.suppress(SystemExit):
            main(args)
    for text in (out.getvalue(), err.getvalue()):
        assert SECRET not in text and SECRET[::-1] not in text
