// Hostile input on the REST side: oversized and malformed bodies, path traversal, unknown
// routes and methods, brute-forced logins. After each the server still answers.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
  Client, api, assertServing, healthy, rawHttp, rawHttpExchange, register, show, startServer,
} from './harness.mjs';

describe('hostile HTTP requests', () => {
  let server;
  let user;
  before(async () => {
    server = await startServer();
    user = await register(server, 'http');
  });
  after(async () => { await server?.cleanup(); });

  test('a request body over 16 KiB is refused with 413 too_large', async () => {
    const big = JSON.stringify({ username: 'x'.repeat(17 * 1024) });
    const r = await api(server, 'POST', '/api/contacts', { token: user.token, raw: big });
    assert.equal(r.status, 413, show(r));
    assert.equal(r.body?.error?.code, 'too_large');
    // The same on a slow route (register) and without a token.
    const reg = await api(server, 'POST', '/api/auth/register', { raw: big });
    assert.equal(reg.status, 413, show(reg));
    assert.equal(reg.body?.error?.code, 'too_large');
    await assertServing(server, user);
  });

  test('a client still sending a body of megabytes reads the 413 instead of a reset connection', async () => {
    const size = 4 * 1024 * 1024;
    for (const path of ['/api/contacts', '/api/auth/register', '/index.html']) {
      const text = await new Promise((resolve, reject) => {
        const socket = net.connect(server.port, '127.0.0.1');
        let got = '';
        let sent = 0;
        const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no answer; got ${JSON.stringify(got)}`)); }, 10_000);
        socket.on('data', (d) => { got += d.toString('latin1'); });
        socket.on('error', () => {});  // the answer, or its absence, is what is checked
        socket.on('close', () => { clearTimeout(timer); resolve(got); });
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Authorization: Bearer ${user.token}\r\nContent-Length: ${size}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (sent < size && !socket.destroyed) {
            sent += chunk.length;
            if (!socket.write(chunk)) return socket.once('drain', pump);
          }
          return socket.end();
        };
        pump();
      });
      assert.match(text, /^HTTP\/1\.1 413 /, `POST ${path}: ${JSON.stringify(text.slice(0, 200))}`);
      assert.match(text, /"code":"too_large"/);
    }
    await assertServing(server, user);
  });

  test('a body that is not JSON is refused with 400 bad_json', async () => {
    for (const raw of ['{"username":', 'username=bob', '{"username":"bob",}']) {
      const r = await api(server, 'POST', '/api/contacts', { token: user.token, raw });
      assert.equal(r.status, 400, `${raw}: ${show(r)}`);
      assert.equal(r.body?.error?.code, 'bad_json', `${raw}: ${show(r)}`);
    }
    const deep = await api(server, 'POST', '/api/contacts', { token: user.token, raw: `{"a":${'['.repeat(20)}${']'.repeat(20)}}` });
    assert.equal(deep.status, 400, show(deep));
    assert.equal(deep.body?.error?.code, 'too_deep');
    const arr = await api(server, 'POST', '/api/calls', { token: user.token, raw: '[]' });
    assert.equal(arr.status, 400, show(arr));
    assert.equal(arr.body?.error?.code, 'not_an_object');
    const login = await api(server, 'POST', '/api/auth/login', { raw: '{"username":' });
    assert.equal(login.status, 400, show(login));
    assert.equal(login.body?.error?.code, 'bad_json');
    await assertServing(server, user);
  });

  test('path traversal in the request line is refused with 400 and gives out no file', async () => {
    for (const target of ['/../etc/passwd', '/../secret.txt', '/%2e%2e/secret.txt', '/duet/../../secret.txt',
      '/..%2fsecret.txt', '/./index.html', '//etc/passwd']) {
      const r = await rawHttp(server, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 400, `GET ${target}: ${r.raw.slice(0, 300)}`);
      assert.doesNotMatch(r.body, /TOP-SECRET|root:/);
      assert.equal(JSON.parse(r.body).error.code, 'bad_value', `GET ${target}: ${r.body}`);
    }
    // The site itself is served.
    const index = await rawHttp(server, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.equal(index.status, 200, index.raw.slice(0, 300));
    assert.match(index.body, /<title>duet<\/title>/);
    await assertServing(server, user);
  });

  test('an unknown /api route is answered 404 with an error body', async () => {
    for (const path of ['/api/nope', '/api/calls/x/y/z', '/api/me/', '/api', '/api/', '/api/socket']) {
      const r = await api(server, 'GET', path, { token: user.token });
      assert.equal(r.status, 404, `GET ${path}: ${show(r)}`);
      assert.equal(r.body?.error?.code, 'not_found', `GET ${path}: ${show(r)}`);
      assert.equal(typeof r.body.error.message, 'string');
    }
    // Without a token, an unknown route is still 404 (the route is checked before the user),
    // and an oversized body is 413 before the route is looked at.
    const anon = await api(server, 'GET', '/api/nope');
    assert.equal(anon.status, 404, show(anon));
    const big = await api(server, 'POST', '/api/nope', { raw: 'x'.repeat(17 * 1024) });
    assert.equal(big.status, 413, show(big));
    await assertServing(server, user);
  });

  test('a route called with the wrong method is answered 405 with an Allow header', async () => {
    const cases = [
      ['DELETE', '/api/calls', 'GET, POST'],
      ['GET', '/api/auth/login', 'POST'],
      ['PUT', '/api/me', 'GET'],
      ['GET', '/api/calls/c-1/end', 'POST'],
      ['POST', '/healthz', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const r = await api(server, method, path, { token: user.token });
      assert.equal(r.status, 405, `${method} ${path}: ${show(r)}`);
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(r.body?.error?.code, 'bad_value', `${method} ${path}: ${show(r)}`);
    }
    await assertServing(server, user);
  });

  test('an answer to HEAD has no body, so the next answer on the connection is read right', async () => {
    // An API route (405: HEAD is not GET), a missing file (404), a refused path (400).
    for (const path of ['/api/me', '/healthz', '/no-such-file.js', '/%zz']) {
      const text = await rawHttpExchange(server, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` +
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      const head = text.indexOf('\r\n\r\n');
      assert.match(text.slice(0, head), /^HTTP\/1\.1 4\d\d /, `HEAD ${path}: ${text.slice(0, 300)}`);
      assert.match(text.slice(0, head), /\r\nContent-Length: [1-9]/i, `HEAD ${path} keeps GET's length`);
      const next = text.slice(head + 4);
      assert.match(next, /^HTTP\/1\.1 200 OK\r\n/, `after HEAD ${path}: ${JSON.stringify(text.slice(0, 400))}`);
      assert.match(next, /\r\n\r\n\{"status":"ok"\}$/);
    }
    await assertServing(server, user);
  });

  test('a request that is not well-formed HTTP is answered 400 bad_value, then the connection is closed', async () => {
    const requests = [
      'G@T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',                         // a method that is no token
      'GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n',                         // an unknown version
      'GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n',                           // a header line without ':'
      'POST /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n',
      'POST /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      'POST /api/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 a TLS hello on the plain port\r\n\r\n',
    ];
    for (const request of requests) {
      const r = await rawHttp(server, request);
      assert.equal(r.status, 400, `${JSON.stringify(request)}: ${JSON.stringify(r.raw.slice(0, 300))}`);
      const body = JSON.parse(r.body);
      assert.equal(body.error.code, 'bad_value', r.body);
      assert.match(body.error.message, /^malformed HTTP request/, r.body);
      assert.match(r.headers.connection ?? '', /close/i, 'where the next request would start is unknown');
    }
    await assertServing(server, user);
  });

  test('a WebSocket upgrade at another path is refused with 404', async () => {
    const r = await rawHttp(server, 'GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.equal(r.status, 404, r.raw.slice(0, 300));
    await assertServing(server, user);
  });

  test('bad query parameters are refused with 400 bad_value', async () => {
    for (const q of ['limit=-1', 'limit=abc', 'skip=1.5']) {
      const r = await api(server, 'GET', `/api/calls?${q}`, { token: user.token });
      assert.equal(r.status, 400, `?${q}: ${show(r)}`);
      assert.equal(r.body?.error?.code, 'bad_value');
    }
    const zero = await api(server, 'GET', '/api/calls?limit=0', { token: user.token });
    assert.equal(zero.status, 200, show(zero));
    const huge = await api(server, 'GET', '/api/calls?limit=99999999999999999999&skip=99999999999999', { token: user.token });
    assert.equal(huge.status, 200, show(huge));
    assert.deepEqual(huge.body, []);
    await assertServing(server, user);
  });

  // Last in the file: the failed-login limit is per address, and every test here comes from
  // 127.0.0.1.
  test('11 failed logins from one address are answered 429 with Retry-After', async () => {
    const statuses = [];
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      const r = await api(server, 'POST', '/api/auth/login', {
        body: { username: user.username, password: `wrong password ${i}` }, timeoutMs: 10_000,
      });
      statuses.push(r.status);
      assert.equal(r.body?.error?.code, 'unauthenticated', show(r));
    }
    assert.deepEqual(statuses, Array(10).fill(401));
    // One more failed login is allowed per 6 s: on a loaded machine ten password checks can take
    // that long, and each refilled token is one more 401 before the 429.
    let limited;
    for (let extra = 0; ; extra++) {
      limited = await api(server, 'POST', '/api/auth/login', { body: { username: user.username, password: 'wrong again' } });
      if (limited.status !== 401 || extra >= Math.floor((Date.now() - started) / 6000)) break;
    }
    assert.equal(limited.status, 429, show(limited));
    assert.equal(limited.body?.error?.code, 'rate_limited');
    const retry = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After: ${limited.headers.get('retry-after')}`);
    // While limited, even the right password from this address waits (the limit comes first).
    const right = await api(server, 'POST', '/api/auth/login', { body: { username: user.username, password: user.password } });
    assert.equal(right.status, 429, show(right));
    // Sessions already signed in are not affected.
    await healthy(server);
    const me = await api(server, 'GET', '/api/me', { token: user.token });
    assert.equal(me.status, 200, show(me));
    const c = await Client.login(server, user);
    c.close();
  });
});
