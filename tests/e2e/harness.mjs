// The end-to-end harness: the real duet-server, Debian's Chromium with fake camera and
// microphone, and one browser context per user, driven through the web app's own screens.
//
//   scenario(name, options, body)  one node:test test with its own time limit, its own server
//                                  (fresh data, RING_TIMEOUT as asked) and its own users; on
//                                  failure the message carries every page's state, its recent
//                                  call timeline and the server's stderr tail, and each page is
//                                  saved as build/screenshots/e2e/FAILED-<scenario>-<who>.png.
//   world.users(...labels)         accounts made through the REST API, all contacts of each other.
//   world.open(user, {grant})      a browser context for the user, signed in through the form;
//                                  `grant` lists the media permissions it has (both by default).
//   Person                         one signed-in page: clicks, bounded polled waits, state,
//                                  RTCPeerConnection stats, history rows; cutSignaling() and
//                                  restoreSignaling() take its WebSocket to the server away and
//                                  give it back, as a network that drops would;
//                                  silenceSignaling() kills it without the server noticing.
//
// The browser asks for media permissions for real (no --use-fake-ui-for-media-stream): each
// context is granted what its user allows, and anything else is denied by Chromium itself.
// A scenario may ask for a browser of its own with more flags (`chromiumArgs`): screen sharing
// needs the fake picker, since headless Chromium's getDisplayMedia never resolves without it.
// The page's peer connections are recorded by an init script that wraps RTCPeerConnection, and
// its WebSockets by one that wraps WebSocket: test-only instrumentation, the app has no hooks
// for tests.
//
// Every wait polls a condition with a deadline; nothing here sleeps to decide a result.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../browser/chromium.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER_BIN = path.resolve(ROOT, process.env.DUET_SERVER || 'build/native/duet-server');
export const SHOTS = path.join(ROOT, 'build/screenshots/e2e');
const PASSWORD = 'correct horse battery staple';
const VIEWPORT = { width: 1024, height: 720 };
const SURNAMES = { Alice: 'Archer', Bob: 'Baker', Carol: 'Carter' };

// Waits are generous because another Chromium may be busy on the same two cores; each is
// still far shorter than its test's own time limit, so a stuck wait fails with its own words.
export const WAIT = Object.freeze({
  ui: 10_000,      // a click's visible effect, a message through the server
  connect: 20_000, // accept -> ICE and DTLS connected
  media: 15_000,   // connected -> packets, levels and frames in the stats
});
const POLL_MS = 150;

// ----- small tools ---------------------------------------------------------------------------

/** Polls `probe` until it returns {ok: true}; fails with what it saw last. */
export async function until(what, probe, { timeout = WAIT.ui, interval = POLL_MS, context, signal } = {}) {
  const deadline = Date.now() + timeout;
  let seen = '(not checked yet)';
  for (;;) {
    // A scenario that already failed closes its pages: its waits stop at once.
    if (signal?.aborted) throw new Error(`${what}: abandoned, the scenario is over`);
    let result;
    try {
      result = await probe();
    } catch (error) {
      result = { ok: false, seen: `probe threw: ${error?.message ?? error}` };
    }
    if (result.ok) return result;
    seen = result.seen ?? seen;
    if (Date.now() >= deadline) {
      const more = context ? `\n${await context()}` : '';
      throw new Error(`${what}: not within ${timeout} ms; last seen: ${typeof seen === 'string' ? seen : JSON.stringify(seen)}${more}`);
    }
    await sleep(interval);
  }
}

export function check(ok, message) {
  if (!ok) throw new Error(message);
}

// ----- the server ------------------------------------------------------------------------------

const liveServers = new Set();
process.on('exit', () => {
  for (const proc of liveServers) {
    try { proc.kill('SIGKILL'); } catch { /* gone */ }
  }
});

class Server {
  constructor(proc, dir) {
    this.proc = proc;
    this.dir = dir;
    this.log = '';
    this.port = 0;
    this.exit = null;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      this.exit = { code, signal };
      liveServers.delete(proc);
      resolve(this.exit);
    }));
  }

  get base() { return `http://127.0.0.1:${this.port}`; }

  tail(chars = 1500) {
    const text = this.log.slice(-chars).trimEnd();
    return text === '' ? '(nothing)' : text;
  }

  async stop() {
    if (this.exit === null) {
      this.proc.kill('SIGTERM');
      const done = await Promise.race([this.exited, sleep(4000, null, { ref: false })]);
      if (!done) {
        this.proc.kill('SIGKILL');
        await this.exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** One request; throws with the status and body when the answer is not 2xx. */
  async api(method, urlPath, { token, body } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    let text;
    try {
      response = await fetch(this.base + urlPath, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(15_000),
      });
      text = await response.text();
    } catch (error) {
      throw new Error(`${method} ${urlPath}: ${error.message}\nserver stderr:\n${this.tail()}`);
    }
    if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  }

  /** A gauge or counter without labels from /metrics. */
  async metric(name) {
    const response = await fetch(`${this.base}/metrics`, { signal: AbortSignal.timeout(5000) });
    const line = (await response.text()).split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? NaN : Number(line.slice(name.length + 1));
  }
}

async function startServer({ ringTimeout, reconnectGrace } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'duet-e2e-'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    PORT: '0',
    HOST: '127.0.0.1',
    DUET_DATA_DIR: dir,
    DUET_WEB_DIR: path.join(ROOT, 'web'),
    DUET_MODULE_DIR: path.join(ROOT, 'build/wasm/module'),
  };
  if (ringTimeout !== undefined) env.RING_TIMEOUT = String(ringTimeout);
  if (reconnectGrace !== undefined) env.RECONNECT_GRACE = String(reconnectGrace);
  // cwd is the temp directory: the server reads ./.env, and the repository's must not apply.
  const proc = spawn(SERVER_BIN, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  liveServers.add(proc);
  const server = new Server(proc, dir);
  const keep = (chunk) => {
    server.log += chunk.toString('utf8');
    if (server.log.length > 100_000) server.log = server.log.slice(-50_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  try {
    await until('duet-server prints its listening line', async () => {
      if (server.exit) throw new Error(`duet-server exited (${JSON.stringify(server.exit)}):\n${server.tail()}`);
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(server.log);
      if (m) server.port = Number(m[1]);
      return { ok: Boolean(m), seen: server.tail(300) };
    }, { timeout: 15_000, interval: 50 });
  } catch (error) {
    await server.stop();
    throw new Error(`cannot start ${SERVER_BIN}: ${error.message}`);
  }
  return server;
}

// ----- the browser ------------------------------------------------------------------------------

/** @type {Map<string, Promise<import('playwright-core').Browser>>} by its extra flags */
const browsers = new Map();

// One Chromium per test file and set of extra flags (most scenarios add none); each user gets
// a context of their own in it.
function browser(extraArgs = []) {
  const key = extraArgs.join(' ');
  if (!browsers.has(key)) {
    browsers.set(key, chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      // Without the fake permission UI, a context gets the camera and microphone only when they
      // were granted to it: denial is Chromium's own, as for a person who clicked "Block".
      args: [...CHROMIUM_ARGS.filter((arg) => arg !== '--use-fake-ui-for-media-stream'), ...extraArgs],
    }));
  }
  return browsers.get(key);
}

after(async () => {
  await Promise.all([...browsers.values()].map(async (launched) => (await launched.catch(() => null))?.close()));
});

// Runs in every page before the app: records peer connections for getStats() and WebSockets for
// cutting the signaling link, and keeps a short timeline of what the call UI showed, for failure
// messages and for "never rang" checks. `unreachable` is a ws:// URL where nothing listens;
// `relayOnly` makes every peer connection use relay candidates only, which with no TURN server
// leaves it none: a network that lets no media through.
function instrument({ unreachable, relayOnly }) {
  // notices: every ended notice shown, as it was shown (ordinary ones go away after 3 s, so a
  // test that polls a little late still reads what the person saw).
  // signaling: while `down`, every new WebSocket goes to `unreachable` and fails as it would
  // with no network (connection refused, close 1006); `opened` counts those that reached the
  // server.
  const record = {
    peerConnections: [], timeline: [], incomingOpened: 0, notices: [],
    signaling: { down: false, sockets: [], opened: 0, refused: 0 },
  };
  Object.defineProperty(window, '__duetE2E', { value: record });
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Native {
    constructor(config, ...rest) {
      super(relayOnly ? { ...config, iceTransportPolicy: 'relay' } : config, ...rest);
      record.peerConnections.push(this);
    }
  };
  const link = record.signaling;
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      const cut = link.down;
      super(cut ? unreachable : url, protocols);
      if (cut) {
        link.refused++;
        return;
      }
      link.sockets = link.sockets.filter((s) => s.readyState <= 1);
      link.sockets.push(this);
      this.addEventListener('open', () => { link.opened++; });
      // A socket played dead (silenceSignaling) keeps what really happens on it from the page;
      // these listeners come before the page's own, and the pretended close is not trusted.
      for (const type of ['message', 'close', 'error']) {
        this.addEventListener(type, (event) => {
          if (this.e2eSilent && event.isTrusted) event.stopImmediatePropagation();
        });
      }
    }

    send(data) {
      if (!this.e2eSilent) super.send(data);
    }
  };
  const note = (text) => {
    record.timeline.push(`${(performance.now() / 1000).toFixed(2)}s ${text}`);
    if (record.timeline.length > 40) record.timeline.shift();
  };
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const el = /** @type {Element} */ (m.target);
      if (el.localName === 'dialog' && m.attributeName === 'open' && el.hasAttribute('open') !== (m.oldValue !== null)) {
        if (el.hasAttribute('open')) record.incomingOpened++;
        note(`incoming dialog ${el.hasAttribute('open') ? 'opened' : 'closed'} (${el.getAttribute('data-call-type') ?? '?'})`);
      } else if (el.classList?.contains('call-screen') && m.attributeName?.startsWith('data-')) {
        const value = el.getAttribute(m.attributeName);
        if (value !== m.oldValue) note(`call screen ${m.attributeName.slice(5)}=${value}`);
      } else if (el.classList?.contains('call-ended') && m.attributeName === 'data-testid' && m.oldValue === null && el.hasAttribute('data-testid')) {
        // The screen renders synchronously after showing the notice; observers run after that.
        const text = (id) => el.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? null;
        record.notices.push({
          reason: el.getAttribute('data-reason'),
          text: text('call-ended-reason'),
          detail: text('call-ended-detail'),
          problem: text('media-problem'),
          actions: [...el.querySelectorAll('button[data-testid]')].map((b) => b.getAttribute('data-testid')),
        });
        note(`ended notice shown: ${el.getAttribute('data-reason')}`);
      } else if (el.classList?.contains('call-ended') && m.attributeName === 'data-reason') {
        if (el.getAttribute('data-reason') !== m.oldValue) note(`ended reason=${el.getAttribute('data-reason')}`);
      }
    }
  }).observe(document, {
    subtree: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['open', 'data-state', 'data-connection', 'data-call-type', 'data-reason', 'data-testid'],
  });
}

// What a page shows, in one line, for failure messages. Runs in the page.
function pageState() {
  const q = (id) => document.querySelector(`[data-testid="${id}"]`);
  const text = (id) => q(id)?.textContent?.trim().slice(0, 120) ?? null;
  const screen = document.querySelector('.call-screen');
  const dialog = document.querySelector('dialog[data-testid="incoming-dialog"]');
  const record = window.__duetE2E;
  const local = /** @type {HTMLVideoElement | null} */ (document.querySelector('.call-screen .local-video'));
  const banner = q('connection-banner');
  return {
    connection: document.documentElement.dataset.connection ?? null,
    banner: banner && !banner.hidden ? banner.textContent.trim() : null,
    route: location.hash,
    callScreen: screen && !screen.hidden
      ? { state: screen.dataset.state, connection: screen.dataset.connection, type: screen.dataset.callType, status: text('call-connection'), timer: text('call-timer') }
      : null,
    ended: q('call-ended') ? { reason: q('call-ended').getAttribute('data-reason'), text: text('call-ended-reason') } : null,
    incoming: dialog?.open ? { type: dialog.dataset.callType, caller: text('incoming-caller') } : null,
    problem: text('media-problem'),
    // Screen sharing: the button (text and aria-pressed) and the lines about it, when shown.
    screen: {
      button: q('screen-button') ? { text: text('screen-button'), pressed: q('screen-button').getAttribute('aria-pressed') } : null,
      sharing: text('self-sharing'),
      remote: text('remote-sharing'),
      problem: text('screen-problem'),
    },
    toast: text('toast'),
    badge: q('missed-badge')?.getAttribute('data-count') ?? null,
    // Live tracks of the local preview: the camera and microphone this page holds open.
    localTracks: local?.srcObject?.getTracks().filter((t) => t.readyState === 'live').map((t) => t.kind) ?? [],
    peers: record?.peerConnections.map((pc) => pc.connectionState) ?? [],
    signaling: record ? { down: record.signaling.down, opened: record.signaling.opened, refused: record.signaling.refused } : null,
    notices: record?.notices ?? [],
    timeline: record?.timeline.slice(-12) ?? [],
  };
}

// Inbound RTP of the newest open peer connection. Runs in the page.
async function inboundStats() {
  const pc = window.__duetE2E.peerConnections.filter((p) => p.connectionState !== 'closed').at(-1);
  if (!pc) return { peer: 'none' };
  const out = { peer: pc.connectionState, audio: null, video: null };
  for (const s of (await pc.getStats()).values()) {
    if (s.type !== 'inbound-rtp') continue;
    if (s.kind === 'audio') {
      out.audio = { packets: s.packetsReceived ?? 0, level: s.audioLevel ?? 0, energy: s.totalAudioEnergy ?? 0 };
    } else if (s.kind === 'video') {
      out.video = { packets: s.packetsReceived ?? 0, frames: s.framesDecoded ?? 0, width: s.frameWidth ?? 0, height: s.frameHeight ?? 0 };
    }
  }
  const remote = document.querySelector('[data-testid="remote-video"]');
  if (remote) {
    const box = remote.getBoundingClientRect();
    // Shown: laid out larger than the 1-pixel placeholder and not transparent.
    const shown = box.width > 100 && box.height > 100 && getComputedStyle(remote).opacity === '1';
    out.remoteVideo = { width: remote.videoWidth, height: remote.videoHeight, paused: remote.paused, shown, fit: getComputedStyle(remote).objectFit };
  } else {
    out.remoteVideo = null;
  }
  const sound = document.querySelector('[data-testid="remote-audio"]');
  out.remoteAudio = sound ? { muted: sound.muted, paused: sound.paused, tracks: sound.srcObject?.getAudioTracks().length ?? 0 } : null;
  return out;
}

// ----- a signed-in person -----------------------------------------------------------------------

export class Person {
  constructor(world, user, context, page) {
    this.world = world;
    this.user = user;
    this.who = user.label;
    this.context = context;
    this.page = page;
    this.errors = [];
    this.noticesRead = 0;
    this.gone = false; // vanish() closed its browser
    page.on('pageerror', (error) => this.errors.push(`page error: ${error.message}`));
    page.on('crash', () => this.errors.push('page crashed'));
  }

  /** The one element with this data-testid (the app gives shown elements only). */
  el(testid) {
    return this.page.locator(`[data-testid="${testid}"]`);
  }

  async click(testid) {
    try {
      await this.el(testid).click({ timeout: WAIT.ui });
    } catch (error) {
      throw new Error(`${this.who}: cannot click "${testid}": ${error.message.split('\n')[0]}\n${await this.describe()}`);
    }
  }

  async state() {
    return this.page.evaluate(pageState);
  }

  async describe() {
    if (this.gone) return `[${this.who}] (gone: its browser was closed)`;
    try {
      const s = await this.state();
      return `[${this.who}] ${JSON.stringify(s)}${this.errors.length ? `\n[${this.who}] ${this.errors.join('; ')}` : ''}`;
    } catch (error) {
      return `[${this.who}] (page unreadable: ${error.message.split('\n')[0]})`;
    }
  }

  /** Polls the page's state until `test(state)` is true. */
  waitState(what, test, timeout = WAIT.ui) {
    return until(`${this.who}: ${what}`, async () => {
      const s = await this.state();
      return { ok: Boolean(test(s)), seen: s };
    }, { timeout, context: () => this.world.describe(), signal: this.world.signal });
  }

  /** The call screen is up with this state (and connection, when given). */
  waitCall(state, { connection, timeout = WAIT.ui } = {}) {
    const what = `call screen ${state}${connection ? `/${connection}` : ''}`;
    return this.waitState(what, (s) => s.callScreen?.state === state && (!connection || s.callScreen.connection === connection), timeout);
  }

  waitIncoming(timeout = WAIT.ui) {
    return this.waitState('the incoming-call dialog', (s) => s.incoming !== null, timeout);
  }

  /**
   * The next ended notice, with this reason (data-reason); resolves with what it showed:
   * {reason, text, detail, problem, actions (the testids of its buttons)}.
   */
  async waitEnded(reason, timeout = WAIT.ui) {
    const from = this.noticesRead;
    const { seen } = await this.waitState(`a new ended notice, reason "${reason}"`,
      (s) => s.notices.length > from && s.notices.at(-1).reason === reason, timeout);
    this.noticesRead = seen.notices.length;
    return seen.notices.at(-1);
  }

  /**
   * Presses OK on the ended notice, if it is still there (ordinary notices also go away by
   * themselves after 3 s, so it may vanish under the click), and waits until it is gone.
   */
  async closeEnded() {
    if ((await this.state()).ended) {
      await this.el('call-ended-close').click({ timeout: 2000 }).catch(() => {});
    }
    await this.waitState('the ended notice gone', (s) => s.ended === null);
  }

  /** Neither the call screen nor the incoming dialog is up. */
  waitIdle(timeout = WAIT.ui) {
    return this.waitState('no call on screen', (s) => s.callScreen === null && s.ended === null && s.incoming === null, timeout);
  }

  async stats() {
    return this.page.evaluate(inboundStats);
  }

  /** Inbound audio packets with a level above zero (the fake microphone beeps twice a second). */
  async waitAudio(timeout = WAIT.media) {
    let loudest = 0;
    const result = await until(`${this.who}: inbound audio with a level`, async () => {
      const s = await this.stats();
      loudest = Math.max(loudest, s.audio?.level ?? 0);
      const ok = s.audio !== null && s.audio.packets > 0 && (loudest > 0 || s.audio.energy > 0);
      return { ok, seen: { ...s, loudest }, stats: s };
    }, { timeout, interval: 100, context: () => this.world.describe(), signal: this.world.signal });
    return { ...result.stats.audio, loudest };
  }

  /** Remote video frames decoded and on screen, and more of them a little later. */
  async waitVideo(timeout = WAIT.media) {
    const first = await until(`${this.who}: remote video frames decoded and shown`, async () => {
      const s = await this.stats();
      const ok = (s.video?.frames ?? 0) > 0 && (s.remoteVideo?.width ?? 0) > 0 && s.remoteVideo.shown;
      return { ok, seen: s, stats: s };
    }, { timeout, context: () => this.world.describe(), signal: this.world.signal });
    const started = first.stats.video.frames;
    // Steadily, not one burst: at least 10 more frames (under a second at the fake camera's rate).
    const second = await until(`${this.who}: remote video frames still growing after ${started}`, async () => {
      const s = await this.stats();
      return { ok: (s.video?.frames ?? 0) >= started + 10, seen: s, stats: s };
    }, { timeout, context: () => this.world.describe(), signal: this.world.signal });
    return { first: started, second: second.stats.video.frames, width: second.stats.remoteVideo.width };
  }

  /** The history tab's rows (newest first), once `ready(rows)` holds. */
  async historyRows(ready, what = 'the history rows') {
    // The ended notice covers the page for a few seconds; a person in a hurry presses OK.
    await this.closeEnded();
    if (!(await this.page.evaluate(() => location.hash === '#/history'))) await this.click('nav-history');
    let rows = [];
    await until(`${this.who}: ${what}`, async () => {
      rows = await this.page.evaluate(() => {
        const read = (testid) => [...document.querySelectorAll(`[data-testid="${testid}"]`)].map((r) => ({
          id: r.getAttribute('data-call-id'),
          status: r.getAttribute('data-status'),
          apiStatus: r.getAttribute('data-api-status'),
          direction: r.getAttribute('data-direction'),
          type: r.getAttribute('data-type'),
          duration: r.getAttribute('data-duration'),
          name: r.querySelector('.name')?.textContent ?? '',
          statusText: r.querySelector('[data-testid="call-status"]')?.textContent ?? '',
          durationText: r.querySelector('[data-testid="call-duration"]')?.textContent ?? '',
        }));
        return { all: read('history-row'), missed: read('missed-row') };
      });
      return { ok: ready(rows), seen: rows };
    }, { context: () => this.world.describe(), signal: this.world.signal });
    return rows;
  }

  /** The call records the server gives this user, newest first. */
  serverHistory() {
    return this.world.server.api('GET', '/api/calls?limit=50', { token: this.user.token });
  }

  /**
   * Takes the page's signaling link away, as a network that drops would: its open WebSocket is
   * closed under it, and its reconnects fail (connection refused) until restoreSignaling().
   * The peer connection is left alone: media goes between the browsers, not through the server.
   */
  async cutSignaling() {
    await this.page.evaluate(() => {
      const link = window.__duetE2E.signaling;
      link.down = true;
      // 4000: a code of the private range; the page sees the close as any other drop.
      for (const socket of link.sockets) if (socket.readyState <= 1) socket.close(4000, 'e2e: network down');
    });
  }

  /**
   * The page's socket dies without the server hearing of it, as on a network switch: the page
   * is told it closed (1006) and hears nothing more on it, while the server still holds it open
   * and would not notice for minutes. The page's reconnect goes through at once, or with
   * `stayDown` only after restoreSignaling() (what the server writes meanwhile is lost in the
   * dead socket).
   * @param {{stayDown?: boolean}} [options]
   */
  async silenceSignaling({ stayDown = false } = {}) {
    await this.page.evaluate((stayDown) => {
      if (stayDown) window.__duetE2E.signaling.down = true;
      for (const socket of window.__duetE2E.signaling.sockets) {
        if (socket.readyState !== 1) continue;
        socket.e2eSilent = true;
        socket.dispatchEvent(new CloseEvent('close', { code: 1006, reason: '', wasClean: false }));
      }
    }, stayDown);
  }

  /** Lets the page's next reconnect through. */
  async restoreSignaling() {
    await this.page.evaluate(() => { window.__duetE2E.signaling.down = false; });
  }

  /** Reloads the page (the app signs in again from its stored session) and waits until it is online. */
  async reload() {
    await this.page.reload({ timeout: WAIT.ui });
    this.noticesRead = 0; // the new page's record starts empty
    await this.waitState('signed in and online after the reload', (s) => s.connection === 'online', WAIT.connect);
  }

  /**
   * The person is gone for good without a word, as when their network dies and the laptop with
   * it: the signaling link is cut first, so the page's hang-up on leaving (pagehide) has no way
   * out, then the browser context is closed.
   */
  async vanish() {
    await this.cutSignaling();
    this.gone = true;
    await this.context.close();
  }

  async shot(name) {
    await mkdir(SHOTS, { recursive: true });
    const file = path.join(SHOTS, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }
}

/**
 * `caller` dials `callee` from the contacts list; resolves with what the callee's dialog shows
 * once it is up and the caller's screen says "Ringing…" (the callee's call:ringing came back).
 * @param {Person} caller
 * @param {Person} callee
 * @param {'audio' | 'video'} type
 */
export async function ring(caller, callee, type) {
  await caller.click(`call-${type}-${callee.user.username}`);
  const { seen } = await callee.waitIncoming();
  check(seen.incoming.type === type, `${callee.who}'s dialog is for a ${type} call: ${JSON.stringify(seen.incoming)}`);
  check(seen.incoming.caller.includes(caller.user.displayName),
    `${callee.who}'s dialog names ${caller.user.displayName}: ${JSON.stringify(seen.incoming)}`);
  await caller.waitState('"Ringing…" on the outgoing call screen',
    (s) => s.callScreen?.state === 'outgoing' && s.callScreen.status === 'Ringing…');
  return seen.incoming;
}

// ----- a scenario ----------------------------------------------------------------------------------

/** A loopback port nothing listens on (it was free a moment ago, and nothing here takes it). */
function unusedPort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

class World {
  constructor(name, server, chromiumArgs = []) {
    this.name = name;
    this.server = server;
    this.chromiumArgs = chromiumArgs;
    this.people = [];
    this.contexts = [];
    this.closing = new AbortController();
  }

  get signal() { return this.closing.signal; }

  /** Accounts for `labels`, with no contacts. */
  async strangers(...labels) {
    const accounts = [];
    for (const label of labels) {
      // Each scenario has a server of its own, so plain names cannot collide.
      const username = label.toLowerCase();
      const displayName = `${label} ${SURNAMES[label] ?? 'Tester'}`;
      const session = await this.server.api('POST', '/api/auth/register', { body: { username, password: PASSWORD, displayName } });
      accounts.push({ label, username, displayName, id: session.user.id, token: session.token });
    }
    return accounts;
  }

  /** Accounts for `labels`, each an accepted contact of every other. */
  async users(...labels) {
    const accounts = await this.strangers(...labels);
    for (let i = 0; i < accounts.length; i++) {
      for (let j = i + 1; j < accounts.length; j++) {
        const [a, b] = [accounts[i], accounts[j]];
        await this.server.api('POST', '/api/contacts', { token: a.token, body: { username: b.username } });
        await this.server.api('POST', `/api/contacts/${a.id}/accept`, { token: b.token });
      }
    }
    return accounts;
  }

  /**
   * A browser context for `user`, signed in through the form, online for calls.
   * @param {{grant?: ('camera' | 'microphone')[], relayOnly?: boolean}} [options] `grant`: media
   *   permissions the user allows; `relayOnly`: the page's peer connections find no network path
   */
  async open(user, { grant = ['camera', 'microphone'], relayOnly = false } = {}) {
    const context = await (await browser(this.chromiumArgs)).newContext({ locale: 'en-US', viewport: VIEWPORT, permissions: grant });
    this.contexts.push(context);
    await context.addInitScript(instrument, { unreachable: `ws://127.0.0.1:${await unusedPort()}/api/socket`, relayOnly });
    const page = await context.newPage();
    const person = new Person(this, user, context, page);
    this.people.push(person);
    await page.goto(this.server.base, { timeout: WAIT.ui });
    await page.locator('[data-testid="auth-username"]').fill(user.username, { timeout: WAIT.ui });
    await page.locator('[data-testid="auth-password"]').fill(PASSWORD);
    await person.click('auth-submit');
    // Calls can be placed once the page's signaling client is online.
    await person.waitState('signed in and online', (s) => s.connection === 'online', WAIT.connect);
    return person;
  }

  async describe() {
    const pages = await Promise.all(this.people.map((p) => p.describe()));
    return `${pages.join('\n')}\n[server stderr, last lines]\n${this.server.tail()}`;
  }

  /** until() with this scenario's pages in the failure message, abandoned when it closes. */
  until(what, probe, options = {}) {
    return until(what, probe, { context: () => this.describe(), signal: this.signal, ...options });
  }

  /** The server holds no ringing or running call any more. */
  async noCallsLeft() {
    await until('the server has no call ringing or in progress (duet_active_calls 0)', async () => {
      const active = await this.server.metric('duet_active_calls');
      return { ok: active === 0, seen: `duet_active_calls ${active}` };
    }, { context: () => this.describe(), signal: this.signal });
  }

  async close() {
    this.closing.abort();
    await Promise.all(this.contexts.map((c) => c.close().catch(() => {})));
    await this.server.stop();
  }
}

async function removeFailureShots(slug) {
  const old = await readdir(SHOTS).catch(() => []);
  await Promise.all(old.filter((f) => f.startsWith(`FAILED-${slug}-`)).map((f) => rm(path.join(SHOTS, f), { force: true })));
}

const MARGIN_MS = 10_000; // failure screenshots, the pages' state, closing

/**
 * One scenario as a node:test test, named as a sentence, with its own time limit. `slug` names
 * its screenshots. Page errors (uncaught exceptions in the app) fail it too.
 * `chromiumArgs`: flags for a browser of the scenario's own (shared by the scenarios of its file
 * that ask for the same ones), beside the one the others use.
 * @param {string} name
 * @param {{slug: string, timeout: number, ringTimeout?: number, reconnectGrace?: number, chromiumArgs?: string[]}} options
 * @param {(world: World) => Promise<void>} body
 */
export function scenario(name, { slug, timeout, ringTimeout, reconnectGrace, chromiumArgs }, body) {
  test(name, { timeout }, async () => {
    await removeFailureShots(slug);
    const server = await startServer({ ringTimeout, reconnectGrace });
    const world = new World(name, server, chromiumArgs);
    // A deadline of its own, a little inside node's, so that a scenario that runs out of time
    // still fails with the pages' state and screenshots rather than a bare "timed out".
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${timeout - MARGIN_MS} ms`)), timeout - MARGIN_MS);
    });
    try {
      const running = body(world);
      running.catch(() => {}); // after the deadline its late failure is no news
      await Promise.race([running, deadline]);
      const errors = world.people.flatMap((p) => p.errors.map((e) => `${p.who}: ${e}`));
      check(errors.length === 0, `the app reported errors:\n${errors.join('\n')}`);
    } catch (error) {
      await mkdir(SHOTS, { recursive: true });
      await Promise.all(world.people.map((p) =>
        p.page.screenshot({ path: path.join(SHOTS, `FAILED-${slug}-${p.who}.png`), timeout: 5000 }).catch(() => {})));
      // A wait's own message already has the pages' state; others get it here.
      if (!String(error?.message).includes('[server stderr')) {
        error.message = `${error.message}\n${await world.describe()}`;
      }
      throw error;
    } finally {
      clearTimeout(timer);
      await world.close();
    }
  });
}
