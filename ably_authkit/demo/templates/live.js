// The demo page's live panel: ably-js connects through the app's authUrl, and the page draws
// what happens on a timeline. Its settings are the #demo-config JSON, filled in by
// ably_authkit/demo/page.py; the mode and lifetime come from the page's own URL
// (?mode=token&ttl=60s), set by the form above the panel.
//
// Times are on the Ably clock (client.time()), not the browser's: against an emulator whose
// clock is moved, that is the one credentials are issued on. Each event is placed with the
// clock offset measured just after it. Ably sends AUTH 30 s before a credential expires
// (none for a credential of 30 s or less: the connection is DISCONNECTED with 40142 at
// expiry, and ably-js renews and reconnects), so that is when the countdown reaches zero.
// The events list is kept in time order: an authUrl call is seen (PerformanceObserver)
// after the connection event it led to, and each event waits for its clock reading.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const DEMO = JSON.parse($('demo-config').textContent);
  if (typeof Ably === 'undefined') {
    $('state').textContent = 'ably-js not loaded';
    $('ably-js-failed').hidden = false;
    return;
  }

  // -- what to connect with: the page's ?mode= and ?ttl= ----------------------------------
  function parseDuration(text) {
    const match = /^(\d+)(ms|s|m|h)$/.exec(String(text || '').trim());
    if (!match) return null;
    const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 }[match[2]];
    return Number(match[1]) * unit || null;
  }
  const query = new URLSearchParams(location.search);
  const mode = DEMO.modes.indexOf(query.get('mode')) >= 0 ? query.get('mode') : 'jwt';
  const ttlText = query.get('ttl') || '';
  const ttlMs = parseDuration(ttlText);
  $('mode').value = mode;
  if (ttlMs && !Array.from($('ttl').options).some((option) => option.value === ttlText)) {
    $('ttl').add(new Option(ttlText, ttlText), 0);
  }
  $('ttl').value = ttlMs ? ttlText : '';
  const authPath = DEMO.authPath + '/' + mode;
  const authUrl = new URL(authPath, location.href);
  $('auth-url').textContent = authPath + (ttlMs ? '?ttl=' + ttlMs : '');

  const options = Object.assign({}, DEMO.options, {
    authUrl: authUrl.href,
    authHeaders: DEMO.authHeaders,
    fallbackHosts: [],
  });
  if (ttlMs) options.authParams = { ttl: String(ttlMs) }; // narrows the grant's ttl
  const client = new Ably.Realtime(options);
  window.demoClient = client;

  // -- the Ably clock ---------------------------------------------------------------------
  // The browser's clock: the one PerformanceObserver times the authUrl calls on.
  const browserNow = () => performance.timeOrigin + performance.now();
  let offset = 0; // Ably clock minus browser clock, in ms
  const events = []; // {at: browser ms, offset: ms or null until measured, kind, label}
  const credentials = []; // {token, kind, issued, expires}: Ably ms
  function ablyNow() {
    return browserNow() + offset;
  }
  function when(event) {
    return event.at + (event.offset === null ? offset : event.offset);
  }
  function sync() {
    return client.time().then((serverTime) => {
      offset = serverTime - browserNow();
      for (const event of events) if (event.offset === null) event.offset = offset;
      tick();
    }, () => {});
  }
  function clock(ms) {
    return new Date(ms).toISOString().slice(11, 19);
  }
  function minutes(ms) {
    const s = Math.floor(Math.max(0, ms) / 1000);
    return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
  }
  function plural(count, word) {
    return count + ' ' + word + (count === 1 ? '' : 's');
  }
  function listEvents() {
    const list = $('events');
    while (list.firstChild) list.removeChild(list.firstChild);
    // In the order they happened: by the browser's clock, which the emulator's moves do
    // not reorder (they only ever add to the offset). Each is shown on the Ably clock; a
    // reading taken a few ms off never shows an event before the one listed above it.
    const measured = events.filter((event) => event.offset !== null);
    measured.sort((a, b) => a.at - b.at);
    let shownAt = -Infinity;
    for (const event of measured) {
      shownAt = Math.max(shownAt, when(event));
      const item = document.createElement('li');
      item.className = event.kind;
      item.dataset.kind = event.kind;
      item.textContent = clock(shownAt) + '  ' + event.label;
      list.appendChild(item);
    }
  }
  function record(kind, label, at) {
    const event = { at: at || browserNow(), offset: null, kind, label };
    events.push(event);
    sync().then(listEvents);
  }

  // -- each call of the authUrl, as the browser saw it --------------------------------------
  if (typeof PerformanceObserver !== 'undefined') {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (new URL(entry.name).pathname === authUrl.pathname) {
          record('request', 'ably-js called ' + authPath, performance.timeOrigin + entry.startTime);
        }
      }
    }).observe({ type: 'resource', buffered: true });
  }

  // -- credentials --------------------------------------------------------------------------
  function claimsOf(token) {
    const parts = String(token).split('.');
    if (parts.length !== 3) return null;
    try {
      return JSON.parse(atob(parts[1].replace(/-/g, '+').replace(/_/g, '/')));
    } catch (err) {
      return null;
    }
  }
  function describe(details) {
    const claims = claimsOf(details.token);
    if (claims) {
      return {
        kind: 'Ably JWT', token: details.token, issued: claims.iat * 1000,
        expires: claims.exp * 1000, clientId: claims['x-ably-clientId'],
        capability: claims['x-ably-capability'],
      };
    }
    return {
      kind: 'Ably token', token: details.token, issued: details.issued,
      expires: details.expires, clientId: details.clientId, capability: details.capability,
    };
  }
  function renewalAt(credential) {
    const lifetime = credential.expires - (credential.issued || credential.expires);
    return credential.expires - (lifetime > 30000 ? 30000 : 0);
  }
  function show() {
    const details = client.auth.tokenDetails;
    if (!details) return;
    const latest = credentials[credentials.length - 1];
    if (latest && latest.token === details.token) return;
    const credential = describe(details);
    credentials.push(credential);
    credential.number = credentials.length;
    $('issued').textContent = credentials.length + ' issued';
    $('renewals').textContent = plural(credentials.length - 1, 'renewal');
    const token = String(credential.token);
    const capability = credential.capability;
    $('credential-asof').hidden = true;
    $('credential').textContent = [
      credential.kind + ' (' + token.slice(0, 12) + '...' + token.slice(-6) + ')',
      'clientId:    ' + (credential.clientId || '(none)'),
      'capability:  ' + (typeof capability === 'string' ? capability : JSON.stringify(capability)),
      'issued:      ' + new Date(credential.issued).toISOString(),
      'expires:     ' + new Date(credential.expires).toISOString(),
    ].join('\n');
    if (DEMO.explainUrl) {
      fetch(new URL(DEMO.explainUrl, location.href).href, { method: 'POST', body: token })
        .then((answer) => answer.text())
        .then((text) => {
          if (credentials[credentials.length - 1] !== credential) return;
          // explain()'s "(in ...)" count from the moment it was asked: say so; the line
          // above the box is the live one.
          $('credential-asof').textContent = 'explain() of it, as of ' + clock(ablyNow()) +
            ' on the Ably clock (its times are fixed; "in ..." counts from then):';
          $('credential-asof').hidden = false;
          $('credential').textContent = text;
        }, () => {});
    }
    sync();
  }

  // -- the connection -----------------------------------------------------------------------
  let connections = 0;
  client.connection.on((change) => {
    $('state').textContent = change.current;
    const reason = change.reason;
    $('reason').textContent = reason ? '(' + reason.code + ': ' + reason.message + ')' : '';
    if (change.previous === change.current) {
      // 'update' (ably-js 2 sets no event name on the change): a renewal in place (AUTH),
      // CONNECTED all along on the same connection.
      const before = credentials.length;
      show();
      const number = credentials.length > before ? ' with credential #' + credentials.length : '';
      record('renewed', 'renewed (same connection): AUTH' + number + ', the connection stays up');
      return;
    }
    if (['disconnected', 'suspended', 'failed'].indexOf(change.current) >= 0) {
      record('disconnected', change.current + (reason ? ' ' + reason.code + ': ' + reason.message : ''));
    }
    if (change.current === 'connected') {
      connections += 1;
      record('connected', connections === 1 ? 'connected' : 'reconnected (a new connection)');
      show();
    }
  });

  // -- the countdown and the clock button ----------------------------------------------------
  function renewsInPlace(credential) {
    return credential.expires - (credential.issued || credential.expires) > 30000;
  }
  function tick() {
    const credential = credentials[credentials.length - 1];
    if (credential && credential.expires) {
      const now = ablyNow();
      const inPlace = renewsInPlace(credential);
      $('countdown-label').textContent = inPlace ? 'renewal (AUTH) in' : 'expires in';
      $('countdown').textContent = minutes(renewalAt(credential) - now);
      $('countdown-note').textContent = inPlace
        ? ''
        : ' (30 s or less gets no AUTH: Ably disconnects at expiry, 40142, and ably-js reconnects with a new credential)';
      const left = credential.expires - now;
      $('credential-live').textContent = '#' + credential.number + ' ' + credential.kind +
        ': issued ' + clock(credential.issued) + ', expires ' + clock(credential.expires) +
        ' (Ably clock, UTC): ' + (left > 0 ? 'expires in ' + minutes(left) : 'expired');
    }
    draw();
  }
  setInterval(tick, 1000);
  if (DEMO.clockUrl) {
    $('skip').hidden = false;
    $('skip').addEventListener('click', () => {
      const credential = credentials[credentials.length - 1];
      if (!credential) return;
      const seconds = Math.ceil((renewalAt(credential) - 5000 - ablyNow()) / 1000);
      if (seconds < 1) return;
      const url = new URL(DEMO.clockUrl, location.href);
      url.searchParams.set('seconds', String(seconds));
      fetch(url.href, { method: 'POST' }).then((answer) => answer.json()).then((moved) => {
        offset = moved.now - browserNow();
        record('clock', "the emulator's clock moved " + seconds + ' s ahead');
      }, () => {});
    });
  }

  // -- the timeline ---------------------------------------------------------------------------
  const SVG = 'http://www.w3.org/2000/svg';
  const WIDTH = 1000;
  const HEIGHT = 170;
  const TOP = 16; // the top row holds the authUrl calls, so no other line hides them
  const LAST = 6; // credentials drawn
  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const key in attributes) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    $('timeline').appendChild(node);
    return node;
  }
  function draw() {
    const svg = $('timeline');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const shown = credentials.slice(-LAST);
    if (!shown.length) return;
    const now = ablyNow();
    // From the call of the authUrl that brought the first credential shown: it comes
    // before the credential's issue time (a JWT's iat is in whole seconds, too).
    let start = Math.min(shown[0].issued, now);
    for (const event of events) {
      const t = when(event);
      if (event.kind === 'request' && t < start && t >= shown[0].issued - 5000) start = t;
    }
    const end = Math.max(now, shown[shown.length - 1].expires) + 2000;
    const x = (t) => 10 + ((t - start) / (end - start)) * (WIDTH - 20);
    const row = (HEIGHT - TOP - 30) / LAST;
    shown.forEach((credential, i) => {
      const y = TOP + 2 + i * row;
      const number = credentials.length - shown.length + i + 1;
      element('rect', {
        class: 'credential', 'data-number': number, x: x(credential.issued), y: y,
        width: Math.max(2, x(credential.expires) - x(credential.issued)), height: row - 4,
      });
      const due = x(renewalAt(credential));
      element('line', { class: 'renewal-due', x1: due, x2: due, y1: y, y2: y + row - 4 });
      element('text', { x: x(credential.issued) + 4, y: y + row - 8 },
        '#' + number + ' ' + credential.kind + ', ' + Math.round((credential.expires - credential.issued) / 1000) + ' s');
    });
    for (const event of events) {
      if (['request', 'renewed', 'disconnected'].indexOf(event.kind) < 0) continue;
      const t = when(event);
      if (t < start) continue;
      if (event.kind === 'request') {
        // In the top row: a renewal comes a few ms after its authUrl call, on the same spot.
        element('line', { class: 'request', 'data-kind': 'request', x1: x(t), x2: x(t), y1: 1, y2: TOP });
        element('polygon', { class: 'request-mark', points: (x(t) - 5) + ',1 ' + (x(t) + 5) + ',1 ' + x(t) + ',9' });
        continue;
      }
      element('line', { class: event.kind, 'data-kind': event.kind, x1: x(t), x2: x(t), y1: TOP, y2: HEIGHT - 24 });
      if (event.kind === 'disconnected') {
        element('text', { x: x(t) + 3, y: HEIGHT - 28, fill: '#d33' }, event.label.split(':')[0]);
      }
    }
    element('line', { class: 'now', x1: x(now), x2: x(now), y1: TOP, y2: HEIGHT - 20 });
    element('text', { x: 10, y: HEIGHT - 6 }, clock(start));
    element('text', { x: WIDTH - 60, y: HEIGHT - 6 }, clock(end));
    element('text', { x: Math.min(x(now) + 3, WIDTH - 110), y: HEIGHT - 6 }, 'now ' + clock(now));
  }

  // -- publishing: one the capability allows, one it does not ----------------------------------
  const channel = client.channels.get(DEMO.channel);
  channel.subscribe((message) => {
    const item = document.createElement('li');
    item.textContent = (message.clientId || '?') + ': ' + message.data;
    $('messages').appendChild(item);
  });
  function result(kind, text) {
    const item = document.createElement('li');
    item.className = kind;
    item.textContent = text;
    $('publishes').appendChild(item);
  }
  function publishTo(name, text) {
    client.channels.get(name).publish('message', text).then(
      () => result('ok', 'published to ' + name + ': ' + JSON.stringify(text)),
      (err) => result('refused', 'refused on ' + name + ': Ably error ' + err.code + ' (' + err.message + ')'),
    );
  }
  $('send').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $('text').value || 'hello';
    $('text').value = '';
    publishTo(DEMO.channel, text);
  });
  if (DEMO.refusedChannel) {
    $('publish-refused').addEventListener('click', () => publishTo(DEMO.refusedChannel, $('text').value || 'hello'));
  } else {
    $('publish-refused').hidden = true;
  }
})();
