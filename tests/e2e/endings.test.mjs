// Calls that end before anyone talks: declined, cancelled by the caller, unanswered until the
// server's ring timeout, and refused because the callee is in another call. Each checks what
// both people see, what their histories and the missed-calls badge say, and that the server
// keeps no call behind.
import { check, ring, scenario, WAIT } from './harness.mjs';

const RING_TIMEOUT_S = 5; // the server's minimum: the shortest real "nobody answered"

scenario('a declined call tells the caller "Declined" and both histories show it', { slug: 'reject', timeout: 60_000 }, async (world) => {
  const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
  const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

  await ring(alice, bob, 'video');
  await bob.click('incoming-decline');
  const notice = await alice.waitEnded('rejected');
  await alice.shot('reject');
  check(notice.text === 'Declined' && notice.actions.includes('call-again'), `Alice reads "Declined" and may call again: ${JSON.stringify(notice)}`);
  const own = await bob.waitEnded('rejected');
  check(own.text === 'You declined the call', `Bob reads "You declined the call": ${JSON.stringify(own)}`);
  check((await bob.state()).incoming === null, 'Bob\'s dialog is closed');
  await world.noCallsLeft();

  const mine = await alice.historyRows((r) => r.all.length === 1);
  check(mine.all[0].direction === 'outgoing' && mine.all[0].status === 'rejected' && mine.all[0].type === 'video' && mine.all[0].duration === '',
    `Alice's history: an outgoing declined video call without duration: ${JSON.stringify(mine)}`);
  const theirs = await bob.historyRows((r) => r.all.length === 1);
  check(theirs.all[0].direction === 'incoming' && theirs.all[0].status === 'rejected' && theirs.missed.length === 0,
    `Bob's history: an incoming declined call, not a missed one: ${JSON.stringify(theirs)}`);
  check(theirs.all[0].id === mine.all[0].id, 'both rows are the same call');
  const { unseen } = await world.server.api('GET', '/api/calls/missed/count', { token: bobUser.token });
  check(unseen === 0, `a declined call is not a missed call for Bob: unseen ${unseen}`);
});

scenario('a call the caller cancels while it rings is a missed call for the callee', { slug: 'cancel', timeout: 60_000 }, async (world) => {
  const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
  const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

  await ring(alice, bob, 'audio');
  check(await alice.el('hangup-button').getAttribute('data-action') === 'cancel', 'the red button cancels while it rings');
  await alice.click('hangup-button');
  const notice = await alice.waitEnded('cancelled');
  await alice.shot('cancel');
  check(notice.text === 'Call cancelled', `Alice reads "Call cancelled": ${JSON.stringify(notice)}`);
  const missed = await bob.waitEnded('cancelled');
  check(missed.text === 'Missed call', `Bob reads "Missed call": ${JSON.stringify(missed)}`);
  check((await bob.state()).incoming === null, 'Bob\'s dialog is closed');
  await world.noCallsLeft();

  await bob.waitState('the missed-calls badge counts 1', (s) => s.badge === '1');
  const mine = await alice.historyRows((r) => r.all.length === 1);
  check(mine.all[0].direction === 'outgoing' && mine.all[0].status === 'cancelled' && mine.all[0].type === 'audio',
    `Alice's history: an outgoing cancelled audio call: ${JSON.stringify(mine)}`);
  const theirs = await bob.historyRows((r) => r.all.length === 1 && r.missed.length === 1);
  check(theirs.all[0].direction === 'incoming' && theirs.all[0].status === 'missed' && theirs.all[0].apiStatus === 'cancelled',
    `Bob's history: the cancelled call shown as missed: ${JSON.stringify(theirs)}`);
});

scenario('an unanswered call times out as missed: both histories show it and the callee\'s badge counts it',
  { slug: 'missed', timeout: 60_000, ringTimeout: RING_TIMEOUT_S }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

    await ring(alice, bob, 'video');
    // Nobody touches anything: the server's ring timeout ends the call for both.
    const limit = RING_TIMEOUT_S * 1000 + WAIT.ui;
    const notice = await alice.waitEnded('timeout', limit);
    check(notice.text === 'No answer', `Alice reads "No answer": ${JSON.stringify(notice)}`);
    const missed = await bob.waitEnded('timeout', limit);
    check(missed.text === 'Missed call', `Bob reads "Missed call": ${JSON.stringify(missed)}`);
    check((await bob.state()).incoming === null, 'Bob\'s dialog is closed');
    await world.noCallsLeft();

    const [record] = await alice.serverHistory();
    const rang = Date.parse(record.endedAt) - Date.parse(record.createdAt);
    check(record.status === 'missed' && record.endReason === 'timeout' && rang >= RING_TIMEOUT_S * 1000 - 100,
      `the server ended it at its ring timeout (${RING_TIMEOUT_S} s): rang ${rang} ms, ${JSON.stringify(record)}`);

    await bob.waitState('the missed-calls badge counts 1', (s) => s.badge === '1');
    await bob.closeEnded();
    await bob.shot('missed');
    const counts = await Promise.all([aliceUser, bobUser].map((u) => world.server.api('GET', '/api/calls/missed/count', { token: u.token })));
    check(counts[0].unseen === 0 && counts[1].unseen === 1, `unseen missed calls: Alice 0, Bob 1: ${JSON.stringify(counts)}`);
    check((await alice.state()).badge === null, 'Alice has no missed-calls badge');

    const mine = await alice.historyRows((r) => r.all.length === 1);
    check(mine.all[0].direction === 'outgoing' && mine.all[0].status === 'noAnswer' && mine.all[0].apiStatus === 'missed' && mine.all[0].type === 'video',
      `Alice's history: an outgoing video call with no answer: ${JSON.stringify(mine)}`);
    check(mine.missed.length === 0, `Alice missed nothing: ${JSON.stringify(mine.missed)}`);
    const theirs = await bob.historyRows((r) => r.all.length === 1 && r.missed.length === 1);
    check(theirs.all[0].direction === 'incoming' && theirs.all[0].status === 'missed' && theirs.missed[0].id === theirs.all[0].id,
      `Bob's history: the call under missed calls and in the list: ${JSON.stringify(theirs)}`);
    await bob.shot('missed-history');
    // Opening the history marks missed calls seen.
    await bob.waitState('the badge cleared once the history is open', (s) => s.badge === null);
  });

scenario('calling someone who is in another call ends as "Busy" and leaves their call alone', { slug: 'busy', timeout: 90_000 }, async (world) => {
  const [aliceUser, bobUser, carolUser] = await world.users('Alice', 'Bob', 'Carol');
  const [alice, bob, carol] = await Promise.all([world.open(aliceUser), world.open(bobUser), world.open(carolUser)]);

  await ring(carol, bob, 'audio');
  await bob.click('incoming-accept');
  for (const p of [carol, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
  await bob.waitAudio();
  await world.until('Alice: Bob shown as busy in her contacts', async () => {
    const presence = await alice.el(`contact-${bobUser.username}`).getAttribute('data-presence', { timeout: WAIT.ui });
    return { ok: presence === 'busy', seen: `data-presence=${presence}` };
  });

  const before = await bob.page.evaluate(() => window.__duetE2E.incomingOpened);
  const packetsBefore = (await bob.stats()).audio.packets;
  await alice.click(`call-audio-${bobUser.username}`);
  const notice = await alice.waitEnded('busy');
  await alice.shot('busy');
  check(notice.text === 'Busy', `Alice reads "Busy": ${JSON.stringify(notice)}`);
  check(notice.detail === `${bobUser.displayName} is in another call.`, `the detail says Bob is in another call: ${JSON.stringify(notice)}`);

  // Alice's attempt reached its end: had Bob's page rung, it would have by now.
  const bobNow = await bob.state();
  const after = await bob.page.evaluate(() => window.__duetE2E.incomingOpened);
  check(after === before && bobNow.incoming === null, `Bob's page never rang for Alice: dialogs opened ${before} -> ${after}, ${JSON.stringify(bobNow)}`);
  check(bobNow.callScreen?.state === 'active' && bobNow.callScreen.connection === 'connected', `Bob is still in his call: ${JSON.stringify(bobNow.callScreen)}`);
  await world.until(`Bob: Carol's audio still arriving (inbound packets past ${packetsBefore})`, async () => {
    const s = await bob.stats();
    return { ok: (s.audio?.packets ?? 0) > packetsBefore + 20, seen: s };
  });
  const carolNow = (await carol.state()).callScreen;
  check(carolNow?.state === 'active' && carolNow.connection === 'connected', `Carol is still in her call: ${JSON.stringify(carolNow)}`);

  const mine = await alice.historyRows((r) => r.all.length === 1);
  check(mine.all[0].direction === 'outgoing' && mine.all[0].status === 'busy', `Alice's history: an outgoing busy call: ${JSON.stringify(mine)}`);
  const bobCalls = await bob.serverHistory();
  check(bobCalls.some((c) => c.status === 'busy' && c.callerId === aliceUser.id && c.direction === 'incoming'),
    `Bob's history keeps the busy attempt: ${JSON.stringify(bobCalls)}`);

  await carol.click('hangup-button');
  await bob.waitEnded('hangup');
  await world.noCallsLeft();
});
