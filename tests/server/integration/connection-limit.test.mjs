// The per-address limit on new connections (500 at once, then 200 a second): a connection over
// it is answered 429 rate_limited with Retry-After, never dropped without a word, and the
// address is served again once the limit has refilled. A server of its own, since the limit
// is per address and every test comes from 127.0.0.1.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { assertServing, register, sleep, startServer } from './harness.mjs';

// One GET /healthz on a fresh connection; the whole answer, once the server closed it.
function oneRequest(server) {
  return new Promise((resolve) => {
    const socket = net.connect(server.port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); resolve(got); });
  });
}

describe('connections per address', () => {
  let server;
  let user;
  before(async () => {
    server = await startServer();
    user = await register(server, 'conns');
  });
  after(async () => { await server?.cleanup(); });

  test('700 connections at once: each is answered, those over the limit with 429 and Retry-After', async () => {
    const texts = await Promise.all(Array.from({ length: 700 }, () => oneRequest(server)));
    const statuses = texts.map((t) => Number(/^HTTP\/1\.1 (\d{3}) /.exec(t)?.[1] ?? 0));
    const unanswered = statuses.filter((s) => s === 0).length;
    assert.equal(unanswered, 0, `${unanswered} connections were closed without an answer`);
    const limited = texts.filter((t, i) => statuses[i] === 429);
    assert.ok(limited.length > 0, 'the burst of 500 was exceeded, so some were limited');
    assert.ok(statuses.every((s) => s === 200 || s === 429), JSON.stringify([...new Set(statuses)]));
    for (const t of limited.slice(0, 5)) {
      assert.match(t, /\r\nRetry-After: [1-9]\d*\r\n/i, t);
      assert.match(t, /\{"error":\{"code":"rate_limited","message":"[^"]+"\}\}$/, t);
    }
    await sleep(1500);  // 200 a second refill the bucket
    await assertServing(server, user);
  });
});
