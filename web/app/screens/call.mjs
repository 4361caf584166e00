// The call screen: outgoing ("<name> aranıyor..." then "Çalıyor…"), connecting, the call
// itself, and the short notice after it ends. It is built once and updated in place for every
// view the SDK publishes, so the <video> elements keep their streams and focus stays put.
//
// The other person's sound plays through an <audio> element of its own, never muted (a muted
// element plays no sound, and the browser's stats then read zero audio level); the remote
// <video> gets the picture only. One <video> for both would be silent whenever the picture
// has no frames: Chromium keeps such an element at HAVE_NOTHING and plays none of its audio,
// so a caller whose callee answered a video call without the camera heard nothing. The local
// preview is muted, and mirrored. Audio calls show the person's initials instead of video.
//
// Screen sharing: while the other side shares its screen, the remote <video> fills the stage,
// fitted whole (a screen cropped to the window would lose its edges), in an audio call too;
// the SDK hands over the same remote stream again with the screen's video track added.

import { h, setText, show } from '../dom.mjs';
import { callPhase, describeCall, describeEnded } from '../call-model.mjs';
import { formatDuration, formatTimer, initials } from '../format.mjs';
import { icon } from '../icons.mjs';

/** @typedef {import('../call-model.mjs').CallView} CallView */

/** How long an ordinary ended notice stays before the page goes back (the brief's ~3 s). */
export const ENDED_NOTICE_MS = 3000;

/**
 * @param {{ t: (key: string, params?: Record<string, string | number>) => string,
 *           hangUp: () => void,
 *           setMicrophone: (on: boolean) => void,
 *           setCamera: (on: boolean) => void,
 *           shareScreen: (on: boolean) => void,
 *           canShareScreen: () => boolean,
 *           callAgain: (view: CallView, video: boolean) => void,
 *           dismissed: (view: CallView) => void }} app
 */
export function createCallScreen(app) {
  const remoteVideo = /** @type {HTMLVideoElement} */ (h('video', { class: 'remote-video', autoplay: true, playsinline: true, 'data-testid': 'remote-video' }));
  const remoteAudio = /** @type {HTMLAudioElement} */ (h('audio', { class: 'remote-audio', autoplay: true, 'data-testid': 'remote-audio' }));
  const localVideo = /** @type {HTMLVideoElement} */ (h('video', { class: 'local-video', autoplay: true, playsinline: true, 'data-testid': 'local-video' }));
  localVideo.muted = true; // the property, not only the attribute: the attribute alone is ignored by some browsers
  localVideo.setAttribute('muted', '');
  const avatarText = h('span');
  const avatarEl = h('div', { class: 'avatar huge', 'aria-hidden': 'true' }, avatarText);
  const name = h('h2', { id: 'call-name', class: 'call-name', tabindex: '-1', 'data-testid': 'call-peer' });
  const status = h('p', { class: 'call-status', 'data-testid': 'call-connection' });
  const timerLabel = h('span', { class: 'visually-hidden' });
  const timerValue = h('span', { 'data-testid': 'call-timer' });
  const timer = h('p', { class: 'call-timer' }, timerLabel, timerValue);
  const remoteMuted = h('p', { class: 'indicator', 'data-tid': 'remote-muted' });
  const remoteCameraOff = h('p', { class: 'indicator', 'data-tid': 'remote-camera-off' });
  const selfMuted = h('p', { class: 'indicator self', 'data-tid': 'self-muted', 'aria-hidden': 'true' });
  const selfSharing = h('p', { class: 'indicator self', 'data-tid': 'self-sharing' });
  const remoteSharing = h('p', { class: 'indicator', 'data-tid': 'remote-sharing' });
  const screenProblem = h('p', { class: 'indicator note', 'data-tid': 'screen-problem' });
  const playSound = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn primary play-sound', 'data-tid': 'play-sound', hidden: true, onclick: () => playRemote() }));
  const mute = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'control', 'data-testid': 'mute-button', 'aria-pressed': 'false',
    onclick: () => view && app.setMicrophone(!view.microphoneOn) }));
  const camera = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'control', 'data-tid': 'camera-button', 'aria-pressed': 'false',
    onclick: () => view && app.setCamera(!view.cameraOn) }));
  const screen = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'control', 'data-tid': 'screen-button', 'aria-pressed': 'false',
    onclick: () => view && app.shareScreen(!view.screenSharing) }));
  const hangUp = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'control hang-up', 'data-testid': 'hangup-button', onclick: () => app.hangUp() }));

  const stage = h('div', { class: 'stage' }, remoteVideo, avatarEl, localVideo);
  const info = h('div', { class: 'call-info' }, name, status, timer, remoteMuted, remoteCameraOff, selfMuted,
    remoteSharing, selfSharing, screenProblem, playSound, remoteAudio);
  const controls = h('div', { class: 'controls', role: 'group' }, mute, camera, screen, hangUp);
  const live = h('div', { class: 'live' }, stage, info, controls);

  const endedReason = h('h2', { id: 'call-ended-reason', class: 'ended-reason', tabindex: '-1', 'data-testid': 'call-ended-reason' });
  const endedName = h('p', { class: 'ended-name' });
  const endedDetail = h('p', { class: 'ended-detail', 'data-tid': 'call-ended-detail' });
  const endedProblem = h('p', { class: 'problem', 'data-tid': 'media-problem' });
  const audioOnly = h('button', { type: 'button', class: 'btn primary', 'data-tid': 'audio-only-retry', onclick: () => view && app.callAgain(view, false) });
  const callAgain = h('button', { type: 'button', class: 'btn primary', 'data-tid': 'call-again', onclick: () => view && app.callAgain(view, view.callType === 'video') });
  const close = h('button', { type: 'button', class: 'btn', 'data-testid': 'call-ended-close', onclick: () => dismiss() });
  const ended = h('div', { class: 'call-ended card', 'data-tid': 'call-ended', 'aria-labelledby': 'call-ended-reason' },
    h('div', { class: 'avatar large', 'aria-hidden': 'true' }, h('span')), endedReason, endedName, endedDetail, endedProblem,
    h('div', { class: 'ended-actions' }, audioOnly, callAgain, close));

  const el = h('section', { class: 'call-screen', 'data-tid': 'call-screen', 'aria-labelledby': 'call-name', hidden: true }, live, ended);

  /** @type {CallView | null} */
  let view = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let dismissTimer;
  /** @type {string | null} the call whose ended notice was put up (focus and timer are set once) */
  let noticeCallId = null;
  /** @type {string | null} the call whose ended notice was closed */
  let dismissedCallId = null;

  // Playback the browser blocks (no user gesture yet: a call answered on another tab's click)
  // needs one press; other play() failures (a newer stream replaced this one) need nothing.
  function playRemote() {
    const playing = [remoteAudio, remoteVideo].filter((media) => media.srcObject).map((media) => media.play());
    Promise.all(playing).then(() => show(playSound, false), (error) => {
      if (error?.name === 'NotAllowedError') show(playSound, true);
    });
  }

  /**
   * The remote tracks of one kind as a stream for one element: the element's current stream
   * when it holds exactly those tracks already (a new one would restart playback), else a new
   * one, or null when there are none.
   * @param {MediaStream | null} stream
   * @param {'audio' | 'video'} kind
   * @param {HTMLMediaElement} media
   */
  function streamOf(stream, kind, media) {
    const tracks = stream ? (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks()) : [];
    if (tracks.length === 0) return null;
    const current = media.srcObject instanceof MediaStream ? media.srcObject : null;
    const have = current?.getTracks() ?? [];
    if (current && have.length === tracks.length && tracks.every((t) => have.includes(t))) return current;
    return new MediaStream(tracks);
  }

  // Whether the other side sends a picture at all. A callee who answered a video call without
  // the camera sends no video, and the view's remoteVideoMuted does not say so (it follows only
  // call:media); a receiving track gets no packets and stays `muted`. Without a picture the
  // stage shows the person's initials instead of a black rectangle.
  /** @type {MediaStream | null} */
  let watched = null;
  /** @type {WeakSet<MediaStreamTrack>} */
  const watchedTracks = new WeakSet();
  function updateRemotePicture() {
    const track = watched?.getVideoTracks()[0];
    const picture = Boolean(track && track.readyState === 'live' && !track.muted);
    stage.classList.toggle('no-picture', !picture);
  }
  /** @param {MediaStreamTrack} track */
  function watchTrack(track) {
    if (watchedTracks.has(track)) return;
    watchedTracks.add(track);
    track.addEventListener('mute', updateRemotePicture);
    track.addEventListener('unmute', updateRemotePicture);
    track.addEventListener('ended', updateRemotePicture);
  }
  /** @param {MediaStream | null} stream */
  function watchRemotePicture(stream) {
    if (stream !== watched) {
      watched = stream;
      stream?.addEventListener('addtrack', (event) => {
        if (stream === watched && event.track.kind === 'video') watchTrack(event.track);
        updateRemotePicture();
      });
    }
    // The SDK hands over the same stream again after each track it adds with addTrack(), which
    // fires no 'addtrack': a video track that arrives after the audio one is only seen here.
    // It is still muted then (no frames yet), so its 'unmute' is what shows the picture.
    stream?.getVideoTracks().forEach(watchTrack);
    updateRemotePicture();
  }

  function tick() {
    if (view) setText(timerValue, formatTimer(view.startedAt, Date.now()));
  }

  function dismiss() {
    clearTimeout(dismissTimer);
    if (!view) return;
    dismissedCallId = view.callId;
    app.dismissed(view);
  }

  function render() {
    if (!view) return;
    const { t } = app;
    const v = view;
    el.dataset.state = v.state;
    el.dataset.callType = v.callType;
    el.dataset.connection = v.connection;
    if (v.state === 'ended') {
      const e = describeEnded(v);
      const reason = t(e.reason.key, e.reason.params);
      setText(endedReason, e.duration !== null && v.endReason === 'hangup'
        ? t('ended.withDuration', { reason, duration: formatDuration(e.duration, t) }) : reason);
      ended.dataset.reason = v.endReason ?? '';
      setText(endedName, v.peerName || v.peer || '');
      setText(/** @type {HTMLElement} */ (ended.querySelector('.avatar span')), initials(v.peerName || v.peer));
      setText(endedDetail, e.detail ? t(e.detail.key, e.detail.params) : '');
      show(endedDetail, e.detail !== null);
      setText(endedProblem, e.problem ? t(e.problem.key, e.problem.params) : '');
      show(endedProblem, e.problem !== null);
      setText(audioOnly, t('ended.audioOnly'));
      show(audioOnly, e.offerAudioOnly);
      setText(callAgain, t('ended.callAgain'));
      show(callAgain, e.offerCallAgain);
      setText(close, t('ended.close'));
      return;
    }
    const d = describeCall(v, { canShareScreen: app.canShareScreen() });
    setText(name, d.name);
    setText(avatarText, initials(d.name));
    setText(status, d.status ? t(d.status.key, d.status.params) : '');
    setText(timerLabel, `${t('call.duration')} `);
    show(timer, d.showTimer);
    if (d.showTimer) tick();
    setText(remoteMuted, t('call.remoteMuted', { name: d.name }));
    show(remoteMuted, d.remoteMuted);
    setText(remoteCameraOff, t('call.remoteCameraOff', { name: d.name }));
    show(remoteCameraOff, d.remoteCameraOff);
    setText(selfMuted, t('call.youAreMuted'));
    show(selfMuted, d.muted);
    for (const [line, message] of /** @type {const} */ ([[selfSharing, d.sharingLine], [remoteSharing, d.remoteScreenLine], [screenProblem, d.screenProblem]])) {
      setText(line, message ? t(message.key, message.params) : '');
      show(line, message !== null);
    }
    setText(playSound, t('call.enableSound'));
    stage.classList.toggle('video', d.video);
    stage.classList.toggle('remote-screen', d.remoteScreen);
    stage.classList.toggle('show-remote', d.showRemoteVideo);
    stage.classList.toggle('show-local', d.showLocalVideo);
    stage.classList.toggle('preview', d.video && v.state !== 'active');
    localVideo.setAttribute('aria-label', t('call.localVideo'));
    remoteVideo.setAttribute('aria-label', t(d.remoteScreen ? 'call.remoteScreen' : 'call.remoteVideo', { name: d.name }));

    mute.replaceChildren(icon(d.muted ? 'micOff' : 'mic'), h('span', { text: t('call.mute') }));
    mute.setAttribute('aria-pressed', String(d.muted));
    camera.replaceChildren(icon(d.cameraOff ? 'videoOff' : 'video'), h('span', { text: t('call.camera') }));
    camera.setAttribute('aria-pressed', String(d.cameraOff));
    show(camera, d.showCameraButton);
    screen.replaceChildren(icon('screen'), h('span', { text: t('call.shareScreen') }));
    screen.setAttribute('aria-pressed', String(d.sharing));
    show(screen, d.showScreenButton);
    hangUp.replaceChildren(icon('hangUp'), h('span', { text: t(d.hangUpKey) }));
    hangUp.dataset.action = v.state === 'outgoing' ? 'cancel' : 'hangup';
    controls.setAttribute('aria-label', t('call.controls'));
  }

  return {
    el,
    render,
    /** @param {MediaStream | null} stream */
    setLocalStream(stream) {
      localVideo.srcObject = stream;
    },
    /** @param {MediaStream | null} stream */
    setRemoteStream(stream) {
      // The SDK hands the same stream over again after adding a track to it: each element
      // takes its own kind of tracks anew.
      for (const [media, kind] of /** @type {const} */ ([[remoteAudio, 'audio'], [remoteVideo, 'video']])) {
        const next = streamOf(stream, kind, media);
        if (media.srcObject !== next) media.srcObject = next;
      }
      watchRemotePicture(stream);
      if (stream) playRemote();
      else show(playSound, false);
    },
    /**
     * Shows the view; returns whether the call screen is up (the page makes the rest inert).
     * @param {CallView} next
     * @returns {boolean}
     */
    update(next) {
      const before = view;
      view = next;
      // A callee still answering (devices opening) stays in the incoming dialog, not here.
      const isLive = callPhase(next) === 'call';
      const isEnded = next.state === 'ended' && next.callId !== null && next.callId !== dismissedCallId;
      const visible = isLive || isEnded;
      const wasVisible = !el.hidden;
      show(el, visible);
      show(live, isLive);
      show(ended, isEnded);
      clearInterval(ticker);
      if (next.state === 'active' && next.startedAt != null) ticker = setInterval(tick, 1000);
      render();
      if (isLive && (!wasVisible || before?.callId !== next.callId || before?.state === 'ended')) {
        hangUp.focus();
      }
      if (isEnded && noticeCallId !== next.callId) {
        noticeCallId = next.callId;
        clearTimeout(dismissTimer);
        const first = [audioOnly, callAgain].find((b) => !b.hidden) ?? close;
        first.focus();
        if (describeEnded(next).autoDismiss) dismissTimer = setTimeout(dismiss, ENDED_NOTICE_MS);
      }
      if (!isEnded) clearTimeout(dismissTimer);
      return visible;
    },
    /** Closes the ended notice now (the page's own "back"). */
    dismiss,
  };
}
