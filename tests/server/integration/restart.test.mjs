// A server restart during a call (a deploy's SIGTERM, a crash's SIGKILL) does not end it: the
// media goes peer to peer, the phones sign in again, and the restarted server takes the call
// over from the database (Hub::restore). Both sides come back on a new server process on the
// same data directory; the hang-up reaches the other side and the record ends with its true
// duration. A call nobody comes back to still ends, after the reconnect grace.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  befriend, callId, Client, getCall, makeRoot, removeRoot, SDP, show, sleep, startServer, users,
} from './harness.mjs';

// a calls b and b answers; the times around the accept bound the call's start.
async function activeCall(ca, cb) {
  const id = callId('restart');
  ca.send({ type: 'call:initiate', callId: id, to: cb.user.id, callType: 'video' });
  await cb.next('call:initiate');
  const acceptSent = Date.now();
  cb.send({ type: 'call:accept', callId: id });
  await ca.next('call:accept');
  return { id, acceptSent, acceptSeen: Date.now() };
}

// Runs a call across a restart: `stop` takes the first server down, the second starts on the
// same data; both sides sign in again and `hangsUp` ends the call.
async function callAcrossRestart(t, stop, hangsUp) {
  const root = await makeRoot();
  let server = await startServer({ root });
  try {
    const [a, b] = await users(server, 'rs-a', 'rs-b');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const { id, acceptSent, acceptSeen } = await activeCall(ca, cb);
    await sleep(1200); // a call that lasted a moment, so its duration tells its start

    await stop(server, ca, cb);
    server = await startServer({ root });
    assert.match(server.log, /took over 1 calls left open by the last run/);
    assert.equal((await getCall(server, a, id)).status, 'active', 'the call is still on after the restart');

    const ca2 = await Client.login(server, a);
    const cb2 = await Client.login(server, b);
    // Negotiation (an ICE restart) goes through the new server.
    ca2.send({ type: 'call:offer', callId: id, to: b.id, sdp: SDP });
    const offer = await cb2.next('call:offer');
    assert.equal(offer.from, a.id);

    const [ender, other] = hangsUp === 'caller' ? [ca2, cb2] : [cb2, ca2];
    const endSent = Date.now();
    ender.send({ type: 'call:end', callId: id, reason: 'hangup' });
    const end = await other.next('call:end');
    const endSeen = Date.now();
    assert.equal(end.callId, id);
    assert.equal(end.reason, 'hangup');
    assert.equal(end.from, ender.user.id);
    await ender.none(300, ['error']);

    const rec = await getCall(server, b, id);
    assert.equal(rec.status, 'ended', show({ body: rec }));
    assert.equal(rec.endReason, 'hangup');
    const atLeast = Math.floor((endSent - acceptSeen) / 1000);
    const atMost = Math.ceil((endSeen - acceptSent) / 1000);
    assert.ok(rec.duration >= atLeast && rec.duration <= atMost,
      `duration ${rec.duration} s; the test's clock allows ${atLeast}..${atMost} s: ${JSON.stringify(rec)}`);
    t.diagnostic(`call of ${rec.duration} s across the restart`);
    for (const c of [ca2, cb2]) c.close();
  } finally {
    await server.stop();
    await removeRoot(root);
  }
  server.assertClean();
}

test('SIGTERM mid-call: both sides sign in to the restarted server and the caller\'s hang-up reaches the callee', async (t) => {
  await callAcrossRestart(t, async (server, ca, cb) => {
    server.proc.kill('SIGTERM');
    const [closeA, closeB] = await Promise.all([ca.closed(5000), cb.closed(5000)]);
    assert.equal(closeA.code, 1001);
    assert.equal(closeB.code, 1001);
    assert.deepEqual(await server.exited, { code: 0, signal: null }, server.tail());
    server.assertClean();
  }, 'caller');
});

test('SIGKILL mid-call: both sides sign in to the restarted server and the callee\'s hang-up reaches the caller', async (t) => {
  await callAcrossRestart(t, async (server, ca, cb) => {
    const exit = await server.kill();
    assert.equal(exit.signal, 'SIGKILL');
    await Promise.all([ca.closed(5000), cb.closed(5000)]);
    server.assertClean();
  }, 'callee');
});

test('a call taken over by the restarted server that nobody comes back to ends as connection_lost after the grace', async () => {
  const root = await makeRoot();
  let server = await startServer({ root });
  try {
    const [a, b] = await users(server, 'rs-gone-a', 'rs-gone-b');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const { id } = await activeCall(ca, cb);
    await server.kill();

    server = await startServer({ root, env: { RECONNECT_GRACE: '1' } });
    const restarted = Date.now();
    assert.equal((await getCall(server, a, id)).status, 'active');
    let rec;
    for (let i = 0; i < 40; i++) {
      rec = await getCall(server, a, id);
      if (rec.status !== 'active') break;
      await sleep(100);
    }
    assert.equal(rec.status, 'ended', `after ${Date.now() - restarted} ms: ${JSON.stringify(rec)}`);
    assert.equal(rec.endReason, 'connection_lost');
    assert.ok(rec.endedAt && rec.duration !== null, JSON.stringify(rec));
    // Both are free to call again.
    const ca2 = await Client.login(server, a);
    const cb2 = await Client.login(server, b);
    const again = callId('again');
    ca2.send({ type: 'call:initiate', callId: again, to: b.id, callType: 'audio' });
    await cb2.next('call:initiate');
    ca2.send({ type: 'call:cancel', callId: again, reason: 'cancelled' });
    await cb2.next('call:cancel');
    for (const c of [ca2, cb2]) c.close();
  } finally {
    await server.stop();
    await removeRoot(root);
  }
  server.assertClean();
});
