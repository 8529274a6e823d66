"""KeyRing: several keys, one signer; credentials verify by the key they name."""

from __future__ import annotations

import pickle

import pytest

from ably_authkit import (
    ApiKey,
    ApiKeyTypeError,
    InvalidApiKeyError,
    KeyMismatchError,
    KeyRing,
    create_token_request,
    explain,
    mint_jwt,
    request_token,
    revoke_tokens,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.cli import main
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT, NOW, OTHER_SECRET, SECRET

OLD = ApiKey.parse(KEY_TEXT)
NEW = ApiKey.parse(f"appId.otherKey:{OTHER_SECRET}")
CHAT = {"chat:*": ["publish", "subscribe"]}


def test_the_signer_signs_and_every_key_verifies() -> None:
    ring = KeyRing(keys=[NEW, OLD], signer=NEW)
    assert ring.signer == NEW.name and ring.signing_key == NEW
    assert ring.names == (NEW.name, OLD.name) and len(ring) == 2 and list(ring) == [NEW, OLD]
    minted = mint_jwt(ring, capability=CHAT, now=NOW)
    assert verify_jwt(minted, NEW, now=NOW).key_name == NEW.name
    old_jwt = mint_jwt(OLD, capability=CHAT, now=NOW)
    assert verify_jwt(old_jwt, ring, now=NOW).key_name == OLD.name
    assert verify_jwt(minted, ring, now=NOW).key_name == NEW.name
    request = create_token_request(ring, capability=CHAT, now=NOW)
    assert request.key_name == NEW.name
    old_request = create_token_request(OLD, capability=CHAT, now=NOW)
    assert verify_token_request(old_request, ring, now=NOW) == old_request
    assert verify_token_request(request.to_json(), ring, now=NOW) == request
    assert explain(old_jwt, ring, now=NOW).verified is True
    assert explain(old_request.to_dict(), ring, now=NOW).verified is True


def test_the_signer_can_be_named_and_is_a_field() -> None:
    ring = KeyRing(keys=[OLD, NEW], signer=NEW.name)
    assert mint_jwt(ring, capability=CHAT, now=NOW) == mint_jwt(NEW, capability=CHAT, now=NOW)
    assert KeyRing(keys=[OLD, NEW], signer=NEW).signer == NEW.name
    rotated = ring.replace(signer=OLD.name)
    assert rotated.signing_key == OLD and ring.signing_key == NEW
    assert pickle.loads(pickle.dumps(ring)) == ring
    assert KeyRing(keys=[KEY_TEXT]).get(OLD.name) == OLD and ring.get("appId.gone") is None


def test_a_name_not_in_the_ring_is_refused_with_ably_s_codes() -> None:
    ring = KeyRing(keys=[NEW])
    old_jwt = mint_jwt(OLD, capability=CHAT, now=NOW)
    with pytest.raises(KeyMismatchError, match="not in the key ring") as known_app:
        verify_jwt(old_jwt, ring, now=NOW)
    assert (known_app.value.code, known_app.value.status_code) == (40101, 401)
    stranger = mint_jwt(f"otherApp.k:{SECRET}", capability=CHAT, now=NOW)
    with pytest.raises(KeyMismatchError) as unknown_app:
        verify_jwt(stranger, ring, now=NOW)
    assert (unknown_app.value.code, unknown_app.value.status_code) == (40400, 404)
    with pytest.raises(KeyMismatchError) as token_request:
        verify_token_request(create_token_request(OLD, now=NOW), ring, now=NOW)
    assert (token_request.value.code, token_request.value.status_code) == (40400, 404)
    assert explain(old_jwt, ring, now=NOW).verified is False


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: KeyRing(keys=[]), "at least one key"),
        (lambda: KeyRing(keys=[OLD, KEY_TEXT]), "holds key appId.keyId twice"),
        (lambda: KeyRing(keys=[OLD], signer=NEW.name), "must name a key of the ring"),
        (lambda: KeyRing(keys=[OLD], signer=NEW), "is not in the ring"),
        (lambda: KeyRing(keys=[OLD], signer=KEY_TEXT.replace(":", ":x")), "a key string"),
        (lambda: KeyRing(keys=[OLD, KEY_TEXT + "::"]), "key #2 of the ring"),
        (lambda: KeyRing(keys=[OLD.replace(secret="x" * 40)], signer=OLD), "not in the ring"),
        (lambda: KeyRing.parse(f"{KEY_TEXT}, appId.other:{SECRET}.x"), "key #2"),
    ],
)
def test_bad_rings_are_refused_once_without_secrets(build: object, words: str) -> None:
    with pytest.raises(InvalidApiKeyError, match=words) as caught:
        build()  # type: ignore[operator]
    assert isinstance(caught.value, ValueError)
    assert SECRET not in str(caught.value) and OTHER_SECRET not in str(caught.value)


def test_a_ring_of_several_keys_built_in_code_must_name_its_signer() -> None:
    """Which key of a list signs differs between libraries (itsdangerous: the last), so
    a ring of more than one key built in code says which; a ring of one needs no name,
    and ``ABLY_API_KEYS``/``parse`` keep their rule: the first key signs."""
    with pytest.raises(ApiKeyTypeError, match=r"needs signer=.*signer='appId\.otherKey'") as no:
        KeyRing(keys=[NEW, OLD])
    assert isinstance(no.value, TypeError) and isinstance(no.value, InvalidApiKeyError)
    assert no.value.field == "signer"
    assert NEW.name in str(no.value) and OLD.name in str(no.value)
    assert SECRET not in str(no.value) and OTHER_SECRET not in str(no.value)
    assert "ABLY_API_KEYS" in str(no.value)
    assert KeyRing(keys=[OLD]).signing_key == OLD
    text = f"appId.otherKey:{OTHER_SECRET} {KEY_TEXT}"
    assert KeyRing.parse(text).signing_key == NEW
    assert KeyRing.parse(text) == KeyRing(keys=[NEW, OLD], signer=NEW.name)
    assert KeyRing.from_env(environ={"ABLY_API_KEYS": text}).signing_key == NEW


@pytest.mark.parametrize("keys", [KEY_TEXT, OLD, 42, [42], [KeyRing(keys=[OLD])]])
def test_keys_of_the_wrong_type_are_refused(keys: object) -> None:
    with pytest.raises(ApiKeyTypeError) as caught:
        KeyRing(keys=keys)  # type: ignore[arg-type]
    assert isinstance(caught.value, TypeError) and SECRET not in str(caught.value)


def test_secrets_stay_out_of_repr_and_str() -> None:
    ring = KeyRing(keys=[NEW, OLD], signer=NEW)
    for text in (repr(ring), str(ring), repr([ring])):
        assert SECRET not in text and OTHER_SECRET not in text
        assert NEW.name in text and OLD.name in text


def test_from_env_reads_keys_separated_by_spaces_or_commas() -> None:
    text = f"appId.otherKey:{OTHER_SECRET},\n {KEY_TEXT}\n"
    ring = KeyRing.from_env(environ={"ABLY_API_KEYS": text})
    assert ring == KeyRing(keys=[NEW, OLD], signer=NEW) and ring.signer == NEW.name
    assert KeyRing.from_env("MY_KEYS", environ={"MY_KEYS": KEY_TEXT}).names == (OLD.name,)
    for environ, words in (({}, "ABLY_API_KEYS is not set"), ({"ABLY_API_KEYS": " "}, "empty")):
        with pytest.raises(InvalidApiKeyError, match=words):
            KeyRing.from_env(environ=environ)
    with pytest.raises(InvalidApiKeyError, match="ABLY_API_KEYS: key #2") as bad:
        KeyRing.from_env(environ={"ABLY_API_KEYS": f"{KEY_TEXT} {KEY_TEXT}x:y"})
    assert SECRET not in str(bad.value)
    with pytest.raises(InvalidApiKeyError, match=r"KeyRing\.from_env"):
        ApiKey.from_env(environ={"ABLY_API_KEYS": KEY_TEXT})


def test_the_cli_signs_with_the_ring_s_first_key_and_verifies_either(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ABLY_API_KEY", raising=False)
    monkeypatch.setenv("ABLY_API_KEYS", f"appId.otherKey:{OTHER_SECRET} {KEY_TEXT}")
    assert main(["jwt", "--capability", '{"*":["*"]}']) == 0
    minted = capsys.readouterr().out.strip()
    assert verify_jwt(minted, NEW).key_name == NEW.name
    old = mint_jwt(OLD, capability=CHAT)
    assert main(["verify", old]) == 0
    assert "for key appId.keyId" in capsys.readouterr().out
    monkeypatch.setenv("ABLY_API_KEYS", f"appId.otherKey:{OTHER_SECRET}")
    assert main(["verify", old]) == 1
    captured = capsys.readouterr()
    assert "not in the key ring" in captured.err and "40101" in captured.err
    monkeypatch.setenv("ABLY_API_KEY", KEY_TEXT)
    assert main(["verify", old]) == 2
    captured = capsys.readouterr()
    assert "both $ABLY_API_KEY and $ABLY_API_KEYS" in captured.err
    for text in (captured.out, captured.err):
        assert SECRET not in text and OTHER_SECRET not in text


def test_request_token_signs_with_the_signer(ably_emulator: AblyEmulator) -> None:
    emulator = ably_emulator
    old, new = emulator.create_key(), emulator.create_key()
    details = request_token(
        KeyRing(keys=[new, old], signer=new), client_id="alice", endpoint=emulator.url
    )
    assert details.key_name == new.name


def test_revoke_tokens_with_a_ring_revokes_under_each_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with AblyEmulator(tls=True) as emulator:
        assert emulator.ca_file
        monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_file)
        old = emulator.create_key(revocable=True)
        new = emulator.create_key(revocable=True)
        results = revoke_tokens(
            KeyRing(keys=[old, new], signer=new), client_ids=["mallory"], endpoint=emulator.url
        )
        assert [(result.target, result.ok) for result in results] == [
            ("clientId:mallory", True)
        ] * 2
        assert set(emulator.service.revocations) == {old.name, new.name}
