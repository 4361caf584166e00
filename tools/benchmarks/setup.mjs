// `tools/bench setup`: how long a call takes to set up once the callee accepts, on Duet and on the
// seed's stack, and how much the app page weighs. Run through tools/benchmarks/setup.sh, which
// builds what is missing; docs/benchmarks.md#setup explains the method and every figure.
//
// Set-up time is from the callee's accept (the moment accept is invoked on the callee's page) to
// the first remote video frame the caller's <video> presents (requestVideoFrameCallback), both on
// one clock. Duet: the real duet-server, two users in two headless Chromium contexts calling
// through the SDK and the duet-core module the server serves, preconnect on as shipped. The seed:
// simple-peer with `trickle: false` over a Socket.IO relay (setup/seed-page.mjs). Calls of the
// two stacks alternate, so both see the same machine. Page weight: the app at `/` loaded signed in
// by Chromium, every response it fetched from the server (not the API) gzipped at level 9, summed.
//
// Prints progress and a table, and as its last line one JSON object; exits non-zero (last line
// {"benchmark":"setup","error":...}) when it could not measure. Everything listens on and connects
// to 127.0.0.1, every wait has a time limit, and whatever it started is stopped however it ends.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { CHROMIUM_ARGS, launchChromium } from '../../tests/browser/chromium.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = path.join(ROOT, 'tools/benchmarks/setup');

function setting(name, fallback, min, max) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

let CALLS, WARMUP, RING_MS, GAP_MS, DEADLINE_S, CAMERA_FPS, PROBE;
try {
  CALLS = setting('BENCH_CALLS', 20, 1, 200);          // measured calls per stack
  WARMUP = setting('BENCH_WARMUP', 2, 0, 20);          // calls per stack first, not counted
  RING_MS = setting('BENCH_RING_MS', 1500, 0, 20_000); // how long the callee lets it ring
  GAP_MS = setting('BENCH_GAP_MS', 300, 0, 10_000);    // quiet time between calls
  DEADLINE_S = setting('BENCH_DEADLINE_S', 290, 30, 3600);
  CAMERA_FPS = setting('BENCH_CAMERA_FPS', 0, 0, 60); // 0: Chromium's fake camera default (20)
  PROBE = setting('BENCH_PROBE', 0, 0, 1) === 1;       // diagnostics, written to build/bench/
} catch (error) {
  console.log(JSON.stringify({ benchmark: 'setup', error: error.message }));
  process.exit(2);
}
const RETRIES = 5;              // failed calls per stack tolerated (each retried) before giving up
const CALL_LIMIT_MS = 15_000;   // one call, dial to first frame, on a loaded machine
const END_LIMIT_MS = 5_000;     // hanging up and seeing it on the other side
const START_LIMIT_MS = 15_000;  // a server's listening line
const CALLS_PER_CALLER = 5;     // duet-server lets one user start 5 calls at once (then 10 a minute)
const PASSWORD = 'bench password 0123';
const TARGET_MEDIAN_MS = 250;
const TARGET_PAGE_KB = 250;

const startedAt = Date.now();
const say = (line) => console.log(`[setup] ${line}`);

// ----- cleanup ------------------------------------------------------------------------------

const cleanups = []; // run in reverse order, each at most once, however the run ends
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop();
      try {
        await Promise.race([step(), sleep(10_000)]);
      } catch { /* best effort: the next step must still run */ }
    }
  })();
  return cleaning;
}

let failing = false; // set once fail() runs: the main loop stops starting calls
async function fail(message, code = 1) {
  if (failing) return;
  failing = true;
  say(`FAILED: ${message}`);
  await cleanup();
  console.log(JSON.stringify({ benchmark: 'setup', error: String(message).replace(/\s+/g, ' ').slice(0, 2000) }));
  process.exit(code);
}

process.on('SIGINT', () => fail('interrupted', 130));
process.on('SIGTERM', () => fail('terminated', 143));
setTimeout(() => fail(`the whole run took longer than ${DEADLINE_S} s (BENCH_DEADLINE_S)`), DEADLINE_S * 1000).unref();

/** `promise`, or an error after `ms` (for steps whose own limits live in a browser page). */
function limited(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// ----- processes ----------------------------------------------------------------------------

/** Starts a child, registers its stop, resolves with `ready(log)`'s value once it is non-null. */
async function startProcess(what, command, args, options, ready) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exited = false;
  const gone = new Promise((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  cleanups.push(async () => {
    if (exited) return;
    child.kill('SIGTERM');
    if (!(await Promise.race([gone.then(() => true), sleep(3000, false)]))) child.kill('SIGKILL');
    await gone;
  });
  const value = await limited(new Promise((resolve, reject) => {
    const read = (chunk) => {
      log = (log + chunk).slice(-20_000);
      const found = ready(log);
      if (found !== null) resolve(found);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('error', (error) => reject(new Error(`${what}: ${error.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${log.slice(-1500)}`)));
  }), START_LIMIT_MS, what);
  return { child, value, log: () => log };
}

async function tempDir(prefix) {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startDuetServer() {
  const dir = await tempDir('duet-bench-setup-');
  const server = await startProcess('duet-server', path.join(ROOT, 'build/native/duet-server'), [], {
    cwd: dir, // main.cpp reads ./.env: keep the repository's out of the way
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOST: '127.0.0.1',
      PORT: '0',
      DUET_DATA_DIR: dir,
      DUET_WEB_DIR: path.join(ROOT, 'web'),
      DUET_MODULE_DIR: path.join(ROOT, 'build/wasm/module'),
    },
  }, (log) => {
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    return m ? Number(m[1]) : null;
  });
  return `http://127.0.0.1:${server.value}`;
}

async function startRelay(secret) {
  const relay = await startProcess('the Socket.IO relay', process.execPath, [path.join(ROOT, 'tools/benchmarks/socketio-relay.mjs')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', JWT_SECRET: secret, SERVE_CLIENT: '1' },
  }, (log) => {
    const m = /listening (\d+)/.exec(log);
    return m ? Number(m[1]) : null;
  });
  return `http://127.0.0.1:${relay.value}`;
}

// ----- REST and tokens ----------------------------------------------------------------------

async function api(base, method, urlPath, { token, body } = {}) {
  const response = await fetch(base + urlPath, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000), // registration hashes a password: slow on a busy machine
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

const runTag = crypto.randomBytes(3).toString('hex');
async function register(base, label) {
  const username = `${label}_${runTag}`;
  const session = await api(base, 'POST', '/api/auth/register', { body: { username, password: PASSWORD, displayName: label } });
  return { id: session.user.id, username, token: session.token };
}

async function befriend(base, a, b) {
  await api(base, 'POST', '/api/contacts', { token: a.token, body: { username: b.username } });
  await api(base, 'POST', `/api/contacts/${a.id}/accept`, { token: b.token });
}

/** An HS256 token as duet-server issues them, which the relay checks the same way. */
function seedToken(secret, sub) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${unsigned}.${crypto.createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

// ----- pages --------------------------------------------------------------------------------

// The benchmark's scripts are answered by the browser context itself at /__bench/ on the origin
// under test, so they are same-origin with the SDK (duet-server) or with the Socket.IO client
// (the relay) without adding files to either server. The document itself must come from the
// server: Chromium's local network access checks refuse a WebSocket to 127.0.0.1 from a document
// the context made up (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
const BENCH_FILES = {
  '/__bench/measure.mjs': path.join(PAGES, 'measure.mjs'),
  '/__bench/duet-page.mjs': path.join(PAGES, 'duet-page.mjs'),
  '/__bench/seed-page.mjs': path.join(PAGES, 'seed-page.mjs'),
  // simple-peer's own browser build (browserify, global SimplePeer): nothing to bundle.
  '/__bench/simplepeer.min.js': path.join(ROOT, 'node_modules/simple-peer/simplepeer.min.js'),
};

async function serveBenchFiles(context) {
  const bodies = new Map();
  for (const [urlPath, file] of Object.entries(BENCH_FILES)) bodies.set(urlPath, await readFile(file));
  await context.route((url) => url.hostname === '127.0.0.1' && url.pathname.startsWith('/__bench/'), (route) => {
    const body = bodies.get(new URL(route.request().url()).pathname);
    if (!body) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, contentType: 'text/javascript', body });
  });
}

/**
 * A page showing `document` (any page of the server: only its origin matters), with `scripts`
 * (paths, classic scripts, then the module that sets window.bench) added in order.
 */
async function openPage(context, origin, document, scripts, module, who) {
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`${who}: page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(`${who}: console: ${message.text()}`);
  });
  await page.goto(origin + document, { timeout: 15_000 });
  for (const script of scripts) await page.addScriptTag({ url: script });
  await page.addScriptTag({ url: module, type: 'module' });
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 15_000 });
  return page;
}

/**
 * How far two pages' clocks disagree, in ms: each page's offset from this process's clock is
 * read over the shortest of a few round trips, and the two offsets compared.
 */
async function clockSkew(a, b) {
  const offset = async (page) => {
    let best = null;
    for (let i = 0; i < 7; i++) {
      const before = performance.timeOrigin + performance.now();
      const at = await page.evaluate(() => window.bench.now());
      const after = performance.timeOrigin + performance.now();
      if (best === null || after - before < best.rtt) best = { rtt: after - before, offset: at - (before + after) / 2 };
    }
    return best;
  };
  const x = await offset(a);
  const y = await offset(b);
  return { skew: Math.abs(x.offset - y.offset), uncertainty: (x.rtt + y.rtt) / 2 };
}

// ----- page weight --------------------------------------------------------------------------

/** Everything the app at `/` fetches from the server while it loads signed in, gzipped. */
async function pageWeight(browser, base, user) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  try {
    await context.addInitScript((token) => localStorage.setItem('duet.token', token), user.token);
    const page = await context.newPage();
    const responses = [];
    page.on('response', (response) => responses.push(response));
    const core = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith('.wasm'), { timeout: 20_000 })
      .then(() => true, () => false);
    await page.goto(`${base}/`, { timeout: 20_000 });
    if (!(await core)) throw new Error('the app page did not load the duet-core .wasm within 20 s (signed in)');
    // The SDK signs in after the module: wait for the page to go quiet, then a little more.
    await page.waitForLoadState('networkidle', { timeout: 10_000 }).catch(() => {});
    await sleep(500);
    const files = new Map();
    for (const response of responses) {
      const url = new URL(response.url());
      if (url.origin !== base || url.pathname.startsWith('/api/') || response.request().method() !== 'GET') continue;
      if (response.status() !== 200) throw new Error(`GET ${url.pathname} answered ${response.status()}`);
      const body = await response.body();
      files.set(url.pathname, {
        path: url.pathname,
        raw: body.length,
        gz: zlib.gzipSync(body, { level: 9 }).length,
        // What came over the connection: the body as the server encoded it (duet-server gzips).
        wire: (await response.request().sizes()).responseBodySize,
        type: (response.headers()['content-type'] ?? '').split(';')[0],
      });
    }
    return [...files.values()].sort((x, y) => y.gz - x.gz);
  } finally {
    await context.close();
  }
}

// ----- statistics ---------------------------------------------------------------------------

const sorted = (values) => [...values].sort((a, b) => a - b);
function median(values) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
/** Nearest rank: the smallest value with at least p of the values at or below it. */
function percentile(values, p) {
  const s = sorted(values);
  return s.length === 0 ? null : s[Math.max(0, Math.ceil(p * s.length) - 1)];
}
const round1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10) / 10);

// ----- one call -----------------------------------------------------------------------------

/**
 * One call of one stack: the callee arms its answer, the caller dials, the callee accepts after
 * RING_MS, the caller reports its first remote frame; then the caller hangs up and both settle.
 * Resolves with the call's figures, or throws why it failed (after cleaning the call up).
 */
async function oneCall(stack, index) {
  const { caller, callee, dial } = stack;
  const pageLimit = CALL_LIMIT_MS + RING_MS;
  try {
    if (PROBE) await Promise.all([caller.evaluate(() => window.bench.startProbe()), callee.evaluate(() => window.bench.startProbe())]);
    await callee.evaluate(([ring, limit]) => window.bench.armAnswer(ring, limit), [RING_MS, pageLimit]);
    const calling = limited(caller.evaluate(dial, [index, pageLimit]), pageLimit + 5000, `${stack.name} caller`);
    const answering = limited(callee.evaluate(() => window.bench.answered()), pageLimit + 5000, `${stack.name} callee`);
    const [called, answered] = await Promise.allSettled([calling, answering]);
    if (called.status === 'rejected') throw called.reason;
    if (answered.status === 'rejected') throw answered.reason;
    let callerMarks = called.value.marks;
    let rtp;
    if (PROBE) {
      await sleep(300); // the counters just after the first frame too, and late diagnostic marks
      callerMarks = await caller.evaluate(() => window.bench.marks());
      rtp = { caller: await caller.evaluate(() => window.bench.stopProbe()), callee: await callee.evaluate(() => window.bench.stopProbe()) };
    }
    const calleeMarks = await callee.evaluate(() => window.bench.marks());
    const frame = called.value.frame;
    const accept = calleeMarks.accept;
    if (typeof accept !== 'number') throw new Error('the callee recorded no accept');
    const relative = (marks) => Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, round1(v - accept)]));
    return {
      ms: frame.presentedAt - accept,
      callbackMs: frame.callbackAt - accept,
      receivedMs: frame.receivedAt === null ? null : frame.receivedAt - accept,
      presentedFrames: frame.presentedFrames,
      width: frame.width,
      height: frame.height,
      atAccept: answered.value.atAccept,
      // Every mark of both pages relative to the accept: where the time went.
      caller: relative(callerMarks),
      callee: relative(calleeMarks),
      rtp: rtp && {
        caller: rtp.caller.map((row) => ({ ...row, at: round1(row.at - accept) })),
        callee: rtp.callee.map((row) => ({ ...row, at: round1(row.at - accept) })),
      },
    };
  } finally {
    // Whatever happened, end the call on both sides before the next one.
    await limited(caller.evaluate((limit) => window.bench.hangUp(limit), END_LIMIT_MS), END_LIMIT_MS + 2000, 'hang-up').catch(() => {});
    const ended = await limited(callee.evaluate((limit) => window.bench.ended(limit), END_LIMIT_MS), END_LIMIT_MS + 2000, 'end')
      .then(() => true, () => false);
    if (!ended) await limited(callee.evaluate((limit) => window.bench.hangUp(limit), END_LIMIT_MS), END_LIMIT_MS + 2000, 'hang-up').catch(() => {});
  }
}

// ----- the run ------------------------------------------------------------------------------

function segmentMedians(calls, segments) {
  return segments.map(([label, from, to]) => {
    const values = calls.map((c) => {
      const a = from === 'accept' ? 0 : from(c);
      const b = to(c);
      return typeof a === 'number' && typeof b === 'number' ? b - a : null;
    }).filter((v) => v !== null);
    return { label, median: median(values), n: values.length };
  });
}

async function main() {
  say(`${CALLS} calls per stack after ${WARMUP} warm-up calls; the callee accepts after ${RING_MS} ms of ringing`);
  const secret = crypto.randomBytes(32).toString('hex');
  const [base, relay, browser] = await Promise.all([
    startDuetServer(),
    startRelay(secret),
    (async () => {
      // The fake camera runs at Chromium's default (20 frames/s) unless BENCH_CAMERA_FPS says.
      const args = CAMERA_FPS === 0 ? CHROMIUM_ARGS
        : CHROMIUM_ARGS.map((a) => (a === '--use-fake-device-for-media-stream' ? `${a}=fps=${CAMERA_FPS}` : a));
      // Playwright's own signal handlers would close the browser and exit(130) before the
      // cleanup and the error line: this script handles the signals itself.
      const b = await launchChromium({ timeout: 30_000, args, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
      cleanups.push(() => b.close());
      return b;
    })(),
  ]);
  say(`duet-server at ${base}, the Socket.IO relay at ${relay}, Chromium ${browser.version()}`);

  // Users: one callee, enough callers that none starts more than 5 calls, one to weigh the page.
  const callerCount = Math.ceil((WARMUP + CALLS + RETRIES) / CALLS_PER_CALLER);
  const labels = ['callee', 'visitor', ...Array.from({ length: callerCount }, (_, i) => `caller${i}`)];
  const accounts = [];
  for (const label of labels) accounts.push(await register(base, label));
  const [callee, visitor, ...callers] = accounts;
  for (const caller of callers) await befriend(base, caller, callee);

  say('weighing the app page (loaded signed in, every file it fetches, gzip -9)');
  const files = await pageWeight(browser, base, visitor);
  const pageRaw = files.reduce((sum, f) => sum + f.raw, 0);
  const pageGz = files.reduce((sum, f) => sum + f.gz, 0);
  const pageWire = files.reduce((sum, f) => sum + f.wire, 0);
  for (const f of files) {
    say(`  ${f.path.padEnd(32)} ${String(f.raw).padStart(8)} B  ${String(f.gz).padStart(7)} B gz  ${String(f.wire).padStart(7)} B sent  ${f.type}`);
  }
  say(`  ${files.length} files: ${(pageRaw / 1024).toFixed(1)} KB, ${(pageGz / 1024).toFixed(1)} KB gzipped, ${(pageWire / 1024).toFixed(1)} KB as sent (1 KB = 1024 bytes)`);

  // One browser context per page: with two pages in one context, the one opened first had its
  // rendering held back (though "visible" and focused), and its requestVideoFrameCallback came
  // up to seconds after the frames had reached the element.
  const newContext = async () => {
    const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
    await serveBenchFiles(context);
    return context;
  };
  // duet-server's /healthz and the relay's empty page are documents of the right origins.
  const duetPage = async (who) => openPage(await newContext(), base, '/healthz', [], '/__bench/duet-page.mjs', who);
  const seedScripts = ['/socket.io/socket.io.js', '/__bench/simplepeer.min.js'];
  const seedPage = async (who) => openPage(await newContext(), relay, '/', seedScripts, '/__bench/seed-page.mjs', who);
  const duetCaller = await duetPage('duet caller');
  const duetCallee = await duetPage('duet callee');
  const seedCaller = await seedPage('seed caller');
  const seedCallee = await seedPage('seed callee');
  await limited(duetCaller.evaluate((tokens) => window.bench.signIn(tokens), callers.map((c) => c.token)), 30_000, 'Duet sign-in (callers)');
  await limited(duetCallee.evaluate((tokens) => window.bench.signIn(tokens), [callee.token]), 30_000, 'Duet sign-in (callee)');
  await limited(seedCaller.evaluate((token) => window.bench.signIn(token), seedToken(secret, 'seed_caller')), 15_000, 'seed sign-in (caller)');
  await limited(seedCallee.evaluate((token) => window.bench.signIn(token), seedToken(secret, 'seed_callee')), 15_000, 'seed sign-in (callee)');

  const skews = [await clockSkew(duetCaller, duetCallee), await clockSkew(seedCaller, seedCallee)];
  const skew = Math.max(...skews.map((s) => s.skew));
  say(`clocks of the caller and callee pages agree within ${skew.toFixed(2)} ms (read over round trips of ~${Math.max(...skews.map((s) => s.uncertainty)).toFixed(1)} ms)`);

  const stacks = [
    {
      name: 'duet', caller: duetCaller, callee: duetCallee, calls: [], failures: [],
      dial: ([index, limit]) => window.bench.call(index, window.calleeId, limit),
    },
    {
      name: 'seed', caller: seedCaller, callee: seedCallee, calls: [], failures: [],
      dial: ([, limit]) => window.bench.call('seed_callee', limit),
    },
  ];
  await duetCaller.evaluate((id) => { window.calleeId = id; }, callee.id);
  if (PROBE) {
    for (const page of [duetCaller, duetCallee, seedCaller, seedCallee]) await page.evaluate(() => window.bench.enableProbe());
  }

  let duetDialed = 0; // the callers take turns (round robin), so none hits the call limit
  for (let round = 0; ; round++) {
    const pending = stacks.filter((s) => s.calls.length < WARMUP + CALLS && s.failures.length <= RETRIES);
    if (pending.length === 0) break;
    if (failing) return;
    // Alternate which stack goes first, so neither always follows the other's teardown.
    const order = round % 2 === 0 ? pending : [...pending].reverse();
    for (const stack of order) {
      const index = stack.name === 'duet' ? duetDialed++ : 0;
      const n = stack.calls.length;
      const kind = n < WARMUP ? `warm-up ${n + 1}/${WARMUP}` : `call ${n - WARMUP + 1}/${CALLS}`;
      if (failing) return;
      try {
        const call = await oneCall(stack, index);
        stack.calls.push(call);
        const camera = PROBE ? `, first camera frame +${call.callee['camera:frame']}, decoded +${call.caller['video:decoded']}` : '';
        const extra = stack.name === 'duet'
          ? `peer ${call.atAccept.peer} at the accept; devices open +${call.callee.mediaAcquired}${camera}`
          : `devices open +${call.callee.mediaAcquired}${camera}, answer +${call.callee.answerReady}, connected +${call.caller['peer:connected']}`;
        const late = call.presentedFrames > 1 ? `; LATE: the first callback saw frame ${call.presentedFrames}` : '';
        say(`${stack.name} ${kind}: ${call.ms.toFixed(1)} ms (${extra}; the frame's last packet +${round1(call.receivedMs)}${late})`);
      } catch (error) {
        if (failing) return;
        stack.failures.push(error.message);
        say(`${stack.name} ${kind} FAILED: ${error.message.split('\n')[0]}`);
        for (const problem of [...stack.caller.problems, ...stack.callee.problems].slice(-5)) say(`  ${problem}`);
        stack.caller.problems.length = 0;
        stack.callee.problems.length = 0;
      }
      await sleep(GAP_MS);
    }
  }

  // Figures.
  const [duet, seed] = stacks;
  const measured = (stack) => stack.calls.slice(WARMUP);
  const times = (stack) => measured(stack).map((c) => c.ms);
  for (const stack of stacks) {
    const got = measured(stack).length;
    if (got < Math.ceil(CALLS / 2)) {
      return fail(`${stack.name}: only ${got} of ${CALLS} calls measured; failures: ${stack.failures.join(' | ')}`);
    }
    if (got < CALLS) say(`WARNING: ${stack.name}: ${got} of ${CALLS} calls measured (${stack.failures.length} failed)`);
  }
  const early = measured(duet).concat(measured(seed)).filter((c) => c.ms < 0).length;
  if (early > 0) say(`WARNING: ${early} call(s) showed a remote frame before the accept: media flowed while ringing`);
  // The first callback should see the element's first frame; a later one means the page's
  // rendering was held back and the figure is the renderer's, not the call's.
  const late = measured(duet).concat(measured(seed)).filter((c) => c.presentedFrames > 1).length;
  if (late > 0) say(`WARNING: in ${late} call(s) the first frame callback came only after several frames (throttled rendering?)`);

  const figures = {
    median_ms: round1(median(times(duet))),
    p90_ms: round1(percentile(times(duet), 0.9)),
    seed_median_ms: round1(median(times(seed))),
    seed_p90_ms: round1(percentile(times(seed), 0.9)),
  };
  const ratio = figures.seed_median_ms > 0 ? Math.round((figures.median_ms / figures.seed_median_ms) * 1000) / 1000 : null;
  const preconnected = measured(duet).filter((c) => c.atAccept.peer === 'connected').length;

  const duetSegments = segmentMedians(measured(duet), [
    ['callee opens camera and microphone (getUserMedia)', 'accept', (c) => c.callee.mediaAcquired],
    ['callee sends call:accept, attaches its tracks', (c) => c.callee.mediaAcquired, (c) => c.callee['out:call:accept']],
    ['... caller receives call:accept (signaling, not on the media path)', (c) => c.callee['out:call:accept'], (c) => c.caller['in:call:accept']],
    ['tracks attached -> caller presents the first frame', (c) => c.callee['out:call:accept'], (c) => c.ms],
    ['(peer connected at the callee, relative to the accept)', 'accept', (c) => c.callee['peer:connected']],
  ]);
  const duetMediaStart = duetSegments[3];
  const seedSegments = segmentMedians(measured(seed), [
    ['callee opens camera and microphone (getUserMedia)', 'accept', (c) => c.callee.mediaAcquired],
    ['callee peer: offer applied, answer made, ICE gathered', (c) => c.callee.mediaAcquired, (c) => c.callee.answerReady],
    ['answer through the relay to the caller', (c) => c.callee.answerReady, (c) => c.caller['in:call:accept']],
    ['ICE and DTLS: caller connected', (c) => c.caller['in:call:accept'], (c) => c.caller['peer:connected']],
    ['connected -> caller presents the first frame', (c) => c.caller['peer:connected'], (c) => c.ms],
  ]);
  const seedConnected = segmentMedians(measured(seed), [['', 'accept', (c) => c.caller['peer:connected']]])[0];
  const seedMediaStart = seedSegments[4];

  const line = (label, a, b) => say(`  ${label.padEnd(46)} ${String(a).padStart(10)} ${String(b).padStart(10)}`);
  say('');
  say(`set-up time, callee's accept -> first remote video frame presented on the caller (${measured(duet).length} and ${measured(seed).length} calls)`);
  line('', 'Duet', 'seed');
  line('median (ms)', figures.median_ms, figures.seed_median_ms);
  line('p90 (ms)', figures.p90_ms, figures.seed_p90_ms);
  line('min / max (ms)', `${round1(Math.min(...times(duet)))}/${round1(Math.max(...times(duet)))}`, `${round1(Math.min(...times(seed)))}/${round1(Math.max(...times(seed)))}`);
  line('median to the frame callback (ms)', round1(median(measured(duet).map((c) => c.callbackMs))), round1(median(measured(seed).map((c) => c.callbackMs))));
  line('failed calls (retried)', duet.failures.length, seed.failures.length);
  say(`  Duet / seed median: ${ratio} (target: at most 0.5); Duet median target: under ${TARGET_MEDIAN_MS} ms`);
  say(`  Duet calls whose peer connection was already connected at the accept: ${preconnected} of ${measured(duet).length}`);
  say('  where the time goes, medians in ms from the accept:');
  for (const s of duetSegments) say(`    Duet  ${s.label.padEnd(66)} ${round1(s.median)}`);
  for (const s of seedSegments) say(`    seed  ${s.label.padEnd(66)} ${round1(s.median)}`);
  say(`page weight: ${(pageGz / 1024).toFixed(1)} KB gzipped in ${files.length} files (target: under ${TARGET_PAGE_KB} KB)`);
  say(`done in ${Math.round((Date.now() - startedAt) / 1000)} s`);

  const result = {
    benchmark: 'setup',
    ...figures,
    page_kb_gz: round1(pageGz / 1024),
    ratio,
    calls: measured(duet).length,
    seed_calls: measured(seed).length,
    warmup_calls: WARMUP,
    failed_calls: duet.failures.length,
    seed_failed_calls: seed.failures.length,
    preconnected,
    min_ms: round1(Math.min(...times(duet))),
    max_ms: round1(Math.max(...times(duet))),
    seed_min_ms: round1(Math.min(...times(seed))),
    seed_max_ms: round1(Math.max(...times(seed))),
    callee_media_ms: round1(duetSegments[0].median),
    seed_callee_media_ms: round1(seedSegments[0].median),
    media_start_ms: round1(duetMediaStart.median),
    seed_connected_ms: round1(seedConnected.median),
    seed_media_start_ms: round1(seedMediaStart.median),
    late_callbacks: late,
    ring_ms: RING_MS,
    camera_fps: CAMERA_FPS || 20,
    page_kb: round1(pageRaw / 1024),
    page_kb_sent: round1(pageWire / 1024),
    page_files: files.length,
    clock_skew_ms: round1(skew),
    meets_median_target: figures.median_ms < TARGET_MEDIAN_MS,
    meets_ratio_target: ratio !== null && ratio <= 0.5,
    meets_page_target: pageGz / 1024 < TARGET_PAGE_KB,
    chromium: browser.version(),
    duration_s: Math.round((Date.now() - startedAt) / 1000),
    date: new Date().toISOString(),
  };
  if (PROBE) {
    const file = path.join(ROOT, 'build/bench/setup-probe.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(stacks.map((s) => ({ stack: s.name, calls: s.calls })), null, 1));
    say(`BENCH_PROBE=1: every call's marks and RTP counters are in ${path.relative(ROOT, file)} (the polling disturbs the figures)`);
  }
  await cleanup();
  console.log(JSON.stringify(result));
  process.exit(0);
}

main().catch((error) => fail(error?.stack ?? String(error)));
