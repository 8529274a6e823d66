from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, settings

from ably_authkit import ApiKey
from ably_authkit.testing import AblyEmulator

from .peers import AblyJs
from .realtime_peers import AblyJsRealtime

# One process has one Django configuration, made by whoever configures it first: the
# Django example's (its settings.py part), so that its app, served by the example tests,
# routes as it does on its own; the Django snippets of the docs use what is configured
# and override the URLconf and settings they need.
with contextlib.suppress(ImportError):  # no Django: the Django tests say so themselves
    import examples.django_app.app  # noqa: F401

# Secrets of 32+ bytes: pyjwt warns below that, and warnings are errors here.
SECRET = "bW9jay1zZWNyZXQtZm9yLXRlc3RzLW9ubHktMDAwMDAw"
KEY_TEXT = f"appId.keyId:{SECRET}"
OTHER_SECRET = "b3RoZXItbW9jay1zZWNyZXQtZm9yLXRlc3RzLTExMTEx"
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
#: A test run once with the msgpack protocol and once with JSON, as ``binary``.
BINARY = pytest.mark.parametrize("binary", [True, False], ids=["msgpack", "json"])


def tampered(jwt_text: str) -> str:
    """``jwt_text`` with another first character of its signature: always other bytes.
    (Overwriting its last characters with ``"AA"`` left it intact whenever the signature
    already ended so, about once in a thousand clock seconds.)"""
    header, claims, signature = jwt_text.split(".")
    first = "B" if signature[0] == "A" else "A"
    return f"{header}.{claims}.{first}{signature[1:]}"


settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=300
)
# The other Pythons of scripts/check run the default profile: the main run is the deep one.
settings.load_profile(
    os.environ.get("ABLY_AUTHKIT_HYPOTHESIS") or ("ci" if os.environ.get("CI") else "default")
)


@pytest.fixture(scope="module")
def emu() -> Iterator[AblyEmulator]:
    """An emulator of the test module's own, fresh for each module that uses it (its
    clock, keys, channels and connections are the module's alone). A module that needs
    one made with options (say ``mutable_messages=``) defines its own ``emu``: ``key``
    and ``emu_key`` then are keys of that one."""
    with AblyEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def tls_emulator() -> Iterator[AblyEmulator]:
    """An emulator of the test module's own serving TLS (``AblyEmulator(tls=True)``)."""
    with AblyEmulator(tls=True) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def emu_key(emu: AblyEmulator) -> ApiKey:
    """One key of the module's ``emu``, made once per module."""
    return emu.create_key()


@pytest.fixture
def key(request: pytest.FixtureRequest) -> ApiKey:
    """The key a test signs with: in a test that uses ``emu``, that emulator's
    ``emu_key``; in any other, the fixed key of ``KEY_TEXT``."""
    if "emu" not in request.fixturenames:
        return ApiKey.parse(KEY_TEXT)
    made = request.getfixturevalue("emu_key")
    assert isinstance(made, ApiKey)
    return made


@pytest.fixture
def other_key() -> ApiKey:
    """Another key of the same app."""
    return ApiKey.parse(f"appId.otherKey:{OTHER_SECRET}")


@pytest.fixture(scope="session")
def ably_js() -> Iterator[AblyJs]:
    """ably-js in a Node process, for byte-for-byte comparisons with a second SDK."""
    peer = AblyJs()
    yield peer
    peer.close()


@pytest.fixture
def realtime_js() -> Iterator[AblyJsRealtime]:
    """One ably-js ``Realtime`` client in a Node process of its own, closed after the test."""
    peer = AblyJsRealtime()
    yield peer
    peer.close()
