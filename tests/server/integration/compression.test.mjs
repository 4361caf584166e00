// Static files go out gzip-compressed when the request accepts it: the bytes decompress to
// exactly the file, the headers say so (Content-Encoding, Content-Length, Vary), HEAD matches
// GET, and a request that does not accept gzip, a tiny file or an image gets the file as it is.
// Each answer has an entity tag, and a browser that revalidates with it gets an empty 304.
// Requests go through node:http, which hands back the bytes on the wire undecoded.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import { makeRoot, removeRoot, sleep, startServer } from './harness.mjs';

// One request; `headers` values may be arrays (sent as several header lines).
function get(server, urlPath, { method = 'GET', headers = {}, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.base}${urlPath}`, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

// Text that compresses like real code: repeated shapes with varying names.
function codeLike(bytes, seed) {
  const lines = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `export function ${seed}${i.toString(36)}(value, options = {}) { return value ?? options.fallback ?? ${i}; }\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('').slice(0, bytes);
}

// A made-up module: the wasm magic and version, then half-repetitive bytes. Deterministic.
function wasmLike(bytes) {
  const out = Buffer.alloc(bytes);
  Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]).copy(out);
  const noise = crypto.createHash('sha256');
  let block = Buffer.alloc(0);
  for (let i = 8; i < bytes; i++) {
    if (i % 32 === 0) block = noise.copy().update(String(i % 512)).digest();
    out[i] = i % 3 === 0 ? block[i % 32] : (i >> 4) & 0x3f;
  }
  return out;
}

describe('gzip for static files', () => {
  let root;
  let server;
  const files = {
    'web/app.mjs': Buffer.from(codeLike(40_000, 'f')),
    'web/index.html': Buffer.from(`<!doctype html><title>duet</title>\n${'<p>hello, duet</p>\n'.repeat(200)}`),
    'web/styles/app.css': Buffer.from('.button { color: #1f5fbf; padding: 4px 8px; }\n'.repeat(100)),
    'web/locales/en.json': Buffer.from(JSON.stringify(Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`key.${i}`, `The text for key ${i}`])))),
    'web/tiny.css': Buffer.from('body { margin: 0 }\n'),
    'web/logo.png': Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(20_000, 7)]),
    'module/duet-core.wasm': wasmLike(120_000),
  };

  before(async () => {
    root = await makeRoot();
    for (const [name, bytes] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), bytes);
    }
    server = await startServer({ root });
  });
  after(async () => {
    await server?.cleanup();
    if (root) await removeRoot(root);
  });

  test('gzip asked: gzip given, with its own length, and it decompresses to exactly the file', async () => {
    for (const [url, name] of [['/app.mjs', 'web/app.mjs'], ['/', 'web/index.html'], ['/styles/app.css', 'web/styles/app.css'],
      ['/locales/en.json', 'web/locales/en.json'], ['/duet/duet-core.wasm', 'module/duet-core.wasm']]) {
      const r = await get(server, url, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(r.status, 200, `${url}: ${server.tail()}`);
      assert.equal(r.headers['content-encoding'], 'gzip', url);
      assert.equal(Number(r.headers['content-length']), r.body.length, url);
      assert.ok(r.body.length < files[name].length, `${url}: ${r.body.length} B gzipped of ${files[name].length}`);
      assert.ok(zlib.gunzipSync(r.body).equals(files[name]), `${url} decompresses to the file`);
      assert.equal(r.headers.vary, 'Accept-Encoding', url);
    }
  });

  test('the wasm module keeps application/wasm when gzipped, so browsers still stream-compile it', async () => {
    const r = await get(server, '/duet/duet-core.wasm', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers['content-type'], 'application/wasm');
    assert.equal(r.headers['content-encoding'], 'gzip');
  });

  test('no Accept-Encoding, gzip;q=0 or identity alone: the file as it is, still with Vary', async () => {
    for (const headers of [{}, { 'accept-encoding': 'gzip;q=0' }, { 'accept-encoding': 'identity' },
      { 'accept-encoding': 'br, deflate' }, { 'accept-encoding': '*;q=0' }, { 'accept-encoding': '' }]) {
      const r = await get(server, '/app.mjs', { headers });
      const what = JSON.stringify(headers);
      assert.equal(r.status, 200, what);
      assert.equal(r.headers['content-encoding'], undefined, what);
      assert.equal(Number(r.headers['content-length']), files['web/app.mjs'].length, what);
      assert.ok(r.body.equals(files['web/app.mjs']), what);
      assert.equal(r.headers.vary, 'Accept-Encoding', what);
    }
  });

  test('Accept-Encoding is read with q-values, stars and any case, and over several lines', async () => {
    const cases = [
      ['GZIP;Q=0.5', true], ['*', true], ['x-gzip', true], ['gzip;q=0.5, identity', false],
      ['*, gzip;q=0', false], ['gzip;q=2', false],
    ];
    for (const [value, gz] of cases) {
      const r = await get(server, '/app.mjs', { headers: { 'accept-encoding': value } });
      assert.equal(r.headers['content-encoding'], gz ? 'gzip' : undefined, value);
    }
    const split = await get(server, '/app.mjs', { headers: { 'accept-encoding': ['br', 'gzip'] } });
    assert.equal(split.headers['content-encoding'], 'gzip', 'Accept-Encoding on two lines');
    assert.ok(zlib.gunzipSync(split.body).equals(files['web/app.mjs']));
  });

  test('HEAD gives the same headers as GET, for the gzip and the identity answer, and no body', async () => {
    for (const headers of [{ 'accept-encoding': 'gzip' }, {}]) {
      for (const url of ['/duet/duet-core.wasm', '/app.mjs', '/logo.png']) {
        const g = await get(server, url, { headers });
        const h = await get(server, url, { method: 'HEAD', headers });
        const what = `${url} ${JSON.stringify(headers)}`;
        assert.equal(h.status, 200, what);
        assert.equal(h.body.length, 0, what);
        for (const name of ['content-type', 'content-length', 'content-encoding', 'vary', 'cache-control']) {
          assert.equal(h.headers[name], g.headers[name], `${what}: ${name}`);
        }
      }
    }
  });

  test('a tiny file and an image go out uncompressed; only the compressible one says Vary', async () => {
    const tiny = await get(server, '/tiny.css', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.ok(tiny.body.equals(files['web/tiny.css']));
    assert.equal(tiny.headers.vary, 'Accept-Encoding');
    const png = await get(server, '/logo.png', { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.ok(png.body.equals(files['web/logo.png']));
    assert.equal(png.headers.vary, undefined);
  });

  test('an edited file is compressed again, never served its old body', async () => {
    const file = path.join(root, 'web', 'edited.mjs');
    const first = Buffer.from(codeLike(10_000, 'a'));
    await writeFile(file, first);
    const r1 = await get(server, '/edited.mjs', { headers: { 'accept-encoding': 'gzip' } });
    assert.ok(zlib.gunzipSync(r1.body).equals(first));
    // Same size, new content: only the modification time tells them apart. The kernel stamps
    // it from a clock that ticks every few milliseconds, so the edit waits for the next tick.
    await sleep(50);
    const second = Buffer.from(codeLike(10_000, 'b'));
    await writeFile(file, second);
    const r2 = await get(server, '/edited.mjs', { headers: { 'accept-encoding': 'gzip' } });
    assert.ok(zlib.gunzipSync(r2.body).equals(second), 'the second version');
    await sleep(50);
    const third = Buffer.from(codeLike(12_345, 'c'));
    await writeFile(file, third);
    const r3 = await get(server, '/edited.mjs', { headers: { 'accept-encoding': 'gzip' } });
    assert.ok(zlib.gunzipSync(r3.body).equals(third), 'the third version');
  });

  test('each answer carries an entity tag, one for the gzip body and another for the file as it is', async () => {
    const zipped = await get(server, '/app.mjs', { headers: { 'accept-encoding': 'gzip' } });
    const plain = await get(server, '/app.mjs');
    assert.match(zipped.headers.etag, /^"[0-9a-f]+-[0-9a-f]+-gz"$/);
    assert.match(plain.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(zipped.headers.etag, `${plain.headers.etag.slice(0, -1)}-gz"`);
    const image = await get(server, '/logo.png', { headers: { 'accept-encoding': 'gzip' } });
    assert.match(image.headers.etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  });

  test('a browser revalidating with its tag gets an empty 304 with the same tag; another encoding\'s tag gets the file', async () => {
    const gz = { 'accept-encoding': 'gzip, deflate, br' };
    const first = await get(server, '/app.mjs', { headers: gz });
    const tag = first.headers.etag;
    for (const [what, inm] of [['its tag', tag], ['weakly', `W/${tag}`], ['in a list', `"other", ${tag}`], ['a star', '*']]) {
      for (const method of ['GET', 'HEAD']) {
        const again = await get(server, '/app.mjs', { method, headers: { ...gz, 'if-none-match': inm } });
        assert.equal(again.status, 304, `${what}, ${method}`);
        assert.equal(again.body.length, 0, `${what}, ${method}`);
        if (inm !== '*') assert.equal(again.headers.etag, tag, `${what}, ${method}`);
        assert.equal(again.headers.vary, 'Accept-Encoding');
        assert.equal(again.headers['cache-control'], 'no-cache');
        assert.equal(again.headers['content-encoding'], undefined);
      }
    }
    // The gzip body's tag does not stand for the file as it is, nor the other way round.
    const plain = await get(server, '/app.mjs', { headers: { 'if-none-match': tag } });
    assert.equal(plain.status, 200);
    assert.ok(plain.body.equals(files['web/app.mjs']));
    const zipped = await get(server, '/app.mjs', { headers: { ...gz, 'if-none-match': plain.headers.etag } });
    assert.equal(zipped.status, 200);
    assert.ok(zlib.gunzipSync(zipped.body).equals(files['web/app.mjs']));
  });

  test('after an edit the old tag no longer matches: the new file comes with a new tag', async () => {
    const file = path.join(root, 'web', 'retagged.mjs');
    await writeFile(file, codeLike(10_000, 'r'));
    const old = await get(server, '/retagged.mjs', { headers: { 'accept-encoding': 'gzip' } });
    await sleep(50);  // a new modification time, as in the test above
    const edited = Buffer.from(codeLike(10_000, 's'));
    await writeFile(file, edited);
    const now = await get(server, '/retagged.mjs', { headers: { 'accept-encoding': 'gzip', 'if-none-match': old.headers.etag } });
    assert.equal(now.status, 200);
    assert.notEqual(now.headers.etag, old.headers.etag);
    assert.ok(zlib.gunzipSync(now.body).equals(edited));
    const revalidated = await get(server, '/retagged.mjs', { headers: { 'accept-encoding': 'gzip', 'if-none-match': now.headers.etag } });
    assert.equal(revalidated.status, 304);
  });

  test('a path naming a folder is answered 404, not with headers and a broken body', async () => {
    for (const headers of [{ 'accept-encoding': 'gzip' }, {}]) {
      const r = await get(server, '/styles', { headers });
      assert.equal(r.status, 404, JSON.stringify(headers));
      assert.equal(JSON.parse(r.body.toString('utf8')).error.code, 'not_found');
    }
  });

  test('many first requests for one file at once all get the whole file', async () => {
    const bytes = Buffer.from(codeLike(200_000, 'p'));
    await writeFile(path.join(root, 'web', 'parallel.mjs'), bytes);
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => get(server, '/parallel.mjs', {
      headers: { 'accept-encoding': i % 3 === 0 ? 'identity' : 'gzip' },
    })));
    answers.forEach((r, i) => {
      const body = i % 3 === 0 ? r.body : zlib.gunzipSync(r.body);
      assert.ok(body.equals(bytes), `request ${i}`);
    });
    const health = await get(server, '/healthz');
    assert.equal(health.status, 200);
  });
});
