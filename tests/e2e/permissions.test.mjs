// Camera and microphone permission denied, for real: the browser asks for permission (no fake
// permission UI) and each user's context is granted only some devices, so getUserMedia fails
// inside Chromium as it does for a person who blocked the site. Checks what the app says, what
// it offers instead, and that nothing is left half-started: no peer connection, no open
// devices, no call on the server, and the other person never rang. "Never rang" is proven by
// order, not by waiting: the next call that does go through is the first thing their page
// ever shows, and the server holds that call only.
import { check, ring, scenario, WAIT } from './harness.mjs';

/** What a page holds after a call that never started. */
async function nothingHalfStarted(person) {
  const s = await person.state();
  const peers = await person.page.evaluate(() => window.__duetE2E.peerConnections.length);
  check(peers === 0, `${person.who}: no peer connection was opened: ${peers}`);
  check(s.localTracks.length === 0, `${person.who}: no camera or microphone left open: ${JSON.stringify(s.localTracks)}`);
}

scenario('a caller without camera permission is told so, offered audio only, and no call is left behind',
  { slug: 'camera-denied', timeout: 90_000 }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser, { grant: ['microphone'] }), world.open(bobUser)]);

    await alice.click(`call-video-${bobUser.username}`);
    const notice = await alice.waitEnded('media_unavailable');
    check(notice.text === "Your camera can't be used", `Alice reads that her camera can't be used: ${JSON.stringify(notice)}`);
    check(/^Camera access is blocked\. Allow the camera/.test(notice.problem ?? ''), `the notice says how to allow the camera: ${JSON.stringify(notice)}`);
    // No plain "Call again": the camera would fail again.
    check(JSON.stringify(notice.actions) === '["audio-only-retry","call-ended-close"]', `Alice is offered audio only, or OK: ${JSON.stringify(notice.actions)}`);
    await alice.shot('camera-denied');
    await nothingHalfStarted(alice);
    check((await alice.serverHistory()).length === 0, 'the server has no call: the call never left the page');
    await world.noCallsLeft();

    // Audio only goes through: it is the first call Bob's page ever rings for.
    await alice.click('audio-only-retry');
    const incoming = await bob.waitIncoming();
    check(incoming.seen.incoming.type === 'audio', `Bob rings for an audio call: ${JSON.stringify(incoming.seen.incoming)}`);
    const opened = await bob.page.evaluate(() => window.__duetE2E.incomingOpened);
    check(opened === 1, `Bob's page never rang for the video call: this is dialog number ${opened}`);
    const calls = await bob.serverHistory();
    check(calls.length === 1 && calls[0].type === 'audio', `the server holds only the audio call: ${JSON.stringify(calls)}`);

    await bob.click('incoming-accept');
    for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
    await bob.waitAudio();
    const s = await alice.state();
    check(s.callScreen.type === 'audio' && JSON.stringify(s.localTracks) === '["audio"]',
      `Alice is in an audio call with her microphone only: ${JSON.stringify(s)}`);
    await alice.click('hangup-button');
    await bob.waitEnded('hangup');
    await world.noCallsLeft();
  });

scenario('a callee without camera permission is offered to answer without video, and the caller keeps ringing until then',
  { slug: 'camera-denied-callee', timeout: 90_000 }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser, { grant: ['microphone'] })]);

    await ring(alice, bob, 'video');
    await bob.click('incoming-accept');
    const { seen } = await bob.waitState('the dialog still up, with the camera problem',
      (s) => s.incoming !== null && s.problem !== null);
    check(/^Camera access is blocked/.test(seen.problem), `Bob reads that the camera is blocked: "${seen.problem}"`);
    check(await bob.el('incoming-accept-audio').isVisible(), 'Bob is offered "Accept without video"');
    const focused = await bob.page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
    check(focused === 'incoming-accept-audio', `focus moved to answering without video: ${focused}`);
    check(seen.localTracks.length === 0, `Bob holds no device open meanwhile: ${JSON.stringify(seen.localTracks)}`);
    await bob.shot('camera-denied-callee');

    // Nothing was accepted: Alice still rings and the server's call is not answered.
    const aliceNow = await alice.state();
    check(aliceNow.callScreen?.state === 'outgoing' && aliceNow.callScreen.status === 'Ringing…',
      `Alice still hears it ring: ${JSON.stringify(aliceNow.callScreen)}`);
    const [record] = await alice.serverHistory();
    check(record.startedAt === null && !['active', 'ended'].includes(record.status),
      `the server's call is still unanswered: ${JSON.stringify(record)}`);

    await bob.click('incoming-accept-audio');
    for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
    await alice.waitAudio();
    check(JSON.stringify((await bob.state()).localTracks) === '["audio"]', 'Bob sends his microphone only');
    const picture = (await alice.stats()).remoteVideo;
    check(picture.shown === false, `Alice sees Bob's initials, not an empty picture: ${JSON.stringify(picture)}`);
    await bob.click('hangup-button');
    await alice.waitEnded('hangup');
    await world.noCallsLeft();
    const [done] = await bob.serverHistory();
    check(done.status === 'ended' && done.type === 'video', `the call is recorded as an answered video call: ${JSON.stringify(done)}`);
  });

scenario('a caller without microphone permission is told so and no call starts, audio or video',
  { slug: 'microphone-denied', timeout: 90_000 }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser, { grant: ['camera'] }), world.open(bobUser)]);

    for (const type of ['audio', 'video']) {
      await alice.click(`call-${type}-${bobUser.username}`);
      const notice = await alice.waitEnded('media_unavailable');
      check(notice.text === "Your microphone can't be used", `${type}: Alice reads that her microphone can't be used: ${JSON.stringify(notice)}`);
      check(/^Microphone access is blocked\. Allow the microphone/.test(notice.problem ?? ''), `${type}: the notice says how to allow the microphone: ${JSON.stringify(notice)}`);
      check(JSON.stringify(notice.actions) === '["call-ended-close"]', `${type}: only OK, nothing that would fail the same way: ${JSON.stringify(notice.actions)}`);
      if (type === 'audio') await alice.shot('microphone-denied');
      await nothingHalfStarted(alice);
      // The notice waits for OK: it asks the user to do something.
      await alice.click('call-ended-close');
      await alice.waitIdle();
    }
    check((await alice.serverHistory()).length === 0, 'the server has no call');
    await world.noCallsLeft();

    // Once the microphone is allowed, a call goes through, and it is the first Bob ever sees.
    await alice.context.grantPermissions(['camera', 'microphone']);
    await ring(alice, bob, 'audio');
    const opened = await bob.page.evaluate(() => window.__duetE2E.incomingOpened);
    check(opened === 1, `Bob's page never rang for the refused calls: this is dialog number ${opened}`);
    await world.until('the server holds only the call that went through', async () => {
      const calls = await bob.serverHistory();
      return { ok: calls.length === 1 && calls[0].type === 'audio', seen: calls };
    });
    await bob.click('incoming-decline');
    await alice.waitEnded('rejected');
    await world.noCallsLeft();
  });
