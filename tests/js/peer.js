// A long-lived ably-js peer for the Python tests: one JSON request per stdin line,
// one JSON answer per stdout line. Requests: {"id": n, "op": "...", "args": {...}}.
// Answers: {"id": n, "result": ...} or {"id": n, "error": {"message", "code", "statusCode"}}.
'use strict';
const readline = require('readline');
const Ably = require('ably');

const ops = {
  // ably-js's own TokenRequest (with c14n of the capability and its MAC).
  async createTokenRequest({ key, tokenParams }) {
    const rest = new Ably.Rest({ key, autoConnect: false });
    return await rest.auth.createTokenRequest(tokenParams, { key, queryTime: false });
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
