// What the console tests stand on: `hookline dev` on a free port, a local
// webhook receiver, a wait on a condition, and an HMAC as receivers compute it.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** A webhook receiver on 127.0.0.1 that answers `status` (200 until told otherwise). */
export async function startReceiver() {
  const receiver = { status: 200, received: [] };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      receiver.received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(receiver.status, { 'content-type': 'application/json' });
      res.end(receiver.status < 300 ? '{"ok":true}' : '{"error":"the receiver is down for maintenance"}');
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
