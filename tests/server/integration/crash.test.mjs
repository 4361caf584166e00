// kill -9 under write load: every call the server acknowledged (201) is in the database
// after a restart, every acknowledged end is final, and nothing is left ringing or active
// once the restarted server's ring timeout and reconnect grace have run out (it takes the
// open calls over rather than closing them: restart.test.mjs).
//
// The server limits how many calls a user starts (burst 5, then 10 a minute) and a callee in
// one call is busy for everyone else, so the load comes from PAIRS caller -> callee, each
// pair with its own stream of calls. Registration is limited per address too (burst 50), so
// 24 pairs is about what one address gets; the counts are printed as test diagnostics.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  api, befriend, expiry, makeRoot, removeRoot, show, sleep, startServer, users,
} from './harness.mjs';

const PAIRS = 24;
const KILL_AFTER_MS = 2500;   // load runs this long before SIGKILL
const LOAD_LIMIT_MS = 8000;   // the load loop never runs longer than this
const MAX_CALLS = 1000;
const OPEN_STATES = new Set(['pending', 'ringing', 'active']);
// The restarted server's: nobody comes back to the calls it takes over, so they end at the
// first tick (grace 0) or at their ring deadline (the shortest allowed, 5 s from their start).
const RESTART_ENV = { RECONNECT_GRACE: '0', RING_TIMEOUT: '5' };

test('SIGKILL under write load loses no acknowledged call and leaves none open after a restart', async (t) => {
  const root = await makeRoot();
  let server = await startServer({ root });
  try {
    const labels = [];
    for (let i = 0; i < PAIRS; i++) labels.push(`kc${i}`, `ke${i}`);
    const all = await users(server, ...labels);
    const pairs = [];
    for (let i = 0; i < PAIRS; i++) pairs.push({ caller: all[2 * i], callee: all[2 * i + 1] });
    await Promise.all(pairs.map((p) => befriend(server, p.caller, p.callee)));

    // What the server acknowledged: id -> { caller, acked: 'created' | 'accepted' | 'ended' | 'cancelled' }.
    const acked = new Map();
    const stats = { attempts: 0, created: 0, limited: 0, accepted: 0, ended: 0, cancelled: 0, failedInFlight: 0 };
    let writesInFlight = 0;
    let killed = false;
    const loadStart = Date.now();

    // One write; null when the request failed (the server went away mid-request).
    async function write(method, path, token, body) {
      writesInFlight++;
      try {
        return await api(server, method, path, { token, body, timeoutMs: 3000 });
      } catch {
        stats.failedInFlight++;
        return null;
      } finally {
        writesInFlight--;
      }
    }

    // Each pair spends its burst of 5 calls spread over the first ~2.7 s, so writes are
    // still going when the kill comes. Each call is cancelled, answered and hung up, left
    // ringing, or (the last one) answered and left active.
    async function worker(pair, n) {
      await sleep((n * 37) % 400);
      for (let round = 0; round < 5 && !killed && Date.now() - loadStart < LOAD_LIMIT_MS && stats.attempts < MAX_CALLS; round++) {
        stats.attempts++;
        const r = await write('POST', '/api/calls', pair.caller.token, { receiverId: pair.callee.id, type: round % 2 ? 'video' : 'audio' });
        if (!r) return;
        if (r.status === 429) {
          stats.limited++;
        } else {
          assert.equal(r.status, 201, `POST /api/calls: ${show(r)}`);
          stats.created++;
          const id = r.body.id;
          acked.set(id, { caller: pair.caller, acked: 'created' });
          const choice = (n + round) % 4;
          if (choice === 0) {
            const end = await write('POST', `/api/calls/${id}/end`, pair.caller.token);
            if (!end) return;
            assert.equal(end.status, 200, `end ${id}: ${show(end)}`);
            assert.equal(end.body.status, 'cancelled');
            acked.get(id).acked = 'cancelled';
            stats.cancelled++;
          } else if (choice === 1 || (choice === 3 && round === 4)) {
            const acc = await write('POST', `/api/calls/${id}/accept`, pair.callee.token);
            if (!acc) return;
            assert.equal(acc.status, 200, `accept ${id}: ${show(acc)}`);
            acked.get(id).acked = 'accepted';
            stats.accepted++;
            if (choice === 1) {
              const end = await write('POST', `/api/calls/${id}/end`, round % 2 ? pair.caller.token : pair.callee.token);
              if (!end) return;
              assert.equal(end.status, 200, `end ${id}: ${show(end)}`);
              assert.equal(end.body.status, 'ended');
              acked.get(id).acked = 'ended';
              stats.ended++;
            }
          }
          // otherwise it stays ringing
        }
        await sleep(520 + ((n * 13 + round * 17) % 100));
      }
    }

    const load = Promise.all(pairs.map((p, n) => worker(p, n)));

    // SIGKILL after KILL_AFTER_MS, at a moment when writes are in flight.
    await sleep(KILL_AFTER_MS);
    for (let i = 0; i < 1000 && writesInFlight === 0; i++) await sleep(1);
    const inFlightAtKill = writesInFlight;
    killed = true;
    const killedAt = Date.now();
    const exit = await server.kill();
    assert.equal(exit.signal, 'SIGKILL');
    server.assertClean();
    await Promise.race([load, expiry(5000)]);

    t.diagnostic(`load ${Date.now() - loadStart} ms, ${PAIRS} pairs: ${stats.attempts} call attempts, ` +
      `${stats.created} calls acknowledged (201), ${stats.limited} rate-limited (429), ` +
      `${stats.cancelled} cancels, ${stats.accepted} accepts and ${stats.ended} ends acknowledged, ` +
      `${inFlightAtKill} writes in flight at the kill, ${stats.failedInFlight} requests cut off`);
    assert.ok(stats.created >= 50, `only ${stats.created} calls were acknowledged: the test means little`);
    assert.ok(inFlightAtKill >= 1, 'no write was in flight when the server was killed');

    // Restart on the same data directory.
    server = await startServer({ root, env: RESTART_ENV });
    const recovered = /took over (\d+) calls left open/.exec(server.log)?.[1];
    // Every call was started before the kill: past 5 s from it, and a tick, all are due.
    await sleep(Math.max(0, killedAt + 5000 + 1000 - Date.now()));
    const byStatus = {};
    let missing = 0;
    const checks = [...acked].map(([id, { caller, acked: what }]) => async () => {
      const r = await api(server, 'GET', `/api/calls/${id}`, { token: caller.token });
      if (r.status === 404) { missing++; return; }
      assert.equal(r.status, 200, `GET /api/calls/${id}: ${show(r)}`);
      const rec = r.body;
      byStatus[rec.status] = (byStatus[rec.status] ?? 0) + 1;
      assert.ok(!OPEN_STATES.has(rec.status), `call ${id} is still ${rec.status} after the restart`);
      assert.ok(rec.endedAt, `call ${id} has no endedAt: ${show(r)}`);
      if (what === 'cancelled') {
        assert.equal(rec.status, 'cancelled', `acknowledged cancel of ${id}: ${show(r)}`);
      } else if (what === 'ended') {
        assert.equal(rec.status, 'ended', `acknowledged end of ${id}: ${show(r)}`);
        assert.equal(rec.endReason, 'hangup');
        assert.ok(rec.startedAt && rec.duration !== null, show(r));
      } else if (what === 'accepted') {
        // Answered, then the end was cut off or never sent: ended, by the end in flight or
        // by the restarted server when nobody came back to it.
        assert.equal(rec.status, 'ended', `acknowledged accept of ${id}: ${show(r)}`);
        assert.ok(['hangup', 'connection_lost'].includes(rec.endReason), show(r));
      } else {
        // Left ringing (missed at its deadline by the restarted server), or an action on it
        // was in flight when the server died.
        assert.ok(
          rec.status === 'missed' ||
          (rec.status === 'ended' && ['hangup', 'connection_lost'].includes(rec.endReason)) ||
          rec.status === 'cancelled',
          `call ${id} left ringing came back as ${rec.status}/${rec.endReason}`);
      }
    });
    for (let i = 0; i < checks.length; i += 50) await Promise.all(checks.slice(i, i + 50).map((check) => check()));
    assert.equal(missing, 0, `${missing} acknowledged calls are missing after the restart`);
    t.diagnostic(`after restart: ${acked.size} acknowledged calls found, by status ${JSON.stringify(byStatus)}; ` +
      `start-up recovery took over ${recovered ?? 0}`);

    // Each caller's history lists every call of theirs that was acknowledged.
    for (const p of pairs) {
      const mine = [...acked].filter(([, v]) => v.caller === p.caller).map(([id]) => id);
      const list = await api(server, 'GET', '/api/calls?limit=100', { token: p.caller.token });
      assert.equal(list.status, 200, show(list));
      const ids = new Set(list.body.map((c) => c.id));
      for (const id of mine) assert.ok(ids.has(id), `call ${id} missing from its caller's history`);
    }
    const health = await api(server, 'GET', '/healthz');
    assert.equal(health.status, 200);
  } finally {
    await server.stop();
    await removeRoot(root);
  }
  server.assertClean();
});
