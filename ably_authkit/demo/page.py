"""The demo page: for one user, the answer of each mode, :func:`~ably_authkit.explain` of
each credential, the code that connects a client, and a live panel where ably-js connects
through the authUrl and draws each credential, renewal and disconnection on a timeline.

The markup, style and script are files in ``templates/``, read with
:mod:`importlib.resources`; this module fills them in. Every value is HTML-escaped unless
it is markup this module rendered (:class:`_Html`), and the live panel's settings reach its
script as JSON, never as code.
"""

from __future__ import annotations

from ably_authkit._time import ONE_MS as _ONE_MS
from ably_authkit._time import describe
from ably_authkit.endpoint import AuthResponse
from ably_authkit.endpoint.responses import _NO_STORE
from ably_authkit.errors import AuthKitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from typing import Any

    from ably_authkit.endpoint import AuthEndpoint, Grant

__all__ = ["render_page"]


# -- templates -------------------------------------------------------------------------------


class _Html(str):
    """Markup rendered here, inserted into a template as it is (other values are escaped)."""

    __slots__ = ()


_templates: dict[str, str] = {}


def _template(name: str) -> str:
    """The text of ``templates/name``, read once per process."""
    text = _templates.get(name)
    if text is None:
        from importlib.resources import files

        text = (files(__package__) / "templates" / name).read_text(encoding="utf-8")
        _templates[name] = text
    return text


def _render(name: str, **values: str) -> _Html:
    """``templates/name`` with each ``${value}`` filled in: escaped, unless :class:`_Html`."""
    from html import escape
    from string import Template

    filled = {
        name: value if isinstance(value, _Html) else escape(value) for name, value in values.items()
    }
    return _Html(Template(_template(name)).substitute(filled))


def _script_json(value: Any) -> _Html:
    """JSON that is safe inside a ``<script>`` element."""
    import json

    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return _Html(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# -- the page --------------------------------------------------------------------------------


def render_page(
    auth: AuthEndpoint,
    grant: Grant | None,
    answers: Mapping[str, AuthResponse],
    *,
    auth_path: str = "/auth",
    user_header: str = "X-User-Id",
    now: datetime | None = None,
    ably_js_url: str | None = None,
    explain_url: str | None = None,
    clock_url: str | None = None,
    page_url: str | None = None,
) -> AuthResponse:
    """The page for ``grant``'s user (401 when nobody is signed in): ``answers`` holds
    ``auth``'s answer of each mode, shown with :func:`~ably_authkit.explain` of each
    credential as of ``now``. For demos and local development: it shows the user's
    credentials on the page.

    With ``ably_js_url`` (where the app serves
    :func:`~ably_authkit.demo.ably_js.ably_js_response`), the page holds the live panel:
    ably-js connects through ``auth_path`` + the mode chosen on the page, sending
    ``user_header``; with ``explain_url``
    (:func:`~ably_authkit.demo.panel.explain_response`) it shows the credential it holds
    through ``explain()``; with ``clock_url``
    (:func:`~ably_authkit.demo.panel.clock_response`) a button skips to just before the
    next renewal. ``page_url``, the app's own URL, makes the "Connect a client" code name
    the real authUrl."""
    css = _Html(_template("demo.css"))
    if grant is None:
        body = _render("signed_out.html", user_header=user_header)
        return _page(_render("page.html", css=css, body=body), status=401)
    live = _Html("")
    if ably_js_url is not None:
        links = {"ably_js": ably_js_url, "explain": explain_url, "clock": clock_url}
        live = _live_panel(auth, grant, auth_path, user_header, links)
    shown = []
    for mode, answer in answers.items():
        explained = _Html("")
        if answer.status == 200:
            explained = _render("explained.html", text=_explained(auth, mode, answer, now))
        shown.append(
            _render(
                "answer.html",
                url=f"{auth_path}/{mode}",
                status=str(answer.status),
                content_type=answer.content_type or "",
                text=answer.text,
                explained=explained,
            )
        )
    base = page_url.rstrip("/") if page_url else "<this server>"
    snippets = auth.connect_snippets(
        f"{base}{auth_path}", headers={user_header: grant.client_id or ""}
    )
    body = _render(
        "credentials.html",
        who="anonymous" if grant.client_id is None else grant.client_id,
        client_id=repr(grant.client_id),
        capability=grant.capability.to_json(),
        ttl=describe(grant.ttl),
        key_name=auth.key.name,
        source=_source(auth),
        live=live,
        answers=_Html("".join(shown)),
        snippets=_Html(
            "".join(_render("snippet.html", sdk=sdk, code=code) for sdk, code in snippets.items())
        ),
    )
    return _page(_render("page.html", css=css, body=body))


def _source(auth: AuthEndpoint) -> str:
    """Where this page's credentials come from, in the words of :meth:`AuthEndpoint.describe`."""
    first = auth.describe().splitlines()[0]
    if "EMULATOR" in first:
        return first
    where = "Ably" if auth.endpoint is None else f"the Ably endpoint {auth.endpoint}"
    return f"Credentials come from {where}, signed with key {auth.key.name}."


def _page(html: str, *, status: int = 200) -> AuthResponse:
    return AuthResponse(
        status=status,
        headers=(("Content-Type", "text/html; charset=utf-8"), _NO_STORE),
        body=html.encode("utf-8"),
    )


def _explained(auth: AuthEndpoint, mode: str, answer: AuthResponse, now: datetime | None) -> str:
    from ably_authkit.explain import explain

    try:
        if mode == "jwt":
            return str(explain(answer.text, auth.keys, now=now))
        if mode == "token-request":
            return str(explain(answer.json(), auth.keys, now=now))
        return str(explain(answer.json(), now=now))
    except (AuthKitError, ValueError) as error:
        return f"explain() failed: {error}"


def _live_panel(
    auth: AuthEndpoint,
    grant: Grant,
    auth_path: str,
    user_header: str,
    links: Mapping[str, str | None],
) -> _Html:
    """The live panel: ably-js connected through ``auth_path``, with the mode, user and
    lifetime to ask for, a timeline of credentials and what happened to the connection,
    a publish that the capability allows beside one it refuses (40160), and, with a
    clock link, a button that moves the emulator's clock to the next renewal."""
    refused = _refused_channel(grant)
    config = {
        "authPath": auth_path,
        "modes": list(_LIVE_MODES),
        "authHeaders": {user_header: grant.client_id or ""},
        "options": auth.client_options("ably-js"),
        "channel": "chat:lobby",
        "refusedChannel": refused,
        "grantTtlMs": grant.ttl // _ONE_MS,
        "explainUrl": links["explain"],
        "clockUrl": links["clock"],
    }
    return _render(
        "live.html",
        user=grant.client_id or "",
        refused_channel=refused or "",
        grant_ttl=describe(grant.ttl),
        ably_js_url=links["ably_js"] or "",
        config=_script_json(config),
        script=_Html(_template("live.js")),
    )


_LIVE_MODES = ("jwt", "token-request", "token")


def _refused_channel(grant: Grant) -> str | None:
    """A channel this grant may not publish to, for the panel's refused publish."""
    for name in ("admin:alerts", "private:ops", "x-refused"):
        if not grant.capability.allows(name, "publish"):
            return name
    return None
