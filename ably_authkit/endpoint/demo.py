"""The demo page: for one user, the answer of each mode, :func:`~ably_authkit.explain` of
each credential, the code that connects a client, and a live panel where ably-js connects
through the app's authUrl.

The markup, style and script are files in ``templates/``, read with
:mod:`importlib.resources`; this module fills them in. Every value is HTML-escaped unless
it is markup this module rendered (:class:`_Html`), and the live panel's settings reach its
script as JSON, never as code.

The panel needs ably-js's browser bundle, served by the app itself so that the demo runs
offline. :func:`find_ably_js` looks for it in a ``node_modules`` folder; when it is not
there the panel says how to add it (:data:`ABLY_JS_INSTALL`) instead of failing.
"""

from __future__ import annotations

import os

from ably_authkit._time import describe
from ably_authkit.errors import AuthKitError

from .params import _MAX_BODY
from .responses import _NO_STORE, AuthResponse, _ok, error_response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from ably_authkit.keys import ApiKey

    from .auth_endpoint import AuthEndpoint
    from .grant import Grant

__all__ = ["ABLY_JS_ENV", "ABLY_JS_INSTALL", "ably_js_response", "find_ably_js"]

#: One command, run where the app runs, that makes :func:`find_ably_js` find ably-js.
ABLY_JS_INSTALL = "npm install --prefix . ably@2"
#: Where ably-js is when it is neither in ./node_modules nor in tests/js/node_modules: a
#: bundle file, a ``node_modules`` folder, the ``ably`` package folder, or their parent.
ABLY_JS_ENV = "ABLY_JS_PATH"
_BUNDLES = ("ably.min.js", "ably.js")
_PLACES = (
    ("node_modules",),
    ("tests", "js", "node_modules"),  # the test suite's copy, in a checkout
)


# -- ably-js ---------------------------------------------------------------------------------


def _bundle_in(folder: Path) -> Path | None:
    for package in (folder / "ably", folder / "node_modules" / "ably", folder):
        for name in _BUNDLES:
            candidate = package / "build" / name
            if candidate.is_file():
                return candidate
    return None


def find_ably_js(
    environ: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None
) -> Path | None:
    """The path of ably-js's browser bundle (``ably/build/ably.min.js``, or ``ably.js``),
    or ``None``.

    Looked for in ``$ABLY_JS_PATH`` (a file, or a folder holding ``node_modules``, the
    ``ably`` package or its ``build``), then ``./node_modules``, then
    ``./tests/js/node_modules``, relative to ``cwd`` (default: the working directory).
    """
    from pathlib import Path

    source = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else Path(cwd)
    configured = source.get(ABLY_JS_ENV)
    if configured:
        path = base / configured
        if path.is_file():
            return path.resolve()
        if path.is_dir():
            found = _bundle_in(path)
            if found is None and path.name == "build":
                found = _bundle_in(path.parent.parent)
            if found is not None:
                return found.resolve()
    for place in _PLACES:
        found = _bundle_in(base.joinpath(*place))
        if found is not None:
            return found.resolve()
    return None


def ably_js_response() -> AuthResponse:
    """ably-js's browser bundle, for the demo page's live panel (serve it at the page's
    ``ably_js_url``): 200 with the script when :func:`ably_authkit.endpoint.demo.find_ably_js`
    finds it (``$ABLY_JS_PATH``, ``./node_modules``, ``./tests/js/node_modules``), else
    404 with a script that logs how to install it."""
    found = find_ably_js()
    if found is None:
        return AuthResponse(
            status=404,
            headers=(("Content-Type", "text/javascript; charset=utf-8"), _NO_STORE),
            body=f"console.error('ably-js is not installed here: {ABLY_JS_INSTALL}');".encode(),
        )
    return AuthResponse(
        status=200,
        headers=(("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache")),
        body=found.read_bytes(),
    )


# -- explain() of the panel's credential -----------------------------------------------------


def explain_response(key: ApiKey, credential: str | bytes, now: datetime | None) -> AuthResponse:
    """:meth:`AuthEndpoint.explain_response
    <ably_authkit.endpoint.AuthEndpoint.explain_response>`, with the endpoint's key and
    issue time."""
    from ably_authkit.explain import explain

    if len(credential) > _MAX_BODY:
        return error_response(400, 40003, "that is too long to be an Ably credential")
    if isinstance(credential, bytes):
        try:
            credential = credential.decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, 40003, "a credential is UTF-8 text")
    if not credential.strip():
        return error_response(400, 40003, "no credential: send one as the request body")
    try:
        explanation = explain(credential, key, now=now)
    except AuthKitError as error:
        return error_response(400, error.code or 40003, f"cannot explain it: {error.message}")
    return _ok("text/plain; charset=utf-8", str(explanation).encode("utf-8"))


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
    auth_path: str,
    user_header: str,
    now: datetime | None,
    links: tuple[str | None, str | None, str | None] = (None, None, None),
) -> AuthResponse:
    """The page of :meth:`AuthEndpoint.demo_page
    <ably_authkit.endpoint.AuthEndpoint.demo_page>` (401 when nobody is signed in)."""
    css = _Html(_template("demo.css"))
    if grant is None:
        body = _render("signed_out.html", user_header=user_header)
        return _page(_render("page.html", css=css, body=body), status=401)
    ably_js_url, explain_url, page_url = links
    live = _Html("")
    if ably_js_url is not None:
        live = _live_panel(
            client_id=grant.client_id,
            auth_url_path=f"{auth_path}/jwt",
            user_header=user_header,
            client_options=auth.client_options("ably-js"),
            ably_js_url=ably_js_url,
            ably_js_found=find_ably_js() is not None,
            explain_url=explain_url,
        )
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
        live=live,
        answers=_Html("".join(shown)),
        snippets=_Html(
            "".join(_render("snippet.html", sdk=sdk, code=code) for sdk, code in snippets.items())
        ),
    )
    return _page(_render("page.html", css=css, body=body))


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
            return str(explain(answer.text, auth.key, now=now))
        if mode == "token-request":
            return str(explain(answer.json(), auth.key, now=now))
        return str(explain(answer.json(), now=now))
    except (AuthKitError, ValueError) as error:
        return f"explain() failed: {error}"


def _live_panel(
    *,
    client_id: str | None,
    auth_url_path: str,
    user_header: str,
    client_options: Mapping[str, Any],  # as ably-js spells them
    ably_js_url: str,
    ably_js_found: bool,
    explain_url: str | None = None,
) -> _Html:
    """The live panel: connection state, current credential, countdown to its renewal, and
    a message box on ``chat:lobby``. With ``explain_url``, the credential is shown as the
    server's ``explain()`` of it (POSTed there), else decoded in the page."""
    install = _render("ably_js_missing.html", command=ABLY_JS_INSTALL)
    if not ably_js_found:
        return _render("live_missing.html", auth_url_path=auth_url_path, install=install)
    config = {
        "authPath": auth_url_path,
        "authHeaders": {user_header: client_id or ""},
        "options": dict(client_options),
        "channel": "chat:lobby",
        "explainUrl": explain_url,
    }
    return _render(
        "live.html",
        auth_url_path=auth_url_path,
        install=install,
        ably_js_url=ably_js_url,
        config=_script_json(config),
        script=_Html(_template("live.js")),
    )
