"""The demo page: for one user, the answer of each mode, :func:`~ably_authkit.explain` of
each credential, the code that connects a client, and a live panel where ably-js connects
through the app's authUrl and draws each credential, renewal and disconnection on a
timeline.

The markup, style and script are files in ``templates/``, read with
:mod:`importlib.resources`; this module fills them in. Every value is HTML-escaped unless
it is markup this module rendered (:class:`_Html`), and the live panel's settings reach its
script as JSON, never as code.

ably-js's browser bundle ships in ``static/`` (``ably.min.js``, ably-js 2.28.0 from npm,
Apache-2.0, its licence beside it; the version the test suite runs, see
``tests/js/package-lock.json``), so the demo runs offline, with no install step and nothing
written anywhere. ``$ABLY_JS_PATH`` serves another build instead.
"""

from __future__ import annotations

import os

from ably_authkit._time import ONE_MS as _ONE_MS
from ably_authkit._time import describe, to_ms
from ably_authkit.errors import AuthKitError

from .params import _MAX_BODY
from .responses import _NO_STORE, AuthResponse, _json_bytes, _ok, error_response

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from ably_authkit.keys import ApiKey, KeyRing
    from ably_authkit.testing import AblyEmulator

    from .auth_endpoint import AuthEndpoint
    from .grant import Grant

__all__ = ["ABLY_JS_ENV", "ABLY_JS_VERSION", "ably_js_response", "find_ably_js"]

#: The variable naming another ably-js browser bundle to serve: a file, or a folder holding
#: ``node_modules``, the ``ably`` package or its ``build``.
ABLY_JS_ENV = "ABLY_JS_PATH"
#: The version of the ably-js bundle shipped in ``static/ably.min.js``.
ABLY_JS_VERSION = "2.28.0"
_BUNDLES = ("ably.min.js", "ably.js")


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
    """The path of the ably-js browser bundle the demo page serves: the one
    ``$ABLY_JS_PATH`` names (a file, or a folder holding ``node_modules``, the ``ably``
    package or its ``build``; relative to ``cwd``, default the working directory), else the
    one shipped with this package. ``None`` when ``$ABLY_JS_PATH`` is set but holds no
    bundle: a wrong setting is reported, never replaced by the shipped copy.
    """
    from pathlib import Path

    source = os.environ if environ is None else environ
    configured = source.get(ABLY_JS_ENV)
    if not configured:
        from importlib.resources import files

        return Path(str(files(__package__) / "static" / "ably.min.js"))
    path = (Path.cwd() if cwd is None else Path(cwd)) / configured
    if path.is_file():
        return path.resolve()
    found = None
    if path.is_dir():
        found = _bundle_in(path)
        if found is None and path.name == "build":
            found = _bundle_in(path.parent.parent)
    return None if found is None else found.resolve()


def ably_js_response() -> AuthResponse:
    """ably-js's browser bundle, for the demo page's live panel (serve it at the page's
    ``ably_js_url``): the copy shipped with this package (ably-js 2.28.0), or the one
    ``$ABLY_JS_PATH`` names. 404, with a script that logs why, when ``$ABLY_JS_PATH``
    names no bundle."""
    found = find_ably_js()
    if found is None:
        message = f"${ABLY_JS_ENV} names no ably-js bundle (ably.min.js): fix or unset it"
        return AuthResponse(
            status=404,
            headers=(("Content-Type", "text/javascript; charset=utf-8"), _NO_STORE),
            body=f"console.error({message!r});".encode(),
        )
    return AuthResponse(
        status=200,
        headers=(("Content-Type", "text/javascript; charset=utf-8"), ("Cache-Control", "no-cache")),
        body=found.read_bytes(),
    )


# -- explain() of the panel's credential -----------------------------------------------------


def explain_response(
    key: ApiKey | KeyRing, credential: str | bytes, now: datetime | None
) -> AuthResponse:
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


# -- the clock button -------------------------------------------------------------------------

#: The furthest the clock button moves the emulator's clock in one go: a day.
_MAX_SKIP = 86_400


def clock_response(emulator: AblyEmulator | None, seconds: str | None) -> AuthResponse:
    """:meth:`AuthEndpoint.clock_response
    <ably_authkit.endpoint.AuthEndpoint.clock_response>`, for the endpoint's emulator."""
    from datetime import timedelta

    if emulator is None:
        return error_response(
            404,
            40400,
            "this app runs against no local emulator of its own, so there is no clock to move",
        )
    if (
        seconds is None
        or not (seconds.isascii() and seconds.isdigit() and len(seconds) <= 5)
        or not 1 <= int(seconds) <= _MAX_SKIP
    ):
        return error_response(
            400, 40003, f"seconds must be whole seconds from 1 to {_MAX_SKIP} (?seconds=N)"
        )
    now = emulator.advance(timedelta(seconds=int(seconds)))
    return _ok("application/json", _json_bytes({"now": to_ms(now)}))


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
    links: Mapping[str, str | None],
) -> AuthResponse:
    """The page of :meth:`AuthEndpoint.demo_page
    <ably_authkit.endpoint.AuthEndpoint.demo_page>` (401 when nobody is signed in).
    ``links``: ``ably_js_url``, ``explain_url``, ``page_url`` and ``clock_url``."""
    css = _Html(_template("demo.css"))
    if grant is None:
        body = _render("signed_out.html", user_header=user_header)
        return _page(_render("page.html", css=css, body=body), status=401)
    ably_js_url, page_url = links.get("ably_js_url"), links.get("page_url")
    live = _Html("")
    if ably_js_url is not None:
        live = _live_panel(auth, grant, auth_path, user_header, ably_js_url, links)
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
    ably_js_url: str,
    links: Mapping[str, str | None],
) -> _Html:
    """The live panel: ably-js connected through ``auth_path``, with the mode, user and
    lifetime to ask for, a timeline of credentials and what happened to the connection,
    a publish that the capability allows beside one it refuses (40160), and, with a
    ``clock_url``, a button that moves the emulator's clock to the next renewal."""
    refused = _refused_channel(grant)
    config = {
        "authPath": auth_path,
        "modes": list(_LIVE_MODES),
        "authHeaders": {user_header: grant.client_id or ""},
        "options": auth.client_options("ably-js"),
        "channel": "chat:lobby",
        "refusedChannel": refused,
        "grantTtlMs": grant.ttl // _ONE_MS,
        "explainUrl": links.get("explain_url"),
        "clockUrl": links.get("clock_url"),
    }
    return _render(
        "live.html",
        user=grant.client_id or "",
        refused_channel=refused or "",
        grant_ttl=describe(grant.ttl),
        ably_js_url=ably_js_url,
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
