// Who may do what: contacts only, strangers learn nothing about other people's calls, the
// server stamps `from`, REST and WebSocket authentication (AUTH_TIMEOUT=1).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Client, api, assertServing, befriend, callId, show, startServer, users,
} from './harness.mjs';

// Flips one character of the token's signature (the part after the last dot).
function tamper(token) {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

// The payload (middle part) of a JWT-like token replaced by another's; signature kept.
function swapPayload(token, other) {
  const [h, , s] = token.split('.');
  return [h, other.split('.')[1], s].join('.');
}

describe('authorization on a shared server (AUTH_TIMEOUT=1)', () => {
  let server;
  before(async () => { server = await startServer({ env: { AUTH_TIMEOUT: '1' } }); });
  after(async () => { await server?.cleanup(); });

  test('calling someone who is not a contact is forbidden and leaves no record', async () => {
    const [a, b] = await users(server, 'nc-a', 'nc-b');
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
    await ca.error('forbidden', { ref: 'call:initiate', callId: id });
    await cb.none(300);
    const rec = await api(server, 'GET', `/api/calls/${id}`, { token: a.token });
    assert.equal(rec.status, 404, show(rec));
    assert.equal(rec.body?.error?.code, 'not_found');
    const hist = await api(server, 'GET', '/api/calls', { token: a.token });
    assert.deepEqual(hist.body, []);
    // Over REST too.
    const rest = await api(server, 'POST', '/api/calls', { token: a.token, body: { receiverId: b.id, type: 'audio' } });
    assert.equal(rest.status, 403, show(rest));
    assert.equal(rest.body?.error?.code, 'forbidden');
    await cb.none(200);
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('a stranger acting on someone else\'s call gets not_found and the participants see nothing', async () => {
    const [a, b, m] = await users(server, 'st-a', 'st-b', 'st-mallory');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const cm = await Client.login(server, m);
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
    await cb.next('call:initiate');
    cb.send({ type: 'call:ringing', callId: id });
    await ca.next('call:ringing');

    const attempts = [
      { type: 'call:accept', callId: id },
      { type: 'call:offer', callId: id, sdp: 'v=0\r\n' },
      { type: 'call:ice-candidate', callId: id, candidate: { candidate: '' } },
      { type: 'call:media', callId: id, audioMuted: true, videoMuted: true },
      { type: 'call:reject', callId: id },
      { type: 'call:cancel', callId: id, reason: 'cancelled' },
      { type: 'call:end', callId: id, reason: 'hangup' },
    ];
    for (const msg of attempts) {
      cm.send(msg);
      await cm.error('not_found', { ref: msg.type, callId: id });
    }
    await ca.none(300);
    await cb.none(0);

    for (const [method, path] of [['GET', `/api/calls/${id}`], ['POST', `/api/calls/${id}/accept`],
      ['POST', `/api/calls/${id}/reject`], ['POST', `/api/calls/${id}/end`]]) {
      const r = await api(server, method, path, { token: m.token });
      assert.equal(r.status, 404, `${method} ${path} by a stranger: ${show(r)}`);
      assert.equal(r.body?.error?.code, 'not_found');
    }
    await ca.none(200);
    await cb.none(0);

    // The call is untouched: it is still ringing and the callee can take it.
    const rec = await api(server, 'GET', `/api/calls/${id}`, { token: a.token });
    assert.equal(rec.body.status, 'ringing');
    cb.send({ type: 'call:accept', callId: id });
    await ca.next('call:accept');
    ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
    await cb.next('call:end');
    for (const x of [ca, cb, cm]) x.close();
    await assertServing(server, m);
  });

  test('a `from` supplied by the client is replaced with the real sender', async () => {
    const [a, b, m] = await users(server, 'from-a', 'from-b', 'from-m');
    await befriend(server, a, b);
    await befriend(server, m, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const id = callId();
    ca.send({ type: 'call:initiate', from: m.id, callId: id, to: b.id, callType: 'audio', fromName: 'Forged Name' });
    const init = await cb.next('call:initiate');
    assert.equal(init.from, a.id);
    assert.equal(init.fromName, a.displayName);
    cb.send({ type: 'call:ringing', from: m.id, callId: id });
    assert.equal((await ca.next('call:ringing')).from, b.id);
    ca.send({ type: 'call:offer', from: b.id, callId: id, sdp: 'v=0\r\n' });
    assert.equal((await cb.next('call:offer')).from, a.id);
    ca.send({ type: 'call:cancel', from: m.id, callId: id, reason: 'cancelled' });
    assert.equal((await cb.next('call:cancel')).from, a.id);
    // The record names the real caller.
    const rec = await api(server, 'GET', `/api/calls/${id}`, { token: b.token });
    assert.equal(rec.body.callerId, a.id);
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('a relayed message keeps the fields the server does not know, and an escaped `from` is replaced too', async () => {
    const [a, b] = await users(server, 'relay-a', 'relay-b');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'video' });
    await cb.next('call:initiate');
    cb.send({ type: 'call:accept', callId: id });
    await ca.next('call:accept');
    // A newer client's optional field reaches the peer through this server.
    ca.send({ type: 'call:media', callId: id, audioMuted: false, videoMuted: true, screenShared: true });
    assert.deepEqual(await cb.next('call:media'),
      { from: a.id, v: 1, type: 'call:media', callId: id, audioMuted: false, videoMuted: true, screenShared: true });
    // "fr\u006fm" is the key "from" once unescaped: the peer must still see the real sender.
    cb.sendRaw(`{"v":1,"type":"call:ice-candidate","callId":"${id}","candidate":{"candidate":""},"fr\\u006fm":"${a.id}"}`);
    const candidate = await ca.next('call:ice-candidate');
    assert.equal(candidate.from, b.id);
    assert.deepEqual(candidate.candidate, { candidate: '' });
    ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
    await cb.next('call:end');
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('REST without a token or with a tampered token is answered 401 unauthenticated', async () => {
    const [a, b] = await users(server, 'rest-a', 'rest-b');
    const cases = [
      ['no header', {}],
      ['tampered signature', { authorization: `Bearer ${tamper(a.token)}` }],
      ['another user\'s payload under this signature', { authorization: `Bearer ${swapPayload(a.token, b.token)}` }],
      ['not a token', { authorization: 'Bearer not-a-token' }],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['wrong scheme', { authorization: `Basic ${a.token}` }],
    ];
    for (const [what, headers] of cases) {
      for (const path of ['/api/me', '/api/calls', '/api/contacts']) {
        const r = await api(server, 'GET', path, { headers });
        assert.equal(r.status, 401, `${what} GET ${path}: ${show(r)}`);
        assert.equal(r.body?.error?.code, 'unauthenticated', `${what} GET ${path}: ${show(r)}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    }
    const ok = await api(server, 'GET', '/api/me', { token: a.token });
    assert.equal(ok.status, 200, show(ok));
    assert.equal(ok.body.user.id, a.id);
    const lower = await api(server, 'GET', '/api/me', { headers: { authorization: `bearer ${a.token}` } });
    assert.equal(lower.status, 200, `the scheme name is case-insensitive: ${show(lower)}`);
    await assertServing(server, a);
  });

  test('a WebSocket whose first frame is not auth gets error unauthenticated and is closed with 4401', async () => {
    const [a] = await users(server, 'first-a');
    const c = await Client.open(server, 'no-auth');
    c.send({ type: 'call:end', callId: 'c-1', reason: 'hangup' });
    await c.error('unauthenticated');
    assert.equal((await c.closed()).code, 4401);

    const g = await Client.open(server, 'garbage-first');
    g.sendRaw('hello');
    const e = await g.next('error');
    assert.equal(e.code, 'bad_json');
    assert.equal((await g.closed()).code, 4401);
    await assertServing(server, a);
  });

  test('a WebSocket signing in with a bad token is closed with 4401', async () => {
    const [a] = await users(server, 'badtok-a');
    for (const token of [tamper(a.token), 'nonsense', 'a.b.c']) {
      const c = await Client.open(server, 'bad-token');
      c.send({ type: 'auth', token });
      await c.error('unauthenticated', { ref: 'auth' });
      assert.equal((await c.closed()).code, 4401);
      assert.ok(!c.seen.includes('auth:ok'));
    }
    await assertServing(server, a);
  });

  test('a silent WebSocket is closed with 4408 once AUTH_TIMEOUT=1 passes', async () => {
    const [a] = await users(server, 'silent-a');
    const started = Date.now();
    const c = await Client.open(server, 'silent');
    const { code } = await c.closed(4000);
    const waited = Date.now() - started;
    assert.equal(code, 4408);
    assert.ok(waited >= 900 && waited < 3000, `closed after ${waited} ms`);
    await assertServing(server, a);
  });
});
