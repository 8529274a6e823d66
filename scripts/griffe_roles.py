"""A griffe extension for the API reference (mkdocs.yml): Sphinx roles in docstrings,
such as :class:`~ably_authkit.ApiKey` or :meth:`respond`, become inline code as Sphinx
shows them (``ApiKey``, ``respond()``), instead of the role's raw text in the page; and
reST's ``text::`` before an indented literal block loses its second colon (Markdown
reads the indented block as code already)."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?P<role>[a-z]+):`(?P<tilde>~?)(?P<target>[^`<>]+?)`")
_LITERAL_MARKER = re.compile(r"(?<=\S)::(?=\n[ \t]*\n)")
_CALLABLE_ROLES = ("func", "meth")


def _as_code(match: re.Match[str]) -> str:
    target = match["target"].strip()
    if match["tilde"]:
        target = target.rpartition(".")[2]
    if match["role"] in _CALLABLE_ROLES and not target.endswith(")"):
        target += "()"
    return f"`{target}`"


def rewrite_roles(text: str) -> str:
    """The docstring text with every Sphinx role written as Markdown inline code."""
    return _LITERAL_MARKER.sub(":", _ROLE.sub(_as_code, text))


class SphinxRoles(griffe.Extension):
    """Rewrite the roles of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite_roles(obj.docstring.value)
