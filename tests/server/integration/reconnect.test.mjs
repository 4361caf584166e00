// Dropped sockets during a call (RECONNECT_GRACE=2), and calls driven over REST with the
// other side on the socket.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, assertServing, befriend, callId, Client, getCall, SDP, show, sleep, startServer, users,
} from './harness.mjs';

async function pair(server, la, lb) {
  const [a, b] = await users(server, la, lb);
  await befriend(server, a, b);
  return { a, b, ca: await Client.login(server, a), cb: await Client.login(server, b) };
}

// a calls b over the socket and b accepts over the socket.
async function activeCall(ca, cb) {
  const id = callId();
  ca.send({ type: 'call:initiate', callId: id, to: cb.user.id, callType: 'audio' });
  await cb.next('call:initiate');
  cb.send({ type: 'call:accept', callId: id });
  await ca.next('call:accept');
  return id;
}

describe('dropped sockets and REST-driven calls (RECONNECT_GRACE=2)', () => {
  let server;
  before(async () => { server = await startServer({ env: { RECONNECT_GRACE: '2' } }); });
  after(async () => { await server?.cleanup(); });

  test('a participant who drops and comes back within the grace gets what was sent meanwhile and the call goes on', async () => {
    const { a, b, ca, cb } = await pair(server, 'back-a', 'back-b');
    const id = await activeCall(ca, cb);
    cb.close();
    await cb.closed();
    ca.send({ type: 'call:offer', callId: id, sdp: SDP }); // an ICE restart while b is away
    await sleep(300);
    const cb2 = await Client.login(server, b, 'back-b again');
    const offer = await cb2.next('call:offer');
    assert.deepEqual([offer.from, offer.sdp], [a.id, SDP]);
    cb2.send({ type: 'call:answer', callId: id, sdp: SDP });
    assert.equal((await ca.next('call:answer')).from, b.id);
    await sleep(2500); // past the grace: b is back, so the call stays up
    assert.equal((await getCall(server, a, id)).status, 'active');
    cb2.send({ type: 'call:end', callId: id, reason: 'hangup' });
    assert.equal((await ca.next('call:end')).reason, 'hangup');
    ca.close();
    cb2.close();
    await assertServing(server, a);
  });

  test('a participant who does not come back within the grace ends the call with connection_lost', async () => {
    const { a, b, ca, cb } = await pair(server, 'lost-a', 'lost-b');
    const id = await activeCall(ca, cb);
    const dropped = Date.now();
    cb.close();
    await cb.closed();
    const end = await ca.next('call:end', 5000);
    const after = Date.now() - dropped;
    assert.deepEqual([end.callId, end.reason], [id, 'connection_lost']);
    assert.ok(after >= 1800 && after < 4500, `ended ${after} ms after the drop`);
    const rec = await getCall(server, b, id);
    assert.equal(rec.status, 'ended');
    assert.equal(rec.endReason, 'connection_lost');
    assert.ok(rec.duration >= 1, JSON.stringify(rec));
    // a is free again: a new call to b rings b's next device.
    const cb2 = await Client.login(server, b, 'lost-b again');
    const again = callId();
    ca.send({ type: 'call:initiate', callId: again, to: b.id, callType: 'audio' });
    await cb2.next('call:initiate');
    ca.send({ type: 'call:cancel', callId: again, reason: 'cancelled' });
    await cb2.next('call:cancel');
    ca.close();
    cb2.close();
    await assertServing(server, b);
  });

  test('a participant who comes back within the grace is told that the call ended while they were away',
    async () => {
      const { a, b, ca, cb } = await pair(server, 'away-a', 'away-b');
      const id = await activeCall(ca, cb);
      cb.close();
      await cb.closed();
      ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
      await sleep(300);
      assert.equal((await getCall(server, a, id)).status, 'ended');
      const cb2 = await Client.login(server, b, 'away-b again');
      try {
        const end = await cb2.next('call:end', 1500);
        assert.deepEqual([end.callId, end.reason], [id, 'hangup']);
      } finally {
        ca.close();
        cb2.close();
      }
    });

  test('a ringing callee device that reconnects (a page reload) still gets the caller\'s offer',
    async () => {
      const { a, b, ca, cb } = await pair(server, 'reload-a', 'reload-b');
      const id = callId();
      ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
      await cb.next('call:initiate');
      cb.send({ type: 'call:ringing', callId: id });
      await ca.next('call:ringing');
      ca.send({ type: 'call:offer', callId: id, sdp: SDP }); // preconnect: goes to b's one device
      await cb.next('call:offer');
      cb.close();
      await cb.closed();
      const cb2 = await Client.login(server, b, 'reload-b again');
      try {
        assert.equal((await cb2.next('call:initiate')).callId, id, 'the call rings the reloaded page');
        cb2.send({ type: 'call:accept', callId: id });
        await ca.next('call:accept');
        const offer = await cb2.next('call:offer', 1500);
        assert.equal(offer.sdp, SDP);
      } finally {
        ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
        ca.close();
        cb2.close();
      }
    });

  test('a call started over REST rings the callee\'s socket and is negotiated over the caller\'s socket', async () => {
    const { a, b, ca, cb } = await pair(server, 'rest-a', 'rest-b');
    const r = await api(server, 'POST', '/api/calls', { token: a.token, body: { receiverId: b.id, type: 'video' } });
    assert.equal(r.status, 201, show(r));
    assert.deepEqual([r.body.status, r.body.direction, r.body.type, r.body.callerId, r.body.receiverId],
      ['pending', 'outgoing', 'video', a.id, b.id]);
    const id = r.body.id;
    const init = await cb.next('call:initiate');
    assert.deepEqual([init.callId, init.from, init.fromName, init.callType], [id, a.id, a.displayName, 'video']);
    cb.send({ type: 'call:ringing', callId: id });
    assert.equal((await ca.next('call:ringing')).from, b.id);
    ca.send({ type: 'call:offer', callId: id, sdp: SDP });
    assert.equal((await cb.next('call:offer')).from, a.id);
    cb.send({ type: 'call:answer', callId: id, sdp: SDP });
    assert.equal((await ca.next('call:answer')).from, b.id);
    cb.send({ type: 'call:accept', callId: id });
    await ca.next('call:accept');
    await sleep(1100);
    const end = await api(server, 'POST', `/api/calls/${id}/end`, { token: a.token });
    assert.equal(end.status, 200, show(end));
    assert.deepEqual([end.body.status, end.body.endReason], ['ended', 'hangup']);
    assert.ok(end.body.duration >= 1);
    const told = await cb.next('call:end');
    assert.deepEqual([told.from, told.reason], [a.id, 'hangup']);
    const again = await api(server, 'POST', `/api/calls/${id}/end`, { token: b.token });
    assert.equal(again.status, 409, show(again));
    assert.equal(again.body.error.code, 'invalid_state');
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('REST accept and reject of a socket call tell the caller, and the caller cannot accept its own call', async () => {
    const { a, b, ca, cb } = await pair(server, 'racc-a', 'racc-b');
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
    await cb.next('call:initiate');
    const own = await api(server, 'POST', `/api/calls/${id}/accept`, { token: a.token });
    assert.equal(own.status, 404, show(own));
    assert.equal(own.body.error.code, 'not_participant');
    const rej = await api(server, 'POST', `/api/calls/${id}/reject`, { token: b.token });
    assert.equal(rej.status, 200, show(rej));
    assert.equal(rej.body.status, 'rejected');
    assert.equal((await ca.next('call:reject')).from, b.id);

    const id2 = callId();
    ca.send({ type: 'call:initiate', callId: id2, to: b.id, callType: 'audio' });
    await cb.next('call:initiate');
    const acc = await api(server, 'POST', `/api/calls/${id2}/accept`, { token: b.token });
    assert.equal(acc.status, 200, show(acc));
    assert.equal(acc.body.status, 'active');
    assert.equal((await ca.next('call:accept')).from, b.id);
    ca.send({ type: 'call:end', callId: id2, reason: 'hangup' });
    await cb.next('call:end');
    ca.close();
    cb.close();
    await assertServing(server, b);
  });

  test('a call answered over REST can be negotiated on the callee\'s socket',
    async () => {
      const { a, b, ca, cb } = await pair(server, 'rneg-a', 'rneg-b');
      const id = callId();
      ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
      await cb.next('call:initiate');
      const acc = await api(server, 'POST', `/api/calls/${id}/accept`, { token: b.token });
      assert.equal(acc.status, 200, show(acc));
      await ca.next('call:accept');
      ca.send({ type: 'call:offer', callId: id, sdp: SDP });
      await cb.next('call:offer');
      cb.send({ type: 'call:answer', callId: id, sdp: SDP });
      try {
        const answer = await Promise.race([
          ca.next('call:answer', 1500),
          cb.next('error', 1500).then((e) => { throw new Error(`callee's answer refused: ${JSON.stringify(e)}`); }),
        ]);
        assert.equal(answer.from, b.id);
      } finally {
        ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
        ca.close();
        cb.close();
      }
    });

  test('a call answered over REST ends with connection_lost when the callee\'s sockets are gone past the grace',
    async () => {
      const { a, b, ca, cb } = await pair(server, 'rdrop-a', 'rdrop-b');
      const id = callId();
      ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
      await cb.next('call:initiate');
      const acc = await api(server, 'POST', `/api/calls/${id}/accept`, { token: b.token });
      assert.equal(acc.status, 200, show(acc));
      await ca.next('call:accept');
      cb.close();
      await cb.closed();
      try {
        const end = await ca.next('call:end', 4000);
        assert.equal(end.reason, 'connection_lost');
      } finally {
        ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
        ca.close();
      }
    });

  test('a device whose socket died unnoticed resumes over a new one: it gets again what it missed, in order, and hears what the server read',
    async () => {
      const [a, b] = await users(server, 'resume-a', 'resume-b');
      await befriend(server, a, b);
      const ca = await Client.login(server, a);
      const cb = await Client.open(server, 'resume-b tab');
      cb.send({ type: 'auth', token: b.token, device: 'tab-b' });
      await cb.next('auth:ok');
      cb.user = b;
      const id = await activeCall(ca, cb);
      // b's page stops hearing its socket here (a network switch); the server still holds it.
      const got = cb.seen.length - 1; // every frame after auth:ok
      ca.send({ type: 'call:media', callId: id, audioMuted: true, videoMuted: false });
      ca.send({ type: 'call:offer', callId: id, sdp: SDP }); // an ICE restart
      await cb.next('call:offer');
      const cb2 = await Client.open(server, 'resume-b tab again');
      try {
        cb2.send({ type: 'auth', token: b.token, device: 'tab-b', received: got });
        const ok = await cb2.next('auth:ok');
        assert.equal(ok.received, 1, 'the server read one frame from b: its call:accept');
        await cb2.next('call:offer');
        assert.deepEqual(cb2.seen.slice(0, 3), ['auth:ok', 'call:media', 'call:offer'], 'what b missed, first and in order');
        assert.equal((await cb.closed()).code, 4409);
        cb2.send({ type: 'call:end', callId: id, reason: 'hangup' });
        assert.equal((await ca.next('call:end')).reason, 'hangup');
        assert.equal((await getCall(server, a, id)).status, 'ended');
      } finally {
        ca.close();
        cb2.close();
      }
    });
});
