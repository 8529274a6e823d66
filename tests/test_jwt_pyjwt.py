"""pyjwt as the reference: the library mints and verifies Ably JWTs itself (the core
imports only the standard library), and these differential tests hold it to pyjwt.

- Every JWT ``mint_jwt`` writes, pyjwt decodes to the same header and claims.
- Every token ``verify_jwt`` accepts, pyjwt accepts, with the same header and claims.
- Every token pyjwt accepts and ``verify_jwt`` refuses is refused for one of the
  strictnesses listed in docs/security.md ("verify_jwt and pyjwt"), each in
  ``STRICTNESSES`` below.

pyjwt is called as an Ably verifier would configure it: HS256 only, the key's secret,
and no check of ``aud``, ``sub`` or ``jti`` (Ably has no audience to name, and neither
library reads those claims for Ably). Times are whole minutes away from the present,
so the two clocks, read a moment apart, never disagree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ably_authkit import (
    AblyJwtClaims,
    ApiKey,
    Capability,
    InvalidTokenFieldError,
    KeyMismatchError,
    MalformedTokenError,
    TokenError,
    mint_jwt,
    verify_jwt,
)
from ably_authkit.jwt_tokens import CHANNEL_CLAIM_PREFIX, RATE_LIMIT_CLAIM_PREFIX, ROOM_CLAIM_PREFIX

from .conftest import KEY_TEXT, OTHER_SECRET, SECRET
from .strategies import capability_dicts, client_ids

if TYPE_CHECKING:
    from jwt.types import Options

KEY = ApiKey.parse(KEY_TEXT)
#: pyjwt, configured as an Ably verifier (see the module docstring).
PYJWT_OPTIONS: Options = {"verify_aud": False, "verify_sub": False, "verify_jti": False}

#: What verify_jwt refuses and pyjwt accepts, as docs/security.md lists it.
STRICTNESSES: list[tuple[type[TokenError], str]] = [
    (MalformedTokenError, r"not canonical base64url"),  # '=' padding
    (MalformedTokenError, r"twice"),  # a name given twice (pyjwt: the last wins)
    (MalformedTokenError, r"are not JSON|is not JSON"),  # NaN, Infinity
    (MalformedTokenError, r"header has no kid"),
    (KeyMismatchError, r"names key"),  # kid is not the key's name
    (MalformedTokenError, r"has no (iat|exp) claim"),
    (MalformedTokenError, r"must be a number of seconds"),  # "1700000000", true
    (MalformedTokenError, r"not a plausible time"),  # milliseconds
    (InvalidTokenFieldError, r"no later than it is issued"),
    (InvalidTokenFieldError, r"longer than the"),  # over 24 h (1 h revocable)
    (MalformedTokenError, r"no x-ably-capability claim"),
    (InvalidTokenFieldError, r"capability is refused"),
    (InvalidTokenFieldError, r"x-ably-clientId is refused"),
    (InvalidTokenFieldError, r"must be a non-empty string"),  # x-ably-* text claims
    (InvalidTokenFieldError, r"claim must be a (string|positive number)"),  # ably.* claims
    (MalformedTokenError, r"critical|b64"),  # RFC 7515 crit, RFC 7797 b64
]


def b64(data: bytes, *, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(data).decode("ascii")
    return text if pad else text.rstrip("=")


def sign(header: str, claims: str, secret: str = SECRET, *, pad: bool = False) -> str:
    """A JWT of this header and claims JSON text (with ``pad``, '=' padded)."""
    signing_input = f"{b64(header.encode(), pad=pad)}.{b64(claims.encode(), pad=pad)}"
    digest = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(digest)}"


def pyjwt_decode(token: str, secret: str = SECRET) -> tuple[dict[str, Any], dict[str, Any]]:
    """pyjwt's header and claims of ``token``, verified with ``secret`` (raises if refused)."""
    decoded = jwt.decode_complete(token, secret, algorithms=["HS256"], options=PYJWT_OPTIONS)
    return decoded["header"], decoded["payload"]


def same_claims(ours: AblyJwtClaims, theirs: dict[str, Any]) -> None:
    """verify_jwt's claims are pyjwt's, claim by claim."""
    assert ours.issued.timestamp() == pytest.approx(theirs["iat"], abs=1e-6)
    assert ours.expires.timestamp() == pytest.approx(theirs["exp"], abs=1e-6)
    capability = theirs["x-ably-capability"]
    assert ours.capability == (
        Capability.parse(capability) if isinstance(capability, str) else Capability(capability)
    )
    assert ours.client_id == theirs.get("x-ably-clientId")
    assert ours.revocation_key == theirs.get("x-ably-revocation-key")
    assert ours.client_type == theirs.get("x-ably-clientType")
    assert ours.embedded_token == theirs.get("x-ably-token")
    rest = {
        name: value
        for name, value in theirs.items()
        if not name.startswith("x-ably-") and name not in ("iat", "exp")
    }
    assert ours.channel_claims == {
        name[len(CHANNEL_CLAIM_PREFIX) :]: value
        for name, value in rest.items()
        if name.startswith(CHANNEL_CLAIM_PREFIX)
    }
    assert ours.room_claims == {
        name[len(ROOM_CLAIM_PREFIX) :]: value
        for name, value in rest.items()
        if name.startswith(ROOM_CLAIM_PREFIX)
    }
    assert ours.publish_rate_limits == {
        name[len(RATE_LIMIT_CLAIM_PREFIX) :]: value
        for name, value in rest.items()
        if name.startswith(RATE_LIMIT_CLAIM_PREFIX)
    }
    assert ours.extra_claims == {
        name: value
        for name, value in rest.items()
        if not name.startswith((CHANNEL_CLAIM_PREFIX, ROOM_CLAIM_PREFIX, RATE_LIMIT_CLAIM_PREFIX))
    }


# --- minting --------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
#: Names of a user's own claims: not Ably's, not iat/exp, not the registered claims
#: pyjwt checks by time (nbf) when they are present.
own_claim_names = st.text(min_size=1, max_size=10).filter(
    lambda name: (
        not name.startswith(("x-ably-", "ably."))
        and name not in ("iat", "exp", "nbf", "aud", "sub", "jti")
    )
)


@given(
    capability=capability_dicts,
    client_id=st.none() | client_ids,
    ttl=st.integers(120, 3600).map(lambda seconds: timedelta(seconds=seconds)),  # not expiring
    revocation_key=st.none() | st.text(min_size=1, max_size=10),
    client_type=st.sampled_from([None, "server", "device"]),
    channel_claims=st.dictionaries(st.sampled_from(["chat:*", "room:1"]), st.text(max_size=8)),
    room_claims=st.dictionaries(
        st.sampled_from(["support:*", "support:42", "*", "dms:é:b"]), st.text(max_size=8)
    ),
    rate_limits=st.dictionaries(st.sampled_from(["chat:*", "*"]), st.integers(1, 100)),
    extra=st.dictionaries(own_claim_names, json_values, max_size=3),
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_every_minted_jwt_decodes_to_the_same_header_and_claims_under_pyjwt(
    capability: dict[str, list[str]],
    client_id: str | None,
    ttl: timedelta,
    revocation_key: str | None,
    client_type: Any,
    channel_claims: dict[str, str],
    room_claims: dict[str, str],
    rate_limits: dict[str, float],
    extra: dict[str, Any],
) -> None:
    token = mint_jwt(
        KEY,
        capability=capability,
        client_id=client_id,
        ttl=ttl,
        revocation_key=revocation_key,
        client_type=client_type,
        channel_claims=channel_claims,
        room_claims=room_claims,
        publish_rate_limits=rate_limits,
        extra_claims=extra,
    )
    header, claims = pyjwt_decode(token)
    assert header == {"alg": "HS256", "kid": KEY.name, "typ": "JWT"}
    assert claims["exp"] - claims["iat"] == ttl.total_seconds()
    assert Capability.parse(claims["x-ably-capability"]) == Capability(capability)
    expected = {
        "x-ably-clientId": client_id,
        "x-ably-revocation-key": revocation_key,
        "x-ably-clientType": client_type,
        **{CHANNEL_CLAIM_PREFIX + name: value for name, value in channel_claims.items()},
        **{ROOM_CLAIM_PREFIX + name: value for name, value in room_claims.items()},
        **{RATE_LIMIT_CLAIM_PREFIX + name: value for name, value in rate_limits.items()},
        **extra,
    }
    assert {name: claims.get(name) for name in expected} == expected
    assert set(claims) <= {"iat", "exp", "x-ably-capability", *expected}
    same_claims(verify_jwt(token, KEY), claims)
    # And byte for byte what pyjwt writes for the same claims in the same order.
    assert token == jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": KEY.name})


# --- verifying ------------------------------------------------------------------------

HEADERS = [
    {"alg": "HS256", "kid": "appId.keyId", "typ": "JWT"},
    {"alg": "HS256", "kid": "appId.keyId"},
    {"kid": "appId.keyId", "alg": "HS256", "typ": "at+jwt", "cty": "JWT"},
    {"alg": "HS256"},
    {"alg": "HS256", "kid": "appId.other"},
    {"alg": "HS256", "kid": 7},
    {"alg": "HS384", "kid": "appId.keyId"},
    {"alg": "none", "kid": "appId.keyId"},
    {"kid": "appId.keyId"},
    {"alg": "HS256", "kid": "appId.keyId", "crit": ["exp"], "exp": 1},
    {"alg": "HS256", "kid": "appId.keyId", "crit": ["b64"], "b64": True},
    {"alg": "HS256", "kid": "appId.keyId", "b64": False},
    {"alg": "HS256", "kid": "appId.keyId", "b64": True},
    {"alg": "HS256", "kid": "appId.keyId", "crit": []},
]

GOOD_HEADERS = HEADERS[:3]


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, so that many tokens pass and the rest fail one way."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


def minutes(low: int, high: int) -> st.SearchStrategy[tuple[int, float]]:
    """A time this many whole minutes from now (never this minute), plus a fraction."""
    return st.tuples(st.integers(low, high).filter(bool), st.sampled_from([0, 0.25, 0.5]))


#: Values of the wrong kind for a time claim.
bad_times = st.sampled_from(["1700000000", True, None, 1.7e12, "soon", [1]]) | minutes(
    -48 * 60, 48 * 60
)
capability_claims = mostly(
    capability_dicts.map(lambda value: json.dumps(value, separators=(",", ":"))),
    capability_dicts
    | st.sampled_from(['{"chat:*":["fly"]}', "{}", "not json", '{"":["subscribe"]}', 5, None]),
)
#: Ably's optional claims and others, each usually of the right kind.
optional_claims = st.fixed_dictionaries(
    {},
    optional={
        "x-ably-clientId": mostly(client_ids, json_values),
        "x-ably-revocation-key": mostly(st.text(min_size=1, max_size=8), json_values),
        "x-ably-clientType": mostly(st.sampled_from(["server", "device"]), json_values),
        "x-ably-token": mostly(st.text(min_size=1, max_size=8), json_values),
        CHANNEL_CLAIM_PREFIX + "chat:*": mostly(st.text(max_size=8), json_values),
        ROOM_CLAIM_PREFIX + "support:*": mostly(st.text(max_size=8), json_values),
        RATE_LIMIT_CLAIM_PREFIX + "chat:*": mostly(
            st.integers(1, 100) | st.floats(0.5, 100), json_values
        ),
        "nbf": mostly(st.integers(-3, -1), st.integers(1, 3) | json_values),  # hours
        "aud": json_values,
        "sub": json_values,
        "jti": json_values,
        "iss": json_values,
        "name": json_values,
    },
)


@st.composite
def candidates(draw: st.DrawFn) -> dict[str, Any]:
    """What a token is made of, its times relative to the moment the test runs."""
    return {
        "header": draw(mostly(st.sampled_from(GOOD_HEADERS), st.sampled_from(HEADERS))),
        "iat": draw(mostly(minutes(-120, -1), bad_times)),
        "exp": draw(mostly(minutes(1, 600), bad_times)),
        "capability": draw(capability_claims),
        "claims": draw(optional_claims),
        # How the JSON text is written: plainly, with a name given twice, with NaN.
        "twist": draw(mostly(st.just(""), st.sampled_from(["twice", "nan", "pad", "secret"]))),
    }


def build(parts: dict[str, Any], now: float) -> str:
    claims: dict[str, Any] = {}
    for name in ("iat", "exp"):
        value = parts[name]
        if isinstance(value, tuple):
            minutes, fraction = value
            value = math.floor(now) + minutes * 60 + fraction
            value = int(value) if value == int(value) else value
        if value is not None:
            claims[name] = value
    if parts["capability"] is not None:
        claims["x-ably-capability"] = parts["capability"]
    for name, value in parts["claims"].items():
        if name == "nbf" and isinstance(value, int) and not isinstance(value, bool):
            value = math.floor(now) + value * 3600  # hours from now: past or future
        claims[name] = value
    header_text = json.dumps(parts["header"], separators=(",", ":"))
    claims_text = json.dumps(claims, separators=(",", ":"))
    twist = parts["twist"]
    if twist == "twice" and claims:
        name = next(iter(claims))
        claims_text = claims_text[:-1] + f",{json.dumps(name)}:{json.dumps(claims[name])}}}"
    if twist == "nan":
        claims_text = claims_text[:-1] + (',"n":NaN}' if claims else '"n":NaN}')
    if twist == "pad":
        return sign(header_text, claims_text, pad=True)
    return sign(header_text, claims_text, OTHER_SECRET if twist == "secret" else SECRET)


def refusal_is_documented(error: TokenError) -> bool:
    return any(
        isinstance(error, kind) and re.search(words, str(error)) for kind, words in STRICTNESSES
    )


@given(parts=candidates())
@example(
    parts={
        "header": {"alg": "HS256", "kid": "appId.keyId", "b64": False},
        "iat": (-1, 0),
        "exp": (10, 0),
        "capability": '{"*":["*"]}',
        "claims": {},
        "twist": "",
    }
)
@example(
    parts={
        "header": {"alg": "HS256", "kid": "appId.keyId", "crit": ["exp"], "exp": 1},
        "iat": (-1, 0),
        "exp": (10, 0),
        "capability": '{"*":["*"]}',
        "claims": {},
        "twist": "",
    }
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_what_verify_jwt_accepts_pyjwt_accepts_and_each_difference_is_documented(
    parts: dict[str, Any],
) -> None:
    moment = time.time()
    token = build(parts, moment)
    try:
        ours: AblyJwtClaims | TokenError = verify_jwt(
            token, KEY, now=datetime.fromtimestamp(moment, timezone.utc)
        )
    except TokenError as error:
        ours = error
    try:
        theirs: tuple[dict[str, Any], dict[str, Any]] | jwt.InvalidTokenError = pyjwt_decode(token)
    except jwt.InvalidTokenError as error:
        theirs = error
    if isinstance(ours, AblyJwtClaims):
        assert not isinstance(theirs, Exception), f"pyjwt refuses what verify_jwt took: {theirs}"
        header, claims = theirs
        assert header == json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header["kid"] == ours.key_name
        same_claims(ours, claims)
    elif not isinstance(theirs, Exception):
        assert refusal_is_documented(ours), f"an undocumented difference: {ours!r}"


def test_the_documented_strictnesses_are_the_ones_the_docs_list() -> None:
    """docs/security.md lists one line per entry of STRICTNESSES, and each is met."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "security.md").read_text("utf-8")
    section = text.partition("## verify_jwt and pyjwt")[2].partition("\n## ")[0]
    listed = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(listed) - 1 == len(STRICTNESSES)  # less the table's heading row


def test_a_critical_header_extension_or_an_unencoded_payload_is_refused() -> None:
    """RFC 7515 section 4.1.11: a verifier refuses a ``crit`` extension it does not
    understand (this one understands none); RFC 7797's ``"b64": false`` changes what is
    signed, and Ably JWTs never use it. pyjwt refuses both too."""
    claims = json.dumps({"iat": 1, "exp": 2, "x-ably-capability": '{"*":["*"]}'})
    now = datetime.fromtimestamp(1, timezone.utc)
    for header in (
        {"alg": "HS256", "kid": KEY.name, "crit": ["exp"], "exp": 1},
        {"alg": "HS256", "kid": KEY.name, "b64": False},
        {"alg": "HS256", "kid": KEY.name, "crit": ["b64"], "b64": False},
    ):
        token = sign(json.dumps(header), claims)
        with pytest.raises(MalformedTokenError) as caught:
            verify_jwt(token, KEY, now=now)
        assert caught.value.code == 40144
        with pytest.raises(jwt.InvalidTokenError):
            pyjwt_decode(token)
    accepted = sign(json.dumps({"alg": "HS256", "kid": KEY.name, "b64": True}), claims)
    assert verify_jwt(accepted, KEY, now=now).key_name == KEY.name


def test_pyjwt_is_lenient_where_verify_jwt_is_strict_a_sample() -> None:
    """Some strictnesses, once each, with pyjwt accepting the same token."""
    now = time.time()
    moment = datetime.fromtimestamp(now, timezone.utc)
    issued = int(now) - 60
    good: dict[str, Any] = {"iat": issued, "exp": issued + 3660, "x-ably-capability": '{"*":["*"]}'}
    header = json.dumps({"alg": "HS256", "kid": KEY.name})
    padded = sign(header + "  ", json.dumps(good), pad=True)
    assert "=" in padded
    assert pyjwt_decode(padded)[1] == good  # pyjwt takes the padding
    with pytest.raises(MalformedTokenError, match="canonical base64url"):
        verify_jwt(padded, KEY, now=moment)
    for claims, words in (
        ({**good, "iat": str(good["iat"])}, "must be a number of seconds"),
        ({**good, "exp": issued + 25 * 3600}, "longer than the"),
        ({k: v for k, v in good.items() if k != "iat"}, "has no iat claim"),
    ):
        assert isinstance(jwt.decode(sign(header, json.dumps(claims)), SECRET, ["HS256"]), dict)
        with pytest.raises(TokenError, match=words):
            verify_jwt(sign(header, json.dumps(claims)), KEY, now=moment)
