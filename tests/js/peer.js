// A long-lived ably-js peer for the Python tests, over the pipe protocol of serve.js.
'use strict';
const Ably = require('ably');
const { serve } = require('./serve');

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

function messageFields(m) {
  const { name, data, clientId, serial, action, version, extras } = m;
  return { name, data, clientId, serial, action, version, extras };
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
  // Mutable messages: publish's serials, getMessage, updateMessage / deleteMessage /
  // appendMessage (RSL15) and getMessageVersions, each message as its fields.
  async restPublishSerials({ id, channel, messages }) {
    return await clients.get(id).rest.channels.get(channel).publish(messages);
  },
  async restGetMessage({ id, channel, serial }) {
    return messageFields(await clients.get(id).rest.channels.get(channel).getMessage(serial));
  },
  async restChangeMessage({ id, channel, method, message, operation }) {
    return await clients.get(id).rest.channels.get(channel)[method](message, operation);
  },
  async restMessageVersions({ id, channel, serial }) {
    const page = await clients.get(id).rest.channels.get(channel).getMessageVersions(serial);
    return page.items.map(messageFields);
  },
  async restHistory({ id, channel }) {
    const page = await clients.get(id).rest.channels.get(channel).history();
    return page.items.map((m) => ({ name: m.name, data: m.data, clientId: m.clientId }));
  },
  // Every page of a history query, following next() to the end, and first()'s page.
  async restHistoryPages({ id, channel, params }) {
    let page = await clients.get(id).rest.channels.get(channel).history(params || {});
    const first = page;
    const pages = [];
    while (page) {
      pages.push(page.items.map((m) => m.name));
      page = page.hasNext() ? await page.next() : null;
    }
    return { pages, first: (await first.first()).items.map((m) => m.name) };
  },
  // REST presence: the set (params: limit, clientId, connectionId) or its history,
  // every page, each member as {action, clientId, connectionId, data}.
  async restPresence({ id, channel, history, params }) {
    const presence = clients.get(id).rest.channels.get(channel).presence;
    let page = await (history ? presence.history(params || {}) : presence.get(params || {}));
    const pages = [];
    while (page) {
      pages.push(
        page.items.map((m) => ({ action: m.action, clientId: m.clientId, connectionId: m.connectionId, data: m.data })),
      );
      page = page.hasNext() ? await page.next() : null;
    }
    return pages;
  },
  // Annotations (RSAN): publish or delete on a message by serial, and get's pages.
  async restAnnotate({ id, channel, method, serial, annotation }) {
    await clients.get(id).rest.channels.get(channel).annotations[method](serial, annotation);
    return true;
  },
  async restAnnotationPages({ id, channel, serial, params }) {
    let page = await clients.get(id).rest.channels.get(channel).annotations.get(serial, params || {});
    const pages = [];
    while (page) {
      const items = page.items.map((a) => ({
        action: a.action, type: a.type, name: a.name, clientId: a.clientId, count: a.count,
        data: a.data, serial: a.serial, messageSerial: a.messageSerial,
      }));
      pages.push({ items, hasNext: page.hasNext() });
      page = page.hasNext() ? await page.next() : null;
    }
    return pages;
  },
  // RestChannel#status (RSL8): the ChannelDetails.
  async restStatus({ id, channel }) {
    return await clients.get(id).rest.channels.get(channel).status();
  },
  async restMessageSummary({ id, channel, serial }) {
    const message = await clients.get(id).rest.channels.get(channel).getMessage(serial);
    return { action: message.action, summary: message.annotations && message.annotations.summary };
  },
  async restRequestToken({ id, tokenParams }) {
    return await clients.get(id).rest.auth.requestToken(tokenParams || null);
  },
  async restCallbackCalls({ id }) {
    return clients.get(id).calls;
  },
  async restStats({ id, params }) {
    const page = await clients.get(id).rest.stats(params || {});
    return { items: page.items, hasNext: page.hasNext(), isLast: page.isLast(), first: (await page.first()).items };
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

serve(ops);
