// The Duet browser SDK: the shell around the duet-core calling brain (WebAssembly).
//
// The core decides everything about a call; this file owns the browser objects and does what
// the core says. Events go in (a user intent, a signaling frame, what the RTCPeerConnection or
// getUserMedia reported, a timer), effects come out (send this text, open a peer connection,
// make an offer, start a timer, ring, publish this state), and this shell carries them out and
// reports back. It holds no call logic: no "if we are ringing then ..." lives here. docs/core.md
// describes the events and effects; docs/sdk.md how to use this file; duet-client.d.ts its types.
//
//   import { DuetClient } from '@duet/sdk';
//   const client = await DuetClient.create({ token });
//   client.on('state', (view) => render(view));
//   client.call(peerId, { video: true });
//
// One file, no dependencies, plain ES2022 with JSDoc types.

/** @typedef {import('./duet-core.js').DuetCore} DuetCore */
/** @typedef {import('./duet-core.js').Phone} Phone */
/** @typedef {import('./duet-core.js').CallView} CallView */
/** @typedef {import('./duet-core.js').PhoneEvent} PhoneEvent */
/** @typedef {import('./duet-core.js').PhoneEffect} PhoneEffect */

const PROTOCOL_VERSION = 1;
const SOCKET_PATH = '/api/socket';
const SERVER_MODULE_PATH = '/duet/duet-core.mjs';
const DEFAULT_TIMEOUT_MS = 20_000;  // create(): module, ICE servers and sign-in, all together
const MAX_OUTBOX = 512;             // frames kept while the socket is down; more is a broken call
const MAX_RESEND = 128;             // sent frames kept to send again when the server resumes the session
const MAX_ERROR_MESSAGE = 512;      // peerOperationFailed.message, trimmed
const ICE_REFRESH_MIN_S = 60;       // never refresh ICE servers more often than this

// ----- Errors ------------------------------------------------------------------------------------

/** An Error with a stable `code` (the server's error codes, or one of the SDK's own). */
function codeError(code, message, cause) {
  const error = new Error(message, cause === undefined ? undefined : { cause });
  error.name = 'DuetError';
  /** @type {string} */ (error.code) = code;
  return error;
}

function messageOf(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

// ----- Loading the core ----------------------------------------------------------------------------

// tests/sdk/pack.sh turns this on in the npm package, where duet-core.mjs (and .wasm) sit beside
// this file. Off in the checkout: duet-server serves web/sdk/ at /sdk/ and the built module at
// /duet/, so nothing is beside this file and the default is the server's copy.
const PACKAGED_CORE = false;

const modules = new Map(); // url ('' for the packaged one) -> Promise<DuetCore>

async function importFactory(url) {
  if (url === '') {
    // A literal specifier, so bundlers (Vite, Rollup, webpack) follow it into the package and
    // emit duet-core.wasm as an asset.
    return (await import('./duet-core.mjs')).default;
  }
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ url)).default;
}

function loadOnce(url) {
  let promise = modules.get(url);
  if (!promise) {
    promise = importFactory(url).then((factory) => factory());
    promise.catch(() => modules.delete(url)); // a failed load may be retried
    modules.set(url, promise);
  }
  return promise;
}

/**
 * Loads and instantiates the duet-core module once per URL (later calls share it).
 * Without `url`: in the npm package, the duet-core.mjs beside this file; served from a checkout
 * by duet-server, `/duet/duet-core.mjs` on the page's origin.
 * @param {string | URL} [url]
 * @returns {Promise<DuetCore>}
 */
export async function loadModule(url) {
  if (url !== undefined && url !== null && url !== '') return loadOnce(String(url));
  return loadDefaultModule(globalThis.location?.href);
}

// The default module: the packaged one, or the one duet-server serves at /duet/ on `server`.
async function loadDefaultModule(server) {
  let url = '';
  if (!PACKAGED_CORE) {
    if (!server) throw codeError('module', 'no duet-core beside the SDK and no server to load it from: pass moduleUrl');
    url = new URL(SERVER_MODULE_PATH, server).href;
  }
  try {
    return await loadOnce(url);
  } catch (error) {
    throw codeError('module', `cannot load duet-core from ${url || 'beside the SDK'}: ${messageOf(error)}`, error);
  }
}

// ----- Transport -----------------------------------------------------------------------------------

/**
 * The default transport: a WebSocket to duet-server that reconnects with exponential backoff
 * until close() is called: each wait is a random time between half and all of a base that
 * starts at minDelayMs and doubles up to maxDelayMs, so it never exceeds the cap and clients
 * that dropped together (a server restart) do not all come back in the same instant. It carries
 * text and knows nothing of the protocol: the client signs in again on every onopen.
 */
export class WebSocketTransport {
  /** @type {((text: string) => void) | null} */ onmessage = null;
  /** @type {(() => void) | null} */ onopen = null;
  /** @type {((info: {code: number, reason: string, willReconnect: boolean, delayMs?: number}) => void) | null} */ onclose = null;

  #url;
  #WebSocket;
  #minDelayMs;
  #maxDelayMs;
  #delayMs;
  #socket = null;
  #timer = null;
  #closed = false;

  /**
   * @param {string | URL} url  ws:// or wss:// URL of the signaling socket
   * @param {{minDelayMs?: number, maxDelayMs?: number, WebSocket?: typeof WebSocket}} [options]
   */
  constructor(url, { minDelayMs = 500, maxDelayMs = 15_000, WebSocket: WebSocketClass = globalThis.WebSocket } = {}) {
    this.#url = String(url);
    this.#WebSocket = WebSocketClass;
    this.#minDelayMs = minDelayMs;
    this.#maxDelayMs = maxDelayMs;
    this.#delayMs = minDelayMs;
    this.#connect();
  }

  /** True while the socket is open. */
  get connected() {
    return this.#socket !== null && this.#socket.readyState === 1;
  }

  /** Sends one text frame; returns false (and sends nothing) while the socket is not open. */
  send(text) {
    if (!this.connected) return false;
    this.#socket.send(text);
    return true;
  }

  /** Closes for good: no reconnect, and no onclose for this close. */
  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = null;
    if (socket && socket.readyState <= 1) socket.close(1000, 'client closed');
  }

  #connect() {
    if (this.#closed) return;
    let socket;
    try {
      socket = new this.#WebSocket(this.#url);
    } catch (error) {
      // A malformed URL will not get better by retrying.
      this.#closed = true;
      queueMicrotask(() => this.onclose?.({ code: 0, reason: messageOf(error), willReconnect: false }));
      return;
    }
    this.#socket = socket;
    let received = false;
    socket.onopen = () => {
      if (this.#socket === socket) this.onopen?.();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket || typeof event.data !== 'string') return; // the protocol is text only
      if (!received) {
        received = true;
        this.#delayMs = this.#minDelayMs; // the server talks to us: the next drop starts the backoff anew
      }
      this.onmessage?.(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      this.#socket = null; // close() clears it first, so this socket closed by itself
      // The wait is chosen before onclose so the client can say when the next try comes.
      const base = Math.min(this.#delayMs, this.#maxDelayMs);
      const delayMs = Math.round(base / 2 + Math.random() * (base / 2));
      this.#delayMs = Math.min(this.#delayMs * 2, this.#maxDelayMs);
      this.onclose?.({ code: event.code, reason: event.reason, willReconnect: true, delayMs });
      // onclose may have closed the transport (the server refused the token): no retry then.
      if (!this.#closed) this.#timer = setTimeout(() => this.#connect(), delayMs);
    };
  }
}

// ----- Media ---------------------------------------------------------------------------------------

/**
 * The core's name for why getUserMedia failed, from the DOMException name.
 * @param {unknown} error
 * @returns {'denied' | 'not_found' | 'in_use' | 'other'}
 */
export function mediaProblemOf(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'not_found';
    case 'NotReadableError':
    case 'AbortError':
      return 'in_use';
    default:
      return 'other';
  }
}

function stopTracks(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

// ----- Tones ---------------------------------------------------------------------------------------

// Generated, not recorded: two sine waves gated on and off. No audio files to ship or load.
const TONES = {
  ringtone: { frequencies: [440, 480], onS: 2, offS: 4 },
  ringback: { frequencies: [440, 480], onS: 1, offS: 3 },
};
const TONE_LEVEL = 0.08; // per oscillator; two of them peak at 0.16 of full scale
const TONE_RAMP_S = 0.015; // fade in and out, or every edge clicks

class TonePlayer {
  #context = null;
  #playing = null; // { gain, oscillators, timer }

  /** Creates or resumes the AudioContext; from a user gesture this lifts the autoplay block. */
  unlock() {
    const context = this.#audioContext();
    if (context && context.state === 'suspended') return context.resume().catch(() => {});
    return Promise.resolve();
  }

  play(tone) {
    this.stop();
    const spec = TONES[tone];
    if (!spec) return;
    const context = this.#audioContext();
    if (!context) return;
    try {
      if (context.state === 'suspended') context.resume().catch(() => {});
      const gain = context.createGain();
      gain.gain.value = 0;
      gain.connect(context.destination);
      const oscillators = spec.frequencies.map((frequency) => {
        const oscillator = context.createOscillator();
        oscillator.frequency.value = frequency;
        oscillator.connect(gain);
        oscillator.start();
        return oscillator;
      });
      // Keep the next two cycles scheduled on the audio clock; a timer tops them up.
      const period = spec.onS + spec.offS;
      let next = context.currentTime + 0.05;
      const schedule = () => {
        while (next < context.currentTime + 2 * period) {
          gain.gain.setValueAtTime(0, next);
          gain.gain.linearRampToValueAtTime(TONE_LEVEL, next + TONE_RAMP_S);
          gain.gain.setValueAtTime(TONE_LEVEL, next + spec.onS - TONE_RAMP_S);
          gain.gain.linearRampToValueAtTime(0, next + spec.onS);
          next += period;
        }
      };
      schedule();
      const timer = setInterval(schedule, (period * 1000) / 2);
      this.#playing = { gain, oscillators, timer };
    } catch {
      // No audio output: tones are a courtesy, the call goes on without them.
    }
  }

  stop() {
    const playing = this.#playing;
    if (!playing) return;
    this.#playing = null;
    clearInterval(playing.timer);
    for (const oscillator of playing.oscillators) {
      try {
        oscillator.stop();
        oscillator.disconnect();
      } catch { /* already stopped */ }
    }
    playing.gain.disconnect();
  }

  close() {
    this.stop();
    this.#context?.close().catch(() => {});
    this.#context = null;
  }

  #audioContext() {
    if (this.#context) return this.#context;
    const AudioContextClass = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    if (!AudioContextClass) return null;
    try {
      this.#context = new AudioContextClass();
    } catch {
      return null;
    }
    return this.#context;
  }
}

// ----- The client ----------------------------------------------------------------------------------

const CONSTRUCT = Symbol('DuetClient.create');
const EVENT_NAMES = ['state', 'localStream', 'remoteStream', 'presence', 'refused', 'error', 'connection', 'connectionState', 'tone'];
const SIGNALING_STATES = new Set(['stable', 'have-local-offer', 'have-remote-offer', 'closed']);
const PEER_STATES = new Set(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);
const IN_CALL = new Set(['outgoing', 'incoming', 'connecting', 'active']);
// duet-server closes a socket whose auth it refused with 4401 (docs/protocol.md), after an
// error frame; a transport of the app's own may pass on only the close.
const CLOSE_UNAUTHENTICATED = 4401;
// The short form of each connection state, the 'connection' event's older vocabulary.
const SHORT_CONNECTION = { connecting: 'connecting', reconnecting: 'connecting', connected: 'online', disconnected: 'offline' };

/** A connection status, frozen: every listener gets the same object and cannot change it. */
function connectionStatus(state, reason, { attempt = 0, delayMs = null, code = null, error = null } = {}) {
  return Object.freeze({ state, reason, attempt, delayMs, code, error });
}

/** A new call id: 128 random bits, in the id charset [A-Za-z0-9_-]. */
function randomId(prefix) {
  if (typeof globalThis.crypto?.randomUUID === 'function') return `${prefix}-${globalThis.crypto.randomUUID()}`;
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16)); // also in insecure contexts
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const newCallId = () => randomId('c');

function websocketUrl(server) {
  const url = new URL(SOCKET_PATH, server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

async function fetchIceServers(server, token, signal) {
  let response;
  try {
    response = await fetch(new URL('/api/ice-servers', server), {
      headers: { authorization: `Bearer ${token}` },
      signal,
    });
  } catch (error) {
    throw codeError('unreachable', `GET /api/ice-servers failed: ${messageOf(error)}`, error);
  }
  let body = null;
  try {
    body = await response.json();
  } catch { /* not JSON: the status says enough */ }
  if (!response.ok) {
    throw codeError(body?.error?.code ?? 'internal', body?.error?.message ?? `GET /api/ice-servers answered ${response.status}`);
  }
  return { iceServers: Array.isArray(body?.iceServers) ? body.iceServers : [], ttl: Number(body?.ttl) || 0 };
}

/**
 * One signed-in user's calling: create() it after sign-in, listen to its events, call its intent
 * methods from the UI, close() it on sign-out.
 */
export class DuetClient {
  // What create() was given.
  #token;
  // Sent with every auth: a socket that died without the server noticing is then replaced by
  // this client's next one, and the call it held follows, instead of being held elsewhere.
  #device = randomId('d');
  #server;
  #configJson;
  #mediaDevices;
  #iceServers;
  #iceFixed;
  #transport;
  #timeoutMs;
  /** @type {DuetCore} */ #core;

  // The core, and the queue that feeds it.
  /** @type {Phone | null} */ #phone = null;
  /** @type {CallView | null} */ #view = null;
  #events = [];
  #running = false;
  #closing = false; // the client is ending, after the batch that is running
  #closed = false;
  #final = null; // the 'disconnected' status it ends with

  // The signed-in connection.
  #userId = null;
  #displayName = null;
  #online = false;
  #connection = 'connecting';
  #status = connectionStatus('connecting', 'start');
  #attempt = 0; // drops since the last sign-in
  #outbox = [];
  // The session, which lets a reconnect resume where the dropped socket left off: the frames
  // read since an auth:ok (auth:ok itself not counted), the frames sent since one (auth not
  // counted), and the last MAX_RESEND of those, the oldest first. All three outlive the
  // connections; a new session (auth:ok without `received`) starts them over.
  #framesReceived = 0;
  #framesSent = 0;
  #kept = [];
  #resuming = false; // this connection's auth asked to resume (it carried `received`)
  #inSession = false; // the counts above agree with the server's: a drop may resume
  #presence = new Map();
  #auth = null; // { resolve, reject } until the first auth:ok
  #iceTimer = null;

  // Media, the peer connection, timers, tones.
  #listeners = new Map(EVENT_NAMES.map((name) => [name, new Set()]));
  #localStream = null;
  #mediaGeneration = 0;
  #trackEnabled = { audio: true, video: true };
  #screenStream = null; // getDisplayMedia's stream while the core holds it
  #screenGeneration = 0; // a getDisplayMedia answered after a releaseScreen is not kept
  #peer = null; // { pc, peer, attached, screen, remoteStream }
  #timers = new Map();
  #tones = new TonePlayer();
  #playTones;
  #trace;

  /** @private Use DuetClient.create(). */
  constructor(key, options) {
    if (key !== CONSTRUCT) throw new TypeError('use DuetClient.create(options)');
    this.#token = options.token;
    this.#server = options.server;
    this.#configJson = options.configJson;
    this.#mediaDevices = options.mediaDevices;
    this.#iceFixed = options.iceServers !== undefined;
    this.#iceServers = options.iceServers ?? [];
    this.#timeoutMs = options.timeoutMs;
    this.#playTones = options.tones;
    this.#trace = options.trace;
  }

  /**
   * Loads the core, gets the ICE servers, opens the signaling connection and signs in.
   * Resolves once the server said auth:ok. Rejects with an Error whose `code` says why:
   * a server error code (`unauthenticated` for a bad or expired token), `bad_value` (bad
   * options or config), `module` (duet-core did not load), `unreachable` (no answer from the
   * server), `timeout` (not signed in within options.timeoutMs), `closed` (the transport closed).
   * @param {import('./duet-client.js').DuetClientOptions} options
   * @returns {Promise<DuetClient>}
   */
  static async create(options = {}) {
    const { token } = options;
    if (typeof token !== 'string' || token === '') throw codeError('bad_value', 'options.token must be a non-empty string');
    let server;
    try {
      server = new URL(options.server ?? globalThis.location?.origin).origin;
    } catch {
      throw codeError('bad_value', `options.server is not a URL: ${options.server}`);
    }
    let configJson;
    try {
      configJson = JSON.stringify(options.config ?? {});
    } catch (error) {
      throw codeError('bad_value', `options.config is not JSON: ${messageOf(error)}`);
    }
    if (options.iceServers !== undefined && !Array.isArray(options.iceServers)) {
      throw codeError('bad_value', 'options.iceServers must be an array of RTCIceServer');
    }
    const client = new DuetClient(CONSTRUCT, {
      token,
      server,
      configJson,
      mediaDevices: options.mediaDevices ?? globalThis.navigator?.mediaDevices,
      iceServers: options.iceServers,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      tones: options.tones ?? true,
      trace: typeof options.trace === 'function' ? options.trace : null,
    });
    try {
      await client.#start(options);
    } catch (error) {
      client.#shutdown();
      throw error;
    }
    return client;
  }

  async #start(options) {
    const deadline = new AbortController();
    let timer;
    const timedOut = new Promise((_, reject) => {
      timer = setTimeout(() => {
        deadline.abort();
        reject(codeError('timeout', `not signed in within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
    });
    try {
      const loading = options.core
        ? Promise.resolve(options.core)
        : options.moduleUrl
          ? loadModule(options.moduleUrl).catch((error) => {
            throw codeError('module', `cannot load duet-core from ${options.moduleUrl}: ${messageOf(error)}`, error);
          })
          : loadDefaultModule(this.#server);
      const ice = this.#iceFixed ? Promise.resolve(null) : fetchIceServers(this.#server, this.#token, deadline.signal);
      const [core, fetched] = await Promise.race([Promise.all([loading, ice]), timedOut]);
      this.#core = core;
      this.#checkConfig();
      if (fetched) this.#setIceServers(fetched);

      const signedIn = new Promise((resolve, reject) => { this.#auth = { resolve, reject }; });
      signedIn.catch(() => {}); // awaited below; a rejection after a timeout is not "unhandled"
      this.#transport = options.transport ?? new WebSocketTransport(websocketUrl(this.#server));
      this.#attachTransport(this.#transport);
      await Promise.race([signedIn, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #checkConfig() {
    // A throwaway phone tells whether the config is good before anything is connected.
    const probe = new this.#core.Phone('config-check', this.#configJson);
    const problem = probe.configError();
    probe.delete();
    if (problem !== '') {
      const { code, message } = JSON.parse(problem);
      throw codeError(code, `options.config: ${message}`);
    }
  }

  #setIceServers({ iceServers, ttl }) {
    this.#iceServers = iceServers;
    clearTimeout(this.#iceTimer);
    // TURN credentials expire after ttl seconds: fetch new ones at half-life. Without a TTL or
    // servers there is nothing that expires.
    if (ttl > 0 && iceServers.length > 0) {
      const seconds = Math.max(ICE_REFRESH_MIN_S, ttl / 2);
      this.#iceTimer = setTimeout(() => this.#refreshIceServers(), seconds * 1000);
    }
  }

  async #refreshIceServers() {
    if (this.#closed) return;
    let fetched;
    try {
      fetched = await fetchIceServers(this.#server, this.#token);
    } catch (error) {
      if (this.#closed) return; // closed while the request was out
      this.#emit('error', { code: error.code ?? 'internal', message: `refreshing ICE servers: ${error.message}` });
      this.#iceTimer = setTimeout(() => this.#refreshIceServers(), ICE_REFRESH_MIN_S * 1000);
      return;
    }
    if (!this.#closed) this.#setIceServers(fetched); // a new timer for a closed client would outlive it
  }

  // ----- Public API -------------------------------------------------------------------------------

  /** The signed-in user's id, from auth:ok. */
  get userId() { return this.#userId; }
  /** The signed-in user's display name, from auth:ok ('' when the server sent none). */
  get displayName() { return this.#displayName ?? ''; }
  /** The last CallView the core published (idle before the first call). */
  get view() { return this.#view; }
  /** 'connecting' | 'online' | 'offline': the short form of connectionState. */
  get connection() { return this.#connection; }
  /** The signaling connection's state, why it is so, and for 'reconnecting' which attempt and when. */
  get connectionState() { return this.#status; }
  /** Every contact's last presence: { [userId]: 'online' | 'busy' | 'offline' }. */
  get presence() { return Object.fromEntries(this.#presence); }
  /** The camera and microphone stream of the current call, or null. */
  get localStream() { return this.#localStream; }
  /** The other side's stream of the current call, or null. */
  get remoteStream() { return this.#peer?.remoteStream ?? null; }
  /** The current call's RTCPeerConnection, or null: for getStats(), never to change it. */
  get peerConnection() { return this.#peer?.pc ?? null; }
  /** The ICE servers peer connections are opened with. */
  get iceServers() { return this.#iceServers; }
  /**
   * Whether this browser can share a screen (getDisplayMedia exists on navigator.mediaDevices).
   * False on phones, in insecure contexts, and in browsers without screen capture: hide the button.
   */
  static get canShareScreen() { return typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === 'function'; }
  /** Whether this client can share a screen: the mediaDevices it was created with have getDisplayMedia. */
  get canShareScreen() { return typeof this.#mediaDevices?.getDisplayMedia === 'function'; }

  /**
   * Listens to an event; returns a function that stops listening.
   * @param {string} event
   * @param {(value: any) => void} listener
   */
  on(event, listener) {
    const set = this.#listeners.get(event);
    if (!set) throw new TypeError(`unknown event "${event}"; events: ${EVENT_NAMES.join(', ')}`);
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    // A closed client says nothing more: a listener added now would wait forever.
    if (this.#closed) throw this.#closedError();
    set.add(listener);
    return () => this.off(event, listener);
  }

  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
  }

  /**
   * Calls a user. Returns the new call's id; if the core refuses (already in a call, an invalid
   * id), a 'refused' event says why and no call starts.
   * @param {string} peerId
   * @param {{video?: boolean, peerName?: string}} [options]
   */
  call(peerId, { video = false, peerName = '' } = {}) {
    const callId = newCallId();
    /** @type {PhoneEvent} */
    const event = { type: 'dial', callId, peer: String(peerId), callType: video ? 'video' : 'audio' };
    if (peerName) event.peerName = String(peerName);
    this.#intent(event);
    return callId;
  }

  /** Answers the ringing call; audioOnly answers a video call without the camera. */
  accept({ audioOnly = false } = {}) { this.#intent({ type: 'accept', audioOnly: Boolean(audioOnly) }); }
  /** Declines the ringing call. */
  reject() { this.#intent({ type: 'reject' }); }
  /** Cancels, declines or ends the call, whichever its state means. */
  hangUp() { this.#intent({ type: 'hangUp' }); }
  /**
   * The page is going away (call it from `pagehide`): the core ends a call under way, which the
   * page that comes back could not return to, and leaves one ringing here to ring it again.
   * Never refused, and a no-op on a closed client, so a page can call it on every way out.
   */
  leave() {
    if (!this.#closed && !this.#closing) this.#dispatch({ type: 'leave' });
  }
  /** Unmutes (true) or mutes (false) the microphone. */
  setMicrophone(on) { this.#intent({ type: 'setMicrophone', on: Boolean(on) }); }
  /** Turns the camera on or off (video calls). */
  setCamera(on) { this.#intent({ type: 'setCamera', on: Boolean(on) }); }
  /**
   * Starts (true) or stops (false) sharing the screen in place of the camera. Call it straight
   * from a click handler: the browser opens its picker only with a user gesture, and the SDK
   * calls getDisplayMedia before shareScreen() returns.
   */
  shareScreen(on = true) { this.#intent({ type: 'shareScreen', on: Boolean(on) }); }

  /**
   * Starts or resumes audio output for the ringtone and ringback. Browsers keep audio silent until
   * the user has interacted with the page: call this from a click handler (sign-in is a good one).
   */
  unlockAudio() {
    // After close() the tone player is gone; unlocking would open a new AudioContext for nothing.
    if (this.#closed || this.#closing) return Promise.reject(this.#closedError());
    return this.#playTones ? this.#tones.unlock() : Promise.resolve();
  }

  /**
   * Hangs up if in a call, closes the signaling connection and the peer connection, releases the
   * camera and microphone, stops timers and tones, and frees the core. Its last events (the
   * hang-up's view, connectionState 'disconnected' with reason 'closed') come before it returns;
   * after that no listener is called again, and intents and on() throw an Error with code 'closed'.
   */
  async close() {
    this.#end(connectionStatus('disconnected', 'closed'));
  }

  // Ends the client for good with a 'disconnected' status: close(), or a connection that cannot
  // come back (the token refused, a transport that gave up).
  #end(status) {
    if (this.#closed || this.#closing) return;
    this.#final = status;
    if (this.#phone && this.#view && IN_CALL.has(this.#view.state)) this.#dispatch({ type: 'hangUp' });
    // From a listener while a batch runs: the hang-up is queued behind it, so the teardown
    // waits for the queue to empty.
    if (this.#running) this.#closing = true;
    else this.#shutdown();
  }

  #closedError() {
    const cause = this.#final?.error ?? undefined;
    const why = cause ? `: ${cause.message}` : '';
    return codeError('closed', `this DuetClient is closed${why}`, cause);
  }

  #intent(event) {
    if (this.#closed || this.#closing) throw this.#closedError();
    this.#dispatch(event);
  }

  // ----- Feeding the core -------------------------------------------------------------------------

  // Hands an event to the core and carries out its effects in order. An event reported while
  // effects are being carried out (a listener calling an intent, a synchronous browser callback)
  // waits in the queue until the current batch is done: handle() is never re-entered.
  #dispatch(event) {
    if (this.#closed || !this.#phone) return;
    this.#events.push(event);
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#events.length > 0 && !this.#closed) {
        const next = this.#events.shift();
        const result = JSON.parse(this.#phone.handle(JSON.stringify(next), Date.now()));
        if (this.#trace) {
          try {
            this.#trace({ event: next, ...result });
          } catch { /* a debugging aid must not break the call */ }
        }
        if (result.error) {
          // The SDK builds every event but 'received' itself, so this is a frame the core cannot
          // read (or a bug here): the protocol says drop it.
          if (next.type !== 'received') console.warn(`[duet] the core refused a ${next.type} event:`, result.error);
          continue;
        }
        for (const effect of result.effects) {
          try {
            this.#execute(effect);
          } catch (error) {
            console.error(`[duet] carrying out ${effect.type} failed:`, error);
          }
        }
      }
    } finally {
      this.#running = false;
    }
    if (this.#closing) this.#shutdown();
  }

  // A browser callback reports what happened (the callbacks of a peer connection check first
  // that it is still the current one).
  #report(event) {
    if (!this.#closed) this.#dispatch(event);
  }

  /** @param {PhoneEffect} effect */
  #execute(effect) {
    switch (effect.type) {
      case 'send': return this.#send(effect.text);
      case 'acquireMedia': return void this.#acquireMedia(effect.audio, effect.video);
      case 'releaseMedia': return this.#releaseMedia();
      case 'openPeer': return this.#openPeer(effect);
      case 'closePeer': return this.#closePeer(effect.peer);
      case 'attachMedia': return this.#attachMedia(effect.peer);
      case 'makeOffer': return this.#makeDescription(effect.peer, false);
      case 'makeAnswer': return this.#makeDescription(effect.peer, true);
      case 'applyRemoteDescription': return this.#applyRemoteDescription(effect);
      case 'addRemoteCandidate': return this.#addRemoteCandidate(effect);
      case 'restartIce': return this.#restartIce(effect.peer);
      case 'setTrackEnabled': return this.#setTrackEnabled(effect.kind, effect.enabled);
      case 'acquireScreen': return void this.#acquireScreen();
      case 'attachScreen': return this.#attachScreen(effect.peer);
      case 'releaseScreen': return this.#releaseScreen();
      case 'playTone': return this.#playTone(effect.tone);
      case 'startTimer': return this.#startTimer(effect.timer, effect.callId, effect.afterMs);
      case 'cancelTimer': return this.#cancelTimer(effect.timer, effect.callId);
      case 'publish':
        this.#view = effect.view;
        return this.#emit('state', effect.view);
      case 'intentRefused': return this.#emit('refused', { code: effect.error.code, message: effect.error.message });
      default:
        // A core newer than this shell. Loud, because an effect not carried out breaks a call.
        console.error(`[duet] unknown effect "${effect.type}": the SDK and duet-core do not match`);
    }
  }

  // ----- Signaling --------------------------------------------------------------------------------

  #attachTransport(transport) {
    transport.onopen = () => {
      // Still 'reconnecting' (or 'connecting') until auth:ok: an open socket is not signed in,
      // and what it reads before then is not part of the session.
      if (this.#transport !== transport || this.#closed) return;
      this.#online = false;
      const auth = { v: PROTOCOL_VERSION, type: 'auth', token: this.#token, device: this.#device };
      // After a sign-in there is a session to resume: say how much of it arrived.
      this.#resuming = this.#inSession;
      if (this.#resuming) auth.received = this.#framesReceived;
      transport.send(JSON.stringify(auth));
    };
    transport.onmessage = (text) => {
      if (this.#transport === transport && !this.#closed && typeof text === 'string') this.#received(text);
    };
    transport.onclose = (info = {}) => {
      if (this.#transport !== transport || this.#closed || this.#closing) return;
      this.#online = false;
      const code = Number.isFinite(info.code) ? info.code : null;
      const why = `signaling connection closed (${code ?? '?'}${info.reason ? ` ${info.reason}` : ''})`;
      if (code === CLOSE_UNAUTHENTICATED) return this.#unauthenticated({ message: `the server refused the token; ${why}` });
      if (!info.willReconnect) {
        const error = codeError('transport', why);
        if (this.#auth) return this.#auth.reject(codeError('closed', why));
        this.#emit('error', { code: 'transport', message: why });
        return this.#end(connectionStatus('disconnected', 'transport', { code, error }));
      }
      // The server keeps our calls for its grace period and delivers what we missed when we
      // sign in again; the core is not told, media goes on peer to peer meanwhile.
      this.#attempt++;
      const delayMs = Number.isFinite(info.delayMs) && info.delayMs >= 0 ? info.delayMs : null;
      this.#setStatus(connectionStatus('reconnecting', 'dropped', { attempt: this.#attempt, delayMs, code }));
      if (!this.#auth) this.#emit('error', { code: 'transport', message: `${why}; reconnecting` });
    };
    if (transport.connected === true) transport.onopen();
  }

  // Every change of the connection's state goes through here: no-ops are dropped, and nothing
  // leaves 'disconnected', which is final.
  #setStatus(status) {
    const now = this.#status;
    if (now.state === 'disconnected') return;
    if (now.state === status.state && now.reason === status.reason && now.attempt === status.attempt) return;
    this.#status = status;
    this.#emit('connectionState', status);
    this.#emitConnection(SHORT_CONNECTION[status.state]);
  }

  #received(text) {
    let message = null;
    try {
      message = JSON.parse(text);
    } catch { /* the core reads it below and drops it */ }
    const signingIn = message?.type === 'auth:ok';
    // The server counts every frame it sends after this connection's auth:ok but the auth:ok.
    if (this.#online && !signingIn) this.#framesReceived++;
    if (message && typeof message === 'object') {
      switch (message.type) {
        case 'auth:ok': this.#signedIn(message); break;
        case 'presence':
          this.#presence.set(message.userId, message.status);
          this.#emit('presence', { userId: message.userId, status: message.status });
          break;
        case 'error':
          if (message.callId) break; // about a call: the core's business
          if (message.code === 'unauthenticated') return this.#unauthenticated(message);
          this.#emit('error', { code: message.code, message: message.message ?? '' });
          break;
        default:
          break;
      }
    }
    // Every frame goes to the core, which ignores what is not about its call.
    this.#dispatch({ type: 'received', text });
  }

  #signedIn(message) {
    if (this.#userId !== null && message.userId !== this.#userId) {
      // The token is the same, so this cannot happen with duet-server; a phone cannot change user.
      this.#emit('error', { code: 'transport', message: `signed in again as ${message.userId}, not ${this.#userId}` });
      return;
    }
    this.#displayName = message.displayName ?? '';
    if (!this.#phone) {
      this.#userId = message.userId;
      this.#phone = new this.#core.Phone(this.#userId, this.#configJson);
      this.#view = JSON.parse(this.#phone.view());
    }
    this.#online = true;
    this.#attempt = 0;
    // First what the server never got, then what the core said while the socket was down, in
    // order: before any listener hears of the sign-in and says something new.
    const problem = this.#resume(message.received);
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const text of outbox) this.#send(text);
    this.#setStatus(connectionStatus('connected', 'signed_in'));
    if (problem) this.#emit('error', { code: 'transport', message: problem });
    if (this.#auth) {
      this.#auth.resolve();
      this.#auth = null;
    }
  }

  // After auth:ok: sends again the frames the server did not read, when it resumed the session
  // (`received` is how many it read), or starts a new session. Returns what went wrong, if anything.
  #resume(received) {
    const asked = this.#resuming;
    this.#resuming = false;
    // A server that says it read more than was sent counts from another base than this client:
    // going on would send frames twice or skip them at the next drop, so that is a new session
    // too, and the next auth does not ask to resume.
    const counted = Number.isSafeInteger(received) && received >= 0;
    const agreed = asked && counted && received <= this.#framesSent;
    this.#inSession = agreed || !(asked && counted);
    if (!agreed) {
      // The server restarted, the session expired or lost frames, or this is the first sign-in.
      this.#framesReceived = 0;
      this.#framesSent = 0;
      this.#kept = [];
      return asked
        ? 'signed in again, but the server did not resume the session: messages in flight when the connection dropped may have been lost'
        : null;
    }
    const before = this.#framesSent - this.#kept.length; // the index of the frame before the oldest kept
    const missing = Math.max(0, before - received);
    for (const text of this.#kept.slice(Math.max(0, received - before))) {
      if (this.#transport.send(text) === false) break; // gone again: the next resume sends them
    }
    return missing > 0
      ? `signed in again, but ${missing} message${missing === 1 ? '' : 's'} the server did not get could not be sent again (only the last ${MAX_RESEND} are kept)`
      : null;
  }

  #unauthenticated(message) {
    const error = codeError('unauthenticated', message.message || 'the server refused the token');
    // Retrying with the same token would be refused again, forever: stop now.
    this.#online = false;
    this.#transport.close();
    if (this.#auth) return this.#auth.reject(error);
    this.#emit('error', { code: 'unauthenticated', message: error.message });
    this.#end(connectionStatus('disconnected', 'unauthenticated', { error }));
  }

  #send(text) {
    if (this.#online && this.#transport.send(text) !== false) {
      // Counted and kept: it may have gone into a socket that had already died.
      this.#framesSent++;
      this.#kept.push(text);
      if (this.#kept.length > MAX_RESEND) this.#kept.shift();
      return;
    }
    if (this.#outbox.length >= MAX_OUTBOX) {
      this.#outbox.shift();
      this.#emit('error', { code: 'transport', message: `offline too long: more than ${MAX_OUTBOX} messages waiting, the oldest dropped` });
    }
    this.#outbox.push(text);
  }

  // ----- Media ------------------------------------------------------------------------------------

  async #acquireMedia(audio, video) {
    // Whatever was open is no longer wanted; a request still in flight is superseded.
    this.#dropLocalStream();
    const generation = ++this.#mediaGeneration;
    const current = () => generation === this.#mediaGeneration && !this.#closed;
    const devices = this.#mediaDevices;
    if (typeof devices?.getUserMedia !== 'function') {
      // No secure context, or no media support at all.
      await Promise.resolve();
      if (current()) this.#report({ type: 'mediaFailed', problem: 'other', microphone: audio, camera: video && !audio });
      return;
    }
    let stream;
    try {
      stream = await devices.getUserMedia({ audio, video });
    } catch (error) {
      return this.#mediaFailed(error, audio, video, current);
    }
    if (!current()) return stopTracks(stream); // released (or asked again) meanwhile
    this.#localStream = stream;
    for (const track of stream.getTracks()) track.enabled = this.#trackEnabled[track.kind] ?? true;
    this.#emit('localStream', stream);
    if (this.#peer?.attached) this.#attachTracks(this.#peer);
    this.#report({ type: 'mediaAcquired', audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0 });
  }

  async #mediaFailed(error, audio, video, current) {
    if (audio && video) {
      // Both were asked for and something failed: try the microphone alone to learn whether only
      // the camera is the problem (a callee may then answer without it).
      let alone;
      try {
        alone = await this.#mediaDevices.getUserMedia({ audio: true });
      } catch (audioError) {
        if (current()) this.#report({ type: 'mediaFailed', problem: mediaProblemOf(audioError), microphone: true, camera: false });
        return;
      }
      stopTracks(alone);
      if (current()) this.#report({ type: 'mediaFailed', problem: mediaProblemOf(error), microphone: false, camera: true });
      return;
    }
    if (current()) this.#report({ type: 'mediaFailed', problem: mediaProblemOf(error), microphone: audio, camera: video && !audio });
  }

  #dropLocalStream() {
    const stream = this.#localStream;
    if (!stream) return;
    this.#localStream = null;
    stopTracks(stream);
    this.#emit('localStream', null);
  }

  #releaseMedia() {
    this.#mediaGeneration++; // a getUserMedia still in flight stops its tracks when it resolves
    this.#trackEnabled = { audio: true, video: true };
    if (this.#peer?.attached) {
      for (const transceiver of this.#peer.pc.getTransceivers()) {
        if (transceiver.sender.track) transceiver.sender.replaceTrack(null).catch(() => {});
      }
    }
    this.#dropLocalStream();
  }

  #setTrackEnabled(kind, enabled) {
    this.#trackEnabled[kind] = enabled;
    for (const track of this.#localStream?.getTracks() ?? []) {
      if (track.kind === kind) track.enabled = enabled;
    }
  }

  // ----- The screen -------------------------------------------------------------------------------

  // getDisplayMedia is called before the first await: the intent's click is the user gesture
  // the browser asks for, and it lasts only while the click's task runs. Like getUserMedia's, an
  // answer that comes after a releaseScreen (the call ended, or sharing was stopped while the
  // picker was open) is not reported: the core waits only for the answer to its latest
  // acquireScreen, and an old one reported after a new request would be taken for the new one's.
  async #acquireScreen() {
    const generation = ++this.#screenGeneration;
    const current = () => generation === this.#screenGeneration && !this.#closed;
    const devices = this.#mediaDevices;
    if (typeof devices?.getDisplayMedia !== 'function') {
      // A phone, an insecure page, or a browser without screen capture.
      await Promise.resolve();
      if (current()) this.#report({ type: 'screenFailed', problem: 'not_found' });
      return;
    }
    let stream;
    try {
      stream = await devices.getDisplayMedia({ video: true, audio: false });
    } catch (error) {
      // NotAllowedError, so 'denied', is also the user closing the picker.
      if (current()) this.#report({ type: 'screenFailed', problem: mediaProblemOf(error) });
      return;
    }
    if (!current()) return stopTracks(stream);
    this.#screenStream = stream;
    for (const track of stream.getVideoTracks()) {
      // Text and edges stay sharp: the encoder gives up frame rate rather than resolution.
      track.contentHint = 'detail';
      // The browser's own "Stop sharing" ends the track without a word from the app.
      track.addEventListener('ended', () => {
        if (this.#screenStream === stream) this.#report({ type: 'screenEnded' });
      }, { once: true });
    }
    this.#report({ type: 'screenAcquired' });
  }

  // The screen goes where the camera's video goes: the video transceiver's sender. An audio call
  // has none, so one is added; the browser then fires negotiationneeded and the core renegotiates.
  #attachScreen(peer) {
    const record = this.#peerFor(peer);
    const track = this.#screenStream?.getVideoTracks()[0];
    if (!record || !track) return;
    record.screen = track;
    const transceiver = this.#videoTransceiver(record);
    if (!transceiver) {
      // addTrack, not addTransceiver: if the other side starts sharing at the same moment, its
      // offer's new video section is matched to this sender instead of becoming a second one
      // (JSEP matches a remote section only to a transceiver addTrack made). Without stream ids,
      // like the transceivers openPeer adds: the other side puts every track of the call in its
      // one remote stream.
      record.pc.addTrack(track);
      return;
    }
    if (transceiver.sender.track === track) return;
    transceiver.sender.replaceTrack(track).catch((error) => {
      if (this.#peer === record) console.warn('[duet] replaceTrack(screen) failed:', error);
    });
  }

  #releaseScreen() {
    const held = this.#screenStream !== null;
    this.#dropScreenStream(); // also a getDisplayMedia still in flight, when it resolves
    if (!held) return;
    const record = this.#peer;
    if (!record?.screen) return; // not attached to the current connection
    record.screen = null;
    // Where attachScreen put it. Found by place rather than by its track: sender.track changes
    // only when a replaceTrack resolves, and the screen's may still be on its way.
    const transceiver = this.#videoTransceiver(record);
    if (!transceiver) return;
    // The camera goes back, enabled or not as the user left it; before attachMedia, nothing.
    const camera = record.attached ? this.#localStream?.getVideoTracks()[0] ?? null : null;
    transceiver.sender.replaceTrack(camera).catch((error) => {
      if (this.#peer === record) console.warn('[duet] replaceTrack(camera) failed:', error);
    });
  }

  #dropScreenStream() {
    this.#screenGeneration++;
    const stream = this.#screenStream;
    this.#screenStream = null;
    stopTracks(stream);
  }

  // The transceiver that carries this side's video: the first video one that is not stopped.
  #videoTransceiver(record) {
    return record.pc.getTransceivers().find((transceiver) =>
      transceiver.receiver.track?.kind === 'video' && transceiver.currentDirection !== 'stopped' && transceiver.direction !== 'stopped') ?? null;
  }

  // ----- The peer connection ----------------------------------------------------------------------

  // The current peer record for this peer id, or null (a stale effect, or none open).
  #peerFor(peer) {
    return this.#peer !== null && this.#peer.peer === peer ? this.#peer : null;
  }

  #openPeer({ peer, initiator, callType }) {
    if (this.#peer) this.#closePeer(this.#peer.peer);
    let pc;
    try {
      pc = new RTCPeerConnection({ iceServers: this.#iceServers });
    } catch (error) {
      // No WebRTC, or ICE servers it refuses. The core has no "could not open" event; a failed
      // connection is the truth, and its timers end the call.
      this.#emit('error', { code: 'peer', message: `cannot create an RTCPeerConnection: ${messageOf(error)}` });
      this.#report({ type: 'peerStateChanged', peer, state: 'failed' });
      return;
    }
    const record = { pc, peer, attached: false, screen: null, remoteStream: null };
    this.#peer = record;
    // Every handler first asks: is this still the current peer connection? A closed one's late
    // events must not reach the core, which may already have a new one to the same peer.
    const live = () => this.#peer === record;
    pc.onnegotiationneeded = () => {
      if (live()) this.#report({ type: 'negotiationNeeded', peer });
    };
    pc.onicecandidate = ({ candidate }) => {
      // End of candidates (null, or an empty candidate line) is not signaled: Chromium does not
      // need it, and a trickle that never says "done" costs nothing.
      if (!live() || !candidate || !candidate.candidate) return;
      this.#report({ type: 'localCandidate', peer, candidate: candidate.toJSON() });
    };
    pc.onsignalingstatechange = () => {
      if (live() && SIGNALING_STATES.has(pc.signalingState)) {
        this.#report({ type: 'signalingChanged', peer, state: pc.signalingState });
      }
    };
    pc.onconnectionstatechange = () => {
      if (live() && PEER_STATES.has(pc.connectionState)) {
        this.#report({ type: 'peerStateChanged', peer, state: pc.connectionState });
      }
    };
    pc.ontrack = ({ track }) => {
      if (!live()) return;
      // Transceivers carry no stream ids (they were added without tracks): one stream per call.
      if (!record.remoteStream) record.remoteStream = new MediaStream();
      if (!record.remoteStream.getTracks().includes(track)) record.remoteStream.addTrack(track);
      this.#emit('remoteStream', record.remoteStream);
    };
    if (initiator) {
      pc.addTransceiver('audio', { direction: 'sendrecv' });
      if (callType === 'video') pc.addTransceiver('video', { direction: 'sendrecv' });
    }
  }

  #closePeer(peer) {
    const record = this.#peerFor(peer);
    if (!record) return;
    this.#peer = null;
    const { pc } = record;
    pc.onnegotiationneeded = pc.onicecandidate = pc.onsignalingstatechange = pc.onconnectionstatechange = pc.ontrack = null;
    pc.close();
    if (record.remoteStream) this.#emit('remoteStream', null);
  }

  #attachMedia(peer) {
    const record = this.#peerFor(peer);
    if (!record) return;
    record.attached = true;
    this.#attachTracks(record);
  }

  // Puts the local tracks on the transceivers, by kind: on those there are now, and (called again
  // after every remote description) on those a remote offer added. While the screen is shared it
  // keeps the video transceiver.
  #attachTracks(record) {
    if (!record.attached) return;
    const tracks = this.#localStream?.getTracks() ?? [];
    const screenOn = record.screen ? this.#videoTransceiver(record) : null;
    for (const transceiver of record.pc.getTransceivers()) {
      if (transceiver.currentDirection === 'stopped' || transceiver.direction === 'stopped') continue;
      const kind = transceiver.receiver.track?.kind;
      const track = transceiver === screenOn ? record.screen : tracks.find((t) => t.kind === kind) ?? null;
      if (transceiver.sender.track === track) continue;
      transceiver.sender.replaceTrack(track).catch((error) => {
        if (this.#peer === record) console.warn(`[duet] replaceTrack(${kind}) failed:`, error);
      });
    }
  }

  #makeDescription(peer, answer) {
    const record = this.#peerFor(peer);
    if (!record) return;
    const { pc } = record;
    if (answer) {
      for (const transceiver of pc.getTransceivers()) {
        try {
          if (transceiver.direction !== 'stopped') transceiver.direction = 'sendrecv';
        } catch { /* stopped meanwhile */ }
      }
    }
    pc.setLocalDescription().then(() => {
      if (this.#peer !== record) return;
      const description = pc.localDescription;
      if (!description || (description.type !== 'offer' && description.type !== 'answer')) {
        this.#report({ type: 'peerOperationFailed', peer, operation: 'setLocalDescription', message: `no local offer or answer (${description?.type ?? 'none'})` });
        return;
      }
      this.#report({ type: 'localDescription', peer, sdpType: description.type, sdp: description.sdp });
    }, (error) => {
      if (this.#peer === record) this.#operationFailed(peer, 'setLocalDescription', error);
    });
  }

  #applyRemoteDescription({ peer, sdpType, sdp }) {
    const record = this.#peerFor(peer);
    if (!record) return;
    record.pc.setRemoteDescription({ type: sdpType, sdp }).then(() => {
      if (this.#peer !== record) return;
      this.#attachTracks(record); // an offer may have added transceivers
      this.#report({ type: 'remoteDescriptionApplied', peer, sdpType });
    }, (error) => {
      if (this.#peer === record) this.#operationFailed(peer, 'setRemoteDescription', error);
    });
  }

  #addRemoteCandidate({ peer, candidate }) {
    const record = this.#peerFor(peer);
    if (!record) return;
    record.pc.addIceCandidate(candidate).catch((error) => {
      if (this.#peer === record) this.#operationFailed(peer, 'addIceCandidate', error);
    });
  }

  #restartIce(peer) {
    this.#peerFor(peer)?.pc.restartIce();
  }

  #operationFailed(peer, operation, error) {
    this.#report({ type: 'peerOperationFailed', peer, operation, message: messageOf(error).slice(0, MAX_ERROR_MESSAGE) });
  }

  // ----- Timers and tones -------------------------------------------------------------------------

  #startTimer(timer, callId, afterMs) {
    const key = `${timer} ${callId}`;
    clearTimeout(this.#timers.get(key));
    this.#timers.set(key, setTimeout(() => {
      this.#timers.delete(key);
      this.#report({ type: 'timerFired', timer, callId });
    }, afterMs));
  }

  #cancelTimer(timer, callId) {
    const key = `${timer} ${callId}`;
    clearTimeout(this.#timers.get(key));
    this.#timers.delete(key);
  }

  #playTone(tone) {
    if (this.#playTones) {
      if (tone === 'none') this.#tones.stop();
      else this.#tones.play(tone);
    }
    this.#emit('tone', tone);
  }

  // ----- Events and teardown ----------------------------------------------------------------------

  #emit(event, value) {
    for (const listener of [...this.#listeners.get(event)]) {
      try {
        listener(value);
      } catch (error) {
        console.error(`[duet] a '${event}' listener threw:`, error);
      }
    }
  }

  #emitConnection(state) {
    if (this.#connection === state) return;
    this.#connection = state;
    this.#emit('connection', state);
  }

  #shutdown() {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = false;
    clearTimeout(this.#iceTimer);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#tones.close();
    if (this.#peer) this.#closePeer(this.#peer.peer);
    this.#mediaGeneration++;
    this.#dropLocalStream();
    this.#dropScreenStream();
    const transport = this.#transport;
    if (transport) {
      transport.close();
      // A transport of the app's own may still call its handlers (a frame already in flight);
      // no-ops rather than null, for transports that call them without checking.
      transport.onopen = () => {};
      transport.onmessage = () => {};
      transport.onclose = () => {};
    }
    this.#online = false;
    this.#outbox = [];
    this.#events = [];
    this.#phone?.delete();
    this.#phone = null;
    // The last words: the final state, then silence. Dropping the listeners makes sure of it
    // whatever is still in flight (a promise of the browser's, a frame, a late callback).
    this.#setStatus(this.#final ?? connectionStatus('disconnected', 'closed'));
    for (const set of this.#listeners.values()) set.clear();
  }
}
