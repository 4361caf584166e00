// Duet's side of `tools/bench setup`, run in a page on duet-server's origin: the product's own
// path, the SDK (/sdk/duet-client.mjs) with the duet-core module the server serves, with the
// default PhoneConfig (so preconnect is on, as shipped). setup.mjs drives it through
// `window.bench`. The caller's page signs in several users (the server lets one user start 5
// calls at once, then 10 a minute) and dials with each in turn; the callee's page signs in one.
//
// The SDK's `trace` option sees every event handed to the core and the effects it answered;
// the page turns the ones that matter for set-up time into marks on the shared clock, so a
// slow call can be broken down (devices, signaling, ICE) without touching the SDK.
import { DuetClient } from '/sdk/duet-client.mjs';
import { markFirstFrame, now, probeStats, remoteVideo, Timeline, within } from './measure.mjs';

/** @type {DuetClient[]} */
const clients = [];
let timeline = new Timeline();
let active = null; // the client of the call under way
let remote = null; // its remote <video>, caller side
let answering = null; // callee: the promise armAnswer() started
let probing = false; // BENCH_PROBE=1: diagnostics on
let probe = null;

// Protocol message types seen going out or coming in, as marks named "<direction>:<type>".
function typeOf(text) {
  try {
    return JSON.parse(text).type ?? '?';
  } catch {
    return '?';
  }
}

function trace({ event, effects }) {
  if (event.type === 'received') timeline.mark(`in:${typeOf(event.text)}`);
  else if (event.type === 'mediaAcquired') timeline.mark('mediaAcquired');
  else if (event.type === 'peerStateChanged') timeline.mark(`peer:${event.state}`);
  for (const effect of effects ?? []) {
    if (effect.type === 'send') timeline.mark(`out:${typeOf(effect.text)}`);
    else if (effect.type === 'attachMedia') timeline.mark('attachMedia');
  }
}

/**
 * Resolves on the first view whose state is one of `states`; rejects when the call ends first,
 * unless `failOnEnd` is false (waiting for a new call while the last one shows as ended).
 */
function stateOf(client, states, what, failOnEnd = true) {
  return new Promise((resolve, reject) => {
    const check = (view) => {
      if (states.includes(view.state)) {
        off();
        resolve(view);
      } else if (failOnEnd && view.state === 'ended') {
        off();
        reject(new Error(`${what}: the call ended (${view.endReason}${view.serverError ? `, ${view.serverError}` : ''})`));
      }
    };
    const off = client.on('state', check);
    check(client.view);
  });
}

window.bench = {
  /** Signs in one client per token; resolves with their user ids. */
  async signIn(tokens) {
    for (const token of tokens) clients.push(await DuetClient.create({ token, trace }));
    return clients.map((c) => c.userId);
  },

  /** Caller: dials `peer` with client number `index` (round robin); resolves at the first remote frame. */
  async call(index, peer, limitMs) {
    const client = clients[index % clients.length];
    active = client;
    timeline = new Timeline();
    remote = remoteVideo(probing ? timeline : null);
    const shown = remote;
    const offStream = client.on('remoteStream', (stream) => shown.show(stream));
    let offState;
    const ended = new Promise((_, reject) => {
      offState = client.on('state', (view) => {
        if (view.state === 'ended') reject(new Error(`the call ended before a remote frame (${view.endReason}${view.serverError ? `, ${view.serverError}` : ''})`));
      });
    });
    ended.catch(() => {}); // only raced below
    try {
      timeline.mark('dial');
      client.call(peer, { video: true });
      const frame = await within(Promise.race([remote.firstFrame, ended]), limitMs, 'the first remote video frame');
      return { frame, marks: timeline.marks };
    } finally {
      offStream();
      offState();
    }
  },

  /**
   * Callee: from now on waits for the next call, lets it ring `ringMs` (a person reaching for
   * the button; preconnect works meanwhile), accepts, and counts it answered once it is active.
   * Returns at once (so the caller may dial right after); answered() waits for it.
   */
  armAnswer(ringMs, limitMs) {
    const client = clients[0];
    active = client;
    timeline = new Timeline();
    const offLocal = probing
      ? client.on('localStream', (stream) => markFirstFrame(stream?.getVideoTracks()[0], timeline, 'camera:frame'))
      : () => {};
    answering = within((async () => {
      await stateOf(client, ['incoming'], 'waiting for the call to ring', false);
      timeline.mark('incoming');
      await new Promise((resolve) => setTimeout(resolve, ringMs));
      const pc = client.peerConnection;
      const atAccept = { peer: pc?.connectionState ?? 'none', ice: pc?.iceConnectionState ?? 'none' };
      timeline.mark('accept', now());
      client.accept();
      await stateOf(client, ['active'], 'waiting for the call to be active');
      return { atAccept };
    })(), limitMs, 'ringing, accepting and the call active');
    answering.finally(offLocal).catch(() => {}); // the rejection is awaited in answered()
  },

  /** Callee: what armAnswer() saw at the accept, once the call is active. */
  answered() {
    return answering;
  },

  /** This page's marks of the current call. */
  marks() {
    return timeline.marks;
  },

  /** Hangs up the current call (caller) and waits until it has ended. */
  async hangUp(limitMs) {
    const client = active;
    if (client.view.state !== 'ended' && client.view.state !== 'idle') client.hangUp();
    await within(stateOf(client, ['ended', 'idle'], 'hanging up'), limitMs, 'the hang-up');
    remote?.remove();
    remote = null;
  },

  /** Waits until the current call has ended here (the other side hung up). */
  async ended(limitMs) {
    await within(stateOf(active, ['ended', 'idle'], 'waiting for the end'), limitMs, 'the end of the call');
  },

  /** Diagnostics from now on: more marks, and RTP counters of each call (startProbe, stopProbe). */
  enableProbe() {
    probing = true;
  },
  startProbe() {
    probe = probeStats(() => active?.peerConnection);
  },
  stopProbe() {
    return probe?.stop() ?? [];
  },

  /** The clock every time above is on. */
  now,
};
window.benchReady = true;
