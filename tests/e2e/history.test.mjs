// Call history as both people see it after a few real calls: an answered audio call held for
// a known time, a declined video call and a cancelled audio call. Checks each row's direction,
// type, status and duration on both sides, newest first, against the server's records; the
// answered call's duration must fall between what the test can prove from its own clock.
import { check, ring, scenario, WAIT } from './harness.mjs';

const HOLD_S = 3;

scenario('call history lists every call on both sides with direction, type, status and a plausible duration',
  { slug: 'history', timeout: 120_000 }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

    // 1. Alice calls Bob (audio); he answers; they talk until Alice's timer shows HOLD_S; he hangs up.
    await ring(alice, bob, 'audio');
    const beforeAccept = Date.now();
    await bob.click('incoming-accept');
    for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
    const activeSeen = Date.now();
    await alice.waitState(`the call timer at 00:0${HOLD_S} or more`, (s) => {
      const m = /^(\d\d):(\d\d)$/.exec(s.callScreen?.timer ?? '');
      return m !== null && Number(m[1]) * 60 + Number(m[2]) >= HOLD_S;
    }, HOLD_S * 1000 + WAIT.ui);
    const hangUpClicked = Date.now();
    await bob.click('hangup-button');
    const ended = await alice.waitEnded('hangup');
    const endSeen = Date.now();
    // The server started the clock at the accept (before either screen said "active") and
    // stopped it when Bob's hang-up arrived (after the click, before Alice heard of it).
    const atLeast = Math.max(HOLD_S, Math.floor((hangUpClicked - activeSeen) / 1000));
    const atMost = Math.ceil((endSeen - beforeAccept) / 1000);
    check(/^Call ended · \d+ s$/.test(ended.text), `Alice's notice gives the duration: ${JSON.stringify(ended)}`);
    await bob.waitEnded('hangup');

    // 2. Bob video-calls Alice; she declines.
    await alice.closeEnded();
    await ring(bob, alice, 'video');
    await alice.click('incoming-decline');
    await bob.waitEnded('rejected');

    // 3. Alice calls Bob (audio) and gives up while it rings.
    await alice.closeEnded();
    await ring(alice, bob, 'audio');
    await alice.click('hangup-button');
    await alice.waitEnded('cancelled');
    await bob.waitEnded('cancelled');
    await world.noCallsLeft();

    const server = await alice.serverHistory();
    check(server.length === 3, `the server has three calls for Alice: ${JSON.stringify(server)}`);
    const answered = server[2];
    check(answered.status === 'ended' && answered.duration >= atLeast && answered.duration <= atMost,
      `the answered call lasted ${answered.duration} s; the test's clock allows ${atLeast}..${atMost} s: ${JSON.stringify(answered)}`);

    const rows = (r) => r.all.map((c) => `${c.direction} ${c.type} ${c.status} ${c.duration || '-'}`);
    const mine = await alice.historyRows((r) => r.all.length === 3);
    await alice.shot('history');
    const d = String(answered.duration);
    check(JSON.stringify(rows(mine)) === JSON.stringify([
      'outgoing audio cancelled -',
      'incoming video rejected -',
      `outgoing audio ended ${d}`,
    ]), `Alice's history, newest first: ${JSON.stringify(rows(mine))}`);
    check(mine.all.every((c) => c.name === bobUser.displayName), `every row names Bob: ${JSON.stringify(mine.all.map((c) => c.name))}`);
    check(mine.all[2].durationText === `${d} s` && mine.all[2].statusText === 'Connected',
      `the answered row reads "Connected" and "${d} s": ${JSON.stringify(mine.all[2])}`);
    check(mine.all[0].durationText === '' && mine.all[1].durationText === '', 'unanswered rows show no duration');
    check(mine.missed.length === 0, `Alice missed nothing: ${JSON.stringify(mine.missed)}`);
    check(JSON.stringify(mine.all.map((c) => c.id)) === JSON.stringify(server.map((c) => c.id)),
      `the rows are the server's calls in its order: ${JSON.stringify(mine.all.map((c) => c.id))} vs ${JSON.stringify(server.map((c) => c.id))}`);

    const theirs = await bob.historyRows((r) => r.all.length === 3 && r.missed.length === 1);
    check(JSON.stringify(rows(theirs)) === JSON.stringify([
      'incoming audio missed -',
      'outgoing video rejected -',
      `incoming audio ended ${d}`,
    ]), `Bob's history, newest first: ${JSON.stringify(rows(theirs))}`);
    check(theirs.missed[0].id === theirs.all[0].id, 'Bob\'s missed calls list the cancelled call');
    check(theirs.all.every((c) => c.name === aliceUser.displayName), `every row names Alice: ${JSON.stringify(theirs.all.map((c) => c.name))}`);
    await bob.shot('history-callee');
  });
