"""``ably-authkit docs``: the guides installed with the package."""

from __future__ import annotations

import sys

from ._common import EXIT_OK, PROG, _UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from pathlib import Path


def _guides() -> dict[str, Path]:
    """The guides (docs/*.md) by name: installed in the wheel as ``ably_authkit/_docs``,
    or beside the package in a checkout."""
    from pathlib import Path

    here = Path(__file__).resolve().parent.parent  # ably_authkit/
    for folder in (here / "_docs", here.parent / "docs"):
        if folder.is_dir():
            return {path.stem: path for path in sorted(folder.glob("*.md"))}
    return {}


def _cmd_docs(args: argparse.Namespace) -> int:
    guides = _guides()
    if not guides:
        raise _UsageError("no guides are installed with this copy of ably-authkit")
    if args.guide is None:
        width = max(map(len, guides))
        for name, path in guides.items():
            first = path.read_text(encoding="utf-8").partition("\n")[0].lstrip("# ").strip()
            print(f"  {name:<{width}}  {first}")
        folder = next(iter(guides.values())).parent
        print(f"\n{PROG} docs GUIDE prints one (Markdown); they are in {folder}")
        return EXIT_OK
    sys.stdout.write(guides[_guide_named(args.guide, list(guides))].read_text(encoding="utf-8"))
    return EXIT_OK


def _guide_named(text: str, names: list[str]) -> str:
    """The guide ``text`` names: its name (``.md`` optional, any case), or the start of
    one name only (``quick`` for quickstart); else a usage error that lists the guides
    it could be, or the one it is probably misspelt from."""
    import difflib

    wanted = text.removesuffix(".md").lower()
    if wanted in names:
        return wanted
    starting = [name for name in names if name.startswith(wanted)]
    if len(starting) == 1:
        return starting[0]
    shown = repr(text[:40])
    if starting:
        raise _UsageError(
            f"{shown} starts the names of several guides: {', '.join(starting)}; "
            "give more of the name"
        )
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    meant = f" did you mean {close[0]!r}?" if close else ""
    raise _UsageError(f"no guide named {shown};{meant} choose one of: {', '.join(names)}")
