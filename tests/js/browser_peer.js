// Headless Chromium (the Debian `chromium` package) driven by playwright-core, for the
// Python tests, over the pipe protocol of serve.js. One page per process. Requests:
// open {url, userDataDir, executablePath}, text {selector}, waitText {selector, text,
// timeoutMs}, count {selector}, waitCount {selector, count, timeoutMs}, click {selector},
// publish {text}, screenshot {path}, close.
'use strict';
const { chromium } = require('playwright-core');
const { serve } = require('./serve');

let context = null;
let page = null;
const consoleLines = [];

const ops = {
  async open({ url, userDataDir, executablePath }) {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1100, height: 1400 },
    });
    page = context.pages()[0] || (await context.newPage());
    page.on('console', (message) => consoleLines.push(message.type() + ': ' + message.text()));
    page.on('pageerror', (err) => consoleLines.push('pageerror: ' + err.message));
    const response = await page.goto(url, { waitUntil: 'load' });
    return { status: response.status() };
  },
  async text({ selector }) {
    return await page.textContent(selector);
  },
  async waitText({ selector, text, timeoutMs }) {
    try {
      await page.waitForFunction(
        ([sel, expected]) => {
          const element = document.querySelector(sel);
          return element !== null && element.textContent.includes(expected);
        },
        [selector, text],
        { timeout: timeoutMs || 10000, polling: 50 },
      );
    } catch (err) {
      const seen = await page.textContent(selector).catch(() => null);
      throw new Error(
        'timed out waiting for ' + JSON.stringify(text) + ' in ' + selector + ' (it shows ' +
          JSON.stringify(seen) + '); console: ' + JSON.stringify(consoleLines),
      );
    }
    return await page.textContent(selector);
  },
  async count({ selector }) {
    return await page.locator(selector).count();
  },
  async waitCount({ selector, count, timeoutMs }) {
    try {
      await page.waitForFunction(
        ([sel, expected]) => document.querySelectorAll(sel).length >= expected,
        [selector, count],
        { timeout: timeoutMs || 10000, polling: 50 },
      );
    } catch (err) {
      const events = await page.textContent('#events').catch(() => null);
      throw new Error(
        'timed out waiting for ' + count + ' of ' + selector + ' (events: ' +
          JSON.stringify(events) + '); console: ' + JSON.stringify(consoleLines),
      );
    }
    return await page.locator(selector).count();
  },
  async click({ selector }) {
    await page.click(selector);
    return true;
  },
  async publish({ text }) {
    await page.fill('#text', text);
    await page.click('#publish-allowed');
    return true;
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return path;
  },
  async console() {
    return consoleLines;
  },
  async close() {
    if (context) await context.close();
    context = null;
    return true;
  },
};

serve(ops, async () => {
  if (context) await context.close().catch(() => {});
  process.exit(0);
});
