// An ably-js Realtime client for the Python tests, driven over a pipe: one JSON request
// per stdin line, one JSON answer per stdout line, as peer.js. Requests:
// {"id": n, "op": "...", "args": {...}}; answers {"id": n, "result": ...} or
// {"id": n, "error": {"message", "code", "statusCode"}}. One client per process.
'use strict';
const Ably = require('ably');
const { errorOf, serve, waitFor } = require('./serve');

let client = null;
const seen = { updates: 0, states: [], messages: [], presence: [], versions: [], annotations: [], summaries: [] };

const ops = {
  // {options}: ably-js ClientOptions (authUrl, endpoint, port, tls, useBinaryProtocol...).
  async connect({ options }) {
    await ops.open({ options });
    await client.connection.once('connected');
    return { connectionId: client.connection.id, clientId: client.auth.clientId };
  },
  // {options}: as connect, but returns at once (for connections that must fail).
  async open({ options }) {
    client = new Ably.Realtime({ ...options, autoConnect: false, logLevel: 0 });
    client.connection.on((change) => {
      seen.states.push({
        current: change.current,
        reason: change.reason ? errorOf(change.reason) : null,
      });
      if (change.current === 'connected' && change.previous === 'connected') seen.updates += 1;
    });
    client.connection.on('update', () => {
      seen.updates += 1;
    });
    client.connect();
    return true;
  },
  async attach({ channel }) {
    const chan = client.channels.get(channel);
    await chan.attach();
    return chan.state;
  },
  // {channel, options}: attach with ChannelOptions (params, modes); what was granted.
  async attachWith({ channel, options }) {
    const chan = client.channels.get(channel, options || {});
    await chan.attach();
    return { state: chan.state, modes: chan.modes, params: chan.params };
  },
  // {channel, options}: subscribe (as subscribe) with ChannelOptions; the ATTACHED state
  // change's hasBacklog (RTL2i) and reason (a non-fatal error, as rewind's 90004).
  async subscribeChange({ channel, options }) {
    const chan = client.channels.get(channel, options || {});
    const change = await chan.subscribe((m) => {
      seen.messages.push({ channel, name: m.name, data: m.data, clientId: m.clientId, connectionId: m.connectionId });
      seen.versions.push({ name: m.name, data: m.data, clientId: m.clientId, action: m.action, serial: m.serial, version: m.version });
    });
    return { hasBacklog: !!(change && change.hasBacklog), reason: change && change.reason ? errorOf(change.reason) : null };
  },
  // {channel, options}: attach with ChannelOptions; the state and hasBacklog (RTL2i).
  async attachChange({ channel, options }) {
    const chan = client.channels.get(channel, options || {});
    const change = await chan.attach();
    return { state: chan.state, hasBacklog: !!(change && change.hasBacklog) };
  },
  async detach({ channel }) {
    await client.channels.get(channel).detach();
    return client.channels.get(channel).state;
  },
  // {channel, options}: setOptions (RTL16: an attached channel re-attaches with them).
  async setOptions({ channel, options }) {
    await client.channels.get(channel).setOptions(options);
    return client.channels.get(channel).state;
  },
  async channelState({ channel }) {
    return client.channels.get(channel).state;
  },
  async subscribe({ channel }) {
    const chan = client.channels.get(channel);
    await chan.subscribe((m) => {
      seen.messages.push({ channel, name: m.name, data: m.data, clientId: m.clientId, connectionId: m.connectionId });
      // With the mutable-message fields, for waitAction.
      seen.versions.push({ name: m.name, data: m.data, clientId: m.clientId, action: m.action, serial: m.serial, version: m.version });
      if (m.action === 'message.summary') seen.summaries.push({ serial: m.serial, summary: m.annotations && m.annotations.summary });
    });
    return chan.state;
  },
  // {channel, options}: subscribe (which attaches) with ChannelOptions (params: occupancy...),
  // the listener in place before ATTACHED, so nothing sent right after it is missed.
  async subscribeWith({ channel, options }) {
    client.channels.get(channel, options || {});
    return await ops.subscribe({ channel });
  },
  // The messages named name seen (data, action), once there are at least count of them.
  async waitMessages({ name, count, timeoutMs }) {
    const named = () => seen.versions.filter((m) => m.name === name);
    await waitFor(() => named().length >= count, timeoutMs || 5000, count + ' messages ' + name);
    return named().map((m) => ({ name: m.name, data: m.data, action: m.action }));
  },
  async publish({ channel, name, data }) {
    await client.channels.get(channel).publish(name, data);
    return true;
  },
  // Mutable messages: publish's PublishResult (serials from the ACK), and
  // updateMessage / deleteMessage / appendMessage over the connection (RTL32).
  async publishSerials({ channel, name, data }) {
    return await client.channels.get(channel).publish(name, data);
  },
  async changeMessage({ channel, method, message, operation }) {
    return await client.channels.get(channel)[method](message, operation);
  },
  // Annotations (RTAN): subscribe (ably-js throws 93001 when the mode was not
  // granted), publish or delete over the connection, and what arrived.
  async subscribeAnnotations({ channel }) {
    const chan = client.channels.get(channel);
    await chan.annotations.subscribe((a) => {
      seen.annotations.push({
        channel, action: a.action, type: a.type, name: a.name, clientId: a.clientId,
        serial: a.serial, messageSerial: a.messageSerial, data: a.data,
      });
    });
    return chan.state;
  },
  async annotate({ channel, method, serial, annotation }) {
    await client.channels.get(channel).annotations[method](serial, annotation);
    return true;
  },
  async waitAnnotation({ name, action, timeoutMs }) {
    const found = (a) => a.name === name && a.action === (action || 'annotation.create');
    return await waitFor(() => seen.annotations.find(found), timeoutMs || 5000, 'annotation ' + name);
  },
  async annotationsSeen() {
    return seen.annotations;
  },
  async summaries({ serial }) {
    return seen.summaries.filter((m) => m.serial === serial);
  },
  async waitAction({ serial, action, timeoutMs }) {
    const found = (m) => m.serial === serial && m.action === action;
    return await waitFor(() => seen.versions.find(found), timeoutMs || 5000, action + ' of ' + serial);
  },
  // {channel, method, clientId?, data}: presence.enter/update/leave (method), or
  // enterClient/updateClient/leaveClient when clientId is given.
  async presence({ channel, method, clientId, data }) {
    const presence = client.channels.get(channel).presence;
    if (clientId !== undefined) await presence[method + 'Client'](clientId, data);
    else await presence[method](data);
    return true;
  },
  async presenceGet({ channel }) {
    const members = await client.channels.get(channel).presence.get();
    return members
      .map((m) => ({ action: m.action, clientId: m.clientId, connectionId: m.connectionId, data: m.data }))
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
  },
  async presenceSubscribe({ channel }) {
    const chan = client.channels.get(channel);
    await chan.presence.subscribe((m) => {
      seen.presence.push({ channel, action: m.action, clientId: m.clientId, connectionId: m.connectionId, data: m.data });
    });
    return chan.state;
  },
  // The presence events seen, once there are at least count of them.
  async waitPresence({ count, timeoutMs }) {
    await waitFor(() => seen.presence.length >= count, timeoutMs || 5000, count + ' presence events');
    return seen.presence;
  },
  async waitMessage({ name, timeoutMs }) {
    return await waitFor(() => seen.messages.find((m) => m.name === name), timeoutMs || 5000, 'message ' + name);
  },
  async waitUpdates({ count, timeoutMs }) {
    await waitFor(() => seen.updates >= count, timeoutMs || 5000, count + ' connection updates');
    return seen.updates;
  },
  async waitState({ state, timeoutMs }) {
    return await waitFor(() => seen.states.find((s) => s.current === state), timeoutMs || 5000, 'state ' + state);
  },
  async state() {
    return { state: client.connection.state, id: client.connection.id, updates: seen.updates, states: seen.states };
  },
  async close() {
    if (client) {
      client.close();
      await waitFor(() => ['closed', 'failed'].includes(client.connection.state), 5000, 'closed');
    }
    return true;
  },
};

serve(ops, () => {
  if (client) client.close();
  setTimeout(() => process.exit(0), 200);
});
