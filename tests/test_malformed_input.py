"""Malformed credentials always end in the library's own error, never in a bare
``UnicodeEncodeError`` (which a route catching ``TokenError`` would answer with a 500):
non-ASCII characters in a JWT, lone surrogates (JSON's ``"\\ud800"``) in a TokenRequest,
NUL and anything else a client can send. The emulator answers them as Ably would, 4xx."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import httpx
import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    AuthKitError,
    MalformedTokenError,
    TokenError,
    TokenRequest,
    create_token_request,
    explain,
    mint_jwt,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.demo.panel import explain_response
from ably_authkit.jwt_tokens import read_unverified
from ably_authkit.testing import AblyEmulator

from .conftest import NOW

# -- JWTs --------------------------------------------------------------------------------


def _jwt(key: ApiKey) -> str:
    return mint_jwt(key, capability={"*": ["*"]}, client_id="alice", now=NOW)


@pytest.mark.parametrize("part", [0, 1, 2])
@pytest.mark.parametrize("extra", ["é", "\ud800", "\x00", "\u2028", "😀"])
def test_a_foreign_character_in_any_part_of_a_jwt_is_a_malformed_token(
    key: ApiKey, part: int, extra: str
) -> None:
    parts = _jwt(key).split(".")
    parts[part] = parts[part][:3] + extra + parts[part][3:]
    token = ".".join(parts)
    with pytest.raises(TokenError) as caught:  # malformed, or (NUL) a bad signature
        verify_jwt(token, key, now=NOW)
    assert caught.value.code == 40144
    assert caught.value.status_code == 401
    # explain() reports it as a problem of the credential, with the key given.
    try:
        report = explain(token, key, now=NOW)
    except AuthKitError:
        pass  # its header or claims cannot be read at all: refused as not a JWT
    else:
        assert report.verified is False
        assert report.problems


def test_a_non_ascii_claims_segment_names_the_problem(key: ApiKey) -> None:
    header, claims, signature = _jwt(key).split(".")
    with pytest.raises(MalformedTokenError, match="outside ASCII"):
        verify_jwt(f"{header}.{claims[:5]}é{claims[5:]}.{signature}", key, now=NOW)


def _segment(value: object) -> str:
    import base64

    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


_HEADER = _segment({"alg": "HS256", "typ": "JWT", "kid": "appId.keyId"})

# Text a client could send: any characters (lone surrogates and NUL among them), dots
# included, and three-part tokens built around a real header so the later checks run.
_any_text = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()), max_size=60
) | st.builds(
    lambda claims, signature: f"{_HEADER}.{claims}.{signature}",
    st.text(max_size=40),
    st.text(max_size=40),
)


@given(token=_any_text)
def test_any_text_given_to_verify_jwt_ends_in_a_token_error(token: str) -> None:
    key = ApiKey.parse("appId.keyId:bW9jay1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMDAwMDAw")
    with pytest.raises(TokenError):
        verify_jwt(token, key, now=NOW)
    with contextlib.suppress(MalformedTokenError):
        read_unverified(token)
    with contextlib.suppress(AuthKitError):
        explain(token, key, now=NOW)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_claim_names = st.sampled_from(
    [
        "iat",
        "exp",
        "nbf",
        "x-ably-capability",
        "x-ably-clientId",
        "x-ably-revocation-key",
        "x-ably-clientType",
        "x-ably-token",
        "ably.channel.chat:*",
        "ably.limits.publish.perAttachment.maxRate.chat:*",
    ]
) | st.text(max_size=6)


def _signed(key: ApiKey, header: object, claims: object) -> str:
    import base64
    import hashlib
    import hmac

    def segment(value: object) -> str:
        raw = json.dumps(value, ensure_ascii=True).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key.secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@given(
    claims=st.dictionaries(_claim_names, _json_values, max_size=6),
    header_extra=st.dictionaries(st.sampled_from(["typ", "crit", "x5u", "b64"]), _json_values),
)
def test_any_json_under_a_valid_signature_ends_in_a_token_error_or_claims(
    claims: dict[str, object], header_extra: dict[str, object]
) -> None:
    key = ApiKey.parse("appId.keyId:bW9jay1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMDAwMDAw")
    token = _signed(key, {"alg": "HS256", "kid": key.name, **header_extra}, claims)
    with contextlib.suppress(TokenError):
        verify_jwt(token, key, now=NOW)
    explain(token, key, now=NOW)  # readable, so explained (problems listed), never raised


# -- TokenRequests -------------------------------------------------------------------------

SURROGATE_FIELDS = ["nonce", "clientId", "capability", "mac", "keyName"]


def _wire_with_surrogate(key: ApiKey, field: str) -> dict[str, Any]:
    wire: dict[str, Any] = create_token_request(
        key, client_id="alice", capability={"chat:*": ["subscribe"]}, now=NOW
    ).to_dict()
    wire[field] = "\ud800" + "x" * 16
    return wire


@pytest.mark.parametrize("field", SURROGATE_FIELDS)
def test_a_lone_surrogate_in_a_token_request_is_a_malformed_request(
    key: ApiKey, field: str
) -> None:
    wire = _wire_with_surrogate(key, field)
    text = json.dumps(wire)  # ensure_ascii: the surrogate travels as the escape \ud800
    assert "\\ud800" in text
    for given_form in (wire, text):
        with pytest.raises(MalformedTokenError, match="unpaired surrogate") as caught:
            verify_token_request(given_form, key, now=NOW)
        assert (caught.value.code, caught.value.status_code) == (40001, 400)
        with pytest.raises(MalformedTokenError) as caught:
            explain(given_form, key, now=NOW)
        assert caught.value.code == 40001
    with pytest.raises(MalformedTokenError) as caught:
        TokenRequest.from_dict(wire)
    assert caught.value.code == 40001


# Any character, with the troublesome ones (lone surrogates, NUL, non-ASCII) made common.
_any_text_value = st.text(
    alphabet=st.sampled_from(["a", "\x00", "é", "\ud800", "\udfff", "\U0001f600", "\n"]),
    max_size=20,
) | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)


_WIRE_KEYS = ["keyName", "ttl", "capability", "clientId", "timestamp", "nonce", "mac"]


@given(
    field=st.sampled_from(_WIRE_KEYS),
    value=_any_text_value | _json_values,
    more=st.dictionaries(st.sampled_from(_WIRE_KEYS), _json_values | _any_text_value, max_size=2),
    signed=st.booleans(),
)
def test_any_token_request_ends_in_a_token_error_or_verifies(
    field: str, value: object, more: dict[str, object], signed: bool
) -> None:
    """A signed TokenRequest with one field replaced by anything, or with a few more."""
    key = ApiKey.parse("appId.keyId:bW9jay1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMDAwMDAw")
    wire: dict[str, object] = dict(create_token_request(key, client_id="ann", now=NOW).to_dict())
    wire[field] = value
    if not signed:
        wire.update(more)
    with contextlib.suppress(TokenError):
        verify_token_request(wire, key, now=NOW)
    with contextlib.suppress(TokenError):
        verify_token_request(json.dumps(wire), key, now=NOW)
    with contextlib.suppress(AuthKitError):
        explain(wire, key, now=NOW)


def test_the_demo_explain_route_answers_a_surrogate_with_400(key: ApiKey) -> None:
    for field in SURROGATE_FIELDS:
        body = json.dumps(_wire_with_surrogate(key, field)).encode()
        answer = explain_response(key, body, now=NOW)
        assert answer.status == 400, answer.text
        assert answer.json()["error"]["code"] == 40001
        answer = explain_response(key, body.decode(), now=NOW)
        assert answer.status == 400


@pytest.mark.parametrize("field", SURROGATE_FIELDS)
def test_the_emulator_refuses_a_surrogate_token_request_as_ably_does(
    ably_emulator: AblyEmulator, field: str
) -> None:
    key = ably_emulator.create_key()
    wire = create_token_request(key, client_id="alice", now=ably_emulator.now()).to_dict()
    wire[field] = "\ud800" + "x" * 16
    path = f"{ably_emulator.url}/keys/{key.name}/requestToken"
    answer = httpx.post(
        path,
        content=json.dumps(wire).encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == 40001
    assert "surrogate" in error["message"]


@pytest.mark.parametrize("field", ["nonce", "clientId", "mac"])
def test_the_emulator_refuses_a_msgpack_token_request_whose_text_is_not_utf8(
    ably_emulator: AblyEmulator, field: str
) -> None:
    # msgpack cannot carry a lone surrogate as text: its UTF-8 spelling (ED A0 80) is not
    # UTF-8, so the body cannot be read at all.
    key = ably_emulator.create_key()
    wire = create_token_request(key, client_id="alice", now=ably_emulator.now()).to_dict()
    marker = "Z" * 17
    wire[field] = marker
    body = msgpack.packb(wire, use_bin_type=True).replace(
        marker.encode(), b"\xed\xa0\x80" + b"x" * 14
    )
    answer = httpx.post(
        f"{ably_emulator.url}/keys/{key.name}/requestToken",
        content=body,
        headers={"Content-Type": "application/x-msgpack", "Accept": "application/x-msgpack"},
        timeout=10,
    )
    assert answer.status_code == 400
    error = msgpack.unpackb(answer.content)["error"]
    assert error["code"] in (40000, 40001)
    assert error["statusCode"] == 400


# -- crit: critical header extensions ------------------------------------------------------


def _crit_jwt(key: ApiKey, crit: object, now: int) -> str:
    import jwt as pyjwt

    claims = {"iat": now, "exp": now + 600, "x-ably-capability": '{"*":["*"]}'}
    headers = {"kid": key.name, "crit": crit, "exp": now}
    return pyjwt.encode(claims, key.secret, algorithm="HS256", headers=headers)


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["x-unknown"], [], "exp"])
def test_a_jwt_with_critical_extensions_is_refused_as_rfc_7515_requires(
    key: ApiKey, crit: object
) -> None:
    import jwt as pyjwt

    token = _crit_jwt(key, crit, int(NOW.timestamp()))
    with pytest.raises(MalformedTokenError, match="crit") as caught:
        verify_jwt(token, key, now=NOW)
    assert (caught.value.code, caught.value.status_code, caught.value.field) == (40144, 401, "crit")
    # pyjwt, the reference, refuses it too.
    with pytest.raises(pyjwt.InvalidTokenError):
        pyjwt.decode(
            token,
            key.secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False},
        )


def test_the_emulator_refuses_a_jwt_with_critical_extensions(ably_emulator: AblyEmulator) -> None:
    import base64

    key = ably_emulator.create_key()
    token = _crit_jwt(key, ["x-unknown"], int(ably_emulator.now().timestamp()))
    answer = httpx.get(
        f"{ably_emulator.url}/channels/any/messages",
        headers={"Authorization": "Bearer " + base64.b64encode(token.encode()).decode()},
        timeout=10,
    )
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == 40144
    assert "crit" in error["message"]
