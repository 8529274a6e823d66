"""The authUrl contract: content types, narrowing only, no-store, Ably error bodies."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from ably_authkit import (
    ApiKey,
    AuthKitError,
    Capability,
    InvalidApiKeyError,
    InvalidClientIdError,
    InvalidParameterError,
    ParameterTypeError,
    TTLTypeError,
    explain,
    mint_jwt,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.endpoint import (
    ANY_CLIENT_ID,
    MODES,
    AuthEndpoint,
    AuthResponse,
    Grant,
    error_response,
)
from ably_authkit.rest import DEFAULT_TIMEOUT
from ably_authkit.rest._pool import _SYNC_CLIENTS
from ably_authkit.testing import AblyEmulator
from ably_authkit.token_requests import WIRE_KEYS

from .conftest import KEY_TEXT, NOW, SECRET
from .strategies import CONCRETE_OPERATIONS, capability_dicts, client_ids, resource_names

CHAT = {"chat:*": ["presence", "publish", "subscribe"], "user:alice": ["subscribe"]}
ALICE = Grant(client_id="alice", capability=CHAT, ttl=timedelta(hours=1))
LOCAL_MODES = ("jwt", "token-request")
_FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def auth(key: ApiKey) -> AuthEndpoint:
    return AuthEndpoint(key)


def issued(response: AuthResponse, key: ApiKey) -> tuple[str | None, Capability, timedelta]:
    """client id, capability and ttl of a jwt or token-request answer."""
    assert response.status == 200, response.body
    if response.content_type == "application/jwt":
        claims = verify_jwt(response.text, key, now=NOW)
        return claims.client_id, claims.capability, claims.ttl
    request = verify_token_request(response.json(), key, now=NOW)
    assert request.capability is not None
    assert request.ttl is not None
    return request.client_id, Capability.parse(request.capability), request.ttl


def error_of(response: AuthResponse) -> dict[str, object]:
    assert response.content_type == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["statusCode"] == response.status
    assert error["href"] == f"https://help.ably.io/error/{error['code']}"
    assert response.header("X-Ably-ErrorCode") == str(error["code"])
    assert SECRET not in response.text
    return error  # type: ignore[no-any-return]


# -- Grant and AuthResponse ----------------------------------------------------------------


def test_grant_validates_once() -> None:
    grant = Grant(client_id="alice", capability=json.dumps(CHAT))
    assert grant.capability == Capability(CHAT)
    assert grant.ttl == timedelta(hours=1)
    with pytest.raises(TTLTypeError, match="timedelta"):
        Grant(client_id="alice", capability=CHAT, ttl=3600)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="whole seconds"):
        Grant(client_id="alice", capability=CHAT, ttl=timedelta(milliseconds=1500))
    with pytest.raises(InvalidClientIdError):
        Grant(client_id="", capability=CHAT)
    with pytest.raises(InvalidClientIdError, match="unpaired surrogate"):
        Grant(client_id="zo\ud800", capability=CHAT)
    assert Grant(client_id="zoë", capability=CHAT).client_id == "zoë"  # non-ASCII is fine
    with pytest.raises(ValueError, match="capability"):
        Grant(client_id="alice", capability={})
    with pytest.raises(AttributeError, match="immutable"):
        grant.ttl = timedelta(hours=2)  # type: ignore[misc]
    assert grant.replace(client_id="bob").client_id == "bob"


def test_response_reads_headers_case_insensitively() -> None:
    response = error_response(418, 40000, "no")
    assert response.header("content-type") == "application/json"
    assert response.header("X-Missing") is None
    assert response.json()["error"]["message"] == "no"


# -- the three modes -----------------------------------------------------------------------


def test_jwt_is_served_bare_as_application_jwt(auth: AuthEndpoint, key: ApiKey) -> None:
    response = auth.respond("jwt", ALICE, now=NOW)
    assert response.status == 200
    assert response.content_type == "application/jwt"
    assert response.header("Cache-Control") == "no-store"
    assert response.text.count(".") == 2
    assert not response.text.startswith("{")  # never {"token": ...}: clients reject it
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(hours=1))


@pytest.mark.parametrize("mode", ["token-request", "token_request"])
def test_token_request_is_the_seven_wire_keys(auth: AuthEndpoint, key: ApiKey, mode: str) -> None:
    response = auth.respond(mode, ALICE, now=NOW)
    assert response.content_type == "application/json"
    assert response.header("Cache-Control") == "no-store"
    body = response.json()
    assert set(body) == set(WIRE_KEYS)  # the ttl is always explicit: the grant's
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(hours=1))


def test_each_token_request_has_its_own_nonce(auth: AuthEndpoint) -> None:
    first = auth.respond("token-request", ALICE, now=NOW).json()
    second = auth.respond("token-request", ALICE, now=NOW).json()
    assert first["nonce"] != second["nonce"]


def test_token_mode_exchanges_at_the_endpoint(ably_emulator: AblyEmulator) -> None:
    with AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url) as auth:
        response = auth.respond("token", ALICE, query={"capability": '{"chat:lobby":["publish"]}'})
        assert response.status == 200, response.body
        assert response.content_type == "application/json"
        assert response.header("Cache-Control") == "no-store"
        body = response.json()
        assert body["clientId"] == "alice"
        assert body["capability"] == '{"chat:lobby":["publish"]}'
        assert body["expires"] - body["issued"] == 3_600_000
        assert [token.token for token in ably_emulator.issued_tokens] == [body["token"]]
        # The REST client is the one request_token() shares for this key and endpoint.
        with _SYNC_CLIENTS.client(auth.key, ably_emulator.url, DEFAULT_TIMEOUT, False) as shared:
            before = shared
        assert auth.respond("token", ALICE).status == 200
        with _SYNC_CLIENTS.client(auth.key, ably_emulator.url, DEFAULT_TIMEOUT, False) as shared:
            assert shared is before


def test_async_token_mode(ably_emulator: AblyEmulator) -> None:
    auth = AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url)

    async def main() -> list[AuthResponse]:
        answers = [
            await auth.arespond(
                "token",
                ALICE,
                method="POST",
                body=b"client_id=alice&ttl=60000",
                content_type="application/x-www-form-urlencoded",
            ),
            await auth.arespond("jwt", ALICE),
            await auth.arespond("token", None),
        ]
        await auth.aclose()
        return answers

    # Two event loops, one endpoint: its asyncio client is per loop.
    for _ in range(2):
        token, jwt, nobody = asyncio.run(main())
        assert token.status == 200, token.body
        assert token.json()["expires"] - token.json()["issued"] == 60_000
        assert jwt.content_type == "application/jwt"
        assert nobody.status == 401


@pytest.mark.parametrize("asynchronous", [False, True])
def test_ably_refusing_is_a_502_with_ablys_code(
    ably_emulator: AblyEmulator, asynchronous: bool
) -> None:
    narrow = ably_emulator.create_key({"other:*": ["subscribe"]})
    # The same key without its capability known here, so that Ably (the emulator) judges.
    unaware = ApiKey(name=narrow.name, secret=narrow.secret)
    auth = AuthEndpoint(unaware, endpoint=ably_emulator.url)

    async def answer() -> AuthResponse:
        try:
            return await auth.arespond("token", ALICE)
        finally:
            await auth.aclose()

    if asynchronous:
        response = asyncio.run(answer())
    else:
        with auth:
            response = auth.respond("token", ALICE)
    assert response.status == 502
    error = error_of(response)
    assert error["code"] == 40160
    assert narrow.secret not in response.text


def test_unreachable_ably_is_a_502(key: ApiKey) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with AuthEndpoint(key, endpoint=f"http://127.0.0.1:{port}") as auth:
        response = auth.respond("token", ALICE)
    assert response.status == 502
    assert error_of(response)["code"] == 50002


def test_a_grant_the_key_cannot_issue_is_a_500(key: ApiKey) -> None:
    limited = ApiKey.parse(KEY_TEXT, capability={"other:*": ["subscribe"]})
    auth = AuthEndpoint(limited)
    for mode in LOCAL_MODES:
        response = auth.respond(mode, ALICE, now=NOW)
        assert response.status == 500
        assert error_of(response)["code"] == 40160
    revocable = AuthEndpoint(ApiKey.parse(KEY_TEXT, revocable=True))
    long_grant = ALICE.replace(ttl=timedelta(hours=2))
    assert revocable.respond("jwt", long_grant, now=NOW).status == 500


# -- who is asking -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_no_user_gets_401_and_no_credential(auth: AuthEndpoint, mode: str) -> None:
    response = auth.respond(mode, None, query="clientId=alice")
    assert response.status == 401
    assert response.header("Cache-Control") == "no-store"
    assert error_of(response)["code"] == 40100


def test_unknown_mode_and_method(auth: AuthEndpoint) -> None:
    missing = auth.respond("password", ALICE)
    assert missing.status == 404
    assert error_of(missing)["code"] == 40400
    wrong = auth.respond("jwt", ALICE, method="PUT")
    assert wrong.status == 405
    assert wrong.header("Allow") == "GET, POST"
    assert wrong.header("Cache-Control") == "no-store"
    assert auth.respond("jwt", ALICE, method="post").status == 200


# -- narrowing -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_capability_is_intersected(auth: AuthEndpoint, key: ApiKey, mode: str) -> None:
    asked = {"chat:lobby": ["publish", "history"], "admin:*": ["publish"]}
    response = auth.respond(mode, ALICE, query={"capability": json.dumps(asked)}, now=NOW)
    assert issued(response, key)[1] == Capability({"chat:lobby": ["publish"]})


@pytest.mark.parametrize("mode", MODES)
def test_nothing_shared_is_403_40160(auth: AuthEndpoint, mode: str) -> None:
    response = auth.respond(mode, ALICE, query={"capability": '{"admin:*":["publish"]}'})
    assert response.status == 403
    assert error_of(response)["code"] == 40160


@pytest.mark.parametrize("mode", LOCAL_MODES)
def test_ttl_is_cut_to_the_grant(auth: AuthEndpoint, key: ApiKey, mode: str) -> None:
    longer = auth.respond(mode, ALICE, query="ttl=86400000", now=NOW)
    assert issued(longer, key)[2] == timedelta(hours=1)
    shorter = auth.respond(mode, ALICE, query="ttl=600000", now=NOW)
    assert issued(shorter, key)[2] == timedelta(minutes=10)
    huge = auth.respond(mode, ALICE, query="ttl=999999999999999", now=NOW)
    assert issued(huge, key)[2] == timedelta(hours=1)


def test_jwt_ttl_is_whole_seconds(auth: AuthEndpoint, key: ApiKey) -> None:
    assert issued(auth.respond("jwt", ALICE, query="ttl=1999", now=NOW), key)[2] == timedelta(
        seconds=1
    )
    under_a_second = auth.respond("jwt", ALICE, query="ttl=999", now=NOW)
    assert under_a_second.status == 400
    assert error_of(under_a_second)["code"] == 40003
    token_request = auth.respond("token-request", ALICE, query="ttl=999", now=NOW)
    assert issued(token_request, key)[2] == timedelta(milliseconds=999)


@pytest.mark.parametrize("name", ["clientId", "client_id"])
def test_the_same_client_id_in_either_spelling(auth: AuthEndpoint, key: ApiKey, name: str) -> None:
    for mode in LOCAL_MODES:
        assert issued(auth.respond(mode, ALICE, query={name: "alice"}, now=NOW), key)[0] == "alice"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("asked", ["bob", "*", "Alice"])
def test_another_client_id_is_403(auth: AuthEndpoint, mode: str, asked: str) -> None:
    response = auth.respond(mode, ALICE, query={"client_id": asked})
    assert response.status == 403
    assert error_of(response)["code"] == 40102


def test_anonymous_grant_cannot_take_an_identity(auth: AuthEndpoint, key: ApiKey) -> None:
    anonymous = Grant(client_id=None, capability=CHAT)
    assert issued(auth.respond("jwt", anonymous, now=NOW), key)[0] is None
    assert auth.respond("jwt", anonymous, query="clientId=alice").status == 403


def test_wildcard_grant_narrows_to_one_identity(auth: AuthEndpoint, key: ApiKey) -> None:
    anyone = Grant(client_id=ANY_CLIENT_ID, capability=CHAT)
    assert issued(auth.respond("jwt", anyone, now=NOW), key)[0] == "*"
    assert issued(auth.respond("jwt", anyone, query="clientId=*", now=NOW), key)[0] == "*"
    assert issued(auth.respond("jwt", anyone, query="clientId=carol", now=NOW), key)[0] == "carol"


def test_post_form_body_overrides_the_query(auth: AuthEndpoint, key: ApiKey) -> None:
    response = auth.respond(
        "token-request",
        ALICE,
        method="POST",
        query="ttl=600000&room=lobby",
        body=urlencode({"ttl": "60000", "clientId": "alice"}).encode(),
        content_type="application/x-www-form-urlencoded; charset=utf-8",
        now=NOW,
    )
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(minutes=1))
    # A GET's body is not read.
    get = auth.respond("jwt", ALICE, body=b"clientId=bob", content_type="", now=NOW)
    assert get.status == 200


def test_respond_wsgi_reads_the_environ_and_the_body_only_for_a_post(
    auth: AuthEndpoint, key: ApiKey
) -> None:
    reads: list[str] = []

    def body() -> bytes:
        reads.append("read")
        return b"ttl=60000&clientId=alice"

    get = {"REQUEST_METHOD": "GET", "QUERY_STRING": "ttl=600000", "wsgi.input": None}
    response = auth.respond_wsgi("jwt", ALICE, get, body=body, now=NOW)
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(minutes=10))
    assert reads == []  # a GET's body is never read
    post = {
        "REQUEST_METHOD": "POST",
        "QUERY_STRING": "ttl=600000",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }
    response = auth.respond_wsgi("token-request", ALICE, post, body=body, now=NOW)
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(minutes=1))
    assert reads == ["read"]
    # The same answer as respond() with the parts spelled out, bytes body included.
    spelled = auth.respond(
        "jwt", ALICE, method="POST", query="ttl=600000", body=body(), content_type=_FORM, now=NOW
    )
    assert auth.respond_wsgi("jwt", ALICE, post, body=body(), now=NOW) == spelled


def test_respond_wsgi_reads_the_query_as_pep_3333_latin_1_of_utf_8_bytes(
    auth: AuthEndpoint, key: ApiKey
) -> None:
    anyone = Grant(client_id=ANY_CLIENT_ID, capability=CHAT)
    raw = "clientId=zoë".encode().decode("latin-1")  # what a WSGI server puts in the environ
    response = auth.respond_wsgi("jwt", anyone, {"REQUEST_METHOD": "GET", "QUERY_STRING": raw})
    assert verify_jwt(response.text, key).client_id == "zoë"
    # Django's ASGI request.META holds text already: read as it is.
    for name in ("łucja", "zoë"):
        text = {"REQUEST_METHOD": "GET", "QUERY_STRING": f"clientId={name}"}
        assert verify_jwt(auth.respond_wsgi("jwt", anyone, text).text, key).client_id == name


def test_respond_wsgi_refuses_what_is_not_an_environ(auth: AuthEndpoint) -> None:
    with pytest.raises(ParameterTypeError, match=r"request\.environ \(Flask\)"):
        auth.respond_wsgi("jwt", ALICE, {"QUERY_STRING": ""})
    with pytest.raises(ParameterTypeError, match="WSGI environ mapping"):
        auth.respond_wsgi("jwt", ALICE, "GET /auth/jwt")  # type: ignore[arg-type]
    post = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": _FORM}
    with pytest.raises(ParameterTypeError, match="body must be the raw request body as bytes"):
        auth.respond_wsgi("jwt", ALICE, post, body=lambda: "ttl=1")  # type: ignore[arg-type,return-value]


def asgi_request(
    method: str, query: bytes = b"", body: bytes | None = None, content_type: str = ""
) -> Any:
    """A Starlette Request over an ASGI scope; its body is None when it must not be read."""

    async def receive() -> dict[str, Any]:
        assert body is not None, "the body was read"
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"content-type", content_type.encode())] if content_type else []
    scope = {"type": "http", "method": method, "query_string": query, "headers": headers}
    return Request(scope, receive)


def test_respond_asgi_reads_the_request_and_the_body_only_for_a_post(
    auth: AuthEndpoint, key: ApiKey
) -> None:
    async def main() -> list[AuthResponse]:
        return [
            # A GET's body is never awaited (the request's receive() would fail).
            await auth.respond_asgi("jwt", ALICE, asgi_request("GET", b"ttl=600000"), now=NOW),
            await auth.respond_asgi(
                "token-request",
                ALICE,
                asgi_request("POST", b"ttl=600000", b"ttl=60000&clientId=alice", _FORM),
                now=NOW,
            ),
            await auth.respond_asgi("jwt", ALICE, asgi_request("PUT"), now=NOW),
            # The query is the raw bytes: UTF-8, else 400.
            await auth.respond_asgi("jwt", ALICE, asgi_request("GET", b"clientId=\xff")),
            await auth.respond_asgi(
                "jwt", ALICE, asgi_request("POST", b"", b'{"ttl": 1}', "application/json")
            ),
        ]

    get, post, put, not_utf8, not_a_form = asyncio.run(main())
    assert issued(get, key) == ("alice", ALICE.capability, timedelta(minutes=10))
    assert issued(post, key) == ("alice", ALICE.capability, timedelta(minutes=1))
    assert (put.status, put.header("Allow")) == (405, "GET, POST")
    assert (not_utf8.status, error_of(not_utf8)["code"]) == (400, 40000)
    assert not_a_form.status == 415


def test_respond_asgi_refuses_what_is_not_a_starlette_request(auth: AuthEndpoint) -> None:
    async def main(request: Any) -> AuthResponse:
        return await auth.respond_asgi("jwt", ALICE, request)

    for wrong in ({"type": "http"}, "GET /auth/jwt", None):
        with pytest.raises(ParameterTypeError, match="Starlette or FastAPI Request"):
            asyncio.run(main(wrong))


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_respond_asgi_through_fastapi_is_respond(auth: AuthEndpoint, key: ApiKey) -> None:
    from fastapi import FastAPI, Response
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.api_route("/auth/{mode}", methods=["GET", "POST"])
    async def credentials(mode: str, request: Request) -> Response:
        answer = await auth.respond_asgi(mode, ALICE, request, now=NOW)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    with TestClient(app) as client:
        got = client.get(
            "/auth/jwt?ttl=600000&capability=%7B%22chat%3Alobby%22%3A%5B%22publish%22%5D%7D"
        )
        assert got.headers["content-type"] == "application/jwt", got.text
        expected = auth.respond(
            "jwt",
            ALICE,
            query='ttl=600000&capability={"chat:lobby":["publish"]}',
            now=NOW,
        )
        assert got.content == expected.body
        posted = client.post("/auth/token_request", params={"ttl": "600000"}, data={"ttl": "60000"})
        assert posted.headers["cache-control"] == "no-store"
        assert issued(
            AuthResponse(
                status=posted.status_code, headers=posted.headers.items(), body=posted.content
            ),
            key,
        ) == ("alice", ALICE.capability, timedelta(minutes=1))
        refused = client.get("/auth/jwt", params={"clientId": "bob"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, 40102)


def test_unrelated_and_empty_params_are_ignored(auth: AuthEndpoint, key: ApiKey) -> None:
    response = auth.respond(
        "jwt", ALICE, query="room=lobby&clientId=&capability=&ttl=&timestamp=1", now=NOW
    )
    assert issued(response, key) == ("alice", ALICE.capability, timedelta(hours=1))


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("ttl=abc", 40003),
        ("ttl=-5", 40003),
        ("ttl=0", 40003),
        ("ttl=1.5", 40003),
        ("ttl=%EF%BC%91", 40003),  # a full-width digit
        ("ttl=9999999999999999999999", 40003),
        ("capability=not-json", 40003),
        ("capability=%7B%27chat%3A*%27%3A%5B%27publish%27%5D%7D", 40003),  # single quotes
        ("capability=%5B%5D", 40003),
        ('capability={"chat:*":["publsh"]}', 40003),
        ("clientId=a%0Ab", 40012),
        ("clientId=alice&client_id=bob", 40012),
        ("ttl=1000&ttl=2000", 40000),
        ("&".join(f"p{n}=1" for n in range(101)), 40000),
    ],
)
@pytest.mark.parametrize("mode", MODES)
def test_malformed_params_are_400(auth: AuthEndpoint, mode: str, query: str, code: int) -> None:
    response = auth.respond(mode, ALICE, query=query)
    assert response.status == 400
    assert response.header("Cache-Control") == "no-store"
    assert error_of(response)["code"] == code


def test_a_body_that_is_not_a_form_is_refused(auth: AuthEndpoint) -> None:
    response = auth.respond(
        "jwt", ALICE, method="POST", body=b'{"ttl":1}', content_type="application/json"
    )
    assert response.status == 415
    assert error_of(response)["code"] == 40000
    bad_utf8 = auth.respond(
        "jwt",
        ALICE,
        method="POST",
        body=b"clientId=\xff",
        content_type="application/x-www-form-urlencoded",
    )
    assert bad_utf8.status == 400


def test_a_mapping_query_must_be_str_to_str(auth: AuthEndpoint) -> None:
    with pytest.raises(TypeError, match="query"):
        auth.respond("jwt", ALICE, query={"ttl": 1000})  # type: ignore[dict-item]


@st.composite
def client_params(draw: st.DrawFn) -> dict[str, str]:
    params: dict[str, str] = {}
    if draw(st.booleans()):
        params["capability"] = json.dumps(draw(capability_dicts))
    if draw(st.booleans()):
        params["ttl"] = str(draw(st.integers(1, 10**12)))
    if draw(st.booleans()):
        name = draw(st.sampled_from(["clientId", "client_id"]))
        params[name] = draw(st.one_of(st.just("*"), st.just("alice"), client_ids))
    return params


@given(
    grant_capability=capability_dicts,
    grant_client=st.one_of(st.none(), st.just("*"), st.just("alice"), client_ids),
    grant_seconds=st.integers(1, 86400),
    params=client_params(),
    mode=st.sampled_from(LOCAL_MODES),
    probes=st.lists(
        st.tuples(resource_names(), st.sampled_from(CONCRETE_OPERATIONS)), min_size=20, max_size=20
    ),
)
def test_the_issued_credential_never_exceeds_the_grant(
    grant_capability: dict[str, list[str]],
    grant_client: str | None,
    grant_seconds: int,
    params: dict[str, str],
    mode: str,
    probes: list[tuple[str, str]],
) -> None:
    key = ApiKey.parse(KEY_TEXT)
    grant = Grant(
        client_id=ANY_CLIENT_ID if grant_client == "*" else grant_client,
        capability=grant_capability,
        ttl=timedelta(seconds=grant_seconds),
    )
    response = AuthEndpoint(key).respond(mode, grant, query=params, now=NOW)
    if response.status != 200:
        assert response.status in (400, 403)
        error_of(response)
        return
    client_id, capability, ttl = issued(response, key)
    assert ttl <= grant.ttl
    assert client_id == grant.client_id or (grant.client_id == "*" and client_id != "*")
    for resource in (*grant.capability, *capability):
        probes.append((resource, "publish"))
    for resource, operation in probes:
        if capability.allows(resource, operation):
            assert grant.capability.allows(resource, operation), (resource, operation)
    # And what was asked for, when given, bounds it too.
    if "capability" in params:
        asked = Capability.parse(params["capability"])
        for resource, operation in probes:
            if capability.allows(resource, operation):
                assert asked.allows(resource, operation)
        if "ttl" in params:
            assert ttl <= timedelta(milliseconds=int(params["ttl"]))


@given(
    grant_capability=capability_dicts,
    grant_client=st.one_of(st.none(), st.just("*"), client_ids),
    grant_seconds=st.integers(1, 3600),
    key_kind=st.sampled_from(["plain", "capability", "revocable"]),
)
def test_the_endpoint_jwt_is_mint_jwt_of_the_grant_byte_for_byte(
    grant_capability: dict[str, list[str]],
    grant_client: str | None,
    grant_seconds: int,
    key_kind: str,
) -> None:
    # The endpoint mints a Grant's JWT without re-checking what the Grant checked (and,
    # for a key with its own capability or revocable tokens, through mint_jwt's checks):
    # either way the bytes are mint_jwt's.
    key = ApiKey.parse(
        KEY_TEXT,
        capability={"*": ["*"]} if key_kind == "capability" else None,
        revocable=key_kind == "revocable",
    )
    ttl = timedelta(seconds=grant_seconds)
    grant = Grant(
        client_id=ANY_CLIENT_ID if grant_client == "*" else grant_client,
        capability=grant_capability,
        ttl=ttl,
    )
    answer = AuthEndpoint(key).respond("jwt", grant, now=NOW)
    try:
        expected = mint_jwt(
            key, capability=grant_capability, client_id=grant_client, ttl=ttl, now=NOW
        )
    except AuthKitError as error:  # e.g. "[queue]a", which the key's "*" does not cover
        assert answer.status == 500
        assert error_of(answer)["code"] == error.code
        return
    assert answer.status == 200, answer.body
    assert answer.text == expected


def test_the_endpoint_jwt_is_signed_on_the_clock_when_no_time_is_given(key: ApiKey) -> None:
    import time

    before = int(time.time())
    claims = verify_jwt(AuthEndpoint(key).respond("jwt", ALICE).text, key)
    after = int(time.time())
    assert before <= int(claims.issued.timestamp()) <= after
    assert claims.ttl == timedelta(hours=1)


# -- from_env ---------------------------------------------------------------------------------


def test_from_env_with_a_key(key: ApiKey) -> None:
    auth = AuthEndpoint.from_env({"ABLY_API_KEY": KEY_TEXT})
    assert auth.key == key
    assert auth.endpoint is None
    assert auth.emulator is None
    assert auth.client_options() == {}
    assert SECRET not in auth.describe() + repr(auth)
    assert "EMULATOR" not in auth.describe()
    elsewhere = AuthEndpoint.from_env(
        {"ABLY_API_KEY": KEY_TEXT, "ABLY_ENDPOINT": "https://ably.example.com:8443"}
    )
    assert elsewhere.client_options("ably-js") == {
        "endpoint": "ably.example.com",
        "tls": True,
        "tlsPort": 8443,
    }
    # ably-python's realtime client ignores tls_port: the port goes in its endpoint.
    assert elsewhere.client_options("ably-python") == {
        "endpoint": "ably.example.com:8443/",
        "tls": True,
        "tls_port": 8443,
        "fallback_hosts": [],
    }
    assert AuthEndpoint.from_env({"ABLY_API_KEY": KEY_TEXT, "ABLY_ENDPOINT": "sandbox"}).endpoint
    with pytest.raises(ValueError, match="endpoint"):
        AuthEndpoint.from_env({"ABLY_API_KEY": KEY_TEXT, "ABLY_ENDPOINT": "ftp://x"})
    with pytest.raises(ValueError, match="MY_KEY"):
        AuthEndpoint.from_env({"MY_KEY": "nonsense"}, key_variable="MY_KEY")


@pytest.mark.parametrize(
    "environ",
    [{}, {"ABLY_ENDPOINT": "http://127.0.0.1:8123"}, {"ABLY_API_KEY": ""}, {"ABLY_APIKEY": "x"}],
)
def test_from_env_without_a_key_refuses(environ: dict[str, str]) -> None:
    # A production deploy with a misspelt variable must not start an emulator.
    with pytest.raises(InvalidApiKeyError, match="ABLY_API_KEY is not set") as refused:
        AuthEndpoint.from_env(environ)
    assert "ABLY_EMULATOR_HOST" in str(refused.value)
    assert "emulator=True" in str(refused.value)
    assert refused.value.field == "ABLY_API_KEY"


def test_from_env_with_the_emulator_asked_for_embeds_one() -> None:
    # Asked for by name, the emulator is used whatever the environment says.
    auth = AuthEndpoint.from_env({"ABLY_API_KEY": KEY_TEXT}, emulator=True)
    emulator = auth.emulator
    assert emulator is not None
    try:
        assert auth.endpoint == emulator.url
        assert auth.key != ApiKey.parse(KEY_TEXT)
        banner = auth.describe()
        assert emulator.url in banner
        assert banner.startswith("Credentials come from a LOCAL ABLY EMULATOR")
        assert auth.client_options("ably-js") == {
            "endpoint": "127.0.0.1",
            "tls": False,
            "port": emulator.port,
        }
        assert auth.client_options() == emulator.client_options()
        token = auth.respond("token", ALICE)
        assert token.status == 200, token.body
        assert explain(token.json()).client_id == "alice"
    finally:
        auth.close()
    assert auth.emulator is None
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", emulator.port))
    with pytest.raises(ParameterTypeError, match="emulator"):
        AuthEndpoint.from_env({}, emulator="yes")  # type: ignore[arg-type]


def test_from_env_with_a_running_emulator(ably_emulator: AblyEmulator) -> None:
    key = ably_emulator.create_key()
    host = f"127.0.0.1:{ably_emulator.port}"
    environ = {"ABLY_API_KEY": f"{key.name}:{key.secret}", "ABLY_EMULATOR_HOST": host}
    auth = AuthEndpoint.from_env(environ)
    assert auth.endpoint == ably_emulator.url
    assert auth.emulator is None  # not this endpoint's to stop
    assert auth.describe().startswith(
        f"Credentials come from the LOCAL ABLY EMULATOR at http://{host}"
    )
    assert auth.respond("token", ALICE).status == 200
    with pytest.raises(InvalidParameterError, match="both set"):
        AuthEndpoint.from_env({**environ, "ABLY_ENDPOINT": "main"})
    for bad in ("http://127.0.0.9:8123", "127.0.0.9", "127.0.0.9:x", "a..b:80"):
        with pytest.raises(InvalidParameterError, match="HOST:PORT") as refused:
            AuthEndpoint.from_env({**environ, "ABLY_EMULATOR_HOST": bad})
        assert bad not in str(refused.value)


@pytest.mark.parametrize(
    ("endpoint", "words"),
    [
        ("localhost:8123", "http://HOST:PORT"),
        ("127.0.0.9:8123", "http://HOST:PORT"),
        ("a..b", "not a valid host"),
        (KEY_TEXT, "looks like an API key"),
        (f"http://{KEY_TEXT}@rest.example.com", "credentials"),
        ("http://:pw@rest.example.com", "credentials"),
        ("http://user@rest.example.com", "credentials"),
        ("https://rest.exa mple.com", "valid host"),
        ("https://rest.example.com:99999", "valid URL"),
    ],
)
def test_a_bad_endpoint_is_refused_when_given_and_never_echoed(endpoint: str, words: str) -> None:
    with pytest.raises(InvalidParameterError, match=words) as refused:
        AuthEndpoint(KEY_TEXT, endpoint=endpoint)
    assert refused.value.field == "endpoint"
    assert endpoint not in str(refused.value)
    assert SECRET not in str(refused.value)
    with pytest.raises(InvalidParameterError, match=words):
        AuthEndpoint.from_env({"ABLY_API_KEY": KEY_TEXT, "ABLY_ENDPOINT": endpoint})


def test_describe_prints_both_sdks_connect_code(ably_emulator: AblyEmulator) -> None:
    auth = AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url)
    banner = auth.describe("http://127.0.0.1:8000/auth/", headers={"X-User-Id": "alice"})
    lines = banner.splitlines()
    assert lines[0].startswith("Credentials come from the LOCAL ABLY EMULATOR")
    js = next(line for line in lines if line.startswith("  ably-js:"))
    py = next(line for line in lines if line.startswith("  ably-python:"))
    assert '"authUrl": "http://127.0.0.1:8000/auth/jwt"' in js
    assert f'"port": {ably_emulator.port}' in js
    assert "auth_url='http://127.0.0.1:8000/auth/token-request'" in py
    assert f"endpoint='127.0.0.1:{ably_emulator.port}/'" in py
    # (tests/test_printed_snippets.py runs such lines with both SDKs.)
    with pytest.raises(InvalidParameterError, match="sdk"):
        auth.client_options("ably-java")


def test_an_endpoint_aimed_at_an_emulator_issues_on_its_clock(ably_emulator: AblyEmulator) -> None:
    # No clock= needed: a test that moves the emulator's clock gets fresh credentials.
    auth = AuthEndpoint(ably_emulator.create_key(), endpoint=ably_emulator.url)
    ably_emulator.advance(timedelta(hours=5))
    token = verify_jwt(auth.respond("jwt", ALICE).text, auth.key, now=ably_emulator.now())
    assert abs(token.issued - ably_emulator.now()) < timedelta(seconds=2)
    # One aimed elsewhere keeps the machine's clock.
    elsewhere = AuthEndpoint(auth.key, endpoint="http://127.0.0.1:9")
    issued = verify_jwt(elsewhere.respond("jwt", ALICE).text, auth.key).issued
    assert abs(issued - datetime.now(timezone.utc)) < timedelta(seconds=2)


def test_importing_the_endpoint_loads_no_network_stack() -> None:
    code = (
        "import sys\n"
        "from ably_authkit.endpoint import AuthEndpoint, Grant\n"
        f"auth = AuthEndpoint({KEY_TEXT!r})\n"
        "grant = Grant(client_id='u', capability={'chat:*': ['subscribe']})\n"
        "assert auth.respond('jwt', grant).status == 200\n"
        "assert auth.respond('token-request', grant, query='ttl=1000').status == 200\n"
        "print(sorted({'ably', 'httpx', 'jwt', 'aiohttp'} & set(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
