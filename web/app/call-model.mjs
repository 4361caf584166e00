// What the call UI shows for a CallView (docs/core.md, "The view"). The SDK publishes a view
// after every change; this turns it into a plain description (which screen, which words as
// locale keys, which controls) that the screens render. Pure, and tested in
// tests/app/call-model.test.mjs with views in the core's JSON form.

/**
 * @typedef {object} CallView
 * @property {'idle'|'outgoing'|'incoming'|'connecting'|'active'|'ended'} state
 * @property {string | null} callId
 * @property {string | null} peer
 * @property {string | null} peerName
 * @property {'outgoing'|'incoming'} direction
 * @property {'audio'|'video'} callType
 * @property {'none'|'connecting'|'connected'|'reconnecting'} connection
 * @property {boolean} ringing
 * @property {boolean} microphoneOn
 * @property {boolean} cameraOn
 * @property {boolean} remoteAudioMuted
 * @property {boolean} remoteVideoMuted
 * @property {number | null} startedAt
 * @property {number | null} endedAt
 * @property {string | null} endReason
 * @property {'none'|'denied'|'not_found'|'in_use'|'other'} mediaProblem
 * @property {'audio'|'video'} mediaProblemKind
 * @property {string | null} serverError
 * @property {boolean} screenSharing this side sends its screen (in place of the camera)
 * @property {boolean} remoteScreenShared the other side sends its screen
 * @property {'none'|'denied'|'not_found'|'in_use'|'other'} screenProblem why the last attempt
 *   to share the screen failed ('denied' also when the browser's picker was cancelled)
 */

/** @typedef {import('./errors.mjs').Message} Message */

import { serverErrorMessage } from './errors.mjs';

/** A view with nothing going on: what the page assumes before the SDK has said anything. */
/** @type {CallView} */
export const IDLE_VIEW = Object.freeze({
  state: 'idle', callId: null, peer: null, peerName: null, direction: 'outgoing',
  callType: 'audio', connection: 'none', ringing: false, microphoneOn: true, cameraOn: true,
  remoteAudioMuted: false, remoteVideoMuted: false, startedAt: null, endedAt: null,
  endReason: null, mediaProblem: 'none', mediaProblemKind: 'audio', serverError: null,
  screenSharing: false, remoteScreenShared: false, screenProblem: 'none',
});

/**
 * Whether the callee has accepted and its camera and microphone are still opening: the core
 * says `connecting` with no connection yet, and the caller still rings. If only the camera
 * fails, the call rings here again with the problem; so this belongs to the incoming dialog,
 * and the call screen only takes over once the devices are open.
 * @param {CallView} view
 * @returns {boolean}
 */
export function isAnswering(view) {
  return view?.state === 'connecting' && view.direction === 'incoming' && view.connection === 'none';
}

/**
 * Which part of the page a view belongs on.
 * - `none`: no call (idle)
 * - `incoming`: the incoming-call dialog (ringing, or answered while the devices open)
 * - `call`: the call screen (outgoing, connecting, active)
 * - `ended`: the ended notice
 * @param {CallView} view
 * @returns {'none' | 'incoming' | 'call' | 'ended'}
 */
export function callPhase(view) {
  switch (view?.state) {
    case 'incoming': return 'incoming';
    case 'connecting': return isAnswering(view) ? 'incoming' : 'call';
    case 'outgoing':
    case 'active': return 'call';
    case 'ended': return 'ended';
    default: return 'none';
  }
}

/**
 * The name to show for the other person.
 * @param {CallView} view
 * @returns {string}
 */
export function peerLabel(view) {
  return view.peerName || view.peer || '?';
}

/**
 * The status line under the name on the call screen (and what the live region says).
 * @param {CallView} view
 * @returns {Message | null}
 */
export function statusMessage(view) {
  const name = peerLabel(view);
  switch (view.state) {
    case 'outgoing': return view.ringing ? { key: 'call.ringing' } : { key: 'call.calling', params: { name } };
    case 'connecting': return { key: 'call.connecting' };
    case 'active':
      if (view.connection === 'reconnecting') return { key: 'call.reconnecting' };
      if (view.connection === 'connected') return { key: 'call.connected' };
      return { key: 'call.connecting' };
    default: return null;
  }
}

/** The locale key of every media problem, by problem and device. */
export const MEDIA_PROBLEM_KEYS = Object.freeze({
  denied: { audio: 'media.denied.audio', video: 'media.denied.video' },
  not_found: { audio: 'media.notFound.audio', video: 'media.notFound.video' },
  in_use: { audio: 'media.inUse.audio', video: 'media.inUse.video' },
  other: { audio: 'media.other.audio', video: 'media.other.video' },
});

/**
 * Which device failed and what to do about it, or null when the devices are fine.
 * @param {CallView} view
 * @returns {Message | null}
 */
export function mediaProblemMessage(view) {
  if (!view || view.mediaProblem === 'none' || !view.mediaProblem) return null;
  const byKind = MEDIA_PROBLEM_KEYS[view.mediaProblem] ?? MEDIA_PROBLEM_KEYS.other;
  return { key: byKind[view.mediaProblemKind === 'video' ? 'video' : 'audio'] };
}

/**
 * The locale key of every screen-sharing problem. Cancelling the browser's picker reads as
 * `denied`, so its words are a plain statement, not a warning or instructions.
 */
export const SCREEN_PROBLEM_KEYS = Object.freeze({
  denied: 'screen.denied',
  not_found: 'screen.unsupported',
  in_use: 'screen.failed',
  other: 'screen.failed',
});

/**
 * Why the screen could not be shared, or null when the last attempt did not fail.
 * @param {CallView} view
 * @returns {Message | null}
 */
export function screenProblemMessage(view) {
  const problem = view?.screenProblem;
  if (!problem || problem === 'none') return null;
  return { key: SCREEN_PROBLEM_KEYS[problem] ?? SCREEN_PROBLEM_KEYS.other };
}

/**
 * The headline of the ended notice, in words, from this user's side: a caller's timeout is
 * "no answer", a callee's is a missed call; a callee whose caller gave up missed the call.
 * @param {CallView} view
 * @returns {Message}
 */
export function endReasonMessage(view) {
  const outgoing = view.direction === 'outgoing';
  const name = peerLabel(view);
  switch (view.endReason) {
    case 'hangup': return { key: 'ended.hangup' };
    case 'cancelled': return outgoing ? { key: 'ended.cancelled' } : { key: 'ended.missed' };
    case 'rejected': return outgoing ? { key: 'ended.rejected' } : { key: 'ended.youDeclined' };
    case 'busy': return { key: 'ended.busy' };
    case 'timeout': return outgoing ? { key: 'ended.timeout' } : { key: 'ended.missed' };
    case 'failed': return { key: 'ended.failed' };
    case 'media_unavailable':
      if (view.mediaProblem !== 'none') {
        return { key: view.mediaProblemKind === 'video' ? 'ended.mediaUnavailable.video' : 'ended.mediaUnavailable.audio' };
      }
      return { key: 'ended.peerMediaUnavailable', params: { name } };
    case 'connection_lost': return { key: 'ended.connectionLost' };
    case 'answered_elsewhere': return { key: 'ended.answeredElsewhere' };
    case 'glare': return { key: 'ended.glare' };
    default: return { key: 'ended.hangup' };
  }
}

/**
 * A second line for the ended notice, when one helps.
 * @param {CallView} view
 * @returns {Message | null}
 */
export function endDetailMessage(view) {
  const server = serverErrorMessage(view.serverError);
  if (server) return server;
  if (view.endReason === 'busy') return { key: 'ended.busyDetail', params: { name: peerLabel(view) } };
  if (view.endReason === 'failed') return { key: 'ended.failedDetail' };
  return null;
}

/**
 * Everything the ended notice needs.
 * - `offerAudioOnly`: an outgoing video call that ended because only the camera could not
 *   be used: offer to call again without it.
 * - `offerCallAgain`: an outgoing call that did not get through for a reason that may pass.
 * - `autoDismiss`: ordinary endings go away by themselves after a few seconds; a notice
 *   that asks the user to do something (device help, a server refusal) stays until closed.
 * @param {CallView} view
 */
export function describeEnded(view) {
  const problem = mediaProblemMessage(view);
  const outgoing = view.direction === 'outgoing';
  const offerAudioOnly = outgoing && view.callType === 'video' && view.mediaProblem !== 'none' &&
    view.mediaProblemKind === 'video';
  const offerCallAgain = outgoing && !offerAudioOnly &&
    ['timeout', 'busy', 'rejected', 'failed', 'connection_lost'].includes(String(view.endReason)) &&
    view.serverError !== 'forbidden' && view.serverError !== 'not_found';
  const detail = endDetailMessage(view);
  const needsAction = problem !== null || (view.serverError !== null && view.serverError !== 'busy');
  const duration = view.startedAt != null && view.endedAt != null
    ? Math.max(0, Math.floor((view.endedAt - view.startedAt) / 1000)) : null;
  return {
    reason: endReasonMessage(view),
    detail,
    problem,
    offerAudioOnly,
    offerCallAgain,
    autoDismiss: !needsAction,
    /** whole seconds of an answered call, else null */
    duration,
  };
}

/**
 * What the incoming-call dialog shows. After the camera failed on accept, the core puts the
 * call back to ringing with `mediaProblem` set: then "accept without video" comes first.
 * While the devices open after an accept (`answering`) the dialog stays, says it is
 * connecting, and takes no second accept.
 * @param {CallView} view
 */
export function describeIncoming(view) {
  const video = view.callType === 'video';
  const problem = mediaProblemMessage(view);
  const answering = isAnswering(view);
  return {
    name: peerLabel(view),
    video,
    answering,
    typeKey: answering ? 'call.connecting' : video ? 'call.videoCall' : 'call.audioCall',
    announce: { key: video ? 'incoming.announceVideo' : 'incoming.announceAudio', params: { name: peerLabel(view) } },
    problem,
    offerAudioOnly: video,
    preferAudioOnly: video && problem !== null && view.mediaProblemKind === 'video',
  };
}

/**
 * What the live call screen shows. `canShareScreen`: whether this browser can share its
 * screen at all (the SDK's DuetClient.canShareScreen; false on phones).
 *
 * Screen sharing: the button is there only in an active call. While the other side shares,
 * its picture is shown large even in an audio call (where the person's initials are shown
 * otherwise) and even when its camera was off, fitted whole; `remoteScreenShared` alone
 * decides, since in an audio call the video track stays after the sharing stops.
 * @param {CallView} view
 * @param {{canShareScreen?: boolean}} [options]
 */
export function describeCall(view, { canShareScreen = false } = {}) {
  const video = view.callType === 'video';
  const active = view.state === 'active';
  const sharing = active && Boolean(view.screenSharing);
  const remoteScreen = active && Boolean(view.remoteScreenShared);
  const name = peerLabel(view);
  return {
    name,
    status: statusMessage(view),
    video,
    /** the hang-up button cancels a call that was not answered yet */
    hangUpKey: view.state === 'outgoing' ? 'call.cancel' : 'call.hangUp',
    showTimer: active && view.startedAt != null,
    showCameraButton: video,
    /** the remote picture is shown when there is one to show: a camera, or a shared screen */
    showRemoteVideo: (video && active && !view.remoteVideoMuted) || remoteScreen,
    showLocalVideo: video && view.cameraOn,
    remoteMuted: (view.state === 'active' || view.state === 'connecting') && view.remoteAudioMuted,
    remoteCameraOff: video && view.state === 'active' && view.remoteVideoMuted && !remoteScreen,
    muted: !view.microphoneOn,
    cameraOff: !view.cameraOn,
    showScreenButton: active && canShareScreen,
    /** the screen button's state (aria-pressed); its name stays "Share screen", as mute's
     *  stays "Mute": a toggle whose name changed too would read "Stop sharing, pressed" */
    sharing,
    /** "You are sharing your screen" */
    sharingLine: sharing ? { key: 'call.youAreSharing' } : null,
    /** the other side's screen fills the stage, fitted whole */
    remoteScreen,
    remoteScreenLine: remoteScreen ? { key: 'call.remoteSharing', params: { name } } : null,
    /** why the last attempt failed; gone once the screen is shared */
    screenProblem: active && !sharing ? screenProblemMessage(view) : null,
  };
}

/**
 * What the polite live region should say when the view changes from `before` to `after`,
 * or null when nothing worth announcing changed (the timer ticking is not announced).
 * Incoming calls are announced separately, assertively.
 * @param {CallView | null} before
 * @param {CallView} after
 * @returns {Message | null}
 */
export function announcement(before, after) {
  const same = before && before.callId === after.callId;
  const name = peerLabel(after);
  if (after.state === 'ended') {
    if (same && before.state === 'ended') return null;
    return endReasonMessage(after);
  }
  if (after.state === 'outgoing') {
    if (!same || before.state !== 'outgoing') return { key: 'call.calling', params: { name } };
    if (after.ringing && !before.ringing) return { key: 'call.ringing' };
    return null;
  }
  if (after.state === 'connecting') {
    return same && before.state === 'connecting' ? null : { key: 'call.connecting' };
  }
  if (after.state === 'active') {
    if (!same || before.state !== 'active' || before.connection !== after.connection) {
      if (after.connection === 'reconnecting') return { key: 'call.reconnecting' };
      if (after.connection === 'connected') return { key: 'call.connectedTo', params: { name } };
    }
    if (same && before.state === 'active') {
      if (Boolean(after.remoteScreenShared) !== Boolean(before.remoteScreenShared)) {
        return after.remoteScreenShared ? { key: 'call.remoteSharing', params: { name } } : { key: 'call.remoteStoppedSharing', params: { name } };
      }
      if (Boolean(after.screenSharing) !== Boolean(before.screenSharing)) {
        return after.screenSharing ? { key: 'call.youAreSharing' } : { key: 'call.youStoppedSharing' };
      }
      if (after.screenProblem !== before.screenProblem) {
        const problem = screenProblemMessage(after);
        if (problem) return problem;
      }
      if (after.remoteAudioMuted !== before.remoteAudioMuted) {
        return after.remoteAudioMuted ? { key: 'call.remoteMuted', params: { name } } : { key: 'call.remoteUnmuted', params: { name } };
      }
      if (after.callType === 'video' && after.remoteVideoMuted !== before.remoteVideoMuted) {
        return after.remoteVideoMuted ? { key: 'call.remoteCameraOff', params: { name } } : { key: 'call.remoteCameraOn', params: { name } };
      }
    }
  }
  return null;
}
