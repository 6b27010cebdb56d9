// What the console tests stand on: `hookline dev` on a free port, a local
// webhook receiver, Debian's Chromium, a wait on a condition, and an HMAC as
// receivers compute it.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const target = path.resolve(root, process.env.CARGO_TARGET_DIR ?? 'target');
export const shots = path.join(target, 'console-screenshots');
export const WAIT = Number(process.env.CONSOLE_WAIT_MS ?? 45_000);

/** `hookline dev` with loopback receivers allowed and retries a hundred times faster. */
export async function startPlatform() {
  const adminKey = `console-test-${randomBytes(12).toString('hex')}`;
  const log = createWriteStream(path.join(target, 'console-test-hookline.log'));
  const child = spawn(path.join(target, 'debug', 'hookline'), [
    'dev',
    '--template', path.join(root, 'template.yaml'),
    '--local-stack', `console-${randomBytes(4).toString('hex')}`,
    '--parameter', 'AllowedPrivateCidrs=127.0.0.1/32',
    // Its own empty emulator every run, and its state file kept out of the developer's.
    '--fresh', '--data-dir', path.join(target, 'console-test-data'),
  ], {
    cwd: root,
    env: { ...process.env, HOOKLINE_STATE_DIR: path.join(target, 'console-test-state'), HOOKLINE_PORT: '0', HOOKLINE_ADMIN_KEY: adminKey, HOOKLINE_RETRY_SCALE: '0.01' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let printed = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hookline dev did not start in 120 s; see ${log.path}`)), 120_000);
    child.stdout.on('data', (chunk) => {
      printed = (printed + chunk).slice(-4096);
      const found = /API:\s+(http:\/\/\S+)/.exec(printed);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`hookline dev exited (${code}); see ${log.path}`)));
  });
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
  return { url, adminKey, stop };
}

/**
 * A webhook receiver on 127.0.0.1 that answers `status` (200 until told
 * otherwise), or the status set for a path in `statusByPath`.
 */
export async function startReceiver() {
  const receiver = { status: 200, statusByPath: new Map(), received: [] };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      receiver.received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = receiver.statusByPath.get(req.url) ?? receiver.status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status < 300 ? '{"ok":true}' : '{"error":"the receiver is down for maintenance"}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.origin = `http://127.0.0.1:${server.address().port}`;
  receiver.url = `${receiver.origin}/hooks/hms`;
  receiver.close = () => new Promise((resolve) => server.close(resolve));
  return receiver;
}

/** Polls `check` until it answers something truthy; fails after `within` ms. */
export async function until(what, check, within = WAIT) {
  const deadline = Date.now() + within;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export const hmac = (key, text, encoding = 'hex') => createHmac('sha256', key).update(text).digest(encoding);

/**
 * Chromium on a new page, with the clipboard allowed for the platform's
 * origin; `problems` collects page errors and anything the CSP refused.
 */
export async function openBrowser(platform, contextOptions = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: platform.url });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  return { browser, page, problems };
}

/** A JSON client for the platform's API with its admin key: `{status, body}`. */
export function adminApi(platform) {
  return async (method, apiPath, body) => {
    const res = await fetch(`${platform.url}${apiPath}`, {
      method,
      headers: { authorization: `Bearer ${platform.adminKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

/** Posts `body` to a source as a provider would, HMS-signed with `secret`; answers the response. */
export function postSigned(platform, slug, secret, body) {
  const ts = Math.floor(Date.now() / 1000);
  return fetch(`${platform.url}/api/v1/webhooks/${slug}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hms-timestamp': String(ts),
      'x-hms-signature': `sha256=${hmac(secret, `${ts}.${body}`)}`,
    },
    body,
  });
}
