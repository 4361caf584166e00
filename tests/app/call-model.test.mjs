// What the call UI shows for each CallView the SDK publishes (views in the core's JSON form,
// docs/core.md "The view").
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  announcement, callPhase, describeCall, describeEnded, describeIncoming, endReasonMessage, IDLE_VIEW,
  isAnswering, MEDIA_PROBLEM_KEYS, mediaProblemMessage, SCREEN_PROBLEM_KEYS, screenProblemMessage, statusMessage,
} from '../../web/app/call-model.mjs';
import { translator } from './helpers.mjs';

const tr = translator('tr');
const en = translator('en');

/** @param {Partial<import('../../web/app/call-model.mjs').CallView>} fields */
const view = (fields) => ({
  ...IDLE_VIEW, callId: 'c1', peer: 'u_bob', peerName: 'Bob', callType: 'video', ...fields,
});
/** @param {{key: string, params?: any} | null} m @param {typeof tr} t */
const say = (m, t = tr) => (m ? t(m.key, m.params) : null);

describe('callPhase', () => {
  test('each state has its place', () => {
    assert.equal(callPhase(IDLE_VIEW), 'none');
    assert.equal(callPhase(view({ state: 'incoming' })), 'incoming');
    for (const state of /** @type {const} */ (['outgoing', 'connecting', 'active'])) assert.equal(callPhase(view({ state })), 'call');
    assert.equal(callPhase(view({ state: 'ended' })), 'ended');
    assert.equal(callPhase(/** @type {any} */ (null)), 'none');
  });
  test('a callee whose devices are still opening after the accept stays with the incoming dialog', () => {
    const answering = view({ state: 'connecting', direction: 'incoming', connection: 'none' });
    assert.equal(isAnswering(answering), true);
    assert.equal(callPhase(answering), 'incoming');
    // Once call:accept went out the core says connecting with a connection: the call screen's.
    assert.equal(callPhase(view({ state: 'connecting', direction: 'incoming', connection: 'connecting' })), 'call');
    assert.equal(isAnswering(view({ state: 'connecting', direction: 'outgoing', connection: 'none' })), false);
  });
  test('a callee whose camera fails on accept never leaves the incoming dialog: no close and reopen', () => {
    // The views the core publishes: ringing, accept (devices opening), camera failed, audio-only accept.
    const steps = [
      view({ state: 'incoming', direction: 'incoming', ringing: true }),
      view({ state: 'connecting', direction: 'incoming', connection: 'none' }),
      view({ state: 'incoming', direction: 'incoming', cameraOn: false, mediaProblem: 'denied', mediaProblemKind: 'video' }),
      view({ state: 'connecting', direction: 'incoming', connection: 'none', cameraOn: false }),
    ];
    assert.deepEqual(steps.map(callPhase), ['incoming', 'incoming', 'incoming', 'incoming']);
    assert.equal(callPhase(view({ state: 'active', direction: 'incoming', connection: 'connected', startedAt: 1 })), 'call');
  });
});

describe('the status line', () => {
  test('outgoing: "<name> aranıyor..." then "Çalıyor…"', () => {
    assert.equal(say(statusMessage(view({ state: 'outgoing' }))), 'Bob aranıyor...');
    assert.equal(say(statusMessage(view({ state: 'outgoing' })), en), 'Calling Bob…');
    assert.equal(say(statusMessage(view({ state: 'outgoing', ringing: true }))), 'Çalıyor…');
    assert.equal(say(statusMessage(view({ state: 'outgoing', ringing: true })), en), 'Ringing…');
  });
  test('connecting, connected, reconnecting', () => {
    assert.equal(say(statusMessage(view({ state: 'connecting', connection: 'connecting' }))), 'Bağlanıyor…');
    assert.equal(say(statusMessage(view({ state: 'active', connection: 'connected' }))), 'Bağlandı');
    assert.equal(say(statusMessage(view({ state: 'active', connection: 'reconnecting' }))), 'Yeniden bağlanıyor…');
    assert.equal(say(statusMessage(view({ state: 'active', connection: 'reconnecting' })), en), 'Reconnecting…');
    assert.equal(say(statusMessage(view({ state: 'active', connection: 'connecting' })), en), 'Connecting…');
  });
  test('no peer name: the id stands in', () => {
    assert.equal(say(statusMessage(view({ state: 'outgoing', peerName: null }))), 'u_bob aranıyor...');
  });
});

describe('the call screen', () => {
  test('outgoing: cancel, not hang up; no timer', () => {
    const d = describeCall(view({ state: 'outgoing' }));
    assert.equal(tr(d.hangUpKey), 'Aramayı İptal Et');
    assert.equal(en(d.hangUpKey), 'Cancel');
    assert.equal(d.showTimer, false);
  });
  test('active video call: timer, camera button, both videos', () => {
    const d = describeCall(view({ state: 'active', connection: 'connected', startedAt: 1 }));
    assert.equal(d.showTimer, true);
    assert.equal(d.showCameraButton, true);
    assert.equal(d.showRemoteVideo, true);
    assert.equal(d.showLocalVideo, true);
    assert.equal(en(d.hangUpKey), 'Hang up');
  });
  test('audio call: no camera button, no video', () => {
    const d = describeCall(view({ state: 'active', callType: 'audio', startedAt: 1 }));
    assert.equal(d.showCameraButton, false);
    assert.equal(d.showRemoteVideo, false);
    assert.equal(d.showLocalVideo, false);
  });
  test('remote muted and camera-off indicators; own mute and camera state', () => {
    const d = describeCall(view({ state: 'active', remoteAudioMuted: true, remoteVideoMuted: true, microphoneOn: false, cameraOn: false }));
    assert.equal(d.remoteMuted, true);
    assert.equal(d.remoteCameraOff, true);
    assert.equal(d.showRemoteVideo, false);
    assert.equal(d.muted, true);
    assert.equal(d.cameraOff, true);
    assert.equal(d.showLocalVideo, false);
  });
});

describe('screen sharing on the call screen', () => {
  const active = (/** @type {any} */ fields = {}) => view({ state: 'active', connection: 'connected', startedAt: 1, ...fields });
  const can = { canShareScreen: true };
  test('the button: only in an active call, and only where the browser can share its screen', () => {
    assert.equal(describeCall(active(), can).showScreenButton, true);
    assert.equal(describeCall(active({ callType: 'audio' }), can).showScreenButton, true);
    assert.equal(describeCall(active()).showScreenButton, false, 'no canShareScreen given: no button');
    assert.equal(describeCall(active(), { canShareScreen: false }).showScreenButton, false, 'a phone: no button');
    for (const state of /** @type {const} */ (['outgoing', 'connecting'])) {
      assert.equal(describeCall(view({ state, connection: 'connecting' }), can).showScreenButton, false, state);
    }
  });
  test('the button is pressed while this side shares, and keeps its name', () => {
    assert.equal(describeCall(active(), can).sharing, false);
    assert.equal(describeCall(active({ screenSharing: true }), can).sharing, true);
    assert.equal(en('call.shareScreen'), 'Share screen');
    assert.equal(tr('call.shareScreen'), 'Ekranı paylaş');
  });
  test('sharing here: "You are sharing your screen"', () => {
    assert.equal(say(describeCall(active({ screenSharing: true }), can).sharingLine, en), 'You are sharing your screen');
    assert.equal(say(describeCall(active({ screenSharing: true }), can).sharingLine), 'Ekranınızı paylaşıyorsunuz');
    assert.equal(describeCall(active(), can).sharingLine, null);
  });
  test('the other side shares: its screen large, in a video call and in an audio call, with a line', () => {
    for (const callType of /** @type {const} */ (['video', 'audio'])) {
      const d = describeCall(active({ callType, remoteScreenShared: true }), can);
      assert.equal(d.remoteScreen, true, callType);
      assert.equal(d.showRemoteVideo, true, callType);
      assert.equal(say(d.remoteScreenLine, en), 'Bob is sharing their screen');
      assert.equal(say(d.remoteScreenLine), 'Bob ekranını paylaşıyor');
    }
    // Its camera was off before it shared: the screen is shown all the same, without "camera off".
    const d = describeCall(active({ remoteScreenShared: true, remoteVideoMuted: true }), can);
    assert.equal(d.showRemoteVideo, true);
    assert.equal(d.remoteCameraOff, false);
  });
  test('the other side stopped: an audio call goes back to the person\'s picture (its video track stays, without frames)', () => {
    const d = describeCall(active({ callType: 'audio', remoteScreenShared: false }), can);
    assert.equal(d.remoteScreen, false);
    assert.equal(d.showRemoteVideo, false);
    assert.equal(d.remoteScreenLine, null);
  });
  test('a failed attempt leaves a short note, in both languages; none once the screen is shared', () => {
    const note = (/** @type {string} */ screenProblem, t = en) => say(describeCall(active({ screenProblem }), can).screenProblem, t);
    assert.equal(note('denied'), 'Screen sharing was not allowed.');
    assert.equal(note('denied', tr), 'Ekran paylaşımına izin verilmedi.');
    assert.equal(note('not_found'), 'This browser cannot share the screen.');
    assert.equal(note('not_found', tr), 'Bu tarayıcı ekran paylaşamıyor.');
    for (const problem of ['in_use', 'other', 'something_new']) {
      assert.equal(note(problem), 'The screen could not be shared.', problem);
      assert.equal(note(problem, tr), 'Ekran paylaşılamadı.', problem);
    }
    assert.equal(note('none'), null);
    assert.equal(describeCall(active({ screenProblem: 'denied', screenSharing: true }), can).screenProblem, null);
    assert.equal(describeCall(view({ state: 'ended', screenProblem: 'denied' }), can).screenProblem, null);
  });
  test('every screen problem has words, and cancelling the picker (denied) reads calmly: no warning, no instructions', () => {
    for (const [problem, key] of Object.entries(SCREEN_PROBLEM_KEYS)) {
      assert.equal(screenProblemMessage(view({ screenProblem: /** @type {any} */ (problem) }))?.key, key);
      assert.ok(say({ key }, en)?.length && say({ key }, tr)?.length);
    }
    assert.equal(screenProblemMessage(view({})), null);
    assert.doesNotMatch(say({ key: SCREEN_PROBLEM_KEYS.denied }, en) ?? '', /!|block|error|settings/i);
  });
  test('an older view without the screen fields: no sharing, no note', () => {
    const old = /** @type {any} */ ({ ...active() });
    delete old.screenSharing; delete old.remoteScreenShared; delete old.screenProblem;
    const d = describeCall(old, can);
    assert.equal(d.sharing, false);
    assert.equal(d.remoteScreen, false);
    assert.equal(d.screenProblem, null);
  });
});

describe('the incoming dialog', () => {
  test('a video call offers "Accept without video"', () => {
    const d = describeIncoming(view({ state: 'incoming', ringing: true }));
    assert.equal(d.offerAudioOnly, true);
    assert.equal(d.preferAudioOnly, false);
    assert.equal(tr(d.typeKey), 'Video Arama');
    assert.equal(say(d.announce, en), 'Incoming video call from Bob');
  });
  test('an audio call does not', () => {
    const d = describeIncoming(view({ state: 'incoming', callType: 'audio' }));
    assert.equal(d.offerAudioOnly, false);
    assert.equal(tr(d.typeKey), 'Sesli Arama');
  });
  test('after the camera failed on accept: the problem, and audio-only first', () => {
    const d = describeIncoming(view({ state: 'incoming', mediaProblem: 'denied', mediaProblemKind: 'video' }));
    assert.equal(d.preferAudioOnly, true);
    assert.equal(d.answering, false);
    assert.match(say(d.problem) ?? '', /Kamera izni verilmedi.*site ayarlarından/);
  });
  test('answered, devices opening: connecting, no second accept', () => {
    const d = describeIncoming(view({ state: 'connecting', direction: 'incoming', connection: 'none' }));
    assert.equal(d.answering, true);
    assert.equal(say({ key: d.typeKey }, en), 'Connecting…');
    assert.equal(d.problem, null);
    assert.equal(describeIncoming(view({ state: 'incoming', ringing: true })).answering, false);
  });
});

describe('media problems: which device, and what to do', () => {
  test('every problem and device has its own words', () => {
    for (const [problem, kinds] of Object.entries(MEDIA_PROBLEM_KEYS)) {
      for (const kind of /** @type {const} */ (['audio', 'video'])) {
        const m = mediaProblemMessage(view({ mediaProblem: /** @type {any} */ (problem), mediaProblemKind: kind }));
        assert.equal(m?.key, kinds[kind]);
        assert.ok(say(m, en)?.length);
      }
    }
  });
  test('denied says how to allow it, in both languages', () => {
    assert.match(say(mediaProblemMessage(view({ mediaProblem: 'denied', mediaProblemKind: 'audio' })), en) ?? '',
      /Allow the microphone in the browser's site settings \(the icon left of the address bar\), then try again/);
    assert.match(say(mediaProblemMessage(view({ mediaProblem: 'denied', mediaProblemKind: 'video' }))) ?? '', /kameraya izin verin/);
  });
  test('not found and in use', () => {
    assert.match(say(mediaProblemMessage(view({ mediaProblem: 'not_found', mediaProblemKind: 'video' })), en) ?? '', /No camera found/);
    assert.match(say(mediaProblemMessage(view({ mediaProblem: 'in_use', mediaProblemKind: 'audio' })), en) ?? '', /Another app is using your microphone/);
  });
  test('no problem, no message', () => {
    assert.equal(mediaProblemMessage(view({})), null);
  });
});

describe('the ended notice', () => {
  const out = (/** @type {string} */ endReason, extra = {}) => view({ state: 'ended', direction: 'outgoing', endReason, ...extra });
  const inc = (/** @type {string} */ endReason, extra = {}) => view({ state: 'ended', direction: 'incoming', endReason, ...extra });
  test('the brief\'s reasons in words', () => {
    assert.equal(say(endReasonMessage(out('rejected'))), 'Reddedildi');
    assert.equal(say(endReasonMessage(out('rejected')), en), 'Declined');
    assert.equal(say(endReasonMessage(out('timeout'))), 'Cevapsız');
    assert.equal(say(endReasonMessage(out('timeout')), en), 'No answer');
    assert.equal(say(endReasonMessage(out('busy'))), 'Meşgul');
    assert.equal(say(endReasonMessage(out('busy')), en), 'Busy');
    assert.equal(say(endReasonMessage(out('failed'))), 'Bağlantı kurulamadı');
    assert.equal(say(endReasonMessage(out('failed')), en), 'Could not connect');
    assert.equal(say(endReasonMessage(out('connection_lost')), en), 'Connection lost');
    assert.equal(say(endReasonMessage(inc('answered_elsewhere')), en), 'Answered on another device');
    assert.equal(say(endReasonMessage(out('cancelled')), en), 'Call cancelled');
    assert.equal(say(endReasonMessage(out('hangup')), en), 'Call ended');
    assert.equal(say(endReasonMessage(out('glare')), en), 'You both called at the same time');
    assert.equal(say(endReasonMessage(out(/** @type {any} */ (null))), en), 'Call ended');
  });
  test('from the callee\'s side: a caller who gave up or timed out is a missed call', () => {
    assert.equal(say(endReasonMessage(inc('cancelled')), en), 'Missed call');
    assert.equal(say(endReasonMessage(inc('timeout'))), 'Cevapsız arama');
    assert.equal(say(endReasonMessage(inc('rejected')), en), 'You declined the call');
  });
  test('media_unavailable: own device (which one) or the other side\'s', () => {
    assert.equal(say(endReasonMessage(out('media_unavailable', { mediaProblem: 'denied', mediaProblemKind: 'audio' })), en), "Your microphone can't be used");
    assert.equal(say(endReasonMessage(out('media_unavailable', { mediaProblem: 'denied', mediaProblemKind: 'video' })), en), "Your camera can't be used");
    assert.equal(say(endReasonMessage(inc('media_unavailable')), en), "Bob's camera or microphone could not be used");
  });
  test('only the camera failed on an outgoing video call: offer audio only, and stay up', () => {
    const e = describeEnded(out('media_unavailable', { mediaProblem: 'denied', mediaProblemKind: 'video' }));
    assert.equal(e.offerAudioOnly, true);
    assert.equal(e.offerCallAgain, false);
    assert.equal(e.autoDismiss, false);
    assert.ok(e.problem);
  });
  test('the microphone failed: no audio-only offer (it needs the microphone too)', () => {
    const e = describeEnded(out('media_unavailable', { mediaProblem: 'denied', mediaProblemKind: 'audio' }));
    assert.equal(e.offerAudioOnly, false);
    assert.equal(e.autoDismiss, false);
  });
  test('an audio call never offers audio only', () => {
    const e = describeEnded(out('media_unavailable', { callType: 'audio', mediaProblem: 'not_found', mediaProblemKind: 'video' }));
    assert.equal(e.offerAudioOnly, false);
  });
  test('ordinary endings go away by themselves; "call again" where it may help', () => {
    for (const reason of ['hangup', 'rejected', 'timeout', 'busy', 'cancelled', 'connection_lost']) {
      assert.equal(describeEnded(out(reason)).autoDismiss, true, reason);
    }
    assert.equal(describeEnded(out('timeout')).offerCallAgain, true);
    assert.equal(describeEnded(out('busy')).offerCallAgain, true);
    assert.equal(describeEnded(out('hangup')).offerCallAgain, false);
    assert.equal(describeEnded(out('cancelled')).offerCallAgain, false);
    assert.equal(describeEnded(inc('timeout')).offerCallAgain, false);
  });
  test('a server refusal explains itself and stays up', () => {
    const e = describeEnded(out('failed', { serverError: 'forbidden' }));
    assert.equal(say(e.detail, en), 'You can only call your contacts.');
    assert.equal(e.autoDismiss, false);
    assert.equal(e.offerCallAgain, false);
    assert.equal(say(describeEnded(out('failed', { serverError: 'weird_code' })).detail, en), 'The server refused the call (weird_code).');
    const busy = describeEnded(out('busy', { serverError: 'busy' }));
    assert.equal(busy.autoDismiss, true);
    assert.equal(say(busy.detail), 'Bob başka bir görüşmede.');
  });
  test('the duration of an answered call', () => {
    assert.equal(describeEnded(out('hangup', { startedAt: 1000, endedAt: 66_500 })).duration, 65);
    assert.equal(describeEnded(out('rejected')).duration, null);
  });
});

describe('live-region announcements', () => {
  test('a call from start to end says each step once', () => {
    const steps = [
      view({ state: 'outgoing' }),
      view({ state: 'outgoing' }),
      view({ state: 'outgoing', ringing: true }),
      view({ state: 'connecting', connection: 'connecting' }),
      view({ state: 'active', connection: 'connected', startedAt: 1 }),
      view({ state: 'active', connection: 'reconnecting', startedAt: 1 }),
      view({ state: 'active', connection: 'connected', startedAt: 1 }),
      view({ state: 'active', connection: 'connected', startedAt: 1, remoteAudioMuted: true }),
      view({ state: 'ended', endReason: 'hangup', startedAt: 1, endedAt: 2 }),
      view({ state: 'ended', endReason: 'hangup', startedAt: 1, endedAt: 2 }),
    ];
    /** @type {any} */
    let before = IDLE_VIEW;
    const said = [];
    for (const v of steps) {
      said.push(say(announcement(before, v), en));
      before = v;
    }
    assert.deepEqual(said, ['Calling Bob…', null, 'Ringing…', 'Connecting…', 'Connected to Bob', 'Reconnecting…',
      'Connected to Bob', 'Bob is muted', 'Call ended', null]);
  });
  test('a new call is announced even from an ended one', () => {
    assert.equal(say(announcement(view({ state: 'ended', callId: 'c1' }), view({ state: 'outgoing', callId: 'c2' })), en), 'Calling Bob…');
  });
  test('screen sharing: the other side starts and stops, this side starts and stops, a failed attempt', () => {
    const a = view({ state: 'active', connection: 'connected' });
    assert.equal(say(announcement(a, { ...a, remoteScreenShared: true }), en), 'Bob is sharing their screen');
    assert.equal(say(announcement({ ...a, remoteScreenShared: true }, a), en), 'Bob stopped sharing their screen');
    assert.equal(say(announcement(a, { ...a, screenSharing: true }), en), 'You are sharing your screen');
    assert.equal(say(announcement({ ...a, screenSharing: true }, a)), 'Ekran paylaşımını durdurdunuz');
    assert.equal(say(announcement(a, { ...a, screenProblem: 'denied' }), en), 'Screen sharing was not allowed.');
    assert.equal(announcement({ ...a, screenProblem: 'denied' }, { ...a, screenProblem: 'none' }), null);
    assert.equal(announcement(a, { ...a }), null);
  });
  test('the camera of the other side', () => {
    const a = view({ state: 'active', connection: 'connected' });
    assert.equal(say(announcement(a, { ...a, remoteVideoMuted: true }), en), "Bob's camera is off");
    assert.equal(say(announcement({ ...a, remoteVideoMuted: true }, a), en), "Bob's camera is on");
  });
});
