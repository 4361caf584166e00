// Integration-test harness for the real duet-server binary over loopback.
//
//   startServer()       the binary as a child process: fresh temp DUET_DATA_DIR, PORT=0,
//                       HOST=127.0.0.1; resolves once it prints its listening line.
//   api()               one REST request (global fetch), always with a time limit.
//   register(), befriend(), users()
//                       accounts and contacts through the REST API.
//   Client              a signaling WebSocket (Node's own, --experimental-websocket) with
//                       next(type) / none() / closed(), every wait bounded in time.
//   rawHttp(), rawHttpExchange(), RawWebSocket
//                       bytes the standard clients refuse to send (un-normalised paths,
//                       malformed requests, invalid UTF-8 in a text frame).
//
// Nothing here prints: the server's stderr is kept in memory and appended to failure messages.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export { sleep };

// Resolves with null after `ms` without keeping the process alive: for Promise.race.
export function expiry(ms) {
  return sleep(ms, null, { ref: false });
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_BIN = path.resolve(REPO_ROOT, process.env.DUET_SERVER || 'build/native/duet-server');
export const PASSWORD = 'correct horse battery staple';

const START_TIMEOUT_MS = 15_000;
const DEFAULT_WAIT_MS = 3_000;

if (typeof WebSocket === 'undefined') {
  throw new Error('no global WebSocket: run node with --experimental-websocket');
}

// Servers still running when the test process exits are killed (a failed test must not
// leave a process behind).
const live = new Set();
process.on('exit', () => {
  for (const s of live) {
    try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ----- the server process ------------------------------------------------------------------

export class Server {
  constructor({ proc, root, dataDir, ownsRoot }) {
    this.proc = proc;
    this.root = root;
    this.dataDir = dataDir;
    this.ownsRoot = ownsRoot;
    this.port = 0;
    this.log = '';
    this.exit = null; // {code, signal} once exited
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  get base() { return `http://127.0.0.1:${this.port}`; }
  get wsUrl() { return `ws://127.0.0.1:${this.port}/api/socket`; }
  get alive() { return this.exit === null; }

  // The last lines of the server's stderr, for failure messages.
  tail(chars = 2000) { return this.log.slice(-chars); }

  // SIGTERM, then SIGKILL if it has not exited within `timeoutMs`.
  async stop(timeoutMs = 5000) {
    if (!this.alive) return this.exit;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited, expiry(timeoutMs)]);
    if (done) return done;
    this.proc.kill('SIGKILL');
    await this.exited;
    return { ...this.exit, forced: true };
  }

  async kill() {
    if (!this.alive) return this.exit;
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  // Throws if the server printed a sanitizer report (a build with -fsanitize=address,undefined
  // run through DUET_SERVER) or a crash.
  assertClean() {
    const m = /(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: \w+Sanitizer|terminate called|Segmentation fault)/.exec(this.log);
    if (m) throw new Error(`duet-server reported a problem:\n${this.log.slice(Math.max(0, m.index - 200), m.index + 4000)}`);
    if (this.exit?.signal && this.exit.signal !== 'SIGKILL' && this.exit.signal !== 'SIGTERM') {
      throw new Error(`duet-server died of ${this.exit.signal}:\n${this.tail()}`);
    }
  }

  // Stop the process, check it reported nothing, and remove its temp directory (unless the
  // caller owns it).
  async cleanup() {
    await this.stop(3000);
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
    this.assertClean();
  }
}

// Starts duet-server. `root` (a directory from makeRoot()) reuses a data directory, e.g. to
// restart on the same database; otherwise a fresh one is made and removed by cleanup().
export async function startServer({ env = {}, root } = {}) {
  const ownsRoot = !root;
  if (!root) root = await makeRoot();
  const dataDir = path.join(root, 'data');
  const proc = spawn(SERVER_BIN, [], {
    cwd: root, // main.cpp reads ./.env: keep the repository's out of the way
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: '0',
      HOST: '127.0.0.1',
      DUET_DATA_DIR: dataDir,
      DUET_WEB_DIR: path.join(root, 'web'),
      DUET_MODULE_DIR: path.join(root, 'module'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = new Server({ proc, root, dataDir, ownsRoot });
  live.add(server);
  const keep = (chunk) => {
    server.log += chunk.toString('utf8');
    if (server.log.length > 200_000) server.log = server.log.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  const listening = new Promise((resolve, reject) => {
    const onData = () => {
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(server.log);
      if (m) {
        proc.stderr.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    proc.stderr.on('data', (chunk) => { keep(chunk); onData(); });
    proc.once('error', (e) => reject(new Error(`cannot start ${SERVER_BIN}: ${e.message}`)));
    server.exited.then((x) => reject(new Error(
      `duet-server exited before listening (code ${x.code}, signal ${x.signal}):\n${server.tail()}`)));
  });
  try {
    server.port = await withTimeout(listening, START_TIMEOUT_MS, `duet-server listening line\n${server.tail()}`);
  } catch (e) {
    await server.kill();
    if (ownsRoot) await rm(root, { recursive: true, force: true });
    throw e;
  }
  return server;
}

// A temp directory holding data/ (the database), web/ (a tiny static site) and, beside it,
// a file the static server must never give out.
export async function makeRoot() {
  const root = await mkdtemp(path.join(tmpdir(), 'duet-it-'));
  await mkdir(path.join(root, 'web'));
  await writeFile(path.join(root, 'web', 'index.html'), '<!doctype html><title>duet</title>\n');
  await writeFile(path.join(root, 'secret.txt'), 'TOP-SECRET-OUTSIDE-WEB-ROOT\n');
  return root;
}

export async function removeRoot(root) {
  await rm(root, { recursive: true, force: true });
}

// ----- REST --------------------------------------------------------------------------------

// One request. `body` is sent as JSON, `raw` as is. Never throws on an HTTP status; the
// body is parsed as JSON when it is JSON.
export async function api(server, method, urlPath, { token, body, raw, headers = {}, timeoutMs = 5000 } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !h['content-type']) h['content-type'] = 'application/json';
  let res;
  let text;
  try {
    res = await fetch(server.base + urlPath, {
      method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message} ${e.cause?.code ?? ''}`;
    throw new Error(`${method} ${urlPath}: ${why}`, { cause: e });
  }
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: json, text };
}

// "METHOD path -> status body" for assertion messages.
export function show(r) {
  return `${r.status} ${r.text?.slice(0, 300)}`;
}

export async function healthy(server) {
  const r = await api(server, 'GET', '/healthz');
  if (r.status !== 200 || r.body?.status !== 'ok') {
    throw new Error(`GET /healthz -> ${show(r)}\n${server.tail()}`);
  }
  return true;
}

let userCounter = 0;
const runTag = crypto.randomBytes(3).toString('hex');

// A new account; { id, username, displayName, token, password }.
// The server still answers: GET /healthz, and a fresh WebSocket signs in as `user`.
export async function assertServing(server, user) {
  await healthy(server);
  const c = await Client.login(server, user, `${user.username}-check`);
  c.close();
}

export async function register(server, label = 'u') {
  const username = `${label.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12)}-${runTag}-${(++userCounter).toString(36)}`;
  const displayName = `${label} ${userCounter}`;
  const r = await api(server, 'POST', '/api/auth/register', {
    body: { username, password: PASSWORD, displayName }, timeoutMs: 20_000,
  });
  if (r.status !== 201) throw new Error(`register ${username}: ${show(r)}`);
  return { id: r.body.user.id, username, displayName: r.body.user.displayName, token: r.body.token, password: PASSWORD };
}

// Registers one account per label, a few at a time (each costs a password hash on one of
// the server's two workers, so a long queue would make single requests slow).
export async function users(server, ...labels) {
  const out = new Array(labels.length);
  let next = 0;
  const lane = async () => {
    while (next < labels.length) {
      const i = next++;
      out[i] = await register(server, labels[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(3, labels.length) }, lane));
  return out;
}

// a asks, b accepts: accepted contacts.
export async function befriend(server, a, b) {
  const asked = await api(server, 'POST', '/api/contacts', { token: a.token, body: { username: b.username } });
  if (asked.status !== 201) throw new Error(`contact request ${a.username} -> ${b.username}: ${show(asked)}`);
  const accepted = await api(server, 'POST', `/api/contacts/${a.id}/accept`, { token: b.token });
  if (accepted.status !== 200) throw new Error(`contact accept by ${b.username}: ${show(accepted)}`);
}

// The call record as `user` sees it (GET /api/calls/{id}); any answer but 200 fails the test.
export async function getCall(server, user, id) {
  const r = await api(server, 'GET', `/api/calls/${id}`, { token: user.token });
  if (r.status !== 200) throw new Error(`GET /api/calls/${id} as ${user.username}: ${show(r)}`);
  return r.body;
}

// ----- WebSocket ---------------------------------------------------------------------------

// A minimal session description, for tests where its content does not matter.
export const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

export function callId(label = 'c') {
  return `${label}-${crypto.randomBytes(12).toString('hex')}`;
}

export class Client {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.inbox = [];    // messages not yet taken by next()
    this.seen = [];     // the type of every message received, for failure messages
    this.waiters = new Set();
    this.closeInfo = null;
    this.closedPromise = new Promise((resolve) => {
      ws.addEventListener('close', (e) => {
        this.closeInfo = { code: e.code, reason: e.reason };
        for (const w of this.waiters) w.onClose();
        resolve(this.closeInfo);
      });
    });
    ws.addEventListener('message', (e) => this.#receive(e.data));
  }

  // Opens a socket (not signed in).
  static async open(server, label = 'ws', timeoutMs = DEFAULT_WAIT_MS) {
    const ws = new WebSocket(server.wsUrl);
    const client = new Client(ws, label);
    try {
      await withTimeout(new Promise((resolve, reject) => {
        ws.addEventListener('open', resolve, { once: true });
        ws.addEventListener('error', () => reject(new Error(`${label}: WebSocket to ${server.wsUrl} failed`)), { once: true });
      }), timeoutMs, `${label}: WebSocket open`);
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  // Opens a socket and signs in as `user`; resolves once auth:ok arrived.
  static async login(server, user, label = user.username) {
    const client = await Client.open(server, label);
    client.send({ type: 'auth', token: user.token });
    const ok = await client.next('auth:ok');
    if (ok.userId !== user.id) throw new Error(`${label}: auth:ok for ${ok.userId}, expected ${user.id}`);
    client.user = user;
    return client;
  }

  #receive(data) {
    let m;
    if (typeof data !== 'string') m = { type: '<binary>', data };
    else {
      try { m = JSON.parse(data); } catch { m = { type: '<not json>', text: data }; }
    }
    this.seen.push(m.type === 'error' ? `error:${m.code}` : m.type);
    for (const w of this.waiters) {
      if (w.match(m)) {
        w.resolve(m);
        return;
      }
    }
    this.inbox.push(m);
  }

  send(message) { this.ws.send(JSON.stringify({ v: 1, ...message })); }
  sendRaw(data) { this.ws.send(data); }

  // The next message of `type` (earlier ones of other types stay in the inbox), optionally
  // also satisfying `pred`. Fails clearly on timeout or when the socket closes first.
  next(type, timeoutMs = DEFAULT_WAIT_MS, pred = () => true) {
    const match = (m) => m.type === type && pred(m);
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (m) => { done(); resolve(m); },
        onClose: () => {
          done();
          reject(new Error(`${this.label}: socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) ` +
            `while waiting for "${type}"; received: ${this.recent()}`));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no "${type}" message within ${timeoutMs} ms; received: ${this.recent()}`));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(w); };
      if (this.closeInfo) return w.onClose();
      this.waiters.add(w);
    });
  }

  // The next error, asserting its code (and callId when given).
  async error(code, { timeoutMs = DEFAULT_WAIT_MS, ref, callId: id } = {}) {
    const e = await this.next('error', timeoutMs);
    const where = `${this.label}: error ${JSON.stringify(e)}`;
    if (e.code !== code) throw new Error(`${where}, expected code "${code}"`);
    if (ref !== undefined && e.ref !== ref) throw new Error(`${where}, expected ref "${ref}"`);
    if (id !== undefined && e.callId !== id) throw new Error(`${where}, expected callId "${id}"`);
    return e;
  }

  // Asserts that no message whose type is in `types` (all but presence when omitted) arrives
  // within `ms`, nor sits unread in the inbox.
  async none(ms = 300, types) {
    await sleep(ms);
    const bad = this.inbox.filter((m) => (types ? types.includes(m.type) : m.type !== 'presence'));
    if (bad.length) throw new Error(`${this.label}: expected no messages, got ${JSON.stringify(bad).slice(0, 600)}`);
  }

  // Round trip: a second auth is answered invalid_state (not counted as abuse by the hub),
  // so it proves the socket is served without touching any call.
  async ping(timeoutMs = DEFAULT_WAIT_MS) {
    this.send({ type: 'auth', token: this.user.token });
    return this.error('invalid_state', { timeoutMs, ref: 'auth' });
  }

  // Resolves with {code, reason} once the socket is closed.
  closed(timeoutMs = DEFAULT_WAIT_MS) {
    return withTimeout(this.closedPromise, timeoutMs, `${this.label}: socket close; received: ${this.recent()}`);
  }

  drop(type) { this.inbox = this.inbox.filter((m) => m.type !== type); }

  recent() {
    const s = this.seen.slice(-15).join(', ');
    return this.seen.length > 15 ? `(${this.seen.length - 15} more) ${s}` : s || '(nothing)';
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
  }
}

// ----- raw bytes ---------------------------------------------------------------------------

// Sends `request` as is over TCP and reads the response until the server closes or
// Content-Length bytes of body arrived. { status, headers, body, raw }.
export function rawHttp(server, request, timeoutMs = 3000) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const finish = () => {
      socket.destroy();
      const text = buf.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, head < 0 ? text.length : head).split('\r\n');
      const status = Number(/^HTTP\/1\.\d (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
      }
      const body = head < 0 ? '' : buf.subarray(head + 4).toString('utf8');
      resolve({ status, headers, body, raw: text });
    };
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const text = buf.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, head))?.[1];
      if (head >= 0 && len !== undefined && buf.length >= head + 4 + Number(len)) finish();
    });
    socket.on('end', finish);
    socket.on('error', (e) => (buf.length ? finish() : reject(e)));
    socket.write(request);
  }), timeoutMs, `raw HTTP request ${JSON.stringify(request.slice(0, 60))}`);
}

// Sends `request` (a string or bytes, written in one go) and resolves with everything the
// server sent, as latin1 text, once it closed the connection: for several answers on one
// connection, or an answer whose framing is what is being tested.
export function rawHttpExchange(server, request, timeoutMs = 3000) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    socket.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    socket.on('close', () => resolve(buf.toString('latin1')));
    socket.on('error', (e) => (buf.length ? undefined : reject(e)));
    socket.write(request);
  }), timeoutMs, `raw HTTP exchange ${JSON.stringify(String(request).slice(0, 60))}`);
}

// A minimal RFC 6455 client for frames Node's WebSocket will not send (a text frame with
// invalid UTF-8, fragments, pings, unmasked frames). Collects the server's text messages, the
// payloads of its pongs, and its close code.
export class RawWebSocket {
  static async open(server, timeoutMs = DEFAULT_WAIT_MS) {
    const socket = net.connect(server.port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    const raw = new RawWebSocket(socket);
    raw.key = key;
    await withTimeout(new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => socket.write(
        `GET /api/socket HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
      raw.onHandshake = (status) => (status === 101 ? resolve() : reject(new Error(`handshake status ${status}`)));
    }), timeoutMs, 'raw WebSocket handshake');
    return raw;
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.upgraded = false;
    this.messages = [];
    this.pongs = [];
    this.closeCode = null;
    this.ended = new Promise((resolve) => {
      socket.on('close', () => resolve(this.closeCode));
      socket.on('error', () => {});
    });
    socket.on('data', (d) => this.#data(d));
  }

  #data(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.upgraded) {
      const head = this.buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      this.handshake = this.buf.toString('latin1', 0, head + 4);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.handshake)?.[1] ?? 0);
      this.buf = this.buf.subarray(head + 4);
      this.upgraded = true;
      this.onHandshake?.(status);
    }
    for (;;) {
      if (this.buf.length < 2) return;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (this.buf.length < 4) return; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) return; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      if (opcode === 0x1) this.messages.push(JSON.parse(payload.toString('utf8')));
      else if (opcode === 0xa) this.pongs.push(payload.toString('latin1'));
      else if (opcode === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.socket.end();
      }
    }
  }

  // One frame with `payload` bytes: masked and final unless told otherwise. Returns its bytes
  // (so a test can send several in one write) after writing them, unless `write` is false.
  sendFrame(opcode, payload, { fin = true, masked = true, write = true } = {}) {
    const first = (fin ? 0x80 : 0) | opcode;
    const maskBit = masked ? 0x80 : 0;
    let header;
    if (payload.length < 126) header = Buffer.from([first, maskBit | payload.length]);
    else if (payload.length < 65536) {
      header = Buffer.alloc(4);
      header[0] = first; header[1] = maskBit | 126; header.writeUInt16BE(payload.length, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = first; header[1] = maskBit | 127; header.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    const body = Buffer.from(payload);
    let frame = Buffer.concat([header, body]);
    if (masked) {
      const mask = crypto.randomBytes(4);
      for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
      frame = Buffer.concat([header, mask, body]);
    }
    if (write) this.socket.write(frame);
    return frame;
  }

  sendText(bytes) { this.sendFrame(0x1, Buffer.from(bytes)); }

  // Waits until a message satisfying `pred` arrived, or the connection ended.
  async waitFor(pred, timeoutMs = DEFAULT_WAIT_MS) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.messages.find(pred);
      if (m) return m;
      if (this.socket.destroyed) return undefined;
      await sleep(20);
    }
    return undefined;
  }

  // The close code once the connection ended (null: ended without a close frame).
  closed(timeoutMs = DEFAULT_WAIT_MS) { return withTimeout(this.ended, timeoutMs, 'raw WebSocket close'); }

  destroy() { this.socket.destroy(); }
}
