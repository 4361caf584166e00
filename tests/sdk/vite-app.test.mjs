// The SDK as an app developer gets it: packed by tests/sdk/pack.sh, installed from the tarball
// into a fresh Vite 7 app, built with `vite build`, served as static files and opened in
// headless Chromium, where the page loads the wasm core through the SDK's loadModule() and
// dials with a Phone. Also type-checks a TypeScript program against the packaged declarations.
//   node --test --test-reporter=tap tests/sdk/vite-app.test.mjs
// Needs the built module (build/wasm/module) and the npm registry (vite@7, typescript@5).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createStaticServer } from '../../tools/serve.mjs';
import { launchChromium } from '../browser/chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PACK_LIMIT_MS = 60_000;
const INSTALL_LIMIT_MS = 240_000; // the registry is the slow part
const BUILD_LIMIT_MS = 120_000;
const PAGE_LIMIT_MS = 30_000;

// Runs a command; resolves with its output, rejects (with the output) on failure or time limit.
function run(command, args, { cwd = root, limitMs, env = {} }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const what = `${command} ${args.join(' ')}`;
      if (signal === 'SIGKILL') reject(new Error(`${what}: over its time limit of ${limitMs / 1000} s\n${output}`));
      else if (code !== 0) reject(new Error(`${what}: exit ${code}\n${output}`));
      else resolve(output);
    });
  });
}

const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>duet sdk in vite</title><link rel="icon" href="data:,"></head>
<body><script type="module" src="/main.js"></script></body></html>
`;

// Nothing network-bound: the core alone, through the SDK.
const MAIN_JS = `import { DuetClient, loadModule } from '@duet/sdk';

try {
  const core = await loadModule();
  const phone = new core.Phone('alice', '');
  try {
    const result = JSON.parse(phone.handle(JSON.stringify({ type: 'dial', callId: 'c-1', peer: 'bob', callType: 'video' }), Date.now()));
    window.duetResult = {
      protocolVersion: core.protocolVersion(),
      configError: phone.configError(),
      effects: result.effects.map((e) => e.type),
      published: result.effects.filter((e) => e.type === 'publish').map((e) => e.view.state),
      view: JSON.parse(phone.view()).state,
      sameModule: (await loadModule()) === core,
      hasCreate: typeof DuetClient.create === 'function',
    };
  } finally {
    phone.delete();
  }
} catch (error) {
  window.duetResult = { error: String(error && error.stack || error) };
}
`;

// Uses the declared API; tsc must accept it, and must refuse the misuse at the end.
const CHECK_TS = `import { DuetClient, loadModule, WebSocketTransport, mediaProblemOf } from '@duet/sdk';
import type { CallView, DuetClientOptions, Transport } from '@duet/sdk';

export async function main(token: string): Promise<string> {
  const core = await loadModule();
  const phone = new core.Phone('alice', JSON.stringify({ ringTimeoutMs: 45000 }));
  phone.delete();
  const options: DuetClientOptions = { token, config: { ringTimeoutMs: 45000, preconnect: true }, iceServers: [] };
  const client = await DuetClient.create(options);
  client.on('state', (view: CallView) => console.log(view.state, view.endReason));
  const stop = client.on('remoteStream', (stream) => stream?.getTracks());
  stop();
  client.on('refused', ({ code, message }) => console.log(code, message));
  client.on('connection', (state) => state === 'online');
  const callId: string = client.call('bob', { video: true, peerName: 'Bob' });
  client.accept({ audioOnly: true });
  client.setMicrophone(false);
  const transport: Transport = new WebSocketTransport('wss://example.org/api/socket');
  transport.close();
  const problem: 'denied' | 'not_found' | 'in_use' | 'other' = mediaProblemOf(new Error('x'));
  await client.close();
  return callId + problem + client.userId;
}
`;
const MISUSE_TS = `import { DuetClient } from '@duet/sdk';
const client = await DuetClient.create({ server: 'https://example.org' });
const n: number = client.call('bob');
client.on('stat', () => {});
`;

// A port nobody listens on right now, for a server that wants one on its command line.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// True once an HTTP server at url answers with any status.
async function answers(url) {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

// Opens `url` in headless Chromium and returns window.duetResult, the pathnames the page
// requested, and whatever went wrong on the page.
async function openApp(url) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const requests = [];
    const problems = [];
    page.on('request', (r) => requests.push(new URL(r.url()).pathname));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await page.goto(url, { timeout: PAGE_LIMIT_MS });
    await page.waitForFunction(() => window.duetResult !== undefined, null, { timeout: PAGE_LIMIT_MS })
      .catch(() => assert.fail(`the page reported nothing within ${PAGE_LIMIT_MS / 1000} s: ${problems.join(' | ')}`));
    return { result: await page.evaluate(() => window.duetResult), requests, problems };
  } finally {
    await browser.close();
  }
}

const EXPECTED = {
  protocolVersion: 1,
  configError: '',
  effects: ['acquireMedia', 'publish'],
  published: ['outgoing'],
  view: 'outgoing',
  sameModule: true,
  hasCreate: true,
};

describe('@duet/sdk in a Vite 7 app', () => {
  let work;
  let tarball;
  let installed = false;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-sdk-vite-'));
    const packed = await run('bash', ['tests/sdk/pack.sh', path.join(work, 'pack')], { limitMs: PACK_LIMIT_MS });
    tarball = packed.trim().split('\n').at(-1);
    assert.ok(fs.existsSync(tarball), `pack.sh did not leave ${tarball}:\n${packed}`);
    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'duet-sdk-vite-check', private: true, type: 'module' }));
    fs.writeFileSync(path.join(app, 'index.html'), INDEX_HTML);
    fs.writeFileSync(path.join(app, 'main.js'), MAIN_JS);
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'vite@7.3.8', 'typescript@5.9.3', tarball],
      { cwd: app, limitMs: INSTALL_LIMIT_MS });
    installed = true;
  }, { timeout: PACK_LIMIT_MS + INSTALL_LIMIT_MS + 10_000 });

  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('the tarball holds the SDK, the core, their declarations and nothing else', { timeout: 10_000 }, async () => {
    const listing = await run('tar', ['tzf', tarball], { limitMs: 10_000 });
    const files = listing.trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
    assert.deepEqual(files, ['README.md', 'duet-client.d.ts', 'duet-client.mjs', 'duet-core.d.ts', 'duet-core.mjs', 'duet-core.wasm', 'package.json']);
    const pkg = JSON.parse(fs.readFileSync(path.join(work, 'app/node_modules/@duet/sdk/package.json'), 'utf8'));
    assert.equal(pkg.name, '@duet/sdk');
    assert.equal(pkg.version, '0.1.0');
    assert.equal(pkg.type, 'module');
    // The core in the package is the one that was built, byte for byte.
    for (const file of ['duet-core.mjs', 'duet-core.wasm', 'duet-core.d.ts']) {
      assert.ok(fs.readFileSync(path.join(work, 'app/node_modules/@duet/sdk', file)).equals(fs.readFileSync(path.join(root, 'build/wasm/module', file))), file);
    }
  });

  test('vite build bundles the SDK and the core and emits duet-core.wasm; the page dials in Chromium', { timeout: BUILD_LIMIT_MS + PAGE_LIMIT_MS + 20_000 }, async () => {
    assert.ok(installed);
    const app = path.join(work, 'app');
    await run('node', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: app, limitMs: BUILD_LIMIT_MS });
    const assets = fs.readdirSync(path.join(app, 'dist/assets'));
    assert.ok(assets.some((f) => /^duet-core-.*\.wasm$/.test(f)), `no duet-core wasm among the assets: ${assets.join(', ')}`);

    const server = createStaticServer({ '/': path.join(app, 'dist') });
    await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    try {
      const { result, requests, problems } = await openApp(`http://127.0.0.1:${server.address().port}/`);
      assert.equal(result.error, undefined, result.error);
      assert.deepEqual(result, EXPECTED);
      assert.deepEqual(problems, []);
      assert.ok(requests.some((p) => /^\/assets\/duet-core-.*\.wasm$/.test(p)), `the wasm was not fetched from the assets: ${requests.join(', ')}`);
      assert.ok(!requests.some((p) => p.startsWith('/duet/')), 'the page looked for a server-side module');
    } finally {
      server.close();
    }
  });

  // Vite's dev server pre-bundles dependencies into node_modules/.vite, away from duet-core.wasm;
  // docs/sdk.md says to exclude the SDK from that, and this is the check that it is enough.
  test('vite dev serves the app with optimizeDeps.exclude, as docs/sdk.md says', { timeout: PAGE_LIMIT_MS + 40_000 }, async () => {
    assert.ok(installed);
    const app = path.join(work, 'app');
    fs.writeFileSync(path.join(app, 'vite.config.js'), "export default { optimizeDeps: { exclude: ['@duet/sdk'] } };\n");
    const port = await freePort();
    // Vite colours its banner whenever CI is set (CI=true wraps the port in bold), so readiness
    // is the server answering, not a pattern in its output; NO_COLOR keeps the log readable.
    const dev = spawn('node', ['node_modules/vite/bin/vite.js', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
      { cwd: app, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    dev.stdout.on('data', (d) => { output += d; });
    dev.stderr.on('data', (d) => { output += d; });
    try {
      const deadline = Date.now() + 20_000;
      while (!(await answers(`http://127.0.0.1:${port}/`))) {
        assert.ok(Date.now() < deadline && dev.exitCode === null, `vite dev did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { result, problems } = await openApp(`http://127.0.0.1:${port}/`);
      assert.equal(result.error, undefined, `${result.error}\n${problems.join('\n')}`);
      assert.deepEqual(result, EXPECTED);
    } finally {
      dev.kill();
      fs.rmSync(path.join(app, 'vite.config.js'));
    }
  });

  test('tsc accepts a program written against the declarations, and refuses misuse', { timeout: 120_000 }, async () => {
    assert.ok(installed);
    const app = path.join(work, 'app');
    fs.writeFileSync(path.join(app, 'check.ts'), CHECK_TS);
    fs.writeFileSync(path.join(app, 'misuse.ts'), MISUSE_TS);
    const flags = ['--noEmit', '--strict', '--target', 'es2022', '--lib', 'es2022,dom'];
    for (const resolution of [['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['--module', 'esnext', '--moduleResolution', 'bundler']]) {
      await run('node', ['node_modules/typescript/bin/tsc', ...flags, ...resolution, 'check.ts'], { cwd: app, limitMs: 60_000 });
    }
    const refused = await run('node', ['node_modules/typescript/bin/tsc', ...flags, '--module', 'esnext', '--moduleResolution', 'bundler', 'misuse.ts'], { cwd: app, limitMs: 60_000 })
      .then(() => '', (e) => e.message);
    assert.match(refused, /misuse\.ts\(2,[0-9]+\): error TS2345/); // no token
    assert.match(refused, /misuse\.ts\(3,[0-9]+\): error TS2322/); // call() gives a string
    assert.match(refused, /misuse\.ts\(4,[0-9]+\): error TS2345/); // no event 'stat'
  });
});
