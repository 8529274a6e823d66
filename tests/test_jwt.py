from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ably_authkit import (
    ApiKey,
    Capability,
    InvalidCapabilityError,
    InvalidParameterError,
    InvalidSignatureError,
    InvalidTokenFieldError,
    InvalidTTLError,
    KeyMismatchError,
    MalformedTokenError,
    TokenDetails,
    TokenExpiredError,
    TokenNotYetValidError,
    TokenTooLargeError,
    TTLTypeError,
    explain,
    mint_jwt,
    verify_jwt,
)

from .conftest import KEY_TEXT, NOW, SECRET
from .strategies import capability_dicts, client_ids

CHAT = {"chat:*": ["publish", "subscribe"]}
EPOCH_NOW = int(NOW.timestamp())


def forge(claims: dict[str, Any], *, secret: str = SECRET, **header: Any) -> str:
    """A JWT written by pyjwt, for the cases mint_jwt refuses to make."""
    algorithm = header.pop("alg", "HS256")
    return jwt.encode(claims, secret, algorithm=algorithm, headers={"kid": "appId.keyId", **header})


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iat": EPOCH_NOW,
        "exp": EPOCH_NOW + 3600,
        "x-ably-capability": '{"chat:*":["subscribe"]}',
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


# --- minting ----------------------------------------------------------------------


def test_a_minted_jwt_is_what_pyjwt_writes_for_the_same_claims(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, client_id="user-42", ttl=timedelta(hours=1), now=NOW)
    expected = jwt.encode(
        {
            "iat": EPOCH_NOW,
            "exp": EPOCH_NOW + 3600,
            "x-ably-capability": '{"chat:*":["publish","subscribe"]}',
            "x-ably-clientId": "user-42",
        },
        SECRET,
        algorithm="HS256",
        headers={"kid": "appId.keyId"},
    )
    assert token == expected


def test_header_and_claims_have_ably_s_shape(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, now=NOW)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "appId.keyId", "typ": "JWT"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "iat": EPOCH_NOW,
        "exp": EPOCH_NOW + 3600,
        "x-ably-capability": '{"chat:*":["publish","subscribe"]}',
    }
    assert isinstance(claims["iat"], int)


def test_the_key_string_is_accepted_too() -> None:
    assert mint_jwt(KEY_TEXT, capability=CHAT, now=NOW) == mint_jwt(
        ApiKey.parse(KEY_TEXT), capability=CHAT, now=NOW
    )


@given(
    capability=capability_dicts,
    client_id=st.none() | client_ids,
    ttl_seconds=st.integers(1, 24 * 3600),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(timezone.utc),
    ),
)
def test_every_minted_jwt_verifies_under_pyjwt_and_verify_jwt(
    capability: dict[str, list[str]], client_id: str | None, ttl_seconds: int, now: datetime
) -> None:
    key = ApiKey.parse(KEY_TEXT)
    token = mint_jwt(
        key, capability=capability, client_id=client_id, ttl=timedelta(seconds=ttl_seconds), now=now
    )
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims["exp"] - claims["iat"] == ttl_seconds
    assert Capability.parse(claims["x-ably-capability"]) == Capability(capability)
    assert claims.get("x-ably-clientId") == client_id
    verified = verify_jwt(token, key, now=now)
    assert verified.capability == Capability(capability)
    assert verified.client_id == client_id
    assert verified.ttl == timedelta(seconds=ttl_seconds)
    assert verified.key_name == "appId.keyId"
    # Byte-identical to pyjwt for the same claims in the same order.
    assert token == jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": key.name})


@pytest.mark.parametrize("number", [3600, 3600000, 1.5, True])
def test_a_bare_number_ttl_is_refused_naming_the_units(key: ApiKey, number: object) -> None:
    with pytest.raises(TTLTypeError) as caught:
        mint_jwt(key, capability=CHAT, ttl=number)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError)
    if not isinstance(number, bool):
        assert "timedelta(seconds=" in str(caught.value)
        assert "milliseconds" in str(caught.value)


@pytest.mark.parametrize(
    ("ttl", "words"),
    [
        (timedelta(0), "positive"),
        (timedelta(seconds=-5), "positive"),
        (timedelta(hours=24, seconds=1), "at most 24 h"),
        (timedelta(seconds=1.5), "whole number of seconds"),
    ],
)
def test_ttls_ably_would_refuse_are_refused_not_clipped(
    key: ApiKey, ttl: timedelta, words: str
) -> None:
    with pytest.raises(InvalidTTLError, match=words):
        mint_jwt(key, capability=CHAT, ttl=ttl)


def test_revocable_tokens_live_an_hour_at_most(key: ApiKey) -> None:
    with pytest.raises(InvalidTTLError, match="revocable"):
        mint_jwt(key, capability=CHAT, ttl=timedelta(hours=2), revocation_key="group-1")
    with pytest.raises(InvalidTTLError, match="revocable"):
        mint_jwt(key.replace(revocable=True), capability=CHAT, ttl=timedelta(hours=2))
    token = mint_jwt(key, capability=CHAT, revocation_key="group-1", now=NOW)
    assert verify_jwt(token, key, now=NOW).revocation_key == "group-1"


def test_now_is_the_issue_time_and_must_be_aware(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, now=NOW + timedelta(milliseconds=999))
    assert verify_jwt(token, key, now=NOW).issued == NOW
    with pytest.raises(InvalidParameterError, match="naive"):
        mint_jwt(key, capability=CHAT, now=datetime(2026, 1, 1))


def test_a_capability_the_key_cannot_grant_is_refused(key: ApiKey) -> None:
    limited = key.replace(capability={"chat:*": ["subscribe"]})
    with pytest.raises(InvalidCapabilityError) as caught:
        mint_jwt(limited, capability={"admin": ["publish"]})
    assert caught.value.code == 40160
    mint_jwt(limited, capability={"*": ["subscribe", "publish"]})  # overlaps: Ably narrows it


def test_optional_ably_claims(key: ApiKey) -> None:
    token = mint_jwt(
        key,
        capability=CHAT,
        now=NOW,
        client_type="server",
        channel_claims={"chat:*": "moderator", "chat:lobby": {"role": "host"}},
        publish_rate_limits={"chat:*": 0.5, "*": 10},
        extra_claims={"tenant": "acme", "plan": {"tier": 2}},
    )
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["x-ably-clientType"] == "server"
    assert claims["ably.channel.chat:*"] == "moderator"
    assert json.loads(claims["ably.channel.chat:lobby"]) == {"role": "host"}
    assert claims["ably.limits.publish.perAttachment.maxRate.chat:*"] == 0.5
    assert claims["ably.limits.publish.perAttachment.maxRate.*"] == 10
    assert claims["tenant"] == "acme"
    verified = verify_jwt(token, key, now=NOW)
    assert verified.client_type == "server"
    assert verified.channel_claims == {"chat:*": "moderator", "chat:lobby": '{"role":"host"}'}
    assert verified.publish_rate_limits == {"chat:*": 0.5, "*": 10}
    assert verified.extra_claims == {"tenant": "acme", "plan": {"tier": 2}}


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"client_type": "admin"}, "client_type must be one of"),
        ({"publish_rate_limits": {"chat:*": 0}}, "positive number"),
        ({"publish_rate_limits": {"chat:*": float("inf")}}, "positive number"),
        ({"publish_rate_limits": {"chat:*": True}}, "positive number"),
        ({"publish_rate_limits": {":bad": 1}}, "starts with ':'"),
        ({"channel_claims": {"chat:*": object()}}, "cannot be written as JSON"),
        ({"extra_claims": {"x-ably-capability": "{}"}}, "reserved"),
        ({"extra_claims": {"exp": 1}}, "reserved"),
        ({"extra_claims": {"ably.channel.x": "y"}}, "channel_claims="),
        ({"extra_claims": {"n": float("nan")}}, "cannot be written as JSON"),
        ({"extra_claims": {"": 1}}, "non-empty"),
        ({"revocation_key": ""}, "empty"),
        ({"embedded_token": "opaque-ably-token"}, "TokenDetails"),
    ],
)
def test_bad_optional_claims_are_refused(key: ApiKey, options: dict[str, Any], words: str) -> None:
    with pytest.raises((InvalidParameterError, InvalidCapabilityError), match=words):
        mint_jwt(key, capability=CHAT, **options)


def test_an_embedded_token_bounds_the_outer_expiry(key: ApiKey) -> None:
    inner = TokenDetails(
        token="appId.inner-token",
        issued=NOW,
        expires=NOW + timedelta(minutes=30),
        capability=CHAT,
    )
    token = mint_jwt(key, capability=CHAT, embedded_token=inner, ttl=timedelta(minutes=30), now=NOW)
    assert verify_jwt(token, key, now=NOW).embedded_token == "appId.inner-token"
    with pytest.raises(InvalidTTLError, match="outlive"):
        mint_jwt(key, capability=CHAT, embedded_token=inner, ttl=timedelta(hours=1), now=NOW)
    inner_jwt = mint_jwt(key, capability=CHAT, ttl=timedelta(minutes=10), now=NOW)
    with pytest.raises(InvalidTTLError, match="outlive"):
        mint_jwt(key, capability=CHAT, embedded_token=inner_jwt, now=NOW)
    mint_jwt(key, capability=CHAT, embedded_token=inner_jwt, ttl=timedelta(minutes=10), now=NOW)


def test_a_jwt_over_8_kib_is_refused_with_its_size(key: ApiKey) -> None:
    many = {f"room:{n}": ["publish", "subscribe"] for n in range(300)}
    with pytest.raises(TokenTooLargeError) as caught:
        mint_jwt(key, capability=many)
    assert "bytes" in str(caught.value)
    assert "wildcard" in str(caught.value)


# --- verifying --------------------------------------------------------------------


def test_expired_jwts_are_refused_with_40142(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, ttl=timedelta(minutes=1), now=NOW)
    with pytest.raises(TokenExpiredError) as caught:
        verify_jwt(token, key, now=NOW + timedelta(minutes=2))
    assert caught.value.code == 40142
    assert "expired 1 min ago" in str(caught.value)
    verify_jwt(token, key, now=NOW + timedelta(minutes=2), leeway=timedelta(minutes=2))


def test_a_jwt_issued_in_the_future_is_refused_beyond_the_leeway(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, now=NOW + timedelta(seconds=30))
    with pytest.raises(TokenNotYetValidError, match="issuer's clock is ahead") as caught:
        verify_jwt(token, key, now=NOW)
    assert caught.value.code == 40144
    assert verify_jwt(token, key, now=NOW, leeway=timedelta(seconds=30)).issued > NOW


def test_another_secret_breaks_the_signature(key: ApiKey) -> None:
    token = forge(good_claims(), secret="another-secret-that-is-long-enough-000")
    with pytest.raises(InvalidSignatureError) as caught:
        verify_jwt(token, key, now=NOW)
    assert caught.value.code == 40144
    tampered = mint_jwt(key, capability=CHAT, now=NOW)
    header, claims, signature = tampered.split(".")
    with pytest.raises(InvalidSignatureError):
        verify_jwt(f"{header}.{claims}x.{signature}", key, now=NOW)


def test_a_jwt_for_another_key_is_a_key_mismatch(key: ApiKey, other_key: ApiKey) -> None:
    token = mint_jwt(other_key, capability=CHAT, now=NOW)
    with pytest.raises(KeyMismatchError, match=r"appId\.otherKey"):
        verify_jwt(token, key, now=NOW)
    signed_by_us_named_other = forge(good_claims(), kid="appId.otherKey")
    with pytest.raises(KeyMismatchError):
        verify_jwt(signed_by_us_named_other, key, now=NOW)


def test_unsigned_and_other_algorithms_are_refused(key: ApiKey) -> None:
    unsigned = jwt.encode(good_claims(), "", algorithm="none", headers={"kid": key.name})
    with pytest.raises(MalformedTokenError, match="HS256 only"):
        verify_jwt(unsigned, key, now=NOW)
    hs512 = forge(good_claims(), alg="HS512", secret=SECRET + SECRET)
    with pytest.raises(MalformedTokenError, match="HS512"):
        verify_jwt(hs512, key, now=NOW)


@pytest.mark.parametrize(
    ("claims", "header", "error", "words"),
    [
        (good_claims(iat=None), {}, MalformedTokenError, "no iat"),
        (good_claims(exp=None), {}, MalformedTokenError, "no exp"),
        (good_claims(exp="soon"), {}, MalformedTokenError, "number of seconds"),
        (good_claims(iat=EPOCH_NOW * 1000), {}, MalformedTokenError, "milliseconds"),
        (good_claims(exp=EPOCH_NOW - 10), {}, InvalidTokenFieldError, "no later than"),
        (good_claims(exp=EPOCH_NOW + 25 * 3600), {}, InvalidTokenFieldError, "longer than"),
        (
            good_claims(exp=EPOCH_NOW + 7200, **{"x-ably-revocation-key": "g"}),
            {},
            InvalidTokenFieldError,
            "1 h",
        ),
        (good_claims(**{"x-ably-capability": None}), {}, MalformedTokenError, "no x-ably-cap"),
        (good_claims(**{"x-ably-capability": "{bad"}), {}, InvalidTokenFieldError, "JSON"),
        (good_claims(**{"x-ably-capability": '{"a":["pub"]}'}), {}, InvalidTokenFieldError, "pub"),
        (good_claims(**{"x-ably-clientId": 42}), {}, InvalidTokenFieldError, "str"),
        (good_claims(**{"x-ably-clientId": ""}), {}, InvalidTokenFieldError, "empty"),
        (good_claims(**{"x-ably-revocation-key": 7}), {}, InvalidTokenFieldError, "string"),
        (good_claims(nbf=EPOCH_NOW + 60), {}, TokenNotYetValidError, "nbf"),
    ],
)
def test_claims_ably_refuses_are_refused(
    key: ApiKey,
    claims: dict[str, Any],
    header: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    token = forge(claims, **header)
    with pytest.raises(error, match=words):
        verify_jwt(token, key, now=NOW)


def test_a_jwt_without_kid_is_malformed(key: ApiKey) -> None:
    with pytest.raises(MalformedTokenError, match="no kid"):
        verify_jwt(jwt.encode(good_claims(), SECRET, algorithm="HS256"), key, now=NOW)


def test_client_id_errors_carry_40012(key: ApiKey) -> None:
    with pytest.raises(InvalidTokenFieldError) as caught:
        verify_jwt(forge(good_claims(**{"x-ably-clientId": 42})), key, now=NOW)
    assert caught.value.code == 40012


def test_a_capability_object_claim_is_read_like_ably_s_cli_writes_it(key: ApiKey) -> None:
    token = forge(good_claims(**{"x-ably-capability": {"chat:*": ["subscribe"]}}))
    assert verify_jwt(token, key, now=NOW).capability == Capability({"chat:*": ["subscribe"]})


def test_verification_checks_the_key_s_known_capability(key: ApiKey) -> None:
    token = forge(good_claims(**{"x-ably-capability": '{"admin":["*"]}'}))
    with pytest.raises(InvalidTokenFieldError) as caught:
        verify_jwt(token, key.replace(capability={"chat:*": ["*"]}), now=NOW)
    assert caught.value.code == 40160


@pytest.mark.parametrize(
    "token", ["", "not a jwt", "a.b.c", "a.b", "eyJhbGciOiJIUzI1NiJ9.e30", "...", "x" * 10000]
)
def test_garbage_is_malformed(key: ApiKey, token: str) -> None:
    with pytest.raises(MalformedTokenError):
        verify_jwt(token, key, now=NOW)


def test_claims_are_typed_and_frozen(key: ApiKey) -> None:
    claims = verify_jwt(mint_jwt(key, capability=CHAT, client_id="*", now=NOW), key, now=NOW)
    assert claims.issued == NOW and claims.expires == NOW + timedelta(hours=1)
    assert claims.client_id == "*"
    with pytest.raises(AttributeError):
        claims.client_id = "me"  # type: ignore[misc]


# --- strict encoding ----------------------------------------------------------------


def sign_raw(header: str, claims: str, secret: str = SECRET) -> str:
    """A JWT of the given header and claims JSON text, signed, for shapes pyjwt won't write."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    signing_input = f"{b64(header.encode())}.{b64(claims.encode())}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


HEADER = '{"alg":"HS256","kid":"appId.keyId","typ":"JWT"}'


def test_a_padded_or_non_canonical_signature_is_refused(key: ApiKey) -> None:
    token = mint_jwt(key, capability=CHAT, now=NOW)
    verify_jwt(token, key, now=NOW)
    header, claims, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 bytes are 43 characters whose last carries 2 unused bits: 3 other spellings.
    last = alphabet.index(signature[-1])
    twins = [signature[:-1] + alphabet[last ^ bits] for bits in (1, 2, 3)]
    for spelling in [signature + "=", signature + "==", *twins]:
        with pytest.raises(MalformedTokenError, match="canonical base64url") as caught:
            verify_jwt(f"{header}.{claims}.{spelling}", key, now=NOW)
        assert caught.value.code == 40144
    with pytest.raises(MalformedTokenError, match="canonical"):
        verify_jwt(f"{header}=.{claims}.{signature}", key, now=NOW)


def test_a_claim_named_twice_is_refused_as_explain_and_the_emulator_do(key: ApiKey) -> None:
    claims = (
        f'{{"iat":{EPOCH_NOW},"exp":{EPOCH_NOW + 3600},'
        '"x-ably-capability":"{\\"chat:*\\":[\\"subscribe\\"]}",'
        '"x-ably-capability":"{\\"*\\":[\\"*\\"]}"}'
    )
    token = sign_raw(HEADER, claims)
    assert (
        jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})[
            "x-ably-capability"
        ]
        == '{"*":["*"]}'
    )  # pyjwt: the last one wins
    with pytest.raises(MalformedTokenError, match="'x-ably-capability' twice"):
        verify_jwt(token, key, now=NOW)
    with pytest.raises(MalformedTokenError):
        explain(token, key, now=NOW)
    doubled_kid = '{"alg":"HS256","kid":"appId.other","kid":"appId.keyId"}'
    with pytest.raises(MalformedTokenError, match="header holds 'kid' twice"):
        verify_jwt(
            sign_raw(doubled_kid, claims.replace('"x-ably-capability":"{\\"*', '"y":"{\\"*')),
            key,
            now=NOW,
        )


def test_a_huge_token_is_refused_before_it_is_read(key: ApiKey) -> None:
    from ably_authkit.jwt_tokens import MAX_VERIFIED_JWT_BYTES

    token = mint_jwt(key, capability=CHAT, now=NOW)
    header, claims, signature = token.split(".")
    huge = f"{header}.{claims + 'A' * (20 * 2**20)}.{signature}"
    with pytest.raises(MalformedTokenError, match="over the 131072"):  # its size, not its bytes
        verify_jwt(huge, key, now=NOW)
    with pytest.raises(MalformedTokenError, match="over"):
        verify_jwt("e" * (MAX_VERIFIED_JWT_BYTES + 1), key, now=NOW)
