"""The ``pip install`` line a missing extra names works for how the package was installed:
a folder (a clone, editable or not) is named as that folder, an index install gets the
index line. Each distribution here is real metadata on disk, as pip writes it (PEP 610's
``direct_url.json``), read through importlib.metadata."""

from __future__ import annotations

import json
import sys
from importlib.metadata import PathDistribution, distribution
from pathlib import Path

import pytest

from ably_authkit import MissingExtraError
from ably_authkit._extras import install_line


def installed(tmp_path: Path, direct_url: object | None) -> PathDistribution:
    """An ably-authkit dist-info folder, as pip leaves it, with this direct_url.json."""
    info = tmp_path / "ably_authkit-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.4\nName: ably-authkit\nVersion: 0.1.0\n")
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return PathDistribution(info)


def test_from_an_index_the_line_names_the_distribution(tmp_path: Path) -> None:
    assert install_line("network", installed(tmp_path, None)) == (
        'pip install "ably-authkit[network]"'
    )


@pytest.mark.parametrize(("editable", "flag"), [(True, "-e "), (False, "")])
def test_from_a_folder_the_line_names_the_folder(tmp_path: Path, editable: bool, flag: str) -> None:
    clone = tmp_path / "my clone"  # a space, as a user's folder may have
    clone.mkdir()
    origin = {"url": clone.as_uri(), "dir_info": {"editable": editable}}
    line = install_line("emulator", installed(tmp_path, origin))
    assert line == f'pip install {flag}"{clone}[emulator]"'


def test_from_a_file_or_a_repository_the_line_names_that_url(tmp_path: Path) -> None:
    wheel = "file:///tmp/dist/ably_authkit-0.1.0-py3-none-any.whl"
    archive = {"url": wheel, "archive_info": {}}
    assert install_line("network", installed(tmp_path / "a", archive)) == (
        f'pip install "ably-authkit[network] @ {wheel}"'
    )
    repository = {
        "url": "https://example.com/me/ably-authkit.git",
        "vcs_info": {"vcs": "git", "commit_id": "0" * 40},
    }
    assert install_line("network", installed(tmp_path / "v", repository)) == (
        'pip install "ably-authkit[network] @ '
        f'git+https://example.com/me/ably-authkit.git@{"0" * 40}"'
    )


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"dir_info": {}}', '{"url": 5}'])
def test_an_unreadable_record_falls_back_to_the_index_line(tmp_path: Path, text: str) -> None:
    assert install_line("network", installed(tmp_path, text)) == (
        'pip install "ably-authkit[network]"'
    )


def test_this_checkout_s_install_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The development install (scripts/check: ``pip install -e .``) is editable from this
    checkout, and a missing extra says so, rather than sending the user to an index."""
    root = Path(__file__).resolve().parent.parent
    origin = json.loads(distribution("ably-authkit").read_text("direct_url.json") or "{}")
    assert origin.get("dir_info", {}).get("editable") is True, "expected an editable install"
    expected = f'pip install -e "{root}[emulator]"'
    assert install_line("emulator") == expected
    for name in [m for m in sys.modules if m.startswith("ably_authkit.testing")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "msgpack", None)
    with pytest.raises(MissingExtraError) as missing:
        import ably_authkit.testing  # noqa: F401
    assert missing.value.install == expected
    assert str(missing.value).endswith(f": {expected}")


def test_the_emulator_command_without_its_extra_names_the_same_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ably_authkit.cli import main

    for name in [m for m in sys.modules if m.startswith("ably_authkit.testing")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "msgpack", None)
    assert main(["emulator", "--port", "0"]) == 2
    assert install_line("emulator") in capsys.readouterr().err
