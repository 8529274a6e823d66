"""A user's test file in a project that installed the core alone (``pip install
ably-authkit``, no extras), run by scripts/check in a fresh venv, from a folder outside
this repository, under ``pytest -W error -p pytester``.

It proves what such a user meets: pytest starts (the plugin loads with the core), the
core works without any other package (pyjwt included), and each feature of an extra says
which extra to install, with the line that works for this install: scripts/check
installs the package from its folder (``pip install .``), so the line names the folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

from ably_authkit import (
    MissingExtraError,
    RestClient,
    create_token_request,
    mint_jwt,
    request_token,
    server_time,
    verify_jwt,
    verify_token_request,
)
from ably_authkit.endpoint import AuthEndpoint, Grant

KEY = "appId.keyId:a-made-up-secret-of-at-least-32-characters"
DISTRIBUTION = importlib.metadata.distribution("ably-authkit")
#: Where pip installed the package from (PEP 610): this checkout's folder.
FOLDER = url2pathname(
    urlsplit(json.loads(DISTRIBUTION.read_text("direct_url.json") or "{}")["url"]).path
)


def install(extra: str) -> str:
    return f'pip install "{FOLDER}[{extra}]"'


def test_only_the_core_is_installed() -> None:
    for module in ("ably", "aiohttp", "msgpack", "httpx", "jwt"):
        assert importlib.util.find_spec(module) is None, f"{module} is installed"
    # The core depends on nothing: every requirement belongs to an extra.
    requirements = DISTRIBUTION.requires or []
    assert all("extra ==" in requirement for requirement in requirements), requirements
    assert "pyjwt" in " ".join(requirements).lower()  # in the dev extra only


def test_the_licence_is_declared_and_installed() -> None:
    assert DISTRIBUTION.metadata["License-Expression"] == "Apache-2.0"
    declared = DISTRIBUTION.metadata.get_all("License-File") or []
    assert {"LICENSE", "NOTICE"} <= set(declared)
    assert any(name.endswith("/ably-js.LICENSE") for name in declared), declared
    installed = {str(path) for path in DISTRIBUTION.files or []}
    for name in declared:
        assert any(path.endswith(f"licenses/{name}") for path in installed), name
    notice = Path(
        str(
            DISTRIBUTION.locate_file(
                next(
                    path
                    for path in DISTRIBUTION.files or []
                    if str(path).endswith("licenses/NOTICE")
                )
            )
        )
    )
    assert "ably-js" in notice.read_text("utf-8")


def test_the_plugin_is_loaded(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.hasplugin("ably_authkit")


def test_mint_and_verify_a_jwt() -> None:
    token = mint_jwt(KEY, client_id="user-42", capability={"chat:*": ["subscribe"]})
    claims = verify_jwt(token, KEY)
    assert claims.client_id == "user-42"
    assert claims.expires - claims.issued == timedelta(hours=1)


def test_create_and_verify_a_token_request() -> None:
    request = create_token_request(KEY, client_id="user-42", ttl=timedelta(minutes=5))
    assert verify_token_request(request.to_dict(), KEY).client_id == "user-42"


def test_the_endpoint_answers_locally() -> None:
    auth = AuthEndpoint(KEY)
    grant = Grant(client_id="user-42", capability={"chat:*": ["subscribe"]})
    assert auth.respond("jwt", grant).status == 200
    with pytest.raises(MissingExtraError) as missing:
        auth.respond("token", grant)
    assert str(missing.value).endswith(install("network"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: request_token(KEY),
        lambda: server_time(KEY),
        lambda: RestClient(KEY),
    ],
)
def test_network_features_name_their_extra(call: object) -> None:
    with pytest.raises(MissingExtraError) as missing:
        call()  # type: ignore[operator]
    assert missing.value.extra == "network"
    assert str(missing.value).endswith(install("network"))
    assert FOLDER != "." and Path(FOLDER, "pyproject.toml").is_file()


def test_the_testing_package_names_its_extra() -> None:
    with pytest.raises(MissingExtraError) as missing:
        import ably_authkit.testing  # noqa: F401
    assert str(missing.value).endswith(install("emulator"))


def test_a_fixture_without_the_extra_fails_that_test_and_says_why(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        def test_uses_the_key(ably_key):
            pass

        def test_uses_nothing():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-W", "error")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*the ably_emulator fixture: ably_authkit.testing needs the *emulator* extra*"]
    )
    result.stdout.fnmatch_lines([f"*{install('emulator').replace('[', '[[]')}*"])


def test_the_guides_are_installed_with_the_package() -> None:
    # What `ably-authkit --help` points a pip user to.
    help_text = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "ably-authkit docs" in help_text
    listed = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "docs"], capture_output=True, text=True, check=True
    ).stdout
    assert "quickstart" in listed and "site-packages" in listed
    guide = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "docs", "quickstart"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert guide.startswith("# Quick start")


def test_the_demo_page_templates_are_installed() -> None:
    # The page's markup is package data: a non-editable install must carry it.
    from ably_authkit.demo.page import render_page

    page = render_page(AuthEndpoint(KEY), None, {})
    assert page.status == 401
    assert "Nobody is signed in" in page.text
    assert "<code>X-User-Id</code>" in page.text


def test_the_demo_names_its_extra() -> None:
    with pytest.raises(MissingExtraError) as missing:
        from ably_authkit.demo import serve  # noqa: F401
    assert str(missing.value).endswith(install("emulator"))
    done = subprocess.run(
        [sys.executable, "-m", "ably_authkit", "demo", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert install("emulator") in done.stderr
    assert "Traceback" not in done.stderr
