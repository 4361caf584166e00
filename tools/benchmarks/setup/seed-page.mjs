// The seed stack's side of `tools/bench setup`: the calling code the seed plans describe
// (shared/seeds/: simple-peer over Socket.IO), written here so the same call can be timed on
// it. Served on the Socket.IO relay's origin (tools/benchmarks/socketio-relay.mjs); simple-peer is
// its own browser build (simplepeer.min.js, global SimplePeer), the Socket.IO client the one the
// server serves at /socket.io/socket.io.js (global io). setup.mjs drives it through `window.bench`.
//
// The seed's flow, as its CallingService does it: the caller opens its devices, makes an
// initiator peer with its stream and `trickle: false`, so the offer is ready only once ICE
// gathering is complete, and sends it with the call (`call:initiate` with `signal`). The callee,
// when the user accepts, opens its devices, makes its peer with its stream, applies the offer and
// sends the answer (`call:accept` with `signal`), again after gathering. Only then do ICE and
// DTLS start. The events are those the relay forwards (`socket.to(userId).emit(...)`).
//
// One change from the seed's code: no STUN servers (`iceServers: []`, where simple-peer's default
// asks Google's and Twilio's). The run has no internet, and Duet's server gives no ICE servers
// here either; with them, gathering (which trickle:false waits for) would last until its time limit.
import { markFirstFrame, now, probeStats, remoteVideo, stopTracks, Timeline, within } from './measure.mjs';

/* global io, SimplePeer */
const PEER_CONFIG = { iceServers: [] };

let socket = null;
let timeline = new Timeline();
let peer = null;
let local = null;
let remote = null;
let other = null; // the user id at the other end of the call
let answering = null;
let incoming = []; // call:initiate data not yet taken
let incomingWaiter = null;
let endWaiters = [];
let probing = false; // BENCH_PROBE=1: diagnostics on
let probe = null;

// Marks the peer connection's own state changes, as Duet's trace does (simple-peer keeps the
// RTCPeerConnection in _pc and uses its on* handlers itself, so listen beside them).
function watchPeer(p) {
  p._pc.addEventListener('connectionstatechange', () => timeline.mark(`peer:${p._pc.connectionState}`));
}

function nextIncoming() {
  if (incoming.length > 0) return Promise.resolve(incoming.shift());
  return new Promise((resolve) => { incomingWaiter = resolve; });
}

function endCall() {
  peer?.destroy();
  peer = null;
  stopTracks(local);
  local = null;
  remote?.remove();
  remote = null;
  const waiters = endWaiters;
  endWaiters = [];
  for (const resolve of waiters) resolve();
}

function openDevices() {
  return navigator.mediaDevices.getUserMedia({ video: true, audio: true });
}

window.bench = {
  /** Connects to the relay as the token's user (Socket.IO's defaults: polling, then upgrade). */
  async signIn(token) {
    socket = io({ auth: { token } });
    await within(new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', (error) => reject(new Error(`socket.io: ${error.message}`)));
    }), 10_000, 'the Socket.IO connection');
    socket.on('call:initiate', (data) => {
      timeline.mark('in:call:initiate');
      if (incomingWaiter) {
        const resolve = incomingWaiter;
        incomingWaiter = null;
        resolve(data);
      } else {
        incoming.push(data);
      }
    });
    socket.on('call:accept', (data) => {
      timeline.mark('in:call:accept');
      peer?.signal(data.signal);
    });
    socket.on('call:end', () => {
      timeline.mark('in:call:end');
      endCall();
    });
  },

  /** Caller: calls `peerId`; resolves at the first remote video frame. */
  async call(peerId, limitMs) {
    timeline = new Timeline();
    other = peerId;
    remote = remoteVideo(probing ? timeline : null);
    const shown = remote;
    timeline.mark('dial');
    const run = (async () => {
      local = await openDevices();
      timeline.mark('mediaAcquired');
      const p = new SimplePeer({ initiator: true, trickle: false, stream: local, config: PEER_CONFIG });
      peer = p;
      watchPeer(p);
      const failed = new Promise((_, reject) => p.on('error', (error) => reject(new Error(`simple-peer: ${error.message}`))));
      p.on('signal', (signal) => {
        timeline.mark('offerReady');
        socket.emit('call:initiate', { to: peerId, callType: 'video', signal });
        timeline.mark('out:call:initiate');
      });
      p.on('stream', (stream) => shown.show(stream));
      return Promise.race([shown.firstFrame, failed]);
    })();
    const frame = await within(run, limitMs, 'the first remote video frame');
    return { frame, marks: timeline.marks };
  },

  /** Callee: as Duet's armAnswer(): wait for the call, ring `ringMs`, accept as the seed does. */
  armAnswer(ringMs, limitMs) {
    timeline = new Timeline();
    incoming = []; // a call of an earlier, failed round is not this one
    answering = within((async () => {
      const data = await nextIncoming();
      timeline.mark('incoming');
      await new Promise((resolve) => setTimeout(resolve, ringMs));
      timeline.mark('accept', now());
      other = data.from;
      local = await openDevices();
      timeline.mark('mediaAcquired');
      if (probing) markFirstFrame(local.getVideoTracks()[0], timeline, 'camera:frame');
      const p = new SimplePeer({ initiator: false, trickle: false, stream: local, config: PEER_CONFIG });
      peer = p;
      watchPeer(p);
      const connected = new Promise((resolve, reject) => {
        p.on('connect', resolve);
        p.on('error', (error) => reject(new Error(`simple-peer: ${error.message}`)));
      });
      p.on('signal', (signal) => {
        timeline.mark('answerReady');
        socket.emit('call:accept', { to: data.from, signal });
        timeline.mark('out:call:accept');
      });
      p.signal(data.signal);
      await connected;
      return { atAccept: { peer: 'none', ice: 'none' } }; // nothing exists before the accept
    })(), limitMs, 'ringing, accepting and connecting');
    answering.catch(() => {}); // awaited in answered()
  },

  answered() {
    return answering;
  },

  marks() {
    return timeline.marks;
  },

  /** Ends the call from this side (the seed's endCall: tell the other side, destroy, stop devices). */
  async hangUp() {
    if (other) socket.emit('call:end', { to: other });
    other = null;
    endCall();
  },

  /** Waits until the other side's call:end has been handled. */
  async ended(limitMs) {
    if (!peer) return;
    await within(new Promise((resolve) => endWaiters.push(resolve)), limitMs, 'the end of the call');
  },

  /** Diagnostics from now on: more marks, and RTP counters of each call (startProbe, stopProbe). */
  enableProbe() {
    probing = true;
  },
  startProbe() {
    probe = probeStats(() => peer?._pc);
  },
  stopProbe() {
    return probe?.stop() ?? [];
  },

  now,
};
window.benchReady = true;
