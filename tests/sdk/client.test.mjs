// The SDK (web/sdk/duet-client.mjs, as duet-server serves it at /sdk/) in headless Chromium
// against the real duet-server: two users in two browser contexts with fake camera and
// microphone call each other over loopback, and the core's decisions meet a real
// RTCPeerConnection, getUserMedia and WebSocket.
//   node --experimental-websocket --test --test-reporter=tap tests/sdk/client.test.mjs
// Needs build/native/duet-server (DUET_SERVER overrides) and build/wasm/module.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CHROMIUM_ARGS, launchChromium } from '../browser/chromium.mjs';
import { befriend, Client, makeRoot, PASSWORD, removeRoot, REPO_ROOT, startServer, users } from '../server/integration/harness.mjs';

const WAIT_MS = 15_000;    // one step of a call (ringing, connecting, ending) on a loaded machine
const CALL_LIMIT_MS = 90_000;
const SERVER_ENV = { DUET_WEB_DIR: path.join(REPO_ROOT, 'web'), DUET_MODULE_DIR: path.join(REPO_ROOT, 'build/wasm/module') };

// What every test page gets: the SDK imported from the server, and a few helpers the tests
// drive with page.evaluate(). `window.t` holds the client and what it reported.
const DRIVER = `
import { DuetClient } from '/sdk/duet-client.mjs';

// Counts the sockets the page opens: a refused token must not be tried again.
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) { super(...args); window.t.sockets++; }
};

// A transport of the developer's own: a plain WebSocket without reconnects, recording what it sent.
function ownTransport(url) {
  const ws = new WebSocket(url);
  const transport = {
    sent: [],
    onmessage: null, onopen: null, onclose: null,
    get connected() { return ws.readyState === WebSocket.OPEN; },
    send(text) { transport.sent.push(JSON.parse(text).type); ws.send(text); },
    close() { ws.close(); },
  };
  ws.onopen = () => transport.onopen?.();
  ws.onmessage = (e) => transport.onmessage?.(e.data);
  ws.onclose = (e) => transport.onclose?.({ code: e.code, reason: e.reason, willReconnect: false });
  return transport;
}

window.t = {
  DuetClient,
  client: null,
  states: [], refused: [], errors: [], presence: [], tones: [], connection: [], connectionStates: [], localTracks: [], sockets: 0,
  transport: null,
  async start(token, { ownSocket = false, autoAccept = false, ...options } = {}) {
    if (ownSocket) {
      t.transport = ownTransport(location.origin.replace(/^http/, 'ws') + '/api/socket');
      options.transport = t.transport;
    }
    const client = await DuetClient.create({ token, ...options });
    t.client = client;
    t.states.push(client.view);
    client.on('state', (view) => {
      t.states.push(view);
      // Accepting from inside a 'state' listener: the SDK must queue it, not re-enter the core.
      if (autoAccept && view.state === 'incoming' && view.mediaProblem === 'none') client.accept();
    });
    client.on('refused', (e) => t.refused.push(e));
    client.on('error', (e) => t.errors.push(e));
    client.on('presence', (p) => t.presence.push(p));
    client.on('tone', (tone) => t.tones.push(tone));
    client.on('connection', (c) => t.connection.push(c));
    client.on('connectionState', (c) => t.connectionStates.push({ ...c, error: c.error && { code: c.error.code, message: c.error.message } }));
    client.on('localStream', (stream) => {
      if (stream) t.localTracks.push(...stream.getTracks());
      document.getElementById('local').srcObject = stream;
    });
    client.on('remoteStream', (stream) => {
      const video = document.getElementById('remote');
      if (video.srcObject !== stream) video.srcObject = stream;
      if (stream) video.play().catch(() => {});
    });
    return client.userId;
  },
  async createError(options) {
    try {
      const client = await DuetClient.create(options);
      await client.close();
      return null;
    } catch (error) {
      return { code: error.code, message: error.message };
    }
  },
  async inbound() {
    const pc = t.client.peerConnection;
    if (!pc) return null;
    const out = { video: 0, audioPackets: 0, width: document.getElementById('remote').videoWidth };
    for (const s of (await pc.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.video = s.framesDecoded ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets = s.packetsReceived ?? 0;
    }
    return out;
  },
};
document.body.innerHTML = '<video id="local" autoplay playsinline muted></video><video id="remote" autoplay playsinline></video>';
window.driverReady = true;
`;

// A page on the server's origin (so /sdk/ and /api/ are same-origin) with the driver loaded.
async function openPage(context, server) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.location()?.url?.endsWith('/favicon.ico')) return; // the browser's own request
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${new URL(r.url()).pathname}`); });
  page.problems = problems;
  await page.goto(`${server.base}/healthz`);
  await page.addScriptTag({ type: 'module', content: DRIVER });
  await page.waitForFunction(() => window.driverReady === true, null, { timeout: WAIT_MS });
  return page;
}

const view = (page) => page.evaluate(() => window.t.client.view);
const states = (page) => page.evaluate(() => window.t.states.map((v) => v.state));

async function waitForState(page, state, what) {
  try {
    await page.waitForFunction((s) => window.t.client?.view?.state === s, state, { timeout: WAIT_MS });
  } catch {
    const seen = await page.evaluate(() => ({ states: window.t.states.map((v) => `${v.state}/${v.connection}`), last: window.t.client?.view, errors: window.t.errors }));
    assert.fail(`${what}: no state "${state}" within ${WAIT_MS} ms; saw ${JSON.stringify(seen)}; console: ${page.problems.join(' | ')}`);
  }
}

// framesDecoded of the remote video, sampled over a window; it must keep growing.
async function assertVideoFlows(page, who) {
  const first = await page.evaluate(() => window.t.inbound());
  await page.waitForTimeout(1500);
  const second = await page.evaluate(() => window.t.inbound());
  assert.ok(second.video > first.video && second.video - first.video >= 5,
    `${who}: remote video framesDecoded ${first.video} -> ${second.video} over 1.5 s`);
  assert.ok(second.width > 0, `${who}: the remote <video> has no picture (videoWidth ${second.width})`);
  assert.ok(second.audioPackets > 0, `${who}: no remote audio packets`);
}

describe('DuetClient in Chromium against duet-server', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ env: SERVER_ENV });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  test('create() signs in; a bad token is refused with code unauthenticated, by REST and by the socket', { timeout: 60_000 }, async () => {
    const [alice] = await users(server, 'Alice');
    const context = await browser.newContext();
    try {
      const page = await openPage(context, server);
      assert.equal(await page.evaluate((token) => window.t.start(token), alice.token), alice.id);
      assert.equal(await page.evaluate(() => window.t.client.connection), 'online');
      assert.equal(await page.evaluate(() => window.t.client.displayName), alice.displayName);
      assert.equal((await view(page)).state, 'idle');
      // GET /api/ice-servers answers 401 first ...
      const byRest = await page.evaluate(() => window.t.createError({ token: 'not-a-token' }));
      assert.equal(byRest?.code, 'unauthenticated', JSON.stringify(byRest));
      // ... and with the ICE servers given, the socket's auth refuses it.
      const bySocket = await page.evaluate(() => window.t.createError({ token: 'not-a-token', iceServers: [] }));
      assert.equal(bySocket?.code, 'unauthenticated', JSON.stringify(bySocket));
      const badConfig = await page.evaluate(() => window.t.createError({ token: 'x', iceServers: [], config: { ringTimeoutMs: 0 } }));
      assert.equal(badConfig?.code, 'bad_value', JSON.stringify(badConfig));
      // An intent the core refuses comes back as 'refused', and nothing changes.
      await page.evaluate(() => window.t.client.hangUp());
      assert.deepEqual(await page.evaluate(() => window.t.refused.map((r) => r.code)), ['not_found']);
      await page.evaluate(() => window.t.client.close());
      assert.equal(await page.evaluate(() => window.t.client.connection), 'offline');
      assert.deepEqual(await page.evaluate(() => window.t.connectionStates.map((c) => `${c.state} ${c.reason}`)), ['disconnected closed']);
      assert.equal(await page.evaluate(() => { try { window.t.client.hangUp(); } catch (e) { return e.code; } return null; }), 'closed');
    } finally {
      await context.close();
    }
  });

  test('a video call: A calls, B accepts, both talk with video flowing both ways, A hangs up', { timeout: CALL_LIMIT_MS }, async () => {
    const [alice, bob] = await users(server, 'Alice', 'Bob');
    await befriend(server, alice, bob);
    const contextA = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const contextB = await browser.newContext({ permissions: ['camera', 'microphone'] });
    try {
      const [a, b] = await Promise.all([openPage(contextA, server), openPage(contextB, server)]);
      await b.evaluate((token) => window.t.start(token, { autoAccept: true }), bob.token);
      await a.evaluate((token) => window.t.start(token), alice.token);
      // B is online: A heard it in the presence sent after sign-in.
      await a.waitForFunction((id) => window.t.client.presence[id] === 'online', bob.id, { timeout: WAIT_MS });

      const callId = await a.evaluate(({ id, name }) => window.t.client.call(id, { video: true, peerName: name }), { id: bob.id, name: bob.displayName });
      assert.match(callId, /^[A-Za-z0-9_-]{1,64}$/);
      await waitForState(a, 'active', 'A');
      await waitForState(b, 'active', 'B');

      const [viewA, viewB] = await Promise.all([view(a), view(b)]);
      assert.equal(viewA.callId, callId);
      assert.equal(viewB.callId, callId);
      assert.equal(viewA.peer, bob.id);
      assert.equal(viewB.peer, alice.id);
      assert.equal(viewB.peerName, alice.displayName); // the server filled in fromName
      assert.equal(viewA.callType, 'video');
      assert.equal(viewA.connection, 'connected');
      assert.equal(typeof viewA.startedAt, 'number');
      assert.ok((await states(b)).includes('incoming'), 'B never rang');
      assert.ok((await states(a)).includes('outgoing'));
      // A heard ringback, B the ringtone, and both were stopped.
      assert.deepEqual(await a.evaluate(() => window.t.tones), ['ringback', 'none']);
      assert.deepEqual(await b.evaluate(() => window.t.tones), ['ringtone', 'none']);

      await Promise.all([assertVideoFlows(a, 'A'), assertVideoFlows(b, 'B')]);

      // Muting reaches the other side through the core.
      await a.evaluate(() => window.t.client.setMicrophone(false));
      await b.waitForFunction(() => window.t.client.view.remoteAudioMuted === true, null, { timeout: WAIT_MS });
      assert.equal(await a.evaluate(() => window.t.client.localStream.getAudioTracks()[0].enabled), false);

      await a.evaluate(() => window.t.client.hangUp());
      await waitForState(a, 'ended', 'A');
      await waitForState(b, 'ended', 'B');
      assert.equal((await view(a)).endReason, 'hangup');
      assert.equal((await view(b)).endReason, 'hangup');
      for (const [page, who] of [[a, 'A'], [b, 'B']]) {
        const after = await page.evaluate(() => ({
          pc: window.t.client.peerConnection,
          local: window.t.client.localStream,
          remote: window.t.client.remoteStream,
          live: window.t.localTracks.filter((track) => track.readyState !== 'ended').length,
          tracks: window.t.localTracks.length,
          refused: window.t.refused,
          errors: window.t.errors,
        }));
        assert.equal(after.pc, null, `${who}: the peer connection is still there`);
        assert.equal(after.local, null, `${who}: the local stream is still there`);
        assert.equal(after.remote, null, `${who}: the remote stream is still there`);
        assert.ok(after.tracks >= 2, `${who}: camera and microphone were never opened`);
        assert.equal(after.live, 0, `${who}: ${after.live} camera or microphone tracks still live`);
        assert.deepEqual(after.refused, [], `${who}: refused intents`);
        assert.deepEqual(after.errors, [], `${who}: errors`);
        assert.deepEqual(page.problems, [], `${who}: console`);
      }

      // The same clients, a second call the other way: B calls A (audio), A declines.
      await b.evaluate((id) => window.t.client.call(id), alice.id);
      await waitForState(a, 'incoming', 'A, called back');
      assert.equal((await view(a)).callType, 'audio');
      await a.evaluate(() => window.t.client.reject());
      await b.waitForFunction(() => window.t.client.view.state === 'ended' && window.t.client.view.endReason === 'rejected', null, { timeout: WAIT_MS });
      assert.equal((await view(a)).endReason, 'rejected');
      assert.equal(await b.evaluate(() => window.t.client.localStream), null);

      await Promise.all([a.evaluate(() => window.t.client.close()), b.evaluate(() => window.t.client.close())]);
    } finally {
      await Promise.all([contextA.close(), contextB.close()]);
    }
  });

  test('the default transport reconnects after the server restarts, signs in again, and calls work', { timeout: CALL_LIMIT_MS }, async () => {
    const root = await makeRoot();
    let own = await startServer({ root, env: SERVER_ENV });
    const contextA = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const contextB = await browser.newContext({ permissions: ['camera', 'microphone'] });
    try {
      const [alice, bob] = await users(own, 'Alice', 'Bob');
      await befriend(own, alice, bob);
      const [a, b] = await Promise.all([openPage(contextA, own), openPage(contextB, own)]);
      await b.evaluate((token) => window.t.start(token, { autoAccept: true }), bob.token);
      await a.evaluate((token) => window.t.start(token), alice.token);

      // Same data directory (users, token secret) and same port: the socket comes back by itself.
      const { port } = own;
      await own.stop();
      await a.waitForFunction(() => window.t.client.connection === 'connecting', null, { timeout: WAIT_MS });
      own = await startServer({ root, env: { ...SERVER_ENV, PORT: String(port) } });
      for (const [page, who] of [[a, 'A'], [b, 'B']]) {
        await page.waitForFunction(() => window.t.client.connection === 'online', null, { timeout: WAIT_MS })
          .catch(() => assert.fail(`${who} did not sign in again`));
        const seen = await page.evaluate(() => ({ connection: window.t.connection, errors: window.t.errors.map((e) => e.code), states: window.t.connectionStates }));
        assert.deepEqual(seen.connection, ['connecting', 'online'], `${who}: ${JSON.stringify(seen)}`);
        assert.ok(seen.errors.every((code) => code === 'transport'), `${who}: ${JSON.stringify(seen)}`);
        // Tries 1, 2, ... while the server is down, each with its wait, then signed in.
        const tries = seen.states.slice(0, -1);
        assert.ok(tries.length >= 1 && tries.every((c, i) => c.state === 'reconnecting' && c.reason === 'dropped' && c.attempt === i + 1 && c.delayMs >= 250 && c.delayMs <= 15_000),
          `${who}: ${JSON.stringify(seen.states)}`);
        assert.deepEqual([seen.states.at(-1).state, seen.states.at(-1).reason], ['connected', 'signed_in']);
      }
      await a.evaluate((id) => window.t.client.call(id), bob.id);
      await waitForState(a, 'active', 'A after the restart');
      await waitForState(b, 'active', 'B after the restart');
      await b.evaluate(() => window.t.client.hangUp());
      await waitForState(a, 'ended', 'A');
      assert.equal((await view(a)).endReason, 'hangup');
      // The dropped connection made no noise but the 'transport' errors the client reported.
      for (const page of [a, b]) assert.deepEqual(page.problems.filter((p) => !p.includes('WebSocket')), []);
      await Promise.all([a.evaluate(() => window.t.client.close()), b.evaluate(() => window.t.client.close())]);
    } finally {
      await Promise.all([contextA.close(), contextB.close()]);
      await own.stop();
      own.assertClean();
      await removeRoot(root);
    }
  });

  test('a token the restarted server does not take ends the client as disconnected, unauthenticated, with no more tries', { timeout: 60_000 }, async () => {
    const first = await startServer({ env: SERVER_ENV });
    let second = null;
    const context = await browser.newContext();
    try {
      const [alice] = await users(first, 'Alice');
      const page = await openPage(context, first);
      await page.evaluate((token) => window.t.start(token), alice.token);
      // A new data directory on the same port: another token secret, and no Alice.
      await first.stop();
      second = await startServer({ env: { ...SERVER_ENV, PORT: String(first.port) } });
      await page.waitForFunction(() => window.t.client.connectionState.state === 'disconnected', null, { timeout: WAIT_MS })
        .catch(async () => assert.fail(`still ${JSON.stringify(await page.evaluate(() => window.t.connectionStates))}`));
      const end = await page.evaluate(() => window.t.connectionStates.at(-1));
      assert.equal(end.reason, 'unauthenticated', JSON.stringify(end));
      assert.equal(end.error?.code, 'unauthenticated');
      assert.equal(await page.evaluate(() => window.t.client.connection), 'offline');
      const sockets = await page.evaluate(() => window.t.sockets);
      await page.waitForTimeout(2_000); // longer than the first waits of the backoff
      assert.equal(await page.evaluate(() => window.t.sockets), sockets, 'the refused token was tried again');
      assert.equal(await page.evaluate(() => { try { window.t.client.call('u_x'); } catch (e) { return e.code; } return null; }), 'closed');
    } finally {
      await context.close();
      await first.cleanup();
      await second?.cleanup();
    }
  });

  test('camera denied: a video call ends at once as media_unavailable, and B hears nothing of it', { timeout: 60_000 }, async () => {
    const [alice, bob] = await users(server, 'Alice', 'Bob');
    await befriend(server, alice, bob);
    // Without fake-ui the per-context grants decide: microphone yes, camera no.
    const strict = await launchChromium({ args: CHROMIUM_ARGS.filter((arg) => arg !== '--use-fake-ui-for-media-stream') });
    const bobSocket = await Client.login(server, bob, 'bob');
    try {
      const context = await strict.newContext({ permissions: ['microphone'] });
      const a = await openPage(context, server);
      // This time over a transport of the developer's own.
      await a.evaluate((token) => window.t.start(token, { ownSocket: true }), alice.token);
      await a.evaluate((id) => window.t.client.call(id, { video: true }), bob.id);
      await waitForState(a, 'ended', 'A');
      const ended = await view(a);
      assert.equal(ended.endReason, 'media_unavailable');
      assert.equal(ended.mediaProblem, 'denied');
      assert.equal(ended.mediaProblemKind, 'video');
      assert.deepEqual(await states(a), ['idle', 'outgoing', 'ended']);
      // Nothing about the call left A: only the sign-in went out.
      assert.deepEqual(await a.evaluate(() => window.t.transport.sent), ['auth']);
      await bobSocket.none(1000);
      // The microphone that opened to find out which device failed was closed again.
      assert.equal(await a.evaluate(() => window.t.client.localStream), null);
      await a.evaluate(() => window.t.client.close());
      assert.deepEqual(a.problems, []);
    } finally {
      bobSocket.close();
      await strict.close();
    }
  });

  test('the minimal page of docs/sdk.md makes a call, and the docs show it as it is', { timeout: CALL_LIMIT_MS }, async () => {
    const docs = fs.readFileSync(path.join(REPO_ROOT, 'docs/sdk.md'), 'utf8');
    const blocks = [...docs.matchAll(/```(html|js)\n([\s\S]*?)```/g)].map((m) => m[2]);
    for (const file of ['index.html', 'minimal.mjs']) {
      const text = fs.readFileSync(path.join(REPO_ROOT, 'web/sdk/example', file), 'utf8');
      assert.ok(blocks.includes(text), `docs/sdk.md does not show web/sdk/example/${file} as it is`);
    }
    assert.ok(fs.readFileSync(path.join(REPO_ROOT, 'web/sdk/example/minimal.mjs'), 'utf8').split('\n').length <= 40);

    const [alice, bob] = await users(server, 'Alice', 'Bob');
    await befriend(server, alice, bob);
    const contexts = await Promise.all([0, 1].map(() => browser.newContext({ permissions: ['camera', 'microphone'] })));
    try {
      const [a, b] = await Promise.all(contexts.map((c) => c.newPage()));
      const problems = [];
      for (const page of [a, b]) page.on('pageerror', (e) => problems.push(e.message));
      for (const [page, user] of [[a, alice], [b, bob]]) {
        await page.goto(`${server.base}/sdk/example/`);
        await page.fill('input[name=username]', user.username);
        await page.fill('input[name=password]', PASSWORD);
        await page.click('#login button');
        await page.waitForSelector('#dial', { state: 'visible', timeout: WAIT_MS });
      }
      await a.fill('input[name=peer]', bob.id);
      await a.click('#dial button');
      await b.waitForSelector('#answer', { state: 'visible', timeout: WAIT_MS });
      assert.match(await b.textContent('#status'), new RegExp(`^incoming ${alice.displayName}`));
      await b.click('#answer');
      const status = (page, pattern) => page.waitForFunction((p) => new RegExp(p).test(document.getElementById('status').textContent), pattern, { timeout: WAIT_MS })
        .catch(async () => assert.fail(`status "${await page.textContent('#status')}" never matched ${pattern}`));
      await Promise.all([status(a, '^active '), status(b, '^active ')]);
      for (const page of [a, b]) {
        await page.waitForFunction(() => document.getElementById('remote').videoWidth > 0 && document.getElementById('local').videoWidth > 0, null, { timeout: WAIT_MS });
      }
      await a.click('#hangup');
      await Promise.all([status(a, '^ended .* hangup$'), status(b, '^ended .* hangup$')]);
      assert.equal(await a.isHidden('#hangup'), true);
      assert.deepEqual(problems, []);
    } finally {
      await Promise.all(contexts.map((c) => c.close()));
    }
  });
});
