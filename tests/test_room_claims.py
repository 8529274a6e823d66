"""Ably Chat user claims: ``ably.room.<room>`` JWT claims, from ``mint_jwt(room_claims=...)``
and ``Grant(room_claims=...)`` through the authUrl endpoint, read back by ``verify_jwt``.

Ably copies the claim for a room into the ``userClaim`` of what the holder does there
(Chat docs, "SDK setup" -> "User claims"; Chat spec CHA-M2h); only a JWT carries it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import pickle
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from ably_authkit import (
    ApiKey,
    InvalidCapabilityError,
    InvalidParameterError,
    InvalidTokenFieldError,
    ParameterTypeError,
    mint_jwt,
    verify_jwt,
)
from ably_authkit.chat import MEMBER, chat_capability, chat_room, room_channel
from ably_authkit.endpoint import AuthEndpoint, AuthResponse, Grant, IssuedCredential
from ably_authkit.endpoint import RefusedRequest as Refused
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, NOW, SECRET
from .strategies import hostile_ids
from .test_endpoint import asgi_request, error_of
from .test_jwt_pyjwt import sign

ADA = {"display_name": "Ada", "role": "moderator"}
ROOMS = chat_capability({"support:*": MEMBER, "news": ["receive"]})
GRANT = Grant(
    client_id="ada",
    capability=ROOMS,
    ttl=timedelta(minutes=10),
    room_claims={"support:42": ADA, "news": "reader"},
)
_FORM = "application/x-www-form-urlencoded"
EVERY_ROOM = chat_capability({"*": MEMBER})


def payload_text(token: str) -> str:
    """The JWT's claims segment as the JSON text it holds."""
    segment = token.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("ascii")


# --- mint_jwt ---------------------------------------------------------------------------


def test_room_claims_are_ably_room_claims_of_string_values(key: ApiKey) -> None:
    token = mint_jwt(
        key,
        capability=ROOMS,
        client_id="ada",
        ttl=timedelta(minutes=10),
        now=NOW,
        room_claims={"support:42": ADA, "news": "reader", "dms:*": "zoë"},
    )
    iat = int(NOW.timestamp())
    assert payload_text(token) == (
        f'{{"iat":{iat},"exp":{iat + 600},'
        '"x-ably-capability":"{\\"news\\":[\\"subscribe\\"],\\"support:*\\":[\\"annotation-publish'
        '\\",\\"channel-metadata\\",\\"history\\",\\"message-delete-own\\",\\"message-update-own'
        '\\",\\"presence\\",\\"publish\\",\\"subscribe\\"]}",'
        '"x-ably-clientId":"ada",'
        '"ably.room.support:42":"{\\"display_name\\":\\"Ada\\",\\"role\\":\\"moderator\\"}",'
        '"ably.room.news":"reader",'
        '"ably.room.dms:*":"zo\\u00eb"}'
    )
    claims = verify_jwt(token, key, now=NOW)
    assert claims.room_claims == {
        "support:42": '{"display_name":"Ada","role":"moderator"}',
        "news": "reader",
        "dms:*": "zoë",
    }
    assert json.loads(claims.room_claims["support:42"]) == ADA
    assert claims.channel_claims == {}
    assert claims.extra_claims == {}
    # pyjwt reads the same claims, and writes the same token for them.
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert decoded["ably.room.news"] == "reader"
    assert json.loads(decoded["ably.room.support:42"]) == ADA
    assert token == jwt.encode(decoded, SECRET, algorithm="HS256", headers={"kid": key.name})


def test_room_and_channel_claims_side_by_side(key: ApiKey) -> None:
    token = mint_jwt(
        key,
        capability={"*": ["*"]},
        now=NOW,
        channel_claims={"chat:lobby": "host"},
        room_claims={"chat:lobby": "member"},
    )
    claims = verify_jwt(token, key, now=NOW)
    assert claims.channel_claims == {"chat:lobby": "host"}
    assert claims.room_claims == {"chat:lobby": "member"}
    assert payload_text(token).endswith(
        ',"ably.channel.chat:lobby":"host","ably.room.chat:lobby":"member"}'
    )


@pytest.mark.parametrize(
    ("room_claims", "error", "words"),
    [
        ({"support:42::$chat": "x"}, InvalidCapabilityError, "it is the channel of Chat room"),
        ({"a::b": "x"}, InvalidCapabilityError, "it holds '::'"),
        ({"[meta]log": "x"}, InvalidCapabilityError, "is not a Chat room"),
        ({"[*]*": "x"}, InvalidCapabilityError, "is not a Chat room"),
        ({":support": "x"}, InvalidCapabilityError, "starts with ':'"),
        ({"": "x"}, InvalidParameterError, "non-empty"),
        ({7: "x"}, InvalidParameterError, "non-empty str"),
        ({"support:42": 5}, ParameterTypeError, r"must be a str .* not int"),
        ({"support:42": None}, ParameterTypeError, "not NoneType"),
        ({"support:42": ["Ada"]}, ParameterTypeError, "not list"),
        ({"support:42": b"Ada"}, ParameterTypeError, "not bytes"),
        ({"support:42": "\ud800"}, InvalidParameterError, "unpaired surrogate"),
        ({"support:42": {"n": float("nan")}}, InvalidParameterError, "cannot be written as JSON"),
        (["support:42"], ParameterTypeError, "must be a mapping"),
    ],
)
def test_bad_room_claims_are_refused(
    key: ApiKey, room_claims: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words) as caught:
        mint_jwt(key, capability=ROOMS, room_claims=room_claims)
    assert getattr(caught.value, "field", None) == "room_claims"
    # A Grant refuses the same when it is built, with the same words.
    with pytest.raises(error, match=words):
        Grant(client_id="ada", capability=ROOMS, room_claims=room_claims)


def test_a_room_name_is_refused_in_chat_capability_s_words(key: ApiKey) -> None:
    with pytest.raises(InvalidCapabilityError) as by_capability:
        chat_capability({"support:42::$chat": MEMBER})
    with pytest.raises(InvalidCapabilityError) as by_claims:
        mint_jwt(key, capability=ROOMS, room_claims={"support:42::$chat": "x"})
    assert by_claims.value.message == by_capability.value.message


def test_room_patterns_are_claims_as_ablys_docs_table_them(key: ApiKey) -> None:
    # Chat docs, "SDK setup" -> "User claims": ably.room.my-chat-room, ably.room.support:*,
    # ably.room.* ("the most specific claim is used" is Ably's matching, not ours).
    patterns = {"my-chat-room": "one", "support:*": "namespace", "*": "every room"}
    token = mint_jwt(key, capability=ROOMS, now=NOW, room_claims=patterns)
    assert verify_jwt(token, key, now=NOW).room_claims == patterns


@pytest.mark.parametrize("name", ["ably.room.support:42", "ably.room.*"])
def test_extra_claims_cannot_carry_room_claims(key: ApiKey, name: str) -> None:
    with pytest.raises(InvalidParameterError, match="room_claims="):
        mint_jwt(key, capability=ROOMS, extra_claims={name: "x"})


def test_the_caller_s_mapping_is_only_read(key: ApiKey) -> None:
    value = {"display_name": "Ada"}
    rooms: dict[str, Any] = {"support:42": value}
    grant = Grant(client_id="ada", capability=ROOMS, room_claims=rooms)
    mint_jwt(key, capability=ROOMS, room_claims=rooms)
    assert rooms == {"support:42": {"display_name": "Ada"}}
    rooms["news"] = "late"
    value["display_name"] = "Eve"
    assert dict(grant.room_claims) == {"support:42": '{"display_name":"Ada"}'}


# --- verify_jwt ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", [5, None, {"display_name": "Ada"}, ["a"], True])
def test_a_room_claim_that_is_not_a_string_is_refused(key: ApiKey, value: object) -> None:
    iat = int(NOW.timestamp())
    claims = {
        "iat": iat,
        "exp": iat + 600,
        "x-ably-capability": '{"*":["*"]}',
        "ably.room.support:42": value,
    }
    token = sign('{"alg":"HS256","kid":"appId.keyId"}', json.dumps(claims))
    with pytest.raises(InvalidTokenFieldError, match="claim must be a string") as caught:
        verify_jwt(token, key, now=NOW)
    assert caught.value.field == "ably.room.support:42"
    jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})  # pyjwt: fine


def _room(segments: list[str]) -> str | None:
    try:
        return chat_room(*segments, escape=True)
    except InvalidCapabilityError:
        return None  # empty, or not UTF-8: refused, so there is no room to claim


texts = st.text(st.characters(codec="utf-8"), max_size=40)


@given(
    segments=st.lists(st.lists(hostile_ids, min_size=1, max_size=3), min_size=1, max_size=3),
    values=st.lists(texts | st.dictionaries(texts, texts, max_size=2), min_size=3, max_size=3),
)
def test_any_chat_room_s_claim_round_trips_through_mint_and_verify(
    segments: list[list[str]], values: list[str | dict[str, str]]
) -> None:
    key = ApiKey.parse(KEY_TEXT)
    rooms = [room for room in map(_room, segments) if room is not None]
    room_claims = dict(zip(rooms, values, strict=False))
    token = mint_jwt(key, capability=EVERY_ROOM, room_claims=room_claims, now=NOW)
    verified = verify_jwt(token, key, now=NOW).room_claims
    expected = {
        room: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for room, value in room_claims.items()
    }
    assert verified == expected
    for room, value in room_claims.items():
        assert (json.loads(verified[room]) if isinstance(value, dict) else verified[room]) == value
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert {
        name.removeprefix("ably.room."): claim
        for name, claim in decoded.items()
        if name.startswith("ably.room.")
    } == expected
    # The endpoint's JWT for a Grant of these claims is mint_jwt's, byte for byte.
    grant = Grant(client_id="ada", capability=EVERY_ROOM, room_claims=room_claims)
    answer = AuthEndpoint(key).respond("jwt", grant, now=NOW)
    assert answer.text == mint_jwt(
        key,
        capability=EVERY_ROOM,
        client_id="ada",
        ttl=grant.ttl,
        room_claims=room_claims,
        now=NOW,
    )


# --- Grant ---------------------------------------------------------------------------------


def test_a_grant_holds_its_claims_checked_read_only_and_as_text() -> None:
    assert dict(GRANT.room_claims) == {
        "support:42": '{"display_name":"Ada","role":"moderator"}',
        "news": "reader",
    }
    assert dict(GRANT.channel_claims) == {}
    with pytest.raises(TypeError):
        GRANT.room_claims["news"] = "writer"  # type: ignore[index]
    with pytest.raises(AttributeError, match="immutable"):
        GRANT.room_claims = {}  # type: ignore[misc]
    # Equal grants are equal and hash alike, a replaced copy keeps the claims, and a
    # pickled one comes back whole.
    again = Grant(
        client_id="ada",
        capability=ROOMS,
        ttl=timedelta(minutes=10),
        room_claims={"support:42": '{"display_name":"Ada","role":"moderator"}', "news": "reader"},
    )
    assert again == GRANT
    assert hash(again) == hash(GRANT)
    # The order the claims were given in is not part of a grant: equal, and hashed alike.
    reordered = GRANT.replace(room_claims=dict(reversed(list(GRANT.room_claims.items()))))
    assert list(reordered.room_claims) != list(GRANT.room_claims)
    assert reordered == GRANT
    assert hash(reordered) == hash(GRANT)
    assert len({GRANT, reordered}) == 1
    assert GRANT.replace(room_claims={"news": "reader"}) != GRANT
    assert GRANT.replace(ttl=timedelta(minutes=5)).room_claims == GRANT.room_claims
    assert pickle.loads(pickle.dumps(GRANT)) == GRANT
    channels = Grant(client_id=None, capability=ROOMS, channel_claims={"support:*": {"r": 1}})
    assert dict(channels.channel_claims) == {"support:*": '{"r":1}'}
    assert pickle.loads(pickle.dumps(channels)) == channels
    with pytest.raises(InvalidCapabilityError, match="starts with ':'"):
        Grant(client_id=None, capability=ROOMS, channel_claims={":x": "y"})


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"room_claims": {"sales:1": "x"}}, "room_claims names room 'sales:1'"),
        ({"room_claims": {"*": "x"}}, None),  # every room: the granted ones among them
        ({"room_claims": {"support:42": "x"}}, None),
        ({"room_claims": {"sales:*": "x"}}, "room_claims names room 'sales:\\*'"),
        ({"channel_claims": {"chat:lobby": "x"}}, "channel_claims names channel 'chat:lobby'"),
    ],
)
def test_a_grant_refuses_a_claim_its_capability_never_reaches(
    claims: dict[str, Any], words: str | None
) -> None:
    # Ably copies a claim only into what the holder does in the room: one the grant
    # does not reach is a typo or a stale grant, never read by anyone.
    if words is None:
        Grant(client_id="ada", capability=ROOMS, **claims)
        return
    with pytest.raises(InvalidParameterError, match=words) as caught:
        Grant(client_id="ada", capability=ROOMS, **claims)
    assert caught.value.field in claims
    assert "grant the" in caught.value.message
    with pytest.raises(InvalidParameterError, match=words):  # a narrower copy too
        Grant(client_id="ada", capability=EVERY_ROOM, **claims).replace(capability=ROOMS)


# --- the endpoint --------------------------------------------------------------------------


@pytest.mark.parametrize("key_kind", ["plain", "capability"])
def test_the_jwt_mode_answers_a_jwt_carrying_the_grant_s_claims(key_kind: str) -> None:
    # A plain key takes the endpoint's own minting; a key with its own capability goes
    # through mint_jwt's checks: both carry the claims.
    key = ApiKey.parse(KEY_TEXT, capability={"*": ["*"]} if key_kind == "capability" else None)
    issued: list[IssuedCredential] = []
    auth = AuthEndpoint(key, on_issue=issued.append)
    environ = {"REQUEST_METHOD": "GET", "QUERY_STRING": "clientId=ada&ttl=60000"}
    answer = auth.respond_wsgi("jwt", GRANT, environ, now=NOW)
    assert answer.status == 200, answer.body
    assert answer.content_type == "application/jwt"
    claims = verify_jwt(answer.text, key, now=NOW)
    assert claims.room_claims == dict(GRANT.room_claims)
    assert claims.client_id == "ada"
    assert claims.ttl == timedelta(minutes=1)
    assert answer.text == mint_jwt(
        key,
        capability=ROOMS,
        client_id="ada",
        ttl=timedelta(minutes=1),
        now=NOW,
        room_claims=GRANT.room_claims,
    )
    # Narrowed to one room, the claims stay as granted (Ably reads only the room's own).
    narrowed = auth.respond(
        "jwt", GRANT, query='capability={"support:42":["publish"]}', now=NOW
    ).text
    assert verify_jwt(narrowed, key, now=NOW).room_claims == dict(GRANT.room_claims)
    [record, _] = issued
    assert record.claimed_rooms == ("support:42", "news")
    assert record.claimed_channels == ()
    # The issuance record names the rooms, never the claims (a display name is personal).
    assert "Ada" not in repr(record)
    assert "reader" not in repr(record)


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_jwt_mode_through_fastapi_carries_the_claims(key: ApiKey) -> None:
    from fastapi import FastAPI, Response
    from fastapi.testclient import TestClient

    auth = AuthEndpoint(key)
    app = FastAPI()

    @app.api_route("/auth/{mode}", methods=["GET", "POST"])
    async def credentials(mode: str, request: Request) -> Response:
        answer = await auth.respond_asgi(mode, GRANT, request, now=NOW)
        return Response(answer.body, status_code=answer.status, headers=dict(answer.headers))

    with TestClient(app) as client:
        got = client.post("/auth/jwt", data={"clientId": "ada"})
        assert got.headers["content-type"] == "application/jwt", got.text
        assert verify_jwt(got.text, key, now=NOW).room_claims == dict(GRANT.room_claims)
        refused = client.get("/auth/token-request")
        assert refused.status_code == 500
        assert refused.json()["error"]["code"] == 50000


def test_a_grant_with_claims_is_refused_in_the_modes_that_cannot_carry_them(
    key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    # The token mode asks Ably nothing: were it to, this unreachable endpoint would be a 502.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refusals: list[Refused] = []
    issued: list[IssuedCredential] = []
    auth = AuthEndpoint(
        key,
        endpoint=f"http://127.0.0.1:{port}",
        on_issue=issued.append,
        on_refuse=refusals.append,
    )
    both = GRANT.replace(channel_claims={"support:lobby": "host"})

    async def asynchronous() -> list[AuthResponse]:
        return [
            await auth.arespond("token", GRANT),
            await auth.respond_asgi(
                "token-request", GRANT, asgi_request("POST", b"", b"clientId=ada", _FORM)
            ),
        ]

    with caplog.at_level(logging.INFO, logger="ably_authkit.endpoint"):
        answers = [
            auth.respond("token-request", both, now=NOW),
            auth.respond("token_request", GRANT, now=NOW),
            auth.respond("token", GRANT),
            auth.respond_wsgi("token-request", GRANT, {"REQUEST_METHOD": "GET"}, now=NOW),
            *asyncio.run(asynchronous()),
        ]
    for answer in answers:
        assert answer.status == 500
        assert error_of(answer)["code"] == 50000
        assert "Ada" not in answer.text
        assert "server's log" in answer.text
    assert issued == []
    assert [(each.mode, each.status, each.code, each.client_id) for each in refusals] == [
        ("token-request", 500, 50000, "ada"),
        ("token-request", 500, 50000, "ada"),
        ("token", 500, 50000, "ada"),
        ("token-request", 500, 50000, "ada"),
        ("token", 500, 50000, "ada"),
        ("token-request", 500, 50000, "ada"),
    ]
    causes = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(causes) == len(answers)
    assert "room 'support:42', room 'news', channel 'support:lobby'" in causes[0]
    assert "TokenRequest cannot" in causes[0]
    assert "TokenDetails cannot" in causes[2]
    for cause in causes:
        assert "serve JWTs (mode 'jwt'), or drop the claims" in cause
        assert "Ada" not in cause
        assert "reader" not in cause
        assert "host" not in cause
    # The same user without claims gets a TokenRequest.
    plain = GRANT.replace(room_claims=None)
    assert auth.respond("token-request", plain, now=NOW).status == 200


def test_the_issued_log_line_counts_the_claims(
    key: ApiKey, caplog: pytest.LogCaptureFixture
) -> None:
    auth = AuthEndpoint(key)
    with caplog.at_level(logging.INFO, logger="ably_authkit.endpoint"):
        auth.respond("jwt", GRANT.replace(channel_claims={"news": "host"}), now=NOW)
        auth.respond("jwt", GRANT.replace(room_claims=None), now=NOW)
    claimed, plain = (record.getMessage() for record in caplog.records)
    assert claimed.endswith(" claims: 2 room, 1 channel")
    assert "claims" not in plain
    assert "Ada" not in claimed


# --- a real client over a real socket ------------------------------------------------------


@contextmanager
def wsgi_auth_url(auth: AuthEndpoint, grant: Grant) -> Iterator[str]:
    """``/auth/{mode}`` on 127.0.0.1 through ``respond_wsgi``, as a WSGI app serves it."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        mode = environ["PATH_INFO"].rsplit("/", 1)[-1]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        answer = auth.respond_wsgi(
            mode, grant, environ, body=lambda: environ["wsgi.input"].read(size)
        )
        start_response(f"{answer.status} -", list(answer.headers))
        return [answer.body]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/auth"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_an_ably_client_takes_the_claims_jwt_and_is_refused_a_token_request(
    ably_emulator: AblyEmulator,
) -> None:
    """The `ably` package's REST client with ``authUrl``: the JWT mode's token, claims and
    all, is accepted (here by the emulator) for the room's channel; the TokenRequest mode
    gives the client the 500 and no credential."""
    from ably.sync import AblyRestSync
    from ably.sync.util.exceptions import AblyException

    key = ably_emulator.create_key()
    grant = GRANT.replace(room_claims={"support:42": ADA})
    auth = AuthEndpoint(key, endpoint=ably_emulator.url)
    with wsgi_auth_url(auth, grant) as url:
        for mode, method in (("jwt", "GET"), ("jwt", "POST"), ("token-request", "GET")):
            client = AblyRestSync(
                auth_url=f"{url}/{mode}",
                auth_method=method,
                use_binary_protocol=False,
                **ably_emulator.client_options(),
            )
            try:
                channel = client.channels.get(room_channel("support:42"))
                if mode == "jwt":
                    channel.publish("chat.message", {"text": f"hi by {method}"})
                    token = client.auth.token_details.token
                    assert verify_jwt(token, key, now=ably_emulator.now()).room_claims == {
                        "support:42": '{"display_name":"Ada","role":"moderator"}'
                    }
                else:
                    with pytest.raises(AblyException) as refused:
                        channel.publish("chat.message", {"text": "never sent"})
                    assert refused.value.status_code == 500
                    assert client.auth.token_details is None
            finally:
                client.close()
    published = ably_emulator.published(room_channel("support:42"))
    assert [(json.loads(m["data"]), m.get("clientId")) for m in published] == [
        ({"text": "hi by GET"}, "ada"),
        ({"text": "hi by POST"}, "ada"),
    ]
    assert ably_emulator.issued_tokens == []
