from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from ably.sync import AblyRestSync
from hypothesis import assume, given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    InvalidCapabilityError,
    InvalidClientIdError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTokenFieldError,
    InvalidTTLError,
    KeyMismatchError,
    MalformedTokenError,
    TimestampNotCurrentError,
    TokenRequest,
    TTLTypeError,
    create_token_request,
    verify_token_request,
)

from .conftest import KEY_TEXT, NOW, SECRET
from .peers import AblyJs
from .strategies import capability_dicts, client_ids

NOW_MS = int(NOW.timestamp() * 1000)
NONCE = "0123456789abcdef"
WIRE_KEYS = {"keyName", "ttl", "capability", "clientId", "timestamp", "nonce", "mac"}


def at_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)


# --- known answers ----------------------------------------------------------------


def test_ably_python_s_published_vector() -> None:
    # ably-python test/ably/rest/resttoken_test.py: key name a_key_name, secret a_secret.
    request = TokenRequest(
        key_name="a_key_name",
        ttl=timedelta(milliseconds=1000),
        client_id="a_id",
        timestamp=at_ms(1000),
        nonce="abcde100",
        mac=None,
    )
    assert request.signing_text() == "a_key_name\n1000\n\na_id\n1000\nabcde100\n"
    signer = ApiKey(name="any.key", secret="a_secret")
    mac = base64.b64encode(signer.sign(request.signing_text().encode())).decode()
    assert mac == "sYkCH0Un+WgzI7/Nhy0BoQIKq9HmjKynCRs4E3qAbGQ="


@pytest.mark.parametrize(
    ("options", "mac"),
    [
        (
            {
                "capability": {"chan": ["subscribe", "publish"], "*": ["subscribe"]},
                "client_id": "alice",
                "ttl": timedelta(hours=1),
            },
            "RLVIjHCFkLXH99xFbPLCNIdOtFQDg9IC+wx2fmDOzdA=",
        ),
        ({}, "jYMc9JStn+Rrm3d+2CctwtQBgHtDoPp9WpJElQMsPa8="),
    ],
)
def test_reference_vectors(options: dict[str, Any], mac: str) -> None:
    request = create_token_request(
        "appId.keyId:secret", now=at_ms(1700000000000), nonce=NONCE, **options
    )
    assert request.mac == mac


def test_to_dict_is_the_wire_form(key: ApiKey) -> None:
    request = create_token_request(
        key,
        capability={"chat:*": ["subscribe"]},
        client_id="user-42",
        ttl=timedelta(minutes=30),
        now=NOW,
        nonce=NONCE,
    )
    wire = request.to_dict()
    assert list(wire) == ["keyName", "ttl", "capability", "clientId", "timestamp", "nonce", "mac"]
    assert wire["keyName"] == "appId.keyId"
    assert wire["ttl"] == 1_800_000
    assert wire["capability"] == '{"chat:*":["subscribe"]}'
    assert wire["timestamp"] == NOW_MS
    assert TokenRequest.from_dict(wire) == request
    assert request.to_json().startswith('{"keyName":"appId.keyId","ttl":1800000,')


def test_unset_fields_are_left_out(key: ApiKey) -> None:
    wire = create_token_request(key, now=NOW).to_dict()
    assert set(wire) == {"keyName", "timestamp", "nonce", "mac"}


def test_the_timestamp_is_whole_milliseconds(key: ApiKey) -> None:
    request = create_token_request(key, now=NOW + timedelta(microseconds=1999))
    assert request.to_dict()["timestamp"] == NOW_MS + 1


def test_default_nonces_are_16_random_hex_characters(key: ApiKey) -> None:
    nonces = {create_token_request(key).nonce for _ in range(50)}
    assert len(nonces) == 50
    assert all(n is not None and len(n) == 16 and int(n, 16) >= 0 for n in nonces)


# --- the two SDKs ------------------------------------------------------------------


@pytest.fixture(scope="module")
def ably_rest() -> Iterator[AblyRestSync]:
    client = AblyRestSync(key=KEY_TEXT)
    yield client
    client.close()


request_inputs = st.fixed_dictionaries(
    {
        "capability": st.none() | capability_dicts,
        "client_id": st.none() | client_ids,
        "ttl_ms": st.none() | st.integers(1, 24 * 3600 * 1000),
        # ably-python reads a timestamp of 0 as "none given" and uses its clock.
        "timestamp": st.integers(1, 2**41),
        "nonce": st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz", min_size=16, max_size=32),
    }
)


@given(inputs=request_inputs)
def test_our_mac_equals_ably_python_s_over_the_same_text(
    ably_rest: AblyRestSync, inputs: dict[str, Any]
) -> None:
    import json

    params: dict[str, Any] = {"timestamp": inputs["timestamp"], "nonce": inputs["nonce"]}
    if inputs["ttl_ms"] is not None:
        params["ttl"] = inputs["ttl_ms"]
    if inputs["capability"] is not None:
        params["capability"] = json.dumps(inputs["capability"])
    if inputs["client_id"] is not None:
        params["client_id"] = inputs["client_id"]
    theirs = ably_rest.auth.create_token_request(params)
    # ably-python writes the capability with spaces; the MAC covers the text as sent.
    ours = TokenRequest.from_dict(theirs.to_dict()).replace(mac=None)
    ours = ours.replace(
        mac=base64.b64encode(ApiKey.parse(KEY_TEXT).sign(ours.signing_text().encode())).decode()
    )
    assert ours.mac == theirs.mac
    verify_token_request(theirs.to_dict(), KEY_TEXT, now=at_ms(inputs["timestamp"]))
    if inputs["capability"] is None:
        mine = create_token_request(
            KEY_TEXT,
            client_id=inputs["client_id"],
            ttl=None if inputs["ttl_ms"] is None else timedelta(milliseconds=inputs["ttl_ms"]),
            now=at_ms(inputs["timestamp"]),
            nonce=inputs["nonce"],
        )
        expected = {k: v for k, v in theirs.to_dict().items() if v is not None}
        assert mine.to_dict() == expected


@given(inputs=request_inputs)
def test_our_token_request_is_byte_identical_to_ably_js(
    ably_js: AblyJs, inputs: dict[str, Any]
) -> None:
    ttl = None if inputs["ttl_ms"] is None else timedelta(milliseconds=inputs["ttl_ms"])
    mine = create_token_request(
        KEY_TEXT,
        capability=inputs["capability"],
        client_id=inputs["client_id"],
        ttl=ttl,
        now=at_ms(inputs["timestamp"]),
        nonce=inputs["nonce"],
    )
    params: dict[str, Any] = {"timestamp": inputs["timestamp"], "nonce": inputs["nonce"]}
    for name, value in (
        ("capability", inputs["capability"]),
        ("clientId", inputs["client_id"]),
        ("ttl", inputs["ttl_ms"]),
    ):
        if value is not None:
            params[name] = value
    theirs = ably_js.call("createTokenRequest", key=KEY_TEXT, tokenParams=params)
    assert mine.to_dict() == theirs
    verify_token_request(theirs, KEY_TEXT, now=at_ms(inputs["timestamp"]))


# --- any change breaks the MAC -------------------------------------------------------


changes = st.one_of(
    st.builds(lambda ms: ("ttl", timedelta(milliseconds=ms)), st.integers(1, 86_400_000)),
    st.builds(lambda c: ("capability", c), st.sampled_from(['{"a":["publish"]}', '{"*":["*"]}'])),
    st.builds(lambda c: ("client_id", c), client_ids),
    st.builds(
        lambda ms: ("timestamp", NOW + timedelta(milliseconds=ms)), st.integers(-60000, 60000)
    ),
    st.builds(
        lambda n: ("nonce", n), st.text(alphabet="0123456789abcdef", min_size=16, max_size=20)
    ),
)


@given(change=changes)
def test_changing_any_field_breaks_the_mac(change: tuple[str, Any]) -> None:
    key = ApiKey.parse(KEY_TEXT)
    request = create_token_request(
        key,
        capability={"chat:*": ["subscribe"]},
        client_id="user-42",
        ttl=timedelta(hours=1),
        now=NOW,
        nonce=NONCE,
    )
    field, value = change
    assume(getattr(request, field) != value)
    with pytest.raises(InvalidSignatureError) as caught:
        verify_token_request(request.replace(**{field: value}), key, now=NOW)
    assert caught.value.code == 40101


def test_a_changed_key_name_is_a_key_mismatch(key: ApiKey) -> None:
    request = create_token_request(key, now=NOW)
    with pytest.raises(KeyMismatchError):
        verify_token_request(request.replace(key_name="appId.other"), key, now=NOW)


def test_another_secret_does_not_verify(key: ApiKey, other_key: ApiKey) -> None:
    request = create_token_request(other_key, now=NOW).replace(key_name=key.name)
    with pytest.raises(InvalidSignatureError):
        verify_token_request(request, key, now=NOW)


# --- verification, as Ably's server checks --------------------------------------------


def test_the_timestamp_window_is_two_minutes_either_way(key: ApiKey) -> None:
    request = create_token_request(key, now=NOW)
    for skew in (timedelta(minutes=2), -timedelta(minutes=2)):
        verify_token_request(request, key, now=NOW + skew)
    for skew in (timedelta(minutes=2, milliseconds=1), -timedelta(minutes=2, milliseconds=1)):
        with pytest.raises(TimestampNotCurrentError) as caught:
            verify_token_request(request, key, now=NOW + skew)
        assert caught.value.code == 40104
        assert "Timestamp not current" in str(caught.value)


def test_verify_takes_the_dict_or_its_json_text(key: ApiKey) -> None:
    request = create_token_request(key, now=NOW)
    assert verify_token_request(request.to_dict(), key, now=NOW) == request
    assert verify_token_request(request.to_json(), key, now=NOW) == request


def forged(key: ApiKey, **fields: Any) -> dict[str, Any]:
    """A TokenRequest signed correctly over fields create_token_request would refuse."""
    values: dict[str, Any] = {"key_name": key.name, "timestamp": NOW, "nonce": NONCE, "mac": None}
    values.update(fields)
    request = TokenRequest(**values)
    mac = base64.b64encode(key.sign(request.signing_text().encode())).decode()
    return request.replace(mac=mac).to_dict()


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"ttl": timedelta(hours=25)}, 40003, "24 h"),
        ({"capability": '{"chat":["pubish"]}'}, 40000, "publish"),
        ({"capability": "{nope"}, 40000, "JSON"),
        ({"capability": '{"chat":["*","publish"]}'}, 40000, "alone"),
        ({"capability": '{"chat":[]}'}, 40000, "empty operation list"),
        ({"client_id": "a\nb"}, 40012, "newline"),
        ({"nonce": "short"}, 40003, "16"),
    ],
)
def test_fields_ably_refuses(key: ApiKey, fields: dict[str, Any], code: int, words: str) -> None:
    with pytest.raises(InvalidTokenFieldError, match=words) as caught:
        verify_token_request(forged(key, **fields), key, now=NOW)
    assert caught.value.code == code


def test_a_revocable_key_s_tokens_live_an_hour(key: ApiKey) -> None:
    revocable = key.replace(revocable=True)
    with pytest.raises(InvalidTokenFieldError, match="1 h"):
        verify_token_request(forged(key, ttl=timedelta(hours=2)), revocable, now=NOW)
    with pytest.raises(InvalidTTLError, match="revocable"):
        create_token_request(revocable, ttl=timedelta(hours=2))


def test_a_capability_the_key_cannot_grant(key: ApiKey) -> None:
    limited = key.replace(capability={"chat:*": ["*"]})
    with pytest.raises(InvalidTokenFieldError) as caught:
        verify_token_request(forged(key, capability='{"admin":["*"]}'), limited, now=NOW)
    assert caught.value.code == 40160
    with pytest.raises(InvalidCapabilityError):
        create_token_request(limited, capability={"admin": ["*"]})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"keyName": "appId.keyId", "timestamp": NOW_MS}, "not signed"),
        (
            {"keyName": "appId.keyId", "timestamp": NOW_MS, "nonce": NONCE, "mac": "x", "foo": 1},
            "foo",
        ),
        ({"timestamp": NOW_MS, "nonce": NONCE, "mac": "x"}, "no keyName"),
        ({"keyName": "appId.keyId", "nonce": NONCE, "mac": "x"}, "no timestamp"),
        ({"keyName": "appId.keyId", "timestamp": "now", "nonce": NONCE, "mac": "x"}, "integer"),
        ({"keyName": "appId.keyId", "timestamp": 1.5, "nonce": NONCE, "mac": "x"}, "integer"),
        ({"keyName": "appId.keyId", "timestamp": True, "nonce": NONCE, "mac": "x"}, "integer"),
        ({"keyName": "appId.keyId", "timestamp": 10**20, "nonce": NONCE, "mac": "x"}, "integer"),
        ({"keyName": "appId.keyId", "timestamp": 2**50, "nonce": NONCE, "mac": "x"}, "range"),
        ({"keyName": 5, "timestamp": NOW_MS, "nonce": NONCE, "mac": "x"}, "key_name"),
        (
            {"keyName": "appId.keyId", "timestamp": NOW_MS, "ttl": 0, "nonce": NONCE, "mac": "x"},
            "ttl",
        ),
        (
            {
                "keyName": "appId.keyId",
                "timestamp": NOW_MS,
                "clientId": 7,
                "nonce": NONCE,
                "mac": "x",
            },
            "client_id",
        ),
        ([1, 2], "JSON object"),
        ("{not json", "not JSON"),
    ],
)
def test_malformed_requests_are_refused_with_40001(key: ApiKey, data: Any, words: str) -> None:
    with pytest.raises(MalformedTokenError, match=words) as caught:
        verify_token_request(data, key, now=NOW)
    assert caught.value.code == 40001


def test_null_fields_count_as_absent_as_ably_python_sends_them(key: ApiKey) -> None:
    wire: dict[str, Any] = dict(create_token_request(key, now=NOW).to_dict())
    wire.update({"ttl": None, "capability": None, "clientId": None})
    verify_token_request(wire, key, now=NOW)


# --- bad arguments -------------------------------------------------------------------


def test_create_refuses_what_ably_would(key: ApiKey) -> None:
    with pytest.raises(TTLTypeError, match="milliseconds"):
        create_token_request(key, ttl=3600)  # type: ignore[arg-type]
    with pytest.raises(InvalidTTLError, match="millisecond"):
        create_token_request(key, ttl=timedelta(microseconds=1500))
    with pytest.raises(InvalidClientIdError, match="empty"):
        create_token_request(key, client_id="")
    with pytest.raises(InvalidParameterError, match="16"):
        create_token_request(key, nonce="abc")
    with pytest.raises(InvalidParameterError, match="naive"):
        create_token_request(key, now=datetime(2026, 1, 1))


def test_requests_are_frozen(key: ApiKey) -> None:
    request = create_token_request(key, now=NOW)
    with pytest.raises(AttributeError):
        request.mac = "forged"  # type: ignore[misc]
    assert SECRET not in repr(request)


def test_a_timestamp_as_a_string_of_digits_is_the_same_timestamp(key: ApiKey) -> None:
    """Ably takes a numeric-string timestamp (ably-js sends one after an authUrl rebuilt
    the request from query parameters); only the canonical decimal text, which is what the
    MAC covers."""
    signed = create_token_request(key, client_id="a", now=NOW, nonce=NONCE)
    wire = signed.to_dict()
    as_text = {**wire, "timestamp": str(NOW_MS)}
    assert TokenRequest.from_dict(as_text) == signed
    assert verify_token_request(as_text, key, now=NOW) == signed
    for text in (f"0{NOW_MS}", f"+{NOW_MS}", f" {NOW_MS}", f"{NOW_MS}.0", "1.7e12", "", "١٢"):
        with pytest.raises(MalformedTokenError) as caught:
            verify_token_request({**wire, "timestamp": text}, key, now=NOW)
        assert (caught.value.code, caught.value.status_code) == (40001, 400)
    with pytest.raises(MalformedTokenError):  # ttl stays an integer
        TokenRequest.from_dict({**wire, "ttl": "1000"})
