"""What the endpoint reports about each answer, whichever integration serves it: the
``on_issue``/``on_refuse`` hooks and the records of the ``ably_authkit.endpoint`` logger,
which name the mode, clientId, key, TTL and a digest of the capability, or why a request
was refused, and never hold a credential or a secret."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask

from ably_authkit import ApiKey, Capability, ParameterTypeError
from ably_authkit.endpoint import AuthEndpoint, Grant, IssuedCredential, RefusedRequest
from ably_authkit.integrations.flask import AblyAuth
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, SECRET

LOGGER = "ably_authkit.endpoint"
GRANT = Grant(
    client_id="alice",
    capability={"chat:*": ["publish", "subscribe"], "user:alice": ["subscribe"]},
    ttl=timedelta(minutes=30),
)


def digest(capability: Capability) -> str:
    return hashlib.sha256(capability.to_json().encode()).hexdigest()[:16]


class Recorder:
    def __init__(self) -> None:
        self.issued: list[IssuedCredential] = []
        self.refused: list[RefusedRequest] = []

    def endpoint(self, key: ApiKey | str, **options: Any) -> AuthEndpoint:
        return AuthEndpoint(
            key, on_issue=self.issued.append, on_refuse=self.refused.append, **options
        )


def secrets_in(caplog: pytest.LogCaptureFixture, *secrets: str) -> list[str]:
    """Every secret or credential text found in the captured records (message, args,
    the issuance's repr)."""
    found = []
    for record in caplog.records:
        texts = [record.getMessage(), repr(getattr(record, "issuance", ""))]
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
        found += [secret for secret in secrets for text in texts if secret and secret in text]
    return found


def test_each_mode_reports_what_it_issued_without_the_credential(
    ably_emulator: AblyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    key = ably_emulator.create_key()
    recorder = Recorder()
    auth = recorder.endpoint(key, endpoint=ably_emulator.url, clock=ably_emulator.now)
    asked = urlencode({"capability": '{"chat:lobby":["publish"]}', "ttl": "90500"})
    narrowed = Capability({"chat:lobby": ["publish"]})
    with caplog.at_level(logging.INFO, logger=LOGGER):
        jwt = auth.respond("jwt", GRANT, query=asked)
        request = auth.respond("token-request", GRANT)
        token = auth.respond("token", GRANT, query="ttl=60000")
    assert [answer.status for answer in (jwt, request, token)] == [200, 200, 200]
    assert recorder.refused == []
    assert [(i.mode, i.client_id, i.key_name, i.ttl, i.capability) for i in recorder.issued] == [
        ("jwt", "alice", key.name, timedelta(seconds=90), narrowed),  # whole seconds
        ("token-request", "alice", key.name, timedelta(minutes=30), GRANT.capability),
        ("token", "alice", key.name, timedelta(minutes=1), GRANT.capability),
    ]
    assert recorder.issued[0].capability_digest == digest(narrowed)
    assert recorder.issued[1].capability_digest == digest(GRANT.capability)

    records = [r for r in caplog.records if r.name == LOGGER]
    assert [r.levelno for r in records] == [logging.INFO] * 3
    assert [getattr(r, "issuance", None) for r in records] == recorder.issued
    assert records[0].getMessage() == (
        f"issued jwt: clientId='alice' key={key.name} ttl=90s capability=sha256:{digest(narrowed)}"
    )
    assert "ttl=1800s" in records[1].getMessage()
    wire = request.json()
    credentials = [jwt.text, wire["mac"], wire["nonce"], token.json()["token"], key.secret]
    assert secrets_in(caplog, *credentials) == []


@pytest.mark.parametrize(
    ("mode", "grant", "sent", "status", "code"),
    [
        ("jwt", None, {}, 401, 40100),
        ("jwt", GRANT, {"query": "clientId=bob"}, 403, 40102),
        ("token-request", GRANT, {"query": 'capability={"admin:*":["publish"]}'}, 403, 40160),
        ("jwt", GRANT, {"query": "ttl=soon"}, 400, 40003),
        ("password", GRANT, {}, 404, 40400),
        ("jwt", GRANT, {"method": "PUT"}, 405, 40500),
        ("jwt", GRANT, {"method": "POST", "body": b"{}", "content_type": "text/json"}, 415, 40000),
    ],
)
def test_each_refusal_reports_why(
    caplog: pytest.LogCaptureFixture,
    mode: str,
    grant: Grant | None,
    sent: dict[str, object],
    status: int,
    code: int,
) -> None:
    recorder = Recorder()
    auth = recorder.endpoint(KEY_TEXT)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        answer = auth.respond(mode, grant, **sent)  # type: ignore[arg-type]
    assert answer.status == status
    (refused,) = recorder.refused
    assert refused == RefusedRequest(
        mode=mode,
        client_id=None if grant is None else "alice",
        status=status,
        code=code,
        message=answer.json()["error"]["message"],
    )
    assert recorder.issued == []
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.INFO
    assert record.issuance is refused  # type: ignore[attr-defined]
    assert f"status={status} code={code}" in record.getMessage()
    assert secrets_in(caplog, SECRET) == []


def test_server_side_refusals_are_warnings(
    ably_emulator: AblyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    # The key may not grant what the app grants: this server's fault, 500.
    narrow_key = ApiKey.parse(KEY_TEXT, capability={"chat:*": ["subscribe"]})
    # Ably refuses the token request of a revoked key: 502, with Ably's code.
    revoked = ably_emulator.create_key()
    ably_emulator.revoke_key(revoked)
    recorder = Recorder()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        admin = Grant(client_id="alice", capability={"admin:*": ["publish"]})
        assert recorder.endpoint(narrow_key).respond("jwt", admin).status == 500
        gone = recorder.endpoint(revoked, endpoint=ably_emulator.url).respond("token", GRANT)
    assert gone.status == 502
    assert [(r.mode, r.status, r.code) for r in recorder.refused] == [
        ("jwt", 500, 40160),
        ("token", 502, gone.json()["error"]["code"]),
    ]
    refusals = [r for r in caplog.records if r.name == LOGGER and hasattr(r, "issuance")]
    assert [r.levelno for r in refusals] == [logging.WARNING, logging.WARNING]
    assert secrets_in(caplog, SECRET, revoked.secret) == []


def test_the_async_twin_reports_the_token_mode(ably_emulator: AblyEmulator) -> None:
    recorder = Recorder()
    auth = recorder.endpoint(ably_emulator.create_key(), endpoint=ably_emulator.url)
    answer = asyncio.run(auth.arespond("token", GRANT))
    assert answer.status == 200
    (issued,) = recorder.issued
    assert (issued.mode, issued.client_id, issued.ttl) == ("token", "alice", GRANT.ttl)


def test_a_failing_hook_is_logged_and_raised_so_no_credential_leaves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class AuditDown(Exception):
        pass

    def audit(issued: IssuedCredential) -> None:
        raise AuditDown("the audit store is down")

    auth = AuthEndpoint(KEY_TEXT, on_issue=audit)
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(AuditDown):
        auth.respond("jwt", GRANT)
    failure = caplog.records[-1]
    assert failure.levelno == logging.ERROR
    assert failure.getMessage().startswith("on_issue raised for IssuedCredential(mode='jwt'")
    assert failure.exc_info is not None and failure.exc_info[0] is AuditDown
    assert secrets_in(caplog, SECRET) == []

    # Through a framework: its 500, not the credential.
    app = Flask(__name__)
    AblyAuth(app, endpoint=auth, grant_loader=lambda: GRANT)
    answer = app.test_client().get("/auth/jwt")
    assert answer.status_code == 500
    assert b"eyJ" not in answer.data


def test_hooks_must_be_functions_and_from_env_passes_them() -> None:
    with pytest.raises(ParameterTypeError, match="on_issue must be a function"):
        AuthEndpoint(KEY_TEXT, on_issue="audit.log")  # type: ignore[arg-type]
    with pytest.raises(ParameterTypeError, match="on_refuse must be a function"):
        AuthEndpoint(KEY_TEXT, on_refuse=42)  # type: ignore[arg-type]
    issued: list[IssuedCredential] = []
    refused: list[RefusedRequest] = []
    auth = AuthEndpoint.from_env(
        {"ABLY_API_KEY": KEY_TEXT}, on_issue=issued.append, on_refuse=refused.append
    )
    auth.respond("jwt", GRANT)
    auth.respond("jwt", None)
    assert [i.mode for i in issued] == ["jwt"]
    assert [r.code for r in refused] == [40100]
    with AuthEndpoint.from_env({}, emulator=True, on_issue=issued.append) as offline:
        assert offline.respond("token", GRANT).status == 200
    assert [i.mode for i in issued] == ["jwt", "token"]


def test_a_mode_an_integration_does_not_serve_is_reported_without_asking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused: list[RefusedRequest] = []
    app = Flask(__name__)
    app.config.update(ABLY_API_KEY=KEY_TEXT, ABLY_AUTH_MODES=["jwt"])
    AblyAuth(app, grant_loader=lambda: GRANT, on_refuse=refused.append)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert app.test_client().get("/auth/token%0A").status_code == 404
    (refusal,) = refused
    assert (refusal.mode, refusal.client_id, refusal.status) == ("token\n", None, 404)
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert "\n" not in record.getMessage()  # a mode from the URL cannot forge a log line


def test_refusals_before_the_body_is_read_are_reported_through_wsgi_and_asgi() -> None:
    """respond_wsgi and respond_asgi refuse on the request's head alone (no user, a wrong
    method or Content-Type, a body too large or chunked) before reading a body: those
    answers are reported too."""
    import asyncio

    import httpx
    from fastapi import FastAPI

    from ably_authkit.integrations.fastapi import auth_router

    recorder = Recorder()
    auth = recorder.endpoint(KEY_TEXT)
    app = Flask(__name__)
    AblyAuth(app, endpoint=auth, grant_loader=lambda: None)
    client = app.test_client()
    assert client.get("/auth/jwt").status_code == 401
    assert client.post("/auth/jwt", data=b"x", content_type="text/plain").status_code == 401
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "text/plain", "CONTENT_LENGTH": "1"}
    assert auth.respond_wsgi("jwt", GRANT, environ, body=lambda: b"x").status == 415
    chunked = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    assert auth.respond_wsgi("jwt", GRANT, chunked, body=lambda: b"ttl=1").status == 411

    fastapi_app = FastAPI()
    fastapi_app.include_router(auth_router(auth, lambda: None), prefix="/auth")

    async def ask() -> int:
        transport = httpx.ASGITransport(app=fastapi_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return (await http.get("/auth/token")).status_code

    assert asyncio.run(ask()) == 401
    assert [(r.mode, r.status, r.code) for r in recorder.refused] == [
        ("jwt", 401, 40100),
        ("jwt", 401, 40100),
        ("jwt", 415, 40000),
        ("jwt", 411, 40000),
        ("token", 401, 40100),
    ]
    assert recorder.issued == []
