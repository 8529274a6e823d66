// A long-lived ably-js peer for the Python tests: one JSON request per stdin line,
// one JSON answer per stdout line. Requests: {"id": n, "op": "...", "args": {...}}.
// Answers: {"id": n, "result": ...} or {"id": n, "error": {"message", "code", "statusCode"}}.
'use strict';
const readline = require('readline');
const Ably = require('ably');

// REST clients kept between calls, by the id the test gives them; each has a queue of
// credentials (TokenRequests or token strings) that its authCallback hands out in order.
const clients = new Map();

function restClient({ id, options, credentials }) {
  const queue = [...(credentials || [])];
  const state = { calls: 0, queue };
  const clientOptions = { ...options };
  if (credentials) {
    clientOptions.authCallback = (tokenParams, callback) => {
      state.calls += 1;
      if (!queue.length) return callback('no credential left in the test queue', null);
      callback(null, queue.shift());
    };
  }
  state.rest = new Ably.Rest(clientOptions);
  clients.set(id, state);
  return state;
}

const ops = {
  // ably-js's own TokenRequest (with c14n of the capability and its MAC).
  async createTokenRequest({ key, tokenParams }) {
    const rest = new Ably.Rest({ key, autoConnect: false });
    return await rest.auth.createTokenRequest(tokenParams, { key, queryTime: false });
  },
  // A REST client against an emulator: {id, options, credentials?}.
  async restCreate(args) {
    restClient(args);
    return true;
  },
  async restAddCredentials({ id, credentials }) {
    clients.get(id).queue.push(...credentials);
    return true;
  },
  async restPublish({ id, channel, name, data }) {
    await clients.get(id).rest.channels.get(channel).publish(name, data);
    return { callbackCalls: clients.get(id).calls };
  },
  async restHistory({ id, channel }) {
    const page = await clients.get(id).rest.channels.get(channel).history();
    return page.items.map((m) => ({ name: m.name, data: m.data, clientId: m.clientId }));
  },
  async restTime({ id }) {
    return await clients.get(id).rest.time();
  },
  async restClose({ id }) {
    const state = clients.get(id);
    clients.delete(id);
    if (state) state.rest.close && state.rest.close();
    return true;
  },
};

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const request = JSON.parse(line);
  let answer;
  try {
    answer = { id: request.id, result: await ops[request.op](request.args || {}) };
  } catch (err) {
    answer = { id: request.id, error: { message: String(err && err.message), code: err && err.code, statusCode: err && err.statusCode } };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
