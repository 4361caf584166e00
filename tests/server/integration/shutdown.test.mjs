// SIGTERM: every signaling socket is told 1001, the process exits 0 promptly, and the
// database opens again with everything in it (a call left active is taken over at start-up,
// and goes on for its participants when they sign in again: restart.test.mjs).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import {
  Client, api, assertServing, befriend, callId, expiry, makeRoot, removeRoot, show, startServer, users,
} from './harness.mjs';

test('SIGTERM closes every socket with 1001, exits 0 within 5 s, and the data is there after a restart', async (t) => {
  const root = await makeRoot();
  let server = await startServer({ root });
  try {
    const [a, b] = await users(server, 'term-a', 'term-b');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);

    // A finished call...
    const done = callId('done');
    ca.send({ type: 'call:initiate', callId: done, to: b.id, callType: 'audio' });
    await cb.next('call:initiate');
    cb.send({ type: 'call:accept', callId: done });
    await ca.next('call:accept');
    ca.send({ type: 'call:end', callId: done, reason: 'hangup' });
    await cb.next('call:end');
    // ... and one still active when the signal comes.
    const open = callId('open');
    ca.send({ type: 'call:initiate', callId: open, to: b.id, callType: 'video' });
    await cb.next('call:initiate');
    cb.send({ type: 'call:accept', callId: open });
    await ca.next('call:accept');

    // An idle keep-alive HTTP connection must not hold the shutdown up.
    const idle = net.connect(server.port, '127.0.0.1');
    idle.on('error', () => {});
    await new Promise((resolve) => idle.once('connect', resolve));

    const started = Date.now();
    server.proc.kill('SIGTERM');
    const [closeA, closeB] = await Promise.all([ca.closed(5000), cb.closed(5000)]);
    assert.equal(closeA.code, 1001, `caller's socket closed with ${closeA.code} ${closeA.reason}`);
    assert.equal(closeB.code, 1001, `callee's socket closed with ${closeB.code} ${closeB.reason}`);
    const exit = await Promise.race([server.exited, expiry(5000)]);
    const took = Date.now() - started;
    assert.ok(exit, `still running ${took} ms after SIGTERM\n${server.tail()}`);
    assert.deepEqual(exit, { code: 0, signal: null }, server.tail());
    t.diagnostic(`SIGTERM to exit: ${took} ms`);
    assert.match(server.log, /shutting down: closing 2 signaling connections/);
    idle.destroy();
    server.assertClean();

    // Restart on the same data directory.
    server = await startServer({ root });
    assert.match(server.log, /took over 1 calls left open by the last run/);
    const me = await api(server, 'GET', '/api/me', { token: a.token });
    assert.equal(me.status, 200, `a token from before the restart: ${show(me)}`);
    const before = await api(server, 'GET', `/api/calls/${done}`, { token: a.token });
    assert.equal(before.status, 200, show(before));
    assert.equal(before.body.status, 'ended');
    assert.equal(before.body.endReason, 'hangup');
    const left = await api(server, 'GET', `/api/calls/${open}`, { token: b.token });
    assert.equal(left.status, 200, show(left));
    assert.equal(left.body.status, 'active', `the call left active is still on: ${show(left)}`);
    const list = await api(server, 'GET', '/api/calls', { token: b.token });
    assert.deepEqual(list.body.map((c) => c.id), [open, done]);
    const contacts = await api(server, 'GET', '/api/contacts', { token: a.token });
    assert.deepEqual(contacts.body.map((c) => [c.id, c.state]), [[b.id, 'accepted']]);
    // They sign in again and hang up the call that was on, then can call again.
    const c2a = await Client.login(server, a);
    const c2b = await Client.login(server, b);
    c2a.send({ type: 'call:end', callId: open, reason: 'hangup' });
    assert.equal((await c2b.next('call:end')).callId, open);
    const ended = await api(server, 'GET', `/api/calls/${open}`, { token: b.token });
    assert.equal(ended.body.status, 'ended', show(ended));
    assert.equal(ended.body.endReason, 'hangup');
    assert.ok(ended.body.endedAt && ended.body.duration !== null, show(ended));
    const again = callId('again');
    c2a.send({ type: 'call:initiate', callId: again, to: b.id, callType: 'audio' });
    await c2b.next('call:initiate');
    c2a.send({ type: 'call:cancel', callId: again, reason: 'cancelled' });
    await c2b.next('call:cancel');
    c2a.close();
    c2b.close();
    await assertServing(server, b);
  } finally {
    await server.stop();
    await removeRoot(root);
  }
  server.assertClean();
});

test('SIGTERM with no sockets open exits 0 promptly', async () => {
  const server = await startServer();
  try {
    const started = Date.now();
    server.proc.kill('SIGTERM');
    const exit = await Promise.race([server.exited, expiry(5000)]);
    assert.deepEqual(exit, { code: 0, signal: null }, server.tail());
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  } finally {
    await server.cleanup();
  }
});
