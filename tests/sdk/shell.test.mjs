// The SDK's effect execution, in Node with the real duet-core and fake browser objects: a fake
// transport, getUserMedia, RTCPeerConnection and WebSocket. What a real browser makes hard to
// provoke is provoked here: every getUserMedia failure, devices that open after the call ended,
// late events of a closed peer connection, an intent from inside a listener, a socket that
// drops mid-call, a token that stops working. Also checks duet-client.d.ts against the class.
//   node --test --test-reporter=tap tests/sdk/shell.test.mjs
// DUET_MODULE_DIR (default build/wasm/module) says where the built module is.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, before, describe, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { DuetClient, mediaProblemOf, WebSocketTransport } from '../../web/sdk/duet-client.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const moduleDir = path.resolve(root, process.env.DUET_MODULE_DIR ?? 'build/wasm/module');

// Lets promise chains and queued callbacks run.
async function settle(rounds = 5) {
  for (let i = 0; i < rounds; i++) await tick();
}

// ----- Fakes --------------------------------------------------------------------------------------

class FakeTrack extends EventTarget {
  constructor(kind) {
    super();
    this.kind = kind;
    this.enabled = true;
    this.readyState = 'live';
    this.contentHint = '';
  }
  // Like the browser's: stop() fires no 'ended'.
  stop() { this.readyState = 'ended'; }
  // The browser's side: the track ends by itself (the user clicked the browser's "Stop sharing").
  end() {
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }
}

class FakeStream {
  constructor(tracks = []) { this.tracks = tracks; }
  addTrack(track) { this.tracks.push(track); }
  getTracks() { return [...this.tracks]; }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === 'audio'); }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === 'video'); }
}

function domError(name) {
  const error = new Error(`${name} (fake)`);
  error.name = name;
  return error;
}

// getUserMedia that answers from a script: each call takes the next step, a function of the
// constraints returning the stream or throwing; `hold` makes the next call wait until released.
// getDisplayMedia the same, with its own script and streams; while `displayHeld`, each call waits
// in `displayPending` until the test calls the function there.
class FakeMediaDevices {
  constructor() {
    this.requests = [];
    this.script = [];
    this.streams = [];
    this.displayRequests = [];
    this.displayScript = [];
    this.displayStreams = [];
    this.displayHeld = false;
    this.displayPending = [];
  }
  getDisplayMedia(options) {
    this.displayRequests.push(options);
    const step = this.displayScript.shift() ?? 'grant';
    const answer = () => {
      if (step !== 'grant') throw domError(step);
      const stream = new FakeStream([new FakeTrack('video')]);
      this.displayStreams.push(stream);
      return stream;
    };
    if (this.displayHeld) {
      return new Promise((resolve, reject) => {
        this.displayPending.push(() => { try { resolve(answer()); } catch (e) { reject(e); } });
      });
    }
    return new Promise((resolve) => resolve(answer()));
  }
  getUserMedia(constraints) {
    this.requests.push(constraints);
    const step = this.script.shift() ?? 'grant';
    const answer = () => {
      if (step === 'grant') {
        const tracks = [];
        if (constraints.audio) tracks.push(new FakeTrack('audio'));
        if (constraints.video) tracks.push(new FakeTrack('video'));
        const stream = new FakeStream(tracks);
        this.streams.push(stream);
        return stream;
      }
      throw domError(step);
    };
    if (this.held) {
      return new Promise((resolve, reject) => {
        this.release = () => { try { resolve(answer()); } catch (e) { reject(e); } };
      });
    }
    return new Promise((resolve) => resolve(answer()));
  }
}

class FakeTransceiver {
  constructor(kind, direction) {
    this.direction = direction;
    this.currentDirection = null;
    this.receiver = { track: new FakeTrack(kind) };
    this.sender = { track: null, replaceTrack: async (track) => { this.sender.track = track; } };
  }
}

class FakePeerConnection {
  static all = [];
  constructor(config) {
    this.config = config;
    this.transceivers = [];
    this.calls = [];
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.closed = false;
    FakePeerConnection.all.push(this);
  }
  static get last() { return FakePeerConnection.all.at(-1); }
  // A kind, or a track to send (the transceiver then starts with it).
  addTransceiver(trackOrKind, init) {
    const track = typeof trackOrKind === 'string' ? null : trackOrKind;
    const transceiver = new FakeTransceiver(track ? track.kind : trackOrKind, init.direction);
    transceiver.sender.track = track;
    transceiver.init = init;
    this.transceivers.push(transceiver);
    return transceiver;
  }
  // A track to send on a new sendrecv transceiver (the browser may also reuse one a remote offer
  // made; these tests do not need that).
  addTrack(track) {
    const transceiver = this.addTransceiver(track, { direction: 'sendrecv' });
    transceiver.addedByTrack = true;
    return transceiver.sender;
  }
  getTransceivers() { return [...this.transceivers]; }
  // Like the browser's: the signaling state changes (with its event) before the promise resolves.
  async setLocalDescription() {
    this.calls.push('setLocalDescription');
    const type = this.signalingState === 'have-remote-offer' ? 'answer' : 'offer';
    this.localDescription = { type, sdp: `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=${type}\r\nt=0 0\r\n` };
    this.setSignaling(type === 'offer' ? 'have-local-offer' : 'stable');
  }
  async setRemoteDescription(description) {
    this.calls.push(`setRemoteDescription:${description.type}`);
    if (description.type === 'offer' && this.transceivers.length === 0) {
      this.transceivers.push(new FakeTransceiver('audio', 'recvonly'), new FakeTransceiver('video', 'recvonly'));
    }
    this.setSignaling(description.type === 'offer' ? 'have-remote-offer' : 'stable');
  }
  async addIceCandidate(candidate) {
    this.calls.push(`addIceCandidate:${candidate.candidate}`);
    if (candidate.candidate === 'bad') throw domError('OperationError');
  }
  restartIce() { this.calls.push('restartIce'); }
  close() { this.closed = true; }
  // The browser's side: change a state and fire its event.
  fire(name, event = {}) { this[`on${name}`]?.(event); }
  setSignaling(state) { this.signalingState = state; this.fire('signalingstatechange'); }
  setConnection(state) { this.connectionState = state; this.fire('connectionstatechange'); }
}

// A transport of the developer's own, recording what the client sent.
class FakeTransport {
  constructor({ connected = true } = {}) {
    this.connected = connected;
    this.sent = [];
    this.closed = false;
    this.onmessage = null;
    this.onopen = null;
    this.onclose = null;
  }
  send(text) {
    if (!this.connected) return false;
    this.sent.push(JSON.parse(text));
    return true;
  }
  close() { this.closed = true; }
  deliver(message) { this.onmessage(JSON.stringify({ v: 1, ...message })); }
  types() { return this.sent.map((m) => m.type); }
  take() { const sent = this.sent; this.sent = []; return sent; }
}

// setTimeout and setInterval under the test's control: tick(ms) runs what falls due, in order, and
// pending() counts what is still scheduled. The client reads the globals when it schedules, so
// installing the clock before an action puts that action's timers on it.
class FakeClock {
  constructor() {
    this.now = 0;
    this.timers = new Map(); // id -> { at, fn, every }
    this.nextId = 1;
    this.saved = { setTimeout, clearTimeout, setInterval, clearInterval };
    const schedule = (fn, ms, every) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.now + Math.max(0, Number(ms) || 0), fn, every });
      return id;
    };
    globalThis.setTimeout = (fn, ms) => schedule(fn, ms, null);
    globalThis.setInterval = (fn, ms) => schedule(fn, ms, Math.max(1, Number(ms) || 0));
    globalThis.clearTimeout = globalThis.clearInterval = (id) => { this.timers.delete(id); };
  }
  pending() { return this.timers.size; }
  tick(ms) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.now = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
    }
    this.now = end;
  }
  uninstall() { Object.assign(globalThis, this.saved); }
}

// A browser WebSocket for WebSocketTransport: opens on the next microtask unless told to fail;
// the test plays the server with receive() and drop().
function fakeWebSockets({ failing = false } = {}) {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedByClient = false;
      sockets.push(this);
      queueMicrotask(() => {
        if (this.readyState !== 0) return;
        if (failing) return this.drop(1006);
        this.readyState = 1;
        this.onopen?.();
      });
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close() { this.readyState = 3; this.closedByClient = true; }
    receive(message) { this.onmessage?.({ data: JSON.stringify({ v: 1, ...message }) }); }
    drop(code, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
  }
  return { sockets, FakeWebSocket };
}

function candidate(line) {
  const init = { candidate: line, sdpMid: '0', sdpMLineIndex: 0 };
  return { ...init, toJSON: () => init };
}

// ----- Setup --------------------------------------------------------------------------------------

let core;
let inside = false;
// The real core behind a Phone that fails the test if handle() is ever re-entered or given a
// time that is not Date.now()'s.
function guardedCore() {
  class GuardedPhone {
    constructor(selfId, configJson) { this.phone = new core.Phone(selfId, configJson); GuardedPhone.made.push(this); }
    configError() { return this.phone.configError(); }
    view() { return this.phone.view(); }
    handle(eventJson, nowMs) {
      assert.equal(inside, false, `handle() re-entered with ${eventJson}`);
      assert.ok(Number.isInteger(nowMs) && Math.abs(nowMs - Date.now()) < 1000, `nowMs ${nowMs}`);
      inside = true;
      try {
        return this.phone.handle(eventJson, nowMs);
      } finally {
        inside = false;
      }
    }
    delete() { this.deleted = true; this.phone.delete(); }
  }
  GuardedPhone.made = [];
  return { protocolVersion: () => core.protocolVersion(), checkMessage: (t) => core.checkMessage(t), Phone: GuardedPhone };
}

const clients = [];

// A signed-in client on a fake transport: { client, transport, media, log, events, core }.
async function signedIn({ userId = 'alice', config, connected = true, ...options } = {}) {
  const events = []; // every event the core was handed, in order
  const transport = new FakeTransport({ connected });
  const media = new FakeMediaDevices();
  const fakeCore = guardedCore();
  const creating = DuetClient.create({ token: 'token-1', server: 'https://duet.test', core: fakeCore, transport, mediaDevices: media, iceServers: [{ urls: 'stun:stun.test' }], config, trace: ({ event }) => events.push(event), ...options });
  await settle();
  if (!connected) {
    transport.connected = true;
    transport.onopen();
  }
  assert.deepEqual(transport.sent, [{ v: 1, type: 'auth', token: 'token-1', device: transport.sent[0]?.device }], 'the first frame is auth');
  assert.match(transport.sent[0].device, /^d-[0-9a-f-]{32,36}$/, 'auth names this client');
  transport.take();
  transport.deliver({ type: 'auth:ok', userId, displayName: 'Alice' });
  const client = await creating;
  clients.push(client);
  const log = [];
  for (const name of ['state', 'localStream', 'remoteStream', 'presence', 'refused', 'error', 'connection', 'connectionState', 'tone']) {
    client.on(name, (value) => log.push([name, value]));
  }
  return { client, transport, media, log, events, core: fakeCore };
}

// Dials and lets the devices open; returns the peer connection the call opened.
async function dialed(t, { video = true, peer = 'bob' } = {}) {
  const callId = t.client.call(peer, { video });
  await settle();
  const initiate = t.transport.sent.find((m) => m.type === 'call:initiate');
  assert.ok(initiate, `no call:initiate in ${JSON.stringify(t.transport.sent)}`);
  assert.equal(initiate.callId, callId);
  return { callId, pc: FakePeerConnection.last };
}

// Dials, is accepted and connects: the call is active, nothing is left in the sent frames.
async function activeCall(t, { video = true } = {}) {
  const { callId, pc } = await dialed(t, { video });
  t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
  await settle();
  pc.setConnection('connected');
  assert.equal(t.client.view.state, 'active');
  t.transport.take();
  return { callId, pc };
}

before(async () => {
  const { default: createDuetCore } = await import(pathToFileURL(path.join(moduleDir, 'duet-core.mjs')).href);
  core = await createDuetCore({ wasmBinary: fs.readFileSync(path.join(moduleDir, 'duet-core.wasm')) });
  globalThis.RTCPeerConnection = FakePeerConnection;
  globalThis.MediaStream = FakeStream;
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  FakePeerConnection.all = [];
});

// ----- Tests --------------------------------------------------------------------------------------

describe('signing in', () => {
  test('auth first, then auth:ok makes the phone; presence and errors outside calls become events', async () => {
    const t = await signedIn();
    assert.equal(t.client.userId, 'alice');
    assert.equal(t.client.displayName, 'Alice');
    assert.equal(t.client.connection, 'online');
    assert.equal(t.client.view.state, 'idle');
    t.transport.deliver({ type: 'presence', userId: 'bob', status: 'online' });
    t.transport.deliver({ type: 'error', code: 'rate_limited', message: 'slow down' });
    t.transport.deliver({ type: 'error', code: 'not_found', message: 'no such call', callId: 'c-old' }); // about a call: the core's
    t.transport.onmessage('not json at all'); // dropped without a sound
    assert.deepEqual(t.log, [
      ['presence', { userId: 'bob', status: 'online' }],
      ['error', { code: 'rate_limited', message: 'slow down' }],
    ]);
    assert.deepEqual(t.client.presence, { bob: 'online' });
  });

  test('a transport that is not open yet: auth goes out on onopen', async () => {
    const t = await signedIn({ connected: false });
    assert.equal(t.client.connection, 'online');
  });

  test('create() rejects: unauthenticated, a bad config before anything is sent, a timeout', async () => {
    const transport = new FakeTransport();
    const creating = DuetClient.create({ token: 'expired', server: 'https://duet.test', core: guardedCore(), transport, iceServers: [] });
    await settle();
    transport.deliver({ type: 'error', code: 'unauthenticated', message: 'token expired' });
    await assert.rejects(creating, (e) => e.code === 'unauthenticated' && /token expired/.test(e.message));
    assert.equal(transport.closed, true);

    const quiet = new FakeTransport();
    await assert.rejects(DuetClient.create({ token: 't', core: guardedCore(), transport: quiet, iceServers: [], server: 'https://duet.test', config: { ringTimeoutMs: 0 } }),
      (e) => e.code === 'bad_value' && /ringTimeoutMs/.test(e.message));
    await assert.rejects(DuetClient.create({ token: 't', core: guardedCore(), transport: quiet, iceServers: [], server: 'https://duet.test', config: { ringtimeout: 5 } }),
      (e) => e.code === 'bad_value');
    assert.deepEqual(quiet.sent, []);

    await assert.rejects(DuetClient.create({ token: 't', core: guardedCore(), transport: new FakeTransport(), iceServers: [], server: 'https://duet.test', timeoutMs: 30 }),
      (e) => e.code === 'timeout');
    await assert.rejects(DuetClient.create({ token: '', server: 'https://duet.test' }), (e) => e.code === 'bad_value');
    assert.throws(() => new DuetClient(), TypeError);
  });
});

describe('media', () => {
  test('mediaProblemOf maps DOMException names to the core\'s problems', () => {
    const table = {
      NotAllowedError: 'denied', SecurityError: 'denied', NotFoundError: 'not_found', OverconstrainedError: 'not_found',
      NotReadableError: 'in_use', AbortError: 'in_use', TypeError: 'other', InvalidStateError: 'other',
    };
    for (const [name, problem] of Object.entries(table)) assert.equal(mediaProblemOf(domError(name)), problem, name);
    assert.equal(mediaProblemOf(undefined), 'other');
  });

  for (const [name, problem] of [['NotAllowedError', 'denied'], ['NotFoundError', 'not_found'], ['NotReadableError', 'in_use'], ['TypeError', 'other']]) {
    test(`a video dial whose camera fails (${name}): the microphone alone is tried, then the call ends on the camera`, async () => {
      const t = await signedIn();
      t.media.script = [name, 'grant'];
      t.client.call('bob', { video: true });
      await settle();
      assert.deepEqual(t.media.requests, [{ audio: true, video: true }, { audio: true }]);
      assert.equal(t.media.streams[0].getTracks()[0].readyState, 'ended', 'the probe microphone is closed again');
      const view = t.client.view;
      assert.deepEqual([view.state, view.endReason, view.mediaProblem, view.mediaProblemKind], ['ended', 'media_unavailable', problem, 'video']);
      assert.deepEqual(t.transport.sent, [], 'nothing was sent');
      assert.equal(FakePeerConnection.all.length, 0);
    });
  }

  test('a video dial whose microphone fails too ends on the microphone, with its problem', async () => {
    const t = await signedIn();
    t.media.script = ['NotFoundError', 'NotAllowedError'];
    t.client.call('bob', { video: true });
    await settle();
    assert.deepEqual([t.client.view.mediaProblem, t.client.view.mediaProblemKind], ['denied', 'audio']);
  });

  test('an audio dial that fails is not retried', async () => {
    const t = await signedIn();
    t.media.script = ['NotReadableError'];
    t.client.call('bob');
    await settle();
    assert.deepEqual(t.media.requests, [{ audio: true, video: false }]);
    assert.deepEqual([t.client.view.mediaProblem, t.client.view.mediaProblemKind], ['in_use', 'audio']);
  });

  test('no mediaDevices at all (an insecure page): the call ends as media_unavailable, other', async () => {
    const t = await signedIn({ mediaDevices: {} });
    t.client.call('bob');
    await settle();
    assert.deepEqual([t.client.view.state, t.client.view.mediaProblem], ['ended', 'other']);
  });

  test('devices that open after the call was hung up are stopped at once and never reported', async () => {
    const t = await signedIn();
    t.media.held = true;
    t.client.call('bob', { video: true });
    await settle();
    t.client.hangUp();
    assert.equal(t.client.view.endReason, 'cancelled');
    t.media.release();
    await settle();
    const stream = t.media.streams[0];
    assert.ok(stream.getTracks().every((track) => track.readyState === 'ended'), 'late tracks still live');
    assert.equal(t.client.localStream, null);
    assert.ok(!t.log.some(([name, value]) => name === 'localStream' && value !== null));
    assert.deepEqual(t.transport.sent, []);
  });

  test('mute before the devices open: the tracks start disabled', async () => {
    const t = await signedIn();
    t.media.held = true;
    t.client.call('bob', { video: true });
    t.client.setMicrophone(false);
    t.media.release();
    await settle();
    const audio = t.client.localStream.getAudioTracks()[0];
    assert.equal(audio.enabled, false);
    assert.equal(t.client.localStream.getVideoTracks()[0].enabled, true);
    t.client.setCamera(false);
    assert.equal(t.client.localStream.getVideoTracks()[0].enabled, false);
  });
});

describe('the peer connection', () => {
  test('a caller: transceivers without tracks, offer, candidates, accept attaches tracks by kind, connected is active', async () => {
    const t = await signedIn();
    const { callId, pc } = await dialed(t);
    assert.deepEqual(pc.config, { iceServers: [{ urls: 'stun:stun.test' }] });
    assert.deepEqual(pc.transceivers.map((x) => [x.receiver.track.kind, x.direction, x.sender.track]), [['audio', 'sendrecv', null], ['video', 'sendrecv', null]]);
    t.transport.take();

    pc.fire('negotiationneeded');
    await settle();
    const [offer] = t.transport.take();
    assert.deepEqual([offer.type, offer.callId, offer.sdp.includes('s=offer')], ['call:offer', callId, true]);

    pc.fire('icecandidate', { candidate: candidate('candidate:1 1 udp 1 127.0.0.1 5000 typ host') });
    pc.fire('icecandidate', { candidate: candidate('') }); // end of a generation: not signaled
    pc.fire('icecandidate', { candidate: null }); // end of candidates: not signaled
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.candidate.candidate]), [['call:ice-candidate', 'candidate:1 1 udp 1 127.0.0.1 5000 typ host']]);

    t.transport.deliver({ type: 'call:ringing', from: 'bob', callId });
    assert.equal(t.log.filter(([n]) => n === 'tone').at(-1)[1], 'ringback');
    t.transport.deliver({ type: 'call:answer', from: 'bob', callId, sdp: 'v=0\r\ns=answer\r\n' });
    t.transport.deliver({ type: 'call:ice-candidate', from: 'bob', callId, candidate: { candidate: 'candidate:2 1 udp 1 127.0.0.1 6000 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    await settle();
    assert.deepEqual(pc.calls, ['setLocalDescription', 'setRemoteDescription:answer', 'addIceCandidate:candidate:2 1 udp 1 127.0.0.1 6000 typ host']);
    assert.ok(pc.transceivers.every((x) => x.sender.track === null), 'media flowed before the accept');

    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    await settle();
    const local = t.client.localStream;
    assert.equal(pc.transceivers[0].sender.track, local.getAudioTracks()[0]);
    assert.equal(pc.transceivers[1].sender.track, local.getVideoTracks()[0]);
    assert.equal(t.client.view.state, 'connecting');

    const track = new FakeTrack('video');
    pc.fire('track', { track });
    assert.deepEqual(t.client.remoteStream.getTracks(), [track]);
    pc.setConnection('connected');
    assert.equal(t.client.view.state, 'active');

    t.client.hangUp();
    assert.equal(pc.closed, true);
    assert.equal(t.client.peerConnection, null);
    assert.ok(local.getTracks().every((x) => x.readyState === 'ended'));
    assert.deepEqual(t.log.filter(([n]) => n === 'remoteStream').map(([, v]) => v === null), [false, true]);
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.reason]), [['call:end', 'hangup']]);

    // The closed connection's late events reach nobody.
    pc.setConnection('failed');
    pc.fire('icecandidate', { candidate: candidate('candidate:3 1 udp 1 127.0.0.1 7000 typ host') });
    pc.fire('negotiationneeded');
    await settle();
    assert.deepEqual(t.transport.sent, []);
    assert.equal(t.client.view.endReason, 'hangup');
  });

  test('a closed connection\'s late events do not reach the next call to the same peer', async () => {
    const t = await signedIn();
    const first = await dialed(t);
    t.client.hangUp();
    t.transport.take();
    const second = await dialed(t);
    assert.notEqual(second.pc, first.pc);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId: second.callId });
    t.transport.take();
    first.pc.setConnection('connected');
    first.pc.fire('icecandidate', { candidate: candidate('candidate:9 1 udp 1 127.0.0.1 9000 typ host') });
    first.pc.fire('track', { track: new FakeTrack('audio') });
    await settle();
    assert.equal(t.client.view.state, 'connecting', 'the old connection made the new call active');
    assert.deepEqual(t.transport.sent, [], 'the old connection\'s candidate went out for the new call');
    assert.equal(t.client.remoteStream, null);
    second.pc.setConnection('connected');
    assert.equal(t.client.view.state, 'active');
  });

  // Seen in Chromium when both sides restarted ICE at once: the impolite side ignores the
  // colliding offer, applies the answer to its own, and must then go on adding the polite
  // side's candidates (the W3C pattern: an answer ends the ignoring).
  test('after an offer collision, the impolite side adds the candidates that follow the answer', async () => {
    const t = await signedIn(); // alice is impolite towards bob ("alice" < "bob")
    const { callId, pc } = await dialed(t);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    pc.fire('negotiationneeded');
    await settle();
    t.transport.deliver({ type: 'call:answer', from: 'bob', callId, sdp: 'v=0\r\ns=answer\r\n' });
    await settle();
    pc.setConnection('connected');
    // Both restart at once: alice's new offer is out when bob's arrives.
    pc.restartIce();
    pc.fire('negotiationneeded');
    await settle();
    assert.equal(pc.signalingState, 'have-local-offer');
    t.transport.deliver({ type: 'call:offer', from: 'bob', callId, sdp: 'v=0\r\ns=bob-offer\r\n' }); // ignored: impolite
    t.transport.deliver({ type: 'call:answer', from: 'bob', callId, sdp: 'v=0\r\ns=answer-2\r\n' });
    await settle();
    assert.equal(pc.signalingState, 'stable');
    t.transport.deliver({ type: 'call:ice-candidate', from: 'bob', callId, candidate: { candidate: 'candidate:5 1 udp 1 127.0.0.1 5555 typ host', sdpMid: '0', sdpMLineIndex: 0 } });
    await settle();
    assert.ok(pc.calls.includes('addIceCandidate:candidate:5 1 udp 1 127.0.0.1 5555 typ host'), `not added: ${pc.calls.join(', ')}`);
  });

  test('a callee: preconnect answers while it rings with sendrecv transceivers; accept attaches tracks onto them', async () => {
    const t = await signedIn({ userId: 'bob' });
    t.transport.deliver({ type: 'call:initiate', from: 'alice', callId: 'c-1', to: 'bob', callType: 'video', fromName: 'Alice' });
    assert.deepEqual(t.transport.take().map((m) => m.type), ['call:ringing']);
    assert.equal(t.client.view.state, 'incoming');
    assert.equal(t.log.filter(([n]) => n === 'tone').at(-1)[1], 'ringtone');
    const pc = FakePeerConnection.last;
    assert.equal(pc.transceivers.length, 0);

    t.transport.deliver({ type: 'call:offer', from: 'alice', callId: 'c-1', sdp: 'v=0\r\ns=offer\r\n' });
    await settle();
    assert.deepEqual(pc.calls, ['setRemoteDescription:offer', 'setLocalDescription']);
    assert.ok(pc.transceivers.every((x) => x.direction === 'sendrecv'), 'makeAnswer sets sendrecv first');
    assert.deepEqual(t.transport.take().map((m) => m.type), ['call:answer']);
    assert.ok(pc.transceivers.every((x) => x.sender.track === null));

    t.client.accept();
    await settle();
    assert.deepEqual(t.transport.take().map((m) => m.type), ['call:accept']);
    const local = t.client.localStream;
    assert.deepEqual(pc.transceivers.map((x) => x.sender.track), [local.getAudioTracks()[0], local.getVideoTracks()[0]]);
    pc.setConnection('connected');
    assert.equal(t.client.view.state, 'active');
  });

  test('failed operations are reported to the core; a restart is carried out', async () => {
    const t = await signedIn();
    const { callId, pc } = await dialed(t);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    pc.setConnection('connected');
    pc.fire('negotiationneeded');
    await settle();
    t.transport.deliver({ type: 'call:answer', from: 'bob', callId, sdp: 'v=0\r\n' });
    await settle();
    t.transport.deliver({ type: 'call:ice-candidate', from: 'bob', callId, candidate: { candidate: 'bad', sdpMid: '0' } });
    await settle();
    assert.ok(pc.calls.includes('addIceCandidate:bad'));
    const failed = t.events.filter((e) => e.type === 'peerOperationFailed');
    assert.deepEqual(failed.map((e) => [e.peer, e.operation]), [['bob', 'addIceCandidate']]);
    assert.match(failed[0].message, /OperationError/);
    pc.setConnection('failed'); // the core restarts ICE at once
    assert.deepEqual(pc.calls.filter((c) => c === 'restartIce'), ['restartIce']);
    assert.equal(t.client.view.connection, 'reconnecting');
  });
});

describe('sharing the screen', () => {
  const screenOf = (t, i = -1) => t.media.displayStreams.at(i).getVideoTracks()[0];
  const mediaFrames = (t) => t.transport.take().filter((m) => m.type === 'call:media');

  test('shareScreen in an active call opens the picker before it returns and puts the screen on the camera\'s sender', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    const camera = t.client.localStream.getVideoTracks()[0];
    t.client.shareScreen();
    // Still inside the click's task: the browser's user gesture is still there.
    assert.deepEqual(t.media.displayRequests, [{ video: true, audio: false }]);
    await settle();
    const screen = screenOf(t);
    assert.equal(pc.transceivers[1].sender.track, screen);
    assert.equal(pc.transceivers[0].sender.track, t.client.localStream.getAudioTracks()[0]);
    assert.equal(screen.contentHint, 'detail');
    assert.equal(camera.readyState, 'live', 'the camera stays open to come back');
    assert.deepEqual(t.events.filter((e) => e.type.startsWith('screen')), [{ type: 'screenAcquired' }]);
    assert.deepEqual([t.client.view.screenSharing, t.client.view.screenProblem], [true, 'none']);
    assert.deepEqual(mediaFrames(t).map((m) => m.screenShared), [true]);
    assert.equal(pc.transceivers.length, 2, 'no transceiver added in a video call');
  });

  test('the browser\'s "Stop sharing" ends the track: screenEnded is reported and the camera goes back, still off if it was off', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    const camera = t.client.localStream.getVideoTracks()[0];
    t.client.setCamera(false);
    t.client.shareScreen();
    await settle();
    const screen = screenOf(t);
    assert.equal(pc.transceivers[1].sender.track, screen);
    t.transport.take();
    screen.end();
    await settle();
    assert.equal(t.events.at(-1).type, 'screenEnded');
    assert.equal(pc.transceivers[1].sender.track, camera);
    assert.equal(camera.enabled, false, 'the camera came back on');
    assert.equal(t.client.view.screenSharing, false);
    assert.deepEqual(mediaFrames(t).map((m) => m.screenShared ?? false), [false]);
  });

  test('shareScreen(false) stops the screen\'s tracks and puts the camera back', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    const camera = t.client.localStream.getVideoTracks()[0];
    t.client.shareScreen(true);
    await settle();
    const screen = screenOf(t);
    t.client.shareScreen(false);
    await settle();
    assert.equal(screen.readyState, 'ended');
    assert.equal(pc.transceivers[1].sender.track, camera);
    assert.equal(camera.enabled, true);
    assert.equal(t.client.view.screenSharing, false);
    screen.end(); // a late 'ended' of the stopped track reports nothing
    await settle();
    assert.ok(!t.events.some((e) => e.type === 'screenEnded'));
  });

  test('a picker the user closes reports screenFailed denied: the view says so and the camera stays on the sender', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    const camera = t.client.localStream.getVideoTracks()[0];
    t.media.displayScript = ['NotAllowedError'];
    t.client.shareScreen();
    await settle();
    assert.deepEqual(t.events.at(-1), { type: 'screenFailed', problem: 'denied' });
    assert.deepEqual([t.client.view.screenSharing, t.client.view.screenProblem, t.client.view.state], [false, 'denied', 'active']);
    assert.equal(pc.transceivers[1].sender.track, camera);
    assert.deepEqual(mediaFrames(t), []);
  });

  test('without getDisplayMedia canShareScreen is false, and a share fails as not_found', async () => {
    const devices = new FakeMediaDevices();
    devices.getDisplayMedia = undefined;
    const t = await signedIn({ mediaDevices: devices });
    assert.equal(t.client.canShareScreen, false);
    t.media = devices;
    await activeCall(t);
    t.client.shareScreen();
    await settle();
    assert.deepEqual(t.events.at(-1), { type: 'screenFailed', problem: 'not_found' });
    assert.equal(t.client.view.screenProblem, 'not_found');
  });

  test('canShareScreen: the client asks its own mediaDevices, DuetClient asks navigator.mediaDevices', async () => {
    const t = await signedIn();
    assert.equal(t.client.canShareScreen, true);
    assert.equal(DuetClient.canShareScreen, false, 'Node has no navigator.mediaDevices');
    Object.defineProperty(globalThis, 'navigator', { value: { mediaDevices: new FakeMediaDevices() }, configurable: true });
    try {
      assert.equal(DuetClient.canShareScreen, true);
      globalThis.navigator.mediaDevices.getDisplayMedia = undefined; // a phone
      assert.equal(DuetClient.canShareScreen, false);
    } finally {
      delete globalThis.navigator;
    }
  });

  test('in an audio call the screen goes out on a new video transceiver, and the negotiation it needs goes out', async () => {
    const t = await signedIn();
    const { callId, pc } = await activeCall(t, { video: false });
    assert.deepEqual(pc.transceivers.map((x) => x.receiver.track.kind), ['audio']);
    t.client.shareScreen();
    await settle();
    const screen = screenOf(t);
    assert.equal(pc.transceivers.length, 2);
    assert.equal(pc.transceivers[1].sender.track, screen);
    assert.equal(pc.transceivers[1].addedByTrack, true, 'added with addTrack, so a colliding offer from the other side reuses it');
    assert.equal(pc.transceivers[1].direction, 'sendrecv');
    assert.equal(pc.transceivers[0].sender.track, t.client.localStream.getAudioTracks()[0]);
    t.transport.take();
    pc.fire('negotiationneeded'); // what the browser does after addTrack
    await settle();
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.callId]), [['call:offer', callId]]);

    // Stopping leaves the transceiver without a track (an audio call has no camera); sharing
    // again reuses it, with no new negotiation.
    t.client.shareScreen(false);
    await settle();
    assert.equal(pc.transceivers[1].sender.track, null);
    t.client.shareScreen();
    await settle();
    assert.equal(pc.transceivers.length, 2);
    assert.equal(pc.transceivers[1].sender.track, screenOf(t));
  });

  test('a remote description applied while sharing leaves the screen on the sender', async () => {
    const t = await signedIn();
    const { callId, pc } = await activeCall(t, { video: false });
    t.client.shareScreen();
    await settle();
    const screen = screenOf(t);
    t.transport.deliver({ type: 'call:offer', from: 'bob', callId, sdp: 'v=0\r\ns=bob-offer\r\n' });
    await settle();
    assert.ok(pc.calls.includes('setRemoteDescription:offer'));
    assert.equal(pc.transceivers[1].sender.track, screen);
  });

  test('hanging up while sharing stops the screen track before the connection closes', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    t.client.shareScreen();
    await settle();
    const screen = screenOf(t);
    let screenAtClose;
    const close = pc.close.bind(pc);
    pc.close = () => { screenAtClose = screen.readyState; close(); };
    t.client.hangUp();
    assert.equal(screenAtClose, 'ended');
    assert.equal(pc.closed, true);
    assert.deepEqual([t.client.view.state, t.client.view.screenSharing], ['ended', false]);
    screen.end();
    await settle();
    assert.ok(!t.events.some((e) => e.type === 'screenEnded'));
  });

  test('close() while sharing stops the screen track', async () => {
    const t = await signedIn();
    await activeCall(t);
    t.client.shareScreen();
    await settle();
    await t.client.close();
    assert.equal(screenOf(t).readyState, 'ended');
  });

  test('a screen chosen after the call ended is stopped at once and not reported', async () => {
    const t = await signedIn();
    await activeCall(t);
    t.media.displayHeld = true;
    t.client.shareScreen();
    t.client.hangUp();
    t.media.displayPending.shift()();
    await settle();
    assert.equal(screenOf(t).readyState, 'ended');
    assert.ok(!t.events.some((e) => e.type.startsWith('screen')), JSON.stringify(t.events.filter((e) => e.type.startsWith('screen'))));
  });

  test('on, off and on again while the first picker is open: the first screen is stopped, the second goes out', async () => {
    const t = await signedIn();
    const { pc } = await activeCall(t);
    const camera = t.client.localStream.getVideoTracks()[0];
    t.media.displayHeld = true;
    t.client.shareScreen();
    t.client.shareScreen(false);
    t.client.shareScreen();
    assert.equal(t.media.displayRequests.length, 2);
    t.media.displayPending.shift()(); // the first picker answers first
    await settle();
    assert.equal(screenOf(t, 0).readyState, 'ended');
    assert.equal(t.client.view.screenSharing, false, 'the first screen was taken for the second');
    assert.equal(pc.transceivers[1].sender.track, camera);
    t.media.displayPending.shift()();
    await settle();
    assert.equal(screenOf(t, 1).readyState, 'live');
    assert.equal(pc.transceivers[1].sender.track, screenOf(t, 1));
    assert.equal(t.client.view.screenSharing, true);
    assert.deepEqual(t.events.filter((e) => e.type === 'screenAcquired').length, 1);
  });

  test('the other side\'s screen in an audio call: its video track joins the remote stream, which is emitted again', async () => {
    const t = await signedIn();
    const { callId, pc } = await activeCall(t, { video: false });
    const voice = new FakeTrack('audio');
    pc.fire('track', { track: voice });
    const stream = t.client.remoteStream;
    t.transport.deliver({ type: 'call:media', from: 'bob', callId, audioMuted: false, videoMuted: false, screenShared: true });
    assert.equal(t.client.view.remoteScreenShared, true);
    const screen = new FakeTrack('video'); // after the renegotiation bob's share started
    pc.fire('track', { track: screen });
    assert.equal(t.client.remoteStream, stream);
    assert.deepEqual(stream.getTracks(), [voice, screen]);
    const emitted = t.log.filter(([n]) => n === 'remoteStream').map(([, v]) => v);
    assert.deepEqual(emitted.length, 2);
    assert.ok(emitted.every((v) => v === stream));
    t.transport.deliver({ type: 'call:media', from: 'bob', callId, audioMuted: false, videoMuted: false });
    assert.equal(t.client.view.remoteScreenShared, false);
  });
});

describe('the queue, timers and the connection', () => {
  test('an intent from inside a state listener runs after the batch, never inside handle()', async () => {
    const t = await signedIn({ userId: 'bob' });
    t.client.on('state', (view) => { if (view.state === 'incoming') t.client.reject(); });
    t.transport.deliver({ type: 'call:initiate', from: 'alice', callId: 'c-2', to: 'bob', callType: 'audio' });
    assert.deepEqual(t.transport.take().map((m) => m.type), ['call:ringing', 'call:reject']);
    assert.deepEqual(t.log.filter(([n]) => n === 'state').map(([, v]) => v.state), ['incoming', 'ended']);
    assert.deepEqual(t.log.filter(([n]) => n === 'tone').map(([, v]) => v), ['ringtone', 'none']);
  });

  test('an intent from a listener of an effect in the middle of a batch waits for the rest of the batch', async () => {
    const t = await signedIn({ userId: 'bob' });
    // playTone comes before openPeer and publish in the batch of an incoming call.
    t.client.on('tone', (tone) => { if (tone === 'ringtone') t.client.reject(); });
    t.transport.deliver({ type: 'call:initiate', from: 'alice', callId: 'c-3', to: 'bob', callType: 'audio' });
    assert.deepEqual(t.log.filter(([n]) => n === 'state').map(([, v]) => v.state), ['incoming', 'ended']);
    assert.equal(t.client.view.state, 'ended');
    assert.equal(FakePeerConnection.last.closed, true, 'a peer connection was left open');
    assert.equal(t.client.peerConnection, null);
  });

  test('the core\'s timers run: an unanswered call times out and is cancelled', async () => {
    const t = await signedIn({ config: { ringTimeoutMs: 40 } });
    await dialed(t, { video: false });
    t.transport.take();
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(t.client.view.endReason, 'timeout');
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.reason]), [['call:cancel', 'timeout']]);
  });

  test('messages of a call made while the socket is down go out after the next auth:ok, in order', async () => {
    const t = await signedIn();
    const { callId } = await dialed(t, { video: false });
    t.transport.take();
    t.transport.connected = false;
    t.transport.onclose({ code: 1006, reason: '', willReconnect: true });
    assert.equal(t.client.connection, 'connecting');
    t.client.setMicrophone(false); // not accepted yet: no call:media
    t.client.hangUp();
    assert.deepEqual(t.transport.sent, []);
    t.transport.connected = true;
    t.transport.onopen();
    assert.deepEqual(t.transport.take().map((m) => m.type), ['auth'], 'only auth before auth:ok');
    t.transport.deliver({ type: 'auth:ok', userId: 'alice' });
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.callId]), [['call:cancel', callId]]);
    assert.equal(t.client.connection, 'online');
    assert.deepEqual(t.log.filter(([n]) => n === 'connection').map(([, v]) => v), ['connecting', 'online']);
    assert.equal(t.log.filter(([n]) => n === 'error')[0][1].code, 'transport');
  });

  test('a token refused on a later sign-in closes the connection for good', async () => {
    const t = await signedIn();
    t.transport.onclose({ code: 1001, reason: 'going away', willReconnect: true });
    t.transport.onopen();
    t.transport.deliver({ type: 'error', code: 'unauthenticated', message: 'token expired' });
    assert.equal(t.transport.closed, true);
    assert.equal(t.client.connection, 'offline');
    assert.deepEqual(t.log.filter(([n]) => n === 'error').at(-1)[1].code, 'unauthenticated');
  });

  test('close() hangs up, closes everything, frees the phone; intents afterwards throw', async () => {
    const t = await signedIn();
    const { callId, pc } = await dialed(t);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    pc.setConnection('connected');
    const local = t.client.localStream;
    t.transport.take();
    await t.client.close();
    assert.deepEqual(t.transport.sent.map((m) => m.type), ['call:end']);
    assert.equal(t.transport.closed, true);
    assert.equal(pc.closed, true);
    assert.ok(local.getTracks().every((x) => x.readyState === 'ended'));
    assert.equal(t.core.Phone.made.at(-1).deleted, true);
    assert.equal(t.client.connection, 'offline');
    assert.throws(() => t.client.call('bob'), (e) => e.code === 'closed');
    await t.client.close(); // twice is fine
  });
});

describe('close() from a listener', () => {
  test('the hang-up still goes out, after the batch that called the listener', async () => {
    const t = await signedIn();
    const { callId, pc } = await dialed(t);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    t.transport.take();
    let closing;
    t.client.on('state', (view) => { if (view.state === 'active') closing = t.client.close(); });
    pc.setConnection('connected');
    await closing;
    assert.deepEqual(t.transport.sent.map((m) => [m.type, m.reason]), [['call:end', 'hangup']]);
    assert.equal(t.transport.closed, true);
    assert.equal(pc.closed, true);
    assert.equal(t.core.Phone.made.at(-1).deleted, true);
    assert.deepEqual(t.log.filter(([n]) => n === 'state').map(([, v]) => v.state).slice(-2), ['active', 'ended']);
  });
});

describe('WebSocketTransport', () => {
  test('reconnects with backoff after a drop, and not after close()', async () => {
    const sockets = [];
    class FakeWebSocket {
      constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); queueMicrotask(() => { this.readyState = 1; this.onopen?.(); }); }
      send(text) { this.sent.push(text); }
      close() { this.readyState = 3; }
      drop(code) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
    }
    const transport = new WebSocketTransport('ws://duet.test/api/socket', { minDelayMs: 5, maxDelayMs: 20, WebSocket: FakeWebSocket });
    const events = [];
    transport.onopen = () => events.push('open');
    transport.onclose = (info) => events.push(`close ${info.code} ${info.willReconnect}`);
    transport.onmessage = (text) => events.push(`message ${text}`);
    assert.equal(transport.send('early'), false);
    await settle();
    assert.equal(transport.connected, true);
    assert.equal(transport.send('hello'), true);
    sockets[0].onmessage({ data: 'hi' });
    sockets[0].onmessage({ data: new ArrayBuffer(2) }); // binary frames are not the protocol
    sockets[0].drop(1006);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(sockets.length, 2);
    assert.deepEqual(events, ['open', 'message hi', 'close 1006 true', 'open']);
    transport.close();
    sockets[1].onclose?.({ code: 1000, reason: '' });
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(sockets.length, 2, 'reconnected after close()');
    assert.deepEqual(sockets[0].sent, ['hello']);
  });
});


// The connection states an app sees, as [state, reason, attempt, delayMs, code, error code].
const statuses = (log) => log.filter(([n]) => n === 'connectionState')
  .map(([, c]) => [c.state, c.reason, c.attempt, c.delayMs, c.code, c.error?.code ?? null]);

// A client signed in over WebSocketTransport on fake sockets; the test plays the server.
async function overWebSocket({ minDelayMs = 100, maxDelayMs = 800 } = {}) {
  const { sockets, FakeWebSocket } = fakeWebSockets();
  const transport = new WebSocketTransport('ws://duet.test/api/socket', { minDelayMs, maxDelayMs, WebSocket: FakeWebSocket });
  const creating = DuetClient.create({ token: 'token-1', server: 'https://duet.test', core: guardedCore(), transport, mediaDevices: new FakeMediaDevices(), iceServers: [] });
  await settle();
  assert.deepEqual(sockets[0].sent, [{ v: 1, type: 'auth', token: 'token-1', device: sockets[0].sent[0]?.device }]);
  sockets[0].receive({ type: 'auth:ok', userId: 'alice' });
  const client = await creating;
  clients.push(client);
  const log = [];
  for (const name of ['state', 'error', 'connection', 'connectionState']) client.on(name, (value) => log.push([name, value]));
  return { client, transport, sockets, log };
}

describe('the connection state', () => {
  test('a drop says reconnecting with the attempt and the wait, and signing in again says connected', async () => {
    const t = await signedIn();
    assert.deepEqual(t.client.connectionState, { state: 'connected', reason: 'signed_in', attempt: 0, delayMs: null, code: null, error: null });
    t.transport.connected = false;
    t.transport.onclose({ code: 1006, reason: '', willReconnect: true, delayMs: 480 });
    t.transport.connected = true;
    t.transport.onopen(); // open is not signed in: still reconnecting
    t.transport.connected = false;
    t.transport.onclose({ code: 1006, reason: '', willReconnect: true, delayMs: 950 });
    assert.equal(t.client.connectionState.attempt, 2);
    assert.equal(t.client.connection, 'connecting');
    t.transport.connected = true;
    t.transport.onopen();
    t.transport.deliver({ type: 'auth:ok', userId: 'alice' });
    // The count starts again after a sign-in; a transport that does not say when gives null.
    t.transport.onclose({ code: 1001, reason: 'going away', willReconnect: true });
    assert.deepEqual(statuses(t.log), [
      ['reconnecting', 'dropped', 1, 480, 1006, null],
      ['reconnecting', 'dropped', 2, 950, 1006, null],
      ['connected', 'signed_in', 0, null, null, null],
      ['reconnecting', 'dropped', 1, null, 1001, null],
    ]);
    assert.deepEqual(t.log.filter(([n]) => n === 'connection').map(([, v]) => v), ['connecting', 'online', 'connecting']);
    assert.ok(Object.isFrozen(t.client.connectionState));
  });

  test('the default transport\'s waits grow, stay between half and all of their base, and stop at the cap', async () => {
    const clock = new FakeClock();
    const random = Math.random;
    try {
      for (const [draw, expected] of [[0, [50, 100, 200, 400, 400, 400]], [1, [100, 200, 400, 800, 800, 800]]]) {
        Math.random = () => draw;
        const { sockets, FakeWebSocket } = fakeWebSockets({ failing: true }); // the server is down
        const transport = new WebSocketTransport('ws://duet.test/api/socket', { minDelayMs: 100, maxDelayMs: 800, WebSocket: FakeWebSocket });
        const waits = [];
        transport.onclose = (info) => waits.push(info.delayMs);
        for (let i = 0; i < expected.length; i++) {
          await settle();
          clock.tick(waits.at(-1));
        }
        transport.close();
        assert.deepEqual(waits.slice(0, expected.length), expected);
        assert.equal(sockets.length, expected.length + 1);
      }
      // Once the server talks, the next drop starts from the bottom again.
      Math.random = () => 1;
      const { sockets, FakeWebSocket } = fakeWebSockets();
      const transport = new WebSocketTransport('ws://duet.test/api/socket', { minDelayMs: 100, maxDelayMs: 800, WebSocket: FakeWebSocket });
      const waits = [];
      transport.onclose = (info) => waits.push(info.delayMs);
      await settle();
      sockets[0].drop(1006);
      clock.tick(100);
      await settle();
      sockets[1].drop(1006); // opened, but never talked
      clock.tick(200);
      await settle();
      sockets[2].onmessage({ data: '{}' });
      sockets[2].drop(1006);
      transport.close();
      assert.deepEqual(waits, [100, 200, 100]);
      assert.equal(clock.pending(), 0, 'close() leaves no reconnect timer');
    } finally {
      Math.random = random;
      clock.uninstall();
    }
  });

  test('every auth of one client names the same device, so the server can let its dead socket go; another client names another', async () => {
    const t = await overWebSocket();
    const other = await overWebSocket();
    const clock = new FakeClock();
    try {
      t.sockets[0].drop(1006);
      clock.tick(t.client.connectionState.delayMs);
      await settle();
      const [first] = t.sockets[0].sent;
      const [again] = t.sockets[1].sent;
      assert.equal(again.type, 'auth');
      assert.equal(again.device, first.device, 'the reconnect names the same device');
      assert.notEqual(other.sockets[0].sent[0].device, first.device, 'another client is another device');
    } finally {
      clock.uninstall();
    }
  });

  test('a token refused on reconnecting ends in disconnected with an unauthenticated error, and nothing is retried', async () => {
    const t = await overWebSocket();
    const clock = new FakeClock();
    try {
      t.sockets[0].drop(1006);
      const { delayMs } = t.client.connectionState;
      assert.ok(delayMs >= 50 && delayMs <= 100, `delayMs ${delayMs}`);
      clock.tick(delayMs);
      await settle();
      assert.deepEqual(t.sockets[1].sent.map((m) => m.type), ['auth']);
      // What duet-server does with an expired token: an error frame, then close 4401.
      t.sockets[1].receive({ type: 'error', code: 'unauthenticated', message: 'token expired' });
      t.sockets[1].drop(4401, 'unauthenticated');
      assert.deepEqual(statuses(t.log), [
        ['reconnecting', 'dropped', 1, delayMs, 1006, null],
        ['disconnected', 'unauthenticated', 0, null, null, 'unauthenticated'],
      ]);
      const { error } = t.client.connectionState;
      assert.ok(error instanceof Error && error.name === 'DuetError' && /token expired/.test(error.message));
      assert.equal(t.client.connection, 'offline');
      assert.equal(t.sockets[1].closedByClient, true);
      clock.tick(10 * 60_000);
      await settle();
      assert.equal(t.sockets.length, 2, 'tried again with a refused token');
      assert.equal(clock.pending(), 0);
      assert.throws(() => t.client.call('bob'), (e) => e.code === 'closed' && e.cause === error);
    } finally {
      clock.uninstall();
    }
  });

  test('a 4401 close without an error frame (a transport of the app\'s own) ends the same way', async () => {
    const t = await signedIn();
    t.transport.onclose({ code: 4401, reason: 'unauthenticated', willReconnect: true, delayMs: 500 });
    assert.deepEqual(statuses(t.log), [['disconnected', 'unauthenticated', 0, null, null, 'unauthenticated']]);
    assert.equal(t.transport.closed, true);
    assert.equal(t.log.filter(([n]) => n === 'error').at(-1)[1].code, 'unauthenticated');
  });

  test('a transport that gives up ends the client as disconnected with a transport error, hanging up the call', async () => {
    const t = await signedIn();
    const { pc } = await dialed(t, { video: false });
    t.transport.onclose({ code: 1006, reason: '', willReconnect: false });
    assert.deepEqual(statuses(t.log), [['disconnected', 'transport', 0, null, 1006, 'transport']]);
    assert.equal(t.client.view.state, 'ended');
    assert.equal(pc.closed, true);
    assert.equal(t.client.connection, 'offline');
    assert.throws(() => t.client.hangUp(), (e) => e.code === 'closed' && e.cause?.code === 'transport');
  });

  test('a call survives a short drop: the peer connection stays, what was said meanwhile goes out after sign-in', async () => {
    const t = await signedIn();
    const { callId, pc } = await dialed(t);
    t.transport.deliver({ type: 'call:accept', from: 'bob', callId });
    pc.setConnection('connected');
    assert.equal(t.client.view.state, 'active');
    t.transport.take();
    const statesBefore = t.log.filter(([n]) => n === 'state').length;

    t.transport.connected = false;
    t.transport.onclose({ code: 1006, reason: '', willReconnect: true, delayMs: 500 });
    t.client.setMicrophone(false);
    assert.equal(pc.closed, false);
    assert.equal(t.client.view.state, 'active');
    assert.equal(t.client.view.connection, 'connected', 'media is peer to peer: the drop is not the call\'s');
    t.transport.connected = true;
    t.transport.onopen();
    t.transport.deliver({ type: 'auth:ok', userId: 'alice' });
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.callId]), [['auth', undefined], ['call:media', callId]]);
    assert.equal(t.client.connectionState.state, 'connected');
    // The server delivers what it held for us; the call goes on and ends normally.
    t.transport.deliver({ type: 'call:end', from: 'bob', callId, reason: 'hangup' });
    assert.deepEqual([t.client.view.state, t.client.view.endReason], ['ended', 'hangup']);
    assert.deepEqual(t.log.filter(([n]) => n === 'state').slice(statesBefore).map(([, v]) => v.state), ['active', 'ended']);
  });
});

describe('resuming the session after a drop', () => {
  // The socket dies; frames the client sends now wait in the outbox.
  function drop(transport) {
    transport.connected = false;
    transport.onclose({ code: 1006, reason: '', willReconnect: true, delayMs: 500 });
  }
  // The transport opens another socket: returns the auth the client sent on it, its only frame.
  function open(transport) {
    transport.connected = true;
    transport.onopen();
    const sent = transport.take();
    assert.deepEqual(sent.map((m) => m.type), ['auth'], 'only auth before auth:ok');
    return sent[0];
  }
  // Local candidates from..to of the call, one frame each, told apart by their names.
  function candidates(pc, from, to) {
    for (let n = from; n <= to; n++) pc.fire('icecandidate', { candidate: candidate(`candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`) });
  }
  const names = (sent) => sent.map((m) => (m.type === 'call:ice-candidate' ? m.candidate.candidate.split(' ')[0] : m.type));
  const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `candidate:${from + i}`);
  const errors = (t) => t.log.filter(([n]) => n === 'error').map(([, e]) => e);
  const presence = (n) => ({ type: 'presence', userId: `u${n}`, status: 'online' });

  test('the first auth asks to resume nothing, even after a drop before auth:ok; the auth after a later drop carries how many frames arrived', async () => {
    const transport = new FakeTransport();
    const creating = DuetClient.create({ token: 'token-1', server: 'https://duet.test', core: guardedCore(), transport, mediaDevices: new FakeMediaDevices(), iceServers: [] });
    await settle();
    const [first] = transport.take();
    drop(transport);
    const again = open(transport);
    assert.equal('received' in first, false, JSON.stringify(first));
    assert.equal('received' in again, false, `no session before the first auth:ok: ${JSON.stringify(again)}`);
    transport.deliver({ type: 'auth:ok', userId: 'alice' });
    clients.push(await creating);
    transport.deliver(presence(1));
    transport.deliver(presence(2));
    transport.deliver({ type: 'error', code: 'rate_limited', message: 'slow down' });
    drop(transport);
    const auth = open(transport);
    assert.deepEqual(auth, { v: 1, type: 'auth', token: 'token-1', device: first.device, received: 3 }, 'auth:ok is not counted, each frame after it is');
  });

  test('auth:ok with received: N sends again exactly the frames after N, in order, before the outbox', async () => {
    const t = await signedIn();
    const { pc } = await dialed(t); // frame 1
    candidates(pc, 1, 4); // frames 2..5, into a socket that died without a word
    assert.deepEqual(names(t.transport.take()), ['call:initiate', ...range(1, 4)]);
    drop(t.transport);
    candidates(pc, 5, 6); // never sent: the outbox
    assert.equal(open(t.transport).received, 0);
    const heard = errors(t).length;
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 3 });
    assert.deepEqual(names(t.transport.take()), range(3, 6));
    assert.deepEqual(errors(t).slice(heard), [], 'nothing was lost');
  });

  test('frames sent again keep their numbers; the outbox after them is numbered on', async () => {
    const t = await signedIn();
    const { pc } = await dialed(t); // frame 1
    candidates(pc, 1, 2); // frames 2, 3
    t.transport.take();
    drop(t.transport);
    candidates(pc, 3, 3); // the outbox, frame 4 once sent
    open(t.transport);
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 1 });
    assert.deepEqual(names(t.transport.take()), range(1, 3));
    drop(t.transport);
    open(t.transport);
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 3 });
    assert.deepEqual(names(t.transport.take()), ['candidate:3']);
  });

  test('frames the server sends again after resuming count as received: the next drop asks from after them', async () => {
    const t = await signedIn();
    t.transport.deliver(presence(1));
    t.transport.deliver(presence(2));
    drop(t.transport);
    assert.equal(open(t.transport).received, 2);
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 0 });
    for (const n of [3, 4, 5]) t.transport.deliver(presence(n)); // what the dead socket did not deliver
    assert.deepEqual(t.log.filter(([n]) => n === 'presence').map(([, p]) => p.userId), ['u1', 'u2', 'u3', 'u4', 'u5']);
    drop(t.transport);
    assert.equal(open(t.transport).received, 5);
  });

  test('auth:ok without received after asking to resume starts a new session: nothing sent again, counts from 0, and a transport error says messages may be lost', async () => {
    const t = await signedIn();
    const { pc } = await dialed(t);
    candidates(pc, 1, 2);
    t.transport.deliver(presence(1));
    t.transport.take();
    drop(t.transport);
    candidates(pc, 3, 3); // the outbox, frame 1 of the new session
    assert.equal(open(t.transport).received, 1);
    const heard = errors(t).length;
    t.transport.deliver({ type: 'auth:ok', userId: 'alice' }); // the server restarted, or the session expired
    assert.deepEqual(names(t.transport.take()), ['candidate:3'], 'only the outbox');
    const [error, ...more] = errors(t).slice(heard);
    assert.equal(error?.code, 'transport');
    assert.match(error.message, /did not resume .*may have been lost/);
    assert.deepEqual(more, []);
    assert.equal(t.client.connectionState.state, 'connected');

    t.transport.deliver(presence(2)); // frame 1 received in the new session
    drop(t.transport);
    assert.equal(open(t.transport).received, 1);
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 0 });
    assert.deepEqual(names(t.transport.take()), ['candidate:3'], 'the old session\'s frames were dropped');
  });

  test('a server that says it read more than was sent counts from another base: nothing is sent again, an error says so, and the next auth does not ask to resume', async () => {
    const t = await signedIn();
    await dialed(t); // frame 1
    t.transport.take();
    drop(t.transport);
    open(t.transport);
    const heard = errors(t).length;
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 7 });
    assert.deepEqual(t.transport.take(), [], 'nothing sent again');
    const [error, ...more] = errors(t).slice(heard);
    assert.equal(error?.code, 'transport');
    assert.match(error.message, /did not resume/);
    assert.deepEqual(more, []);
    drop(t.transport);
    assert.equal('received' in open(t.transport), false, 'a new session is asked for');
  });

  test('a server that missed more than the 128 frames kept gets those, and a transport error says how many could not be sent again', async () => {
    const t = await signedIn();
    const { pc } = await dialed(t); // frame 1
    candidates(pc, 1, 139); // frames 2..140
    assert.equal(t.transport.take().length, 140);
    drop(t.transport);
    open(t.transport);
    const heard = errors(t).length;
    t.transport.deliver({ type: 'auth:ok', userId: 'alice', received: 5 });
    assert.deepEqual(names(t.transport.take()), range(12, 139), 'frames 13..140, the 128 kept');
    const [error, ...more] = errors(t).slice(heard);
    assert.equal(error?.code, 'transport');
    assert.match(error.message, /\b7 messages .*could not be sent again/);
    assert.deepEqual(more, []);
  });
});

describe('leaving the page', () => {
  test('leave() hands the core a leave event, which ends a call under way; on a closed client it does nothing', async () => {
    const t = await signedIn();
    await dialed(t);
    t.transport.take();
    t.client.leave();
    assert.deepEqual(t.events.at(-1), { type: 'leave' });
    assert.deepEqual(t.transport.take().map((m) => [m.type, m.reason]), [['call:cancel', 'cancelled']]);
    assert.equal(t.client.view.state, 'ended');
    await t.client.close();
    const handled = t.events.length;
    assert.doesNotThrow(() => t.client.leave());
    assert.equal(t.events.length, handled, 'a closed client handed the core an event');
  });
});

describe('a closed client', () => {
  test('close() says disconnected, closed before it returns, and no listener is called after it', async () => {
    const clock = new FakeClock();
    try {
      const t = await signedIn({ config: { ringTimeoutMs: 1000 } });
      const { callId, pc } = await dialed(t);
      assert.ok(clock.pending() > 0, 'the ring timer is not on the fake clock');
      // What could still call in after close(): the transport's and the peer's handlers as they
      // were, the core's timers.
      const { onmessage, onopen, onclose } = t.transport;
      const handlers = Object.fromEntries(['onnegotiationneeded', 'onicecandidate', 'onconnectionstatechange', 'ontrack'].map((n) => [n, pc[n]]));

      await t.client.close();
      assert.deepEqual(t.log.slice(-2), [
        ['connectionState', { state: 'disconnected', reason: 'closed', attempt: 0, delayMs: null, code: null, error: null }],
        ['connection', 'offline'],
      ]);
      assert.equal(clock.pending(), 0, 'timers left running');
      assert.equal(pc.closed, true);
      assert.equal(t.transport.closed, true);
      const heard = t.log.length;
      const sent = t.transport.sent.length;
      const handled = t.events.length;

      onmessage(JSON.stringify({ v: 1, type: 'presence', userId: 'alice', status: 'online' }));
      onmessage(JSON.stringify({ v: 1, type: 'error', code: 'rate_limited', message: 'late' }));
      onmessage(JSON.stringify({ v: 1, type: 'call:accept', from: 'bob', callId }));
      onclose({ code: 1006, reason: '', willReconnect: true, delayMs: 100 });
      onopen();
      t.transport.onmessage(JSON.stringify({ v: 1, type: 'auth:ok', userId: 'alice' }));
      handlers.onconnectionstatechange?.();
      handlers.onicecandidate?.({ candidate: candidate('candidate:1 1 udp 1 127.0.0.1 9 typ host') });
      handlers.onnegotiationneeded?.();
      handlers.ontrack?.({ track: new FakeTrack('audio') });
      await settle();
      clock.tick(60_000);
      await settle();
      assert.deepEqual(t.log.slice(heard), [], 'a listener was called after close()');
      assert.equal(t.transport.sent.length, sent);
      assert.equal(t.events.length, handled, 'the core was handed events after close()');
      assert.ok(t.media.streams.every((stream) => stream.getTracks().every((track) => track.readyState === 'ended')), 'devices left open');
    } finally {
      clock.uninstall();
    }
  });

  test('methods of a closed client throw a DuetError with code closed; close() again does nothing', async () => {
    const t = await signedIn();
    await t.client.close();
    for (const [name, action] of [
      ['call', (c) => c.call('bob')], ['accept', (c) => c.accept()], ['reject', (c) => c.reject()], ['hangUp', (c) => c.hangUp()],
      ['setMicrophone', (c) => c.setMicrophone(false)], ['setCamera', (c) => c.setCamera(false)], ['on', (c) => c.on('state', () => {})],
    ]) {
      assert.throws(() => action(t.client), (e) => e instanceof Error && e.name === 'DuetError' && e.code === 'closed' && /closed/.test(e.message), name);
    }
    await assert.rejects(t.client.unlockAudio(), (e) => e.code === 'closed');
    t.client.off('state', () => {}); // removing is harmless
    const heard = t.log.length;
    await t.client.close();
    assert.equal(t.log.length, heard);
    assert.equal(t.client.connectionState.reason, 'closed');
  });

  test('an ICE-server refresh still out when close() is called sets no timer and reports nothing', async () => {
    const clock = new FakeClock();
    const realFetch = globalThis.fetch;
    const requests = [];
    globalThis.fetch = (url) => new Promise((resolve, reject) => requests.push({ url: String(url), resolve, reject }));
    try {
      const transport = new FakeTransport();
      const creating = DuetClient.create({ token: 'token-1', server: 'https://duet.test', core: guardedCore(), transport, mediaDevices: new FakeMediaDevices() });
      await settle();
      requests.shift().resolve({ ok: true, json: async () => ({ iceServers: [{ urls: 'turn:turn.test', username: 'u', credential: 'c' }], ttl: 600 }) });
      await settle();
      transport.deliver({ type: 'auth:ok', userId: 'alice' });
      const client = await creating;
      const log = [];
      client.on('error', (e) => log.push(e));
      clock.tick(300_000); // half the ttl: the refresh goes out
      assert.deepEqual(requests.map((r) => new URL(r.url).pathname), ['/api/ice-servers']);
      await client.close();
      requests[0].reject(new TypeError('network down'));
      await settle();
      assert.deepEqual(log, []);
      assert.equal(clock.pending(), 0);
    } finally {
      globalThis.fetch = realFetch;
      clock.uninstall();
    }
  });
});

describe('duet-client.d.ts', () => {
  const dts = fs.readFileSync(path.join(root, 'web/sdk/duet-client.d.ts'), 'utf8');
  const block = (opening) => {
    const start = dts.indexOf(opening);
    assert.notEqual(start, -1, `no "${opening}" in duet-client.d.ts`);
    return dts.slice(start, dts.indexOf('\n}\n', start));
  };

  test('declares exactly the public members of DuetClient', () => {
    const body = block('export declare class DuetClient {');
    const members = [...body.matchAll(/^ {2}(static )?(?:readonly )?(\w+)[<(:?]/gm)];
    const declared = (statics) => members.filter((m) => Boolean(m[1]) === statics).map((m) => m[2]).filter((n) => n !== 'constructor').sort();
    const instance = Object.getOwnPropertyNames(DuetClient.prototype).filter((n) => n !== 'constructor').sort();
    const statics = Object.getOwnPropertyNames(DuetClient).filter((n) => !['length', 'name', 'prototype'].includes(n)).sort();
    assert.deepEqual(declared(false), instance);
    assert.deepEqual(declared(true), statics);
  });

  test('declares exactly the events the client emits', async () => {
    const declared = [...block('export interface DuetClientEvents {').matchAll(/^ {2}(\w+): /gm)].map((m) => m[1]);
    const t = await signedIn();
    for (const event of declared) t.client.on(event, () => {});
    assert.throws(() => t.client.on('stat', () => {}), /unknown event "stat"; events: (.*)/);
    const listed = /events: (.*)$/.exec((() => { try { t.client.on('x', () => {}); } catch (e) { return e.message; } })())[1].split(', ');
    assert.deepEqual(listed.sort(), declared.sort());
  });

  test('declares the options create() reads', () => {
    const declared = [...block('export interface DuetClientOptions {').matchAll(/^ {2}(\w+)\??: /gm)].map((m) => m[1]).sort();
    const source = fs.readFileSync(path.join(root, 'web/sdk/duet-client.mjs'), 'utf8');
    const read = [...new Set([...source.matchAll(/options\.(\w+)/g)].map((m) => m[1]))]
      .filter((name) => !['configJson'].includes(name)).sort(); // the constructor's own record
    assert.deepEqual(read, declared);
  });
});
