// Screen sharing through the web app, in headless Chromium against the real duet-server: one
// side shares and stops, and the other side's screen says so and its remote <video> shows the
// screen and then the camera again, checked by the picture's shape and the frames decoded.
//
// Chromium's fake camera is 640×480 (4:3). Its fake screen, "screen:…" by its label, takes its
// size from the page's window: in the harness's 1024×720 it opens at 1024×720 and its frames
// come at 1024×576 (16:9); in a 1280×720 window, 1280×720. What arrives is not always the size
// sent: the encoder scales the picture down when the CPU (two browsers on two cores) or the
// bandwidth estimate cannot keep up (seen: the camera at 480×360). So the receiving side tells
// the two apart by shape, and the sending side's video sender is checked for which track it
// carries.
//
// These scenarios have a browser of their own with the fake picker: headless Chromium's
// getDisplayMedia never resolves without --use-fake-ui-for-media-stream, which also lets every
// context use the camera and microphone (both users are granted them anyway).
import { check, ring, scenario, WAIT } from './harness.mjs';

const WITH_PICKER = ['--use-fake-ui-for-media-stream'];
const SCREEN = { name: 'the fake screen', screen: true, shape: 16 / 9 };
const CAMERA = { name: 'the fake camera', screen: false, shape: 4 / 3 };
const shaped = (/** @type {number} */ width, /** @type {number} */ height, /** @type {number} */ shape) =>
  height > 0 && Math.abs(width / height - shape) < 0.02;

/**
 * Waits until `person`'s remote video is shown with the shape of `source` (or hidden, with
 * null), then until at least 10 more frames were decoded with it still so.
 * @param {import('./harness.mjs').Person} person
 * @param {string} what
 * @param {{shape: number} | null} source null: the remote video is not shown
 */
async function remotePicture(person, what, source) {
  const holds = (/** @type {any} */ s) => (source === null
    ? s.remoteVideo?.shown === false
    : s.remoteVideo?.shown === true && shaped(s.remoteVideo.width, s.remoteVideo.height, source.shape));
  const first = await person.world.until(`${person.who}: ${what}`, async () => {
    const s = await person.stats();
    return { ok: holds(s) && (s.video?.frames ?? 0) > 0, seen: s, stats: s };
  }, { timeout: WAIT.media });
  if (source === null) return first.stats;
  const from = first.stats.video.frames;
  const second = await person.world.until(`${person.who}: ${what}, and frames still growing after ${from}`, async () => {
    const s = await person.stats();
    return { ok: holds(s) && s.video.frames >= from + 10, seen: s, stats: s };
  }, { timeout: WAIT.media });
  console.log(`${person.who}: ${what}: ${second.stats.remoteVideo.width}×${second.stats.remoteVideo.height}, frames ${from} → ${second.stats.video.frames}`);
  return second.stats;
}

/**
 * What `person`'s page sends as video: the track on its newest peer connection's video sender.
 * Test-only instrumentation (the harness records the page's peer connections).
 * @param {import('./harness.mjs').Person} person
 */
function sentVideo(person) {
  return person.page.evaluate(() => {
    const pc = window.__duetE2E.peerConnections.filter((p) => p.connectionState !== 'closed').at(-1);
    const track = pc?.getSenders().find((sender) => sender.track?.kind === 'video')?.track;
    if (!track) return null;
    const { width, height } = track.getSettings();
    return { label: track.label, width, height, state: track.readyState };
  });
}

/**
 * Waits until `person` sends `source` as its video: a live track, the screen's or not by its
 * label, of the source's shape.
 * @param {import('./harness.mjs').Person} person
 * @param {string} what
 * @param {{name: string, screen: boolean, shape: number}} source
 */
async function sends(person, what, source) {
  const { seen } = await person.world.until(`${person.who} sends ${what} (${source.name})`, async () => {
    const sent = await sentVideo(person);
    const ok = sent?.state === 'live' && sent.label.startsWith('screen:') === source.screen && shaped(sent.width, sent.height, source.shape);
    return { ok, seen: sent };
  });
  console.log(`${person.who} sends ${what}: "${seen.label}" ${seen.width}×${seen.height}`);
}

scenario('in a video call Alice shares her screen: Bob sees it whole in place of her camera, then her camera again',
  { slug: 'screen-share', timeout: 120_000, chromiumArgs: WITH_PICKER }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

    await ring(alice, bob, 'video');
    await bob.click('incoming-accept');
    for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
    await sends(alice, 'her camera', CAMERA);
    await remotePicture(bob, "Alice's camera", CAMERA);
    for (const p of [alice, bob]) {
      const { screen } = await p.state();
      check(screen.button?.text === 'Share screen' && screen.button.pressed === 'false' && !screen.sharing && !screen.remote && !screen.problem,
        `${p.who}: "Share screen", not pressed, nothing shared: ${JSON.stringify(screen)}`);
    }

    await alice.click('screen-button');
    await alice.waitState('"You are sharing your screen" and "Share screen" pressed', (s) =>
      s.screen.sharing === 'You are sharing your screen' && s.screen.button?.text === 'Share screen' && s.screen.button.pressed === 'true');
    await sends(alice, 'her screen in place of the camera', SCREEN);
    await bob.waitState('"Alice Archer is sharing their screen"', (s) => s.screen.remote === 'Alice Archer is sharing their screen');
    const shared = await remotePicture(bob, "Alice's screen in place of her camera", SCREEN);
    check(shared.remoteVideo.fit === 'contain', `Bob sees the screen whole (object-fit contain): ${JSON.stringify(shared.remoteVideo)}`);
    check((await alice.state()).screen.problem === null, 'no screen problem on Alice\'s side');
    await bob.shot('screen-share');

    await alice.click('screen-button');
    await alice.waitState('the sharing line gone and "Share screen" not pressed', (s) =>
      s.screen.sharing === null && s.screen.button?.text === 'Share screen' && s.screen.button.pressed === 'false');
    await bob.waitState('the sharing line gone', (s) => s.screen.remote === null);
    await sends(alice, 'her camera again', CAMERA);
    await remotePicture(bob, "Alice's camera again", CAMERA);

    await alice.click('hangup-button');
    await alice.waitEnded('hangup');
    await bob.waitEnded('hangup');
    await world.noCallsLeft();
  });

scenario('in an audio call Bob shares his screen: Alice sees it large in place of his picture, then his picture again',
  { slug: 'screen-share-audio', timeout: 120_000, chromiumArgs: WITH_PICKER }, async (world) => {
    const [aliceUser, bobUser] = await world.users('Alice', 'Bob');
    const [alice, bob] = await Promise.all([world.open(aliceUser), world.open(bobUser)]);

    await ring(alice, bob, 'audio');
    await bob.click('incoming-accept');
    for (const p of [alice, bob]) await p.waitCall('active', { connection: 'connected', timeout: WAIT.connect });
    await alice.waitAudio();
    check((await alice.stats()).video === null, 'an audio call receives no video before the sharing');

    await bob.click('screen-button');
    await bob.waitState('"You are sharing your screen"', (s) => s.screen.sharing === 'You are sharing your screen' && s.screen.button?.pressed === 'true');
    await sends(bob, 'his screen on a video sender the audio call did not have', SCREEN);
    await alice.waitState('"Bob Baker is sharing their screen"', (s) => s.screen.remote === 'Bob Baker is sharing their screen');
    const shared = await remotePicture(alice, "Bob's screen, large", SCREEN);
    check(shared.remoteVideo.fit === 'contain', `Alice sees the screen whole (object-fit contain): ${JSON.stringify(shared.remoteVideo)}`);
    await alice.shot('screen-share-audio');

    await bob.click('screen-button');
    await bob.waitState('the sharing line gone', (s) => s.screen.sharing === null && s.screen.button?.pressed === 'false');
    await world.until('Bob sends no video after the sharing (the audio call has no camera)', async () => {
      const sent = await sentVideo(bob);
      return { ok: sent === null, seen: sent };
    });
    await alice.waitState('the sharing line gone', (s) => s.screen.remote === null);
    // The video track stays, without frames: the page goes back to Bob's initials.
    await remotePicture(alice, 'no remote video shown', null);
    check((await alice.stats()).audio?.packets > 0, 'the call still carries audio');

    await bob.click('hangup-button');
    await alice.waitEnded('hangup');
    await bob.waitEnded('hangup');
    await world.noCallsLeft();
  });
