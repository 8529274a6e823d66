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
    guide = guides.get(args.guide.removesuffix(".md"))
    if guide is None:
        raise _UsageError(f"no guide named {args.guide[:40]!r}; choose one of: {', '.join(guides)}")
    sys.stdout.write(guide.read_text(encoding="utf-8"))
    return EXIT_OK
