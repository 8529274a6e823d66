"""The module functions (request_token & co) share their REST clients: one per key,
endpoint and options, across threads, per event loop, never across fork(); and without
the network extra they say which extra to install."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
from typing import Any

import pytest

from ably_authkit import (
    AblyApiError,
    ApiKey,
    AsyncRestClient,
    MissingExtraError,
    RestClient,
    arequest_token,
    request_token,
    revoke_tokens,
    server_time,
)
from ably_authkit._extras import install_line
from ably_authkit.endpoint import AuthEndpoint, Grant
from ably_authkit.rest import _pool as pool_module
from ably_authkit.testing import AblyEmulator

from .conftest import KEY_TEXT

GRANT = Grant(client_id="alice", capability={"chat:*": ["subscribe"]})


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every REST client the module functions make during the test."""
    clients: list[Any] = []

    class CountedSync(RestClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    class CountedAsync(AsyncRestClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    monkeypatch.setattr(pool_module, "RestClient", CountedSync)
    monkeypatch.setattr(pool_module, "AsyncRestClient", CountedAsync)
    return clients


def assert_closed(client: Any) -> None:
    """A closed client refuses to send (httpx: "the client has been closed")."""
    call = (
        (lambda: asyncio.run(client.server_time()))
        if isinstance(client, AsyncRestClient)
        else client.server_time
    )
    with pytest.raises(AblyApiError, match="client has been closed"):
        call()


def test_one_shot_calls_share_one_client(ably_emulator: AblyEmulator, made: list[Any]) -> None:
    key = ably_emulator.create_key()
    tokens = {request_token(key, client_id="a", endpoint=ably_emulator.url).token for _ in range(5)}
    assert len(tokens) == 5
    server_time(key, endpoint=ably_emulator.url)
    assert len(made) == 1  # the same key, endpoint and options: one client
    # The key as text is the same key; another timeout is another client.
    request_token(f"{key.name}:{key.secret}", endpoint=ably_emulator.url)
    assert len(made) == 1
    from datetime import timedelta

    request_token(key, endpoint=ably_emulator.url, timeout=timedelta(seconds=3))
    assert len(made) == 2


def test_threads_share_the_client(ably_emulator: AblyEmulator, made: list[Any]) -> None:
    key = ably_emulator.create_key()
    results: list[str] = []
    failures: list[BaseException] = []

    def work(number: int) -> None:
        try:
            for _ in range(5):
                details = request_token(key, client_id=f"u{number}", endpoint=ably_emulator.url)
                results.append(details.client_id or "")
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert sorted(results) == sorted(f"u{n}" for n in range(8) for _ in range(5))
    assert len(made) == 1


def test_each_event_loop_has_its_own_client_closed_with_it(
    ably_emulator: AblyEmulator, made: list[Any]
) -> None:
    key = ably_emulator.create_key()
    loops: list[asyncio.AbstractEventLoop] = []

    async def three_calls() -> set[str]:
        loops.append(asyncio.get_running_loop())
        return {
            (await arequest_token(key, client_id="a", endpoint=ably_emulator.url)).token
            for _ in range(3)
        }

    assert len(asyncio.run(three_calls())) == 3
    assert len(made) == 1
    assert_closed(made[0])  # closed when its loop shut down
    assert len(asyncio.run(three_calls())) == 3  # a new loop: a new client
    assert len(made) == 2
    assert_closed(made[1])
    # Each loop is forgotten when it shuts down. (Other tests' loops may still be running,
    # in their servers' threads, so the pool need not be empty.)
    assert [loop for loop in loops if loop in pool_module._ASYNC_CLIENTS._loops] == []


def test_a_forked_child_makes_its_own_client(ably_emulator: AblyEmulator, made: list[Any]) -> None:
    # A pre-fork server (gunicorn) forks after the parent may have used request_token:
    # the child must not write to the parent's sockets.
    key = ably_emulator.create_key()
    request_token(key, endpoint=ably_emulator.url)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child
        try:
            before = len(pool_module._SYNC_CLIENTS._leases)
            request_token(key, client_id="child", endpoint=ably_emulator.url)
            os.write(write_end, f"{before} {len(made)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    answer = os.read(read_end, 100).decode()
    os.close(read_end)
    assert status == 0
    assert answer == "0 2"  # it forgot the parent's client and made its own
    # The parent's client (and its connection) still works.
    assert request_token(key, client_id="parent", endpoint=ably_emulator.url).client_id == "parent"
    assert len(made) == 1


def test_the_least_recently_used_client_is_closed_beyond_the_pool_size(
    ably_emulator: AblyEmulator, made: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "POOL_SIZE", 2)
    keys = [ably_emulator.create_key() for _ in range(3)]
    for key in keys:
        request_token(key, endpoint=ably_emulator.url)
    assert_closed(made[0])
    assert made[1].server_time()  # still open
    assert request_token(keys[0], endpoint=ably_emulator.url).token  # made again
    assert len(made) == 4


@pytest.fixture
def no_network_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the `ably` package were not installed."""
    for name in [m for m in sys.modules if m == "ably" or m.startswith("ably.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ably", None)


@pytest.mark.usefixtures("no_network_extra")
@pytest.mark.parametrize(
    ("call", "feature"),
    [
        (lambda: request_token(KEY_TEXT, endpoint="http://127.0.0.1:9"), "RestClient"),
        (lambda: server_time(KEY_TEXT), "RestClient"),
        (lambda: revoke_tokens(KEY_TEXT, client_ids=["a"]), "RestClient"),
        (lambda: RestClient(KEY_TEXT), "RestClient"),
        (lambda: AsyncRestClient(KEY_TEXT), "AsyncRestClient"),
        (lambda: asyncio.run(arequest_token(KEY_TEXT)), "AsyncRestClient"),
        (lambda: AuthEndpoint(KEY_TEXT).respond("token", GRANT), "RestClient"),
    ],
)
def test_without_the_network_extra_each_path_names_it(call: Any, feature: str) -> None:
    with pytest.raises(MissingExtraError) as missing:
        call()
    assert missing.value.extra == "network"
    assert missing.value.name == "ably"
    assert str(missing.value) == (
        f"{feature} needs the 'network' extra (ably is not installed): " + install_line("network")
    )
    assert isinstance(missing.value, ImportError)


@pytest.mark.usefixtures("no_network_extra")
def test_without_the_network_extra_local_modes_still_work() -> None:
    auth = AuthEndpoint(KEY_TEXT)
    assert auth.respond("jwt", GRANT).status == 200
    assert auth.respond("token-request", GRANT).status == 200


def test_without_the_emulator_extra_the_testing_package_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m.startswith("ably_authkit.testing")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "msgpack", None)
    with pytest.raises(MissingExtraError) as missing:
        import ably_authkit.testing  # noqa: F401
    assert missing.value.extra == "emulator"
    assert str(missing.value) == (
        "ably_authkit.testing needs the 'emulator' extra (msgpack is not installed): "
        + install_line("emulator")
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda key: request_token(key, endpoint="http://127.0.0.1:9"),
        # The ably package wraps this one as an "Unexpected exception" of its own.
        lambda key: server_time(key, endpoint="http://127.0.0.1:9"),
    ],
    ids=["request_token", "server_time"],
)
def test_unreachable_is_a_connection_error_with_no_copy_of_the_key(call: Any) -> None:
    from ably_authkit import AblyConnectionError

    with pytest.raises(AblyConnectionError) as failed:
        call(ApiKey.parse(KEY_TEXT))
    error = failed.value
    assert error.__cause__ is None and error.__context__ is None
    assert "Errno" not in str(error)
    assert str(error).startswith("could not reach Ably at http://127.0.0.1:9: Connection refused. ")
    assert "$ABLY_ENDPOINT" in str(error) and "$ABLY_EMULATOR_HOST" in str(error)
