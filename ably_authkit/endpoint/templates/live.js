// The demo page's live panel: ably-js connects through the app's authUrl (settings in the
// #demo-config JSON, filled in by ably_authkit/endpoint/demo.py).
// The countdown reads the Ably clock (client.time()), not the browser's: against an
// emulator whose clock a test moves, that is the one that counts. A connection is sent
// AUTH 30 s before its credential expires (Ably's rule, which the emulator follows; none
// for a credential of 30 s or less, which is renewed after its expiry), so that is when
// the countdown reaches zero.
(function () {
  const $ = (id) => document.getElementById(id);
  const DEMO = JSON.parse($('demo-config').textContent);
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
