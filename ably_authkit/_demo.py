"""The demo page's live panel: ably-js in the browser, connected through the app's authUrl.

The panel needs ably-js's browser bundle, served by the app itself so that the demo runs
offline. :func:`find_ably_js` looks for it in a ``node_modules`` folder; when it is not
there the panel says how to add it (:data:`ABLY_JS_INSTALL`) instead of failing.
"""

from __future__ import annotations

import os
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["ABLY_JS_ENV", "ABLY_JS_INSTALL", "find_ably_js", "live_panel"]

#: One command, run where the app runs, that makes :func:`find_ably_js` find ably-js.
ABLY_JS_INSTALL = "npm install --prefix . ably@2"
#: Where ably-js is when it is neither in ./node_modules nor in tests/js/node_modules: a
#: bundle file, a ``node_modules`` folder, the ``ably`` package folder, or their parent.
ABLY_JS_ENV = "ABLY_JS_PATH"
_BUNDLES = ("ably.min.js", "ably.js")
_PLACES = (
    Path("node_modules"),
    Path("tests", "js", "node_modules"),  # the test suite's copy, in a checkout
)


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
        found = _bundle_in(base / place)
        if found is not None:
            return found.resolve()
    return None


def _script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element."""
    import json

    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def live_panel(
    *,
    client_id: str | None,
    auth_url_path: str,
    user_header: str,
    client_options: Mapping[str, Any],  # as ably-js spells them
    ably_js_url: str,
    ably_js_found: bool,
    explain_url: str | None = None,
) -> str:
    """The HTML of the live panel: connection state, current credential, countdown to its
    renewal, and a message box on ``chat:lobby``. With ``explain_url``, the credential is
    shown as the server's ``explain()`` of it (POSTed there), else decoded in the page."""
    from html import escape

    install = (
        "<p id=ably-js-missing><b>ably-js is not installed here</b>, so this page cannot "
        "connect. Add it with one command, run where this app runs, then reload:</p>"
        f"<pre>{escape(ABLY_JS_INSTALL)}</pre>"
    )
    head = (
        "<section id=live><h2>Live: ably-js in this page</h2>"
        "<p>Connects through <code>"
        f"{escape(auth_url_path)}</code> (the authUrl), which it calls again before the "
        "credential expires.</p>"
    )
    if not ably_js_found:
        return head + install + "</section>"
    config = {
        "authPath": auth_url_path,
        "authHeaders": {user_header: client_id or ""},
        "options": dict(client_options),
        "channel": "chat:lobby",
        "explainUrl": explain_url,
    }
    return (
        head + "<table>"
        "<tr><th>connection</th><td><b id=state>loading ably-js</b> <span id=reason></span>"
        "</td></tr>"
        "<tr><th>renewals</th><td id=renewals>0</td></tr>"
        "<tr><th>renewal in</th><td id=countdown>-</td></tr>"
        "</table>"
        "<h3>Current credential</h3><pre id=credential>none yet</pre>"
        "<h3>Messages on chat:lobby</h3>"
        "<form id=send><input id=text autocomplete=off placeholder='say something'>"
        " <button>Publish</button></form><ul id=messages></ul>"
        f"<div id=install hidden>{install}</div>"
        f"<script src='{escape(ably_js_url)}'></script>"
        f"<script>const DEMO = {_script_json(config)};\n{_PANEL_JS}</script></section>"
    )


# The panel's script. The countdown reads the Ably clock (client.time()), not the
# browser's: against an emulator whose clock a test moves, that is the one that counts.
# A connection is sent AUTH 30 s before its credential expires (Ably's rule, which the
# emulator follows; none for a credential of 30 s or less, which is renewed after its
# expiry), so that is when the countdown reaches zero.
_PANEL_JS = r"""
(function () {
  const $ = (id) => document.getElementById(id);
  if (typeof Ably === 'undefined') {
    $('state').textContent = 'ably-js not loaded';
    $('install').hidden = false;
    return;
  }
  const options = Object.assign({}, DEMO.options, {
    authUrl: new URL(DEMO.authPath, location.href).href,
    authHeaders: DEMO.authHeaders,
    fallbackHosts: [],
  });
  const client = new Ably.Realtime(options);
  window.demoClient = client;
  let offset = 0;
  let renewals = 0;
  let credential = null;

  function claimsOf(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) return null;
    try {
      return JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
    } catch (err) {
      return null;
    }
  }
  function capabilityText(capability) {
    return typeof capability === 'string' ? capability : JSON.stringify(capability);
  }
  function iso(ms) {
    return ms ? new Date(ms).toISOString().replace('.000Z', 'Z') : '?';
  }
  function describe(details) {
    const claims = claimsOf(details.token);
    let kind = 'Ably token';
    let issued = details.issued;
    let expires = details.expires;
    let clientId = details.clientId;
    let capability = details.capability;
    if (claims) {
      kind = 'Ably JWT';
      issued = claims.iat * 1000;
      expires = claims.exp * 1000;
      clientId = claims['x-ably-clientId'];
      capability = claims['x-ably-capability'];
    }
    return { kind, issued, expires, clientId, capability, token: details.token };
  }
  function show() {
    const details = client.auth.tokenDetails;
    if (!details) return;
    credential = describe(details);
    const token = String(credential.token);
    const shown = token;
    if (DEMO.explainUrl) {
      fetch(new URL(DEMO.explainUrl, location.href).href, { method: 'POST', body: token })
        .then((answer) => answer.text())
        .then((text) => {
          if (credential && credential.token === shown) $('credential').textContent = text;
        }, () => {});
    }
    $('credential').textContent = [
      credential.kind + ' (' + token.slice(0, 12) + '...' + token.slice(-6) + ')',
      'clientId:    ' + (credential.clientId || '(none)'),
      'capability:  ' + capabilityText(credential.capability),
      'issued:      ' + iso(credential.issued),
      'expires:     ' + iso(credential.expires),
    ].join('\n');
    client.time().then((serverTime) => { offset = serverTime - Date.now(); tick(); }, () => {});
  }
  function tick() {
    if (!credential || !credential.expires) return;
    const lifetime = credential.expires - (credential.issued || credential.expires);
    const margin = lifetime > 30000 ? 30000 : 0;
    const left = Math.max(0, credential.expires - margin - (Date.now() + offset));
    const s = Math.floor(left / 1000);
    const seconds = String(s % 60).padStart(2, '0');
    $('countdown').textContent = Math.floor(s / 60) + ' min ' + seconds + ' s';
  }
  setInterval(tick, 1000);

  client.connection.on((change) => {
    $('state').textContent = change.current;
    const reason = change.reason;
    $('reason').textContent = reason ? '(' + reason.code + ': ' + reason.message + ')' : '';
    if (change.current === 'connected') show();
  });
  client.connection.on('update', () => {
    renewals += 1;
    $('renewals').textContent = String(renewals);
    show();
  });

  const channel = client.channels.get(DEMO.channel);
  channel.subscribe((message) => {
    const item = document.createElement('li');
    item.textContent = (message.clientId || '?') + ': ' + message.data;
    $('messages').appendChild(item);
  });
  $('send').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value;
    if (!text) return;
    $('text').value = '';
    channel.publish('message', text).catch((err) => {
      $('reason').textContent = '(publish refused: ' + err.code + ')';
    });
  });
})();
"""
