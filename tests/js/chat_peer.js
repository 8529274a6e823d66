// One Ably Chat user for the Python tests: an @ably/chat ChatClient over an ably-js
// Realtime client, in its own Node process, driven over the pipe protocol of peer.js
// (serve.js): one JSON request per stdin line, {"id": n, "op": "...", "args": {...}},
// one JSON answer per stdout line, {"id": n, "result": ...} or
// {"id": n, "error": {"message", "code", "statusCode"}}.
//
// `attach` subscribes to everything the room's options allow (messages, message reaction
// summaries and raw reactions, typing, room reactions, presence, occupancy) before it
// attaches, so nothing sent right after it is missed; `events` and `waitEvents` read what
// arrived, by room and kind. Dates are sent as milliseconds since the epoch.
'use strict';
const Ably = require('ably');
const { ChatClient } = require('@ably/chat');
const { errorOf, serve, waitFor } = require('./serve');

let realtime = null;
let chat = null;
// room name -> { room, kinds: {message: [], typing: [], ...}, history: historyBeforeSubscribe }
const rooms = new Map();
// Errors @ably/chat raised where nobody awaited them (say, historyBeforeSubscribe's
// attachSerial check on ATTACHED): kept for the `unhandled` op instead of ending the process.
const unhandled = [];
process.on('unhandledRejection', (err) => unhandled.push(errorOf(err)));

const ms = (date) => (date instanceof Date ? date.getTime() : date);

function messageOf(m) {
  return {
    serial: m.serial,
    clientId: m.clientId,
    text: m.text,
    timestamp: ms(m.timestamp),
    metadata: m.metadata,
    headers: m.headers,
    action: m.action,
    version: m.version && {
      serial: m.version.serial,
      timestamp: ms(m.version.timestamp),
      clientId: m.version.clientId,
      description: m.version.description,
      metadata: m.version.metadata,
    },
    reactions: m.reactions,
    userClaim: m.userClaim,
  };
}

function entry(name) {
  const found = rooms.get(name);
  if (!found) throw new Error('room ' + name + ' was not attached by this peer (call attach first)');
  return found;
}

function listen(name, room, options) {
  const kinds = { message: [], summary: [], raw: [], typing: [], reaction: [], presence: [], occupancy: [], status: [] };
  const record = (kind) => (event) => kinds[kind].push(event);
  const messages = room.messages.subscribe((event) =>
    kinds.message.push({ type: event.type, message: messageOf(event.message) }),
  );
  room.messages.reactions.subscribe((event) =>
    record('summary')({ type: event.type, messageSerial: event.messageSerial, reactions: event.reactions }),
  );
  if (options.messages && options.messages.rawMessageReactions) {
    room.messages.reactions.subscribeRaw((event) =>
      record('raw')({ type: event.type, timestamp: ms(event.timestamp), reaction: event.reaction }),
    );
  }
  room.typing.subscribe((event) =>
    record('typing')({
      type: event.type,
      currentlyTyping: [...event.currentlyTyping].sort(),
      change: { clientId: event.change.clientId, type: event.change.type, userClaim: event.change.userClaim },
    }),
  );
  room.reactions.subscribe((event) =>
    record('reaction')({
      type: event.type,
      name: event.reaction.name,
      clientId: event.reaction.clientId,
      metadata: event.reaction.metadata,
      headers: event.reaction.headers,
      isSelf: event.reaction.isSelf,
      createdAt: ms(event.reaction.createdAt),
      userClaim: event.reaction.userClaim,
    }),
  );
  if (!options.presence || options.presence.enableEvents !== false) {
    room.presence.subscribe((event) =>
      record('presence')({
        type: event.type,
        clientId: event.member.clientId,
        data: event.member.data,
        userClaim: event.member.userClaim,
      }),
    );
  }
  if (options.occupancy && options.occupancy.enableEvents) {
    room.occupancy.subscribe((event) => record('occupancy')({ type: event.type, occupancy: event.occupancy }));
  }
  room.onStatusChange((change) =>
    record('status')({
      current: change.current,
      previous: change.previous,
      error: change.error ? { code: change.error.code, statusCode: change.error.statusCode, message: change.error.message } : null,
    }),
  );
  rooms.set(name, { room, kinds, history: messages.historyBeforeSubscribe });
}

const ops = {
  // {options}: ably-js ClientOptions (authUrl, authHeaders, endpoint, port, tls...).
  async connect({ options }) {
    realtime = new Ably.Realtime({ ...options, logLevel: 0 });
    chat = new ChatClient(realtime, { logLevel: 'silent' });
    // Connected, or why not (a refused credential, the authUrl's 401...) as the error.
    await new Promise((resolve, reject) => {
      realtime.connection.once('connected', resolve);
      realtime.connection.once(['failed', 'disconnected', 'suspended'], (change) => reject(change.reason));
    });
    return { clientId: chat.clientId, connectionId: realtime.connection.id };
  },
  // {room, options}: rooms.get with RoomOptions ({occupancy: {enableEvents}, messages:
  // {rawMessageReactions}}), every subscription in place, then room.attach(); the status.
  async attach({ room: name, options }) {
    const room = await chat.rooms.get(name, options || {});
    if (!rooms.has(name)) listen(name, room, options || {});
    await room.attach();
    return room.status;
  },
  async status({ room }) {
    const { room: r } = entry(room);
    return { status: r.status, error: r.error ? { code: r.error.code, statusCode: r.error.statusCode } : null };
  },
  // Room statuses seen, in order, with the error that came with each.
  async statuses({ room }) {
    return entry(room).kinds.status;
  },
  async detach({ room }) {
    await entry(room).room.detach();
    return entry(room).room.status;
  },
  // Messages (CHA-M): send, history, historyBeforeSubscribe, update, delete.
  async send({ room, text, metadata, headers }) {
    return messageOf(await entry(room).room.messages.send({ text, metadata, headers }));
  },
  async history({ room, params }) {
    const page = await entry(room).room.messages.history(params || {});
    return page.items.map(messageOf);
  },
  async historyBeforeSubscribe({ room, params }) {
    const page = await entry(room).history(params || {});
    return page.items.map(messageOf);
  },
  // @ably/chat's own "history for listener with latest message serial": send each of
  // {texts}, read the first listener's historyBeforeSubscribe, then subscribe a second
  // listener on the attached room and read its historyBeforeSubscribe, which starts at
  // the channelSerial the sent messages' frames set (RTL15b).
  async sendThenSubscribe({ room, texts }) {
    const found = entry(room);
    const sent = [];
    for (const text of texts) sent.push(messageOf(await found.room.messages.send({ text })));
    const first = await found.history({ limit: 50 });
    const later = found.room.messages.subscribe(() => {});
    const second = await later.historyBeforeSubscribe({ limit: 50 });
    later.unsubscribe();
    return { sent, first: first.items.map(messageOf), second: second.items.map(messageOf) };
  },
  async update({ room, serial, text, metadata, headers, details }) {
    return messageOf(await entry(room).room.messages.update(serial, { text, metadata, headers }, details));
  },
  async delete({ room, serial, details }) {
    return messageOf(await entry(room).room.messages.delete(serial, details));
  },
  // Message reactions (CHA-MR): {room, serial, params: {name, type?, count?}}.
  async react({ room, serial, params }) {
    await entry(room).room.messages.reactions.send(serial, params);
    return true;
  },
  async unreact({ room, serial, params }) {
    await entry(room).room.messages.reactions.delete(serial, params);
    return true;
  },
  async clientReactions({ room, serial, clientId }) {
    return await entry(room).room.messages.reactions.clientReactions(serial, clientId);
  },
  // Presence (CHA-PR).
  async enter({ room, data }) {
    await entry(room).room.presence.enter(data);
    return true;
  },
  async leave({ room, data }) {
    await entry(room).room.presence.leave(data);
    return true;
  },
  async presenceGet({ room }) {
    const members = await entry(room).room.presence.get();
    return members
      .map((m) => ({ clientId: m.clientId, connectionId: m.connectionId, data: m.data }))
      .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
  },
  // Typing (CHA-T): keystroke, stop, and who is typing now.
  async keystroke({ room }) {
    await entry(room).room.typing.keystroke();
    return true;
  },
  async stopTyping({ room }) {
    await entry(room).room.typing.stop();
    return true;
  },
  async typingCurrent({ room }) {
    return [...entry(room).room.typing.current].sort();
  },
  // Room reactions (CHA-ER): {room, params: {name, metadata?, headers?}}.
  async roomReaction({ room, params }) {
    await entry(room).room.reactions.send(params);
    return true;
  },
  // Occupancy (CHA-O): the REST get, and the latest event's data (undefined: none yet).
  async occupancyGet({ room }) {
    return await entry(room).room.occupancy.get();
  },
  async occupancyCurrent({ room }) {
    const current = entry(room).room.occupancy.current;
    return current === undefined ? null : current;
  },
  // What arrived on {room} of {kind} (message, summary, raw, typing, reaction, presence,
  // occupancy, status).
  async events({ room, kind }) {
    return entry(room).kinds[kind];
  },
  // The events of {kind}, once one matches {match} (a subset of its fields, compared as
  // JSON); {timeoutMs} (default 5000). Fails if none does in time.
  async waitEvents({ room, kind, match, timeoutMs }) {
    const matches = (event) => Object.entries(match || {}).every(([k, v]) => JSON.stringify(pick(event, k)) === JSON.stringify(v));
    await waitFor(() => entry(room).kinds[kind].some(matches), timeoutMs || 5000, kind + ' ' + JSON.stringify(match));
    return entry(room).kinds[kind];
  },
  async unhandled() {
    return unhandled;
  },
  async connectionState() {
    return { state: realtime.connection.state, id: realtime.connection.id };
  },
  async close() {
    if (chat) await chat.dispose();
    if (realtime) {
      realtime.close();
      await waitFor(() => ['closed', 'failed'].includes(realtime.connection.state), 5000, 'closed');
    }
    return true;
  },
};

// pick(event, "message.clientId"): a dotted path into an event.
function pick(value, path) {
  return path.split('.').reduce((v, key) => (v === undefined || v === null ? undefined : v[key]), value);
}

serve(ops, () => {
  if (realtime) realtime.close();
  setTimeout(() => process.exit(0), 200);
});
