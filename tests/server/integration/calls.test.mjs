// One-to-one calls over the signaling socket against the real duet-server: the whole call,
// rejected, cancelled, busy, missed by timeout, and a callee signed in on two devices.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  api, assertServing, befriend, callId, Client, getCall, show, sleep, startServer, users,
} from './harness.mjs';

const SDP_OFFER = 'v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const SDP_ANSWER = 'v=0\r\no=- 82931122 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const CANDIDATE = {
  candidate: 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0',
  sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'Xy7q',
};

// Two contacts, both signed in.
async function pair(server, la, lb) {
  const [a, b] = await users(server, la, lb);
  await befriend(server, a, b);
  const ca = await Client.login(server, a);
  const cb = await Client.login(server, b);
  return { a, b, ca, cb };
}

// a calls b and b's device rings; returns the call id.
async function ring(ca, cb, { type = 'audio' } = {}) {
  const id = callId();
  ca.send({ type: 'call:initiate', callId: id, to: cb.user.id, callType: type });
  const init = await cb.next('call:initiate');
  assert.equal(init.callId, id);
  cb.send({ type: 'call:ringing', callId: id });
  await ca.next('call:ringing');
  return id;
}

describe('one-to-one calls on a shared server', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.cleanup(); });

  test('a whole call goes from initiate to hangup and both histories record it as ended', async () => {
    const { a, b, ca, cb } = await pair(server, 'alice', 'bob');

    // An earlier call, so that the history has something to be newer than.
    const first = callId('first');
    ca.send({ type: 'call:initiate', callId: first, to: b.id, callType: 'audio' });
    await cb.next('call:initiate');
    ca.send({ type: 'call:cancel', callId: first, reason: 'cancelled' });
    await cb.next('call:cancel');
    await sleep(5); // distinct createdAt

    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'video' });
    const init = await cb.next('call:initiate');
    assert.deepEqual(
      { from: init.from, fromName: init.fromName, callId: init.callId, to: init.to, callType: init.callType, v: init.v },
      { from: a.id, fromName: a.displayName, callId: id, to: b.id, callType: 'video', v: 1 });

    cb.send({ type: 'call:ringing', callId: id });
    const ringing = await ca.next('call:ringing');
    assert.equal(ringing.from, b.id);
    assert.equal(ringing.callId, id);

    // Preconnect: one callee device, so the caller's negotiation reaches it while it rings.
    ca.send({ type: 'call:offer', callId: id, sdp: SDP_OFFER });
    ca.send({ type: 'call:ice-candidate', callId: id, candidate: CANDIDATE });
    const offer = await cb.next('call:offer');
    assert.equal(offer.from, a.id);
    assert.equal(offer.sdp, SDP_OFFER);
    const cand = await cb.next('call:ice-candidate');
    assert.equal(cand.from, a.id);
    assert.deepEqual(cand.candidate, CANDIDATE);

    cb.send({ type: 'call:answer', callId: id, sdp: SDP_ANSWER });
    const answer = await ca.next('call:answer');
    assert.equal(answer.from, b.id);
    assert.equal(answer.sdp, SDP_ANSWER);
    cb.send({ type: 'call:ice-candidate', callId: id, candidate: { candidate: '' } });
    const eoc = await ca.next('call:ice-candidate');
    assert.equal(eoc.candidate.candidate, '');

    cb.send({ type: 'call:accept', callId: id });
    const accept = await ca.next('call:accept');
    assert.equal(accept.from, b.id);
    assert.equal((await getCall(server, a, id)).status, 'active');

    ca.send({ type: 'call:media', callId: id, audioMuted: true, videoMuted: false });
    const media = await cb.next('call:media');
    assert.deepEqual([media.from, media.audioMuted, media.videoMuted], [a.id, true, false]);
    cb.send({ type: 'call:media', callId: id, audioMuted: false, videoMuted: true });
    const media2 = await ca.next('call:media');
    assert.deepEqual([media2.from, media2.audioMuted, media2.videoMuted], [b.id, false, true]);

    await sleep(1200);
    ca.send({ type: 'call:end', callId: id, reason: 'hangup' });
    const end = await cb.next('call:end');
    assert.deepEqual([end.from, end.callId, end.reason], [a.id, id, 'hangup']);

    for (const [user, direction] of [[a, 'outgoing'], [b, 'incoming']]) {
      const rec = await getCall(server, user, id);
      assert.equal(rec.id, id);
      assert.equal(rec.status, 'ended');
      assert.equal(rec.endReason, 'hangup');
      assert.equal(rec.type, 'video');
      assert.equal(rec.callerId, a.id);
      assert.equal(rec.receiverId, b.id);
      assert.equal(rec.direction, direction);
      assert.ok(rec.duration >= 1, `duration ${rec.duration}`);
      assert.ok(Date.parse(rec.startedAt) > 0, `startedAt ${rec.startedAt}`);
      assert.ok(Date.parse(rec.endedAt) >= Date.parse(rec.startedAt) + 1000, `endedAt ${rec.endedAt}`);

      const list = await api(server, 'GET', '/api/calls', { token: user.token });
      assert.equal(list.status, 200, show(list));
      assert.deepEqual(list.body.map((c) => c.id), [id, first], 'newest first');
      assert.equal(list.body[0].direction, direction);
    }

    // The sockets carry on after the call.
    await ca.ping();
    await cb.ping();
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('a rejected call reaches the caller as call:reject and is recorded as rejected', async () => {
    const { a, b, ca, cb } = await pair(server, 'rej-a', 'rej-b');
    const id = await ring(ca, cb);
    cb.send({ type: 'call:reject', callId: id });
    const reject = await ca.next('call:reject');
    assert.deepEqual([reject.from, reject.callId], [b.id, id]);
    for (const user of [a, b]) {
      const rec = await getCall(server, user, id);
      assert.equal(rec.status, 'rejected');
      assert.equal(rec.endReason, 'rejected');
      assert.equal(rec.startedAt, null);
      assert.equal(rec.duration, null);
      assert.ok(rec.endedAt);
    }
    // A second reject of a finished call is refused, not applied.
    cb.send({ type: 'call:reject', callId: id });
    await cb.error('invalid_state', { callId: id });
    ca.close();
    cb.close();
    await assertServing(server, b);
  });

  test('a call cancelled by the caller is recorded as cancelled and shows in the callee\'s missed calls', async () => {
    const { a, b, ca, cb } = await pair(server, 'can-a', 'can-b');
    const id = await ring(ca, cb);
    ca.send({ type: 'call:cancel', callId: id, reason: 'cancelled' });
    const cancel = await cb.next('call:cancel');
    assert.deepEqual([cancel.from, cancel.callId, cancel.reason], [a.id, id, 'cancelled']);
    const rec = await getCall(server, a, id);
    assert.equal(rec.status, 'cancelled');
    assert.equal(rec.endReason, 'cancelled');
    const missed = await api(server, 'GET', '/api/calls/missed', { token: b.token });
    assert.equal(missed.status, 200, show(missed));
    assert.deepEqual(missed.body.map((c) => c.id), [id]);
    assert.equal(missed.body[0].direction, 'incoming');
    const mine = await api(server, 'GET', '/api/calls/missed', { token: a.token });
    assert.deepEqual(mine.body, [], 'the caller missed nothing');
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('calling someone who is in a call gets error busy and a busy record', async () => {
    const [a, b, c] = await users(server, 'busy-a', 'busy-b', 'busy-c');
    await befriend(server, a, b);
    await befriend(server, c, b);
    const ca = await Client.login(server, a);
    const cb = await Client.login(server, b);
    const cc = await Client.login(server, c);
    const id = await ring(ca, cb);
    cb.send({ type: 'call:accept', callId: id });
    await ca.next('call:accept');

    const third = callId('third');
    cc.send({ type: 'call:initiate', callId: third, to: b.id, callType: 'audio' });
    const err = await cc.error('busy', { ref: 'call:initiate', callId: third });
    assert.ok(err.message.length > 0);
    const rec = await getCall(server, c, third);
    assert.equal(rec.status, 'busy');
    assert.equal(rec.endReason, 'busy');
    assert.equal(rec.direction, 'outgoing');
    // Kept in both histories.
    const bHist = await api(server, 'GET', '/api/calls', { token: b.token });
    const seenByB = bHist.body.find((x) => x.id === third);
    assert.ok(seenByB, `busy call missing from the callee's history: ${show(bHist)}`);
    assert.deepEqual([seenByB.status, seenByB.direction], ['busy', 'incoming']);
    // b is not disturbed, and the call a-b goes on.
    await cb.none(300, ['call:initiate', 'call:cancel', 'call:end']);
    ca.send({ type: 'call:media', callId: id, audioMuted: true, videoMuted: true });
    await cb.next('call:media');
    cb.send({ type: 'call:end', callId: id, reason: 'hangup' });
    const end = await ca.next('call:end');
    assert.equal(end.reason, 'hangup');
    assert.equal((await getCall(server, b, id)).status, 'ended');
    for (const x of [ca, cb, cc]) x.close();
    await assertServing(server, c);
  });

  test('a callee signed in twice rings on both devices and the one that did not answer is told answered_elsewhere', async () => {
    const [a, b] = await users(server, 'multi-a', 'multi-b');
    await befriend(server, a, b);
    const ca = await Client.login(server, a);
    const b1 = await Client.login(server, b, 'bob-phone');
    const b2 = await Client.login(server, b, 'bob-laptop');
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'audio' });
    for (const dev of [b1, b2]) {
      const init = await dev.next('call:initiate');
      assert.deepEqual([init.callId, init.from], [id, a.id]);
      dev.send({ type: 'call:ringing', callId: id });
    }
    await ca.next('call:ringing');
    await ca.none(300, ['call:ringing']); // the caller hears ringing once

    // Two devices ring: the caller's offer waits for the one that answers.
    ca.send({ type: 'call:offer', callId: id, sdp: SDP_OFFER });
    await b1.none(200, ['call:offer']);
    await b2.none(0, ['call:offer']);

    b1.send({ type: 'call:accept', callId: id });
    const accept = await ca.next('call:accept');
    assert.equal(accept.from, b.id);
    const held = await b1.next('call:offer');
    assert.equal(held.sdp, SDP_OFFER);
    const elsewhere = await b2.next('call:end');
    assert.deepEqual([elsewhere.callId, elsewhere.reason], [id, 'answered_elsewhere']);

    b2.send({ type: 'call:accept', callId: id });
    await b2.error('invalid_state', { ref: 'call:accept', callId: id });
    await ca.none(200, ['call:accept']);

    b1.send({ type: 'call:answer', callId: id, sdp: SDP_ANSWER });
    assert.equal((await ca.next('call:answer')).sdp, SDP_ANSWER);
    b1.send({ type: 'call:end', callId: id, reason: 'hangup' });
    assert.equal((await ca.next('call:end')).reason, 'hangup');
    assert.equal((await getCall(server, a, id)).status, 'ended');
    for (const x of [ca, b1, b2]) x.close();
    await assertServing(server, b);
  });

  test('when both call each other at once, the call with the lower id is kept and the other is cancelled as glare', async () => {
    const { a, b, ca, cb } = await pair(server, 'glare-a', 'glare-b');
    const low = callId('c1');
    const high = callId('c2');
    ca.send({ type: 'call:initiate', callId: low, to: b.id, callType: 'audio' });
    cb.send({ type: 'call:initiate', callId: high, to: a.id, callType: 'audio' });
    // Neither is refused as busy: both reach the other side.
    assert.equal((await cb.next('call:initiate')).callId, low);
    assert.equal((await ca.next('call:initiate')).callId, high);
    // b's own call sorts higher: b cancels it as glare and takes a's.
    cb.send({ type: 'call:cancel', callId: high, reason: 'glare' });
    cb.send({ type: 'call:accept', callId: low });
    const cancel = await ca.next('call:cancel');
    assert.deepEqual([cancel.callId, cancel.reason, cancel.from], [high, 'glare', b.id]);
    assert.equal((await ca.next('call:accept')).callId, low);
    ca.send({ type: 'call:offer', callId: low, sdp: SDP_OFFER });
    assert.equal((await cb.next('call:offer')).sdp, SDP_OFFER);
    assert.ok(![...ca.seen, ...cb.seen].some((t) => t.startsWith('error')), `${ca.recent()} / ${cb.recent()}`);
    const kept = await getCall(server, a, low);
    assert.equal(kept.status, 'active');
    const lost = await getCall(server, a, high);
    assert.deepEqual([lost.status, lost.endReason, lost.direction], ['cancelled', 'glare', 'incoming']);
    // A glare loser is not a missed call.
    const missed = await api(server, 'GET', '/api/calls/missed', { token: a.token });
    assert.deepEqual(missed.body, []);
    ca.send({ type: 'call:end', callId: low, reason: 'hangup' });
    await cb.next('call:end');
    ca.close();
    cb.close();
    await assertServing(server, a);
  });
});

describe('missed calls with RING_TIMEOUT=5', { concurrency: true }, () => {
  let server;
  before(async () => { server = await startServer({ env: { RING_TIMEOUT: '5' } }); });
  after(async () => { await server?.cleanup(); });

  test('an unanswered call times out as missed, both sides get call:end timeout, and the missed count can be cleared', async () => {
    const { a, b, ca, cb } = await pair(server, 'miss-a', 'miss-b');
    const started = Date.now();
    const id = await ring(ca, cb);
    const [endA, endB] = await Promise.all([ca.next('call:end', 9000), cb.next('call:end', 9000)]);
    const waited = Date.now() - started;
    assert.ok(waited >= 4500 && waited < 8000, `timed out after ${waited} ms`);
    for (const e of [endA, endB]) assert.deepEqual([e.callId, e.reason], [id, 'timeout']);
    for (const user of [a, b]) {
      const rec = await getCall(server, user, id);
      assert.equal(rec.status, 'missed');
      assert.equal(rec.endReason, 'timeout');
    }
    const missed = await api(server, 'GET', '/api/calls/missed', { token: b.token });
    assert.deepEqual(missed.body.map((c) => c.id), [id]);
    let count = await api(server, 'GET', '/api/calls/missed/count', { token: b.token });
    assert.deepEqual([count.status, count.body], [200, { unseen: 1 }]);
    const seen = await api(server, 'POST', '/api/calls/missed/seen', { token: b.token });
    assert.equal(seen.status, 204, show(seen));
    count = await api(server, 'GET', '/api/calls/missed/count', { token: b.token });
    assert.deepEqual([count.status, count.body], [200, { unseen: 0 }]);
    // Accepting after the timeout is refused.
    cb.send({ type: 'call:accept', callId: id });
    await cb.error('invalid_state', { callId: id });
    ca.close();
    cb.close();
    await assertServing(server, a);
  });

  test('a call is still recorded as missed when the caller\'s socket closed right after initiating', async () => {
    const { a, b, ca, cb } = await pair(server, 'gone-a', 'gone-b');
    const id = callId();
    ca.send({ type: 'call:initiate', callId: id, to: b.id, callType: 'video' });
    ca.close();
    const init = await cb.next('call:initiate');
    assert.equal(init.callId, id);
    cb.send({ type: 'call:ringing', callId: id });
    const end = await cb.next('call:end', 9000);
    assert.deepEqual([end.callId, end.reason], [id, 'timeout']);
    const rec = await getCall(server, a, id);
    assert.equal(rec.status, 'missed');
    assert.equal(rec.direction, 'outgoing');
    const count = await api(server, 'GET', '/api/calls/missed/count', { token: b.token });
    assert.deepEqual(count.body, { unseen: 1 });
    cb.close();
    await assertServing(server, a);
  });
});
