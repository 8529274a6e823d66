// What the Node test peers share. Their pipe protocol: one JSON request per stdin line,
// {"id": n, "op": "...", "args": {...}}, one JSON answer per stdout line,
// {"id": n, "result": ...} or {"id": n, "error": {"message", "code", "statusCode"}}.
'use strict';
const readline = require('readline');

function errorOf(err) {
  return { message: String(err && err.message ? err.message : err), code: err && err.code, statusCode: err && err.statusCode };
}

// What `predicate` returns once it is truthy, polled every 20 ms; an error naming `what`
// after `timeoutMs`.
function waitFor(predicate, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const value = predicate();
      if (value) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting for ' + what));
      setTimeout(tick, 20);
    };
    tick();
  });
}

function serve(ops, onClose) {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const request = JSON.parse(line);
    let answer;
    try {
      answer = { id: request.id, result: await ops[request.op](request.args || {}) };
    } catch (err) {
      answer = { id: request.id, error: errorOf(err) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
  if (onClose) lines.on('close', onClose);
}

module.exports = { errorOf, serve, waitFor };
