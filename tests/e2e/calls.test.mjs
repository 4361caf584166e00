// One-to-one calls that connect, through the web app in headless Chromium against the real
// duet-server: an audio call and a video call, each checked by what the browsers' own
// RTCPeerConnection stats say arrived on both sides, not only by what the screens say.
import { check, ring, scenario, WAIT } from './harness.mjs';

scenario('an audio call connects and both sides receive audio with a level', { slug: 'audio-call', timeout: 90_000 }, async (world) => {
  const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
  const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

  await ring(alice, bob, 'audio');
  await bob.click('incoming-accept');

  for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
  const heard = {};
  for (const p of [alice, bob]) {
    heard[p.who] = await p.waitAudio();
    const s = await p.stats();
    check(s.video === null, `${p.who}: an audio call receives no video: ${JSON.stringify(s)}`);
    const screen = (await p.state()).callScreen;
    check(screen.type === 'audio', `${p.who}: the call screen says audio: ${JSON.stringify(screen)}`);
  }
  await alice.waitState('the call timer running', (s) => /^\d\d:\d\d$/.test(s.callScreen?.timer ?? '') && s.callScreen.timer !== '00:00');
  await alice.shot('audio-call');

  await bob.click('hangup-button');
  await alice.waitEnded('hangup');
  await bob.waitEnded('hangup');
  await world.noCallsLeft();
  const [record] = await alice.serverHistory();
  check(record.type === 'audio' && record.status === 'ended' && record.endReason === 'hangup',
    `the server recorded an ended audio call: ${JSON.stringify(record)}`);
  check(heard.Alice.packets > 0 && heard.Bob.packets > 0, `audio packets on both sides: ${JSON.stringify(heard)}`);
});

scenario('a video call connects and both sides decode a growing number of remote frames', { slug: 'video-call', timeout: 90_000 }, async (world) => {
  const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
  const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

  await ring(alice, bob, 'video');
  await bob.click('incoming-accept');

  for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
  for (const p of [alice, bob]) {
    const frames = await p.waitVideo();
    check(frames.second > frames.first && frames.width > 0, `${p.who}: remote frames grow: ${JSON.stringify(frames)}`);
    const s = await p.stats();
    check((s.audio?.packets ?? 0) > 0, `${p.who}: a video call carries audio too: ${JSON.stringify(s)}`);
    check(s.remoteAudio?.muted === false && s.remoteAudio.tracks === 1, `${p.who}: the remote sound plays unmuted: ${JSON.stringify(s.remoteAudio)}`);
  }
  await bob.shot('video-call');

  await alice.click('hangup-button');
  await alice.waitEnded('hangup');
  await bob.waitEnded('hangup');
  await world.noCallsLeft();
  const [record] = await bob.serverHistory();
  check(record.type === 'video' && record.status === 'ended' && record.direction === 'incoming',
    `the server recorded an ended video call: ${JSON.stringify(record)}`);
});
