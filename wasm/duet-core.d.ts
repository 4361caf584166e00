// TypeScript declarations for duet-core.mjs, the calling core compiled to WebAssembly
// (wasm/bindings.cpp). Written by hand: Emscripten 3.1.6 cannot generate them. The test
// tests/wasm/module.test.mjs reads this file and checks the real module against it (every
// function and method, every event and effect type, every view field), so the two cannot drift
// apart unnoticed. docs/core.md ("The JSON form") describes the same shapes in prose.
//
// Everything crosses the boundary as strings: events go in as JSON text, effects, views and
// errors come back as JSON text. The types below are what JSON.stringify should be given and
// what JSON.parse gives back.
//
//   import createDuetCore from './duet-core.mjs';
//   const core = await createDuetCore();
//   const phone = new core.Phone('alice', JSON.stringify({ ringTimeoutMs: 45000 }));
//   if (phone.configError() !== '') throw new Error(phone.configError());
//   const result: HandleResult = JSON.parse(phone.handle(JSON.stringify(event), Date.now()));
//   ...
//   phone.delete(); // wasm objects are not garbage-collected

// ----- The module -----------------------------------------------------------------------------

/** Options for the factory: a few of Emscripten's Module settings. */
export interface ModuleOptions {
  /** The bytes of duet-core.wasm. Without them the module fetches duet-core.wasm from beside
   *  duet-core.mjs, which works in browsers; in Node, read the file and pass it here. */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /** Where to find duet-core.wasm, when it is not beside duet-core.mjs. */
  locateFile?: (path: string, scriptDirectory: string) => string;
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

/** Loads and instantiates the module. duet-core.mjs's default export. */
export default function createDuetCore(options?: ModuleOptions): Promise<DuetCore>;

export interface DuetCore {
  /** The signaling protocol version this core speaks (docs/protocol.md). */
  protocolVersion(): number;
  /** Checks one signaling message; returns a CheckMessageResult as JSON text. */
  checkMessage(text: string): string;
  /** The calling brain of one signed-in user. */
  Phone: PhoneConstructor;
}

export interface PhoneConstructor {
  /** selfId: the signed-in user's id. configJson: a PhoneConfig as JSON text; "" or "{}" for
   *  the defaults. Bad arguments do not throw: configError() reports them, and handle() then
   *  refuses every event with that error. */
  new (selfId: string, configJson: string): Phone;
}

/**
 * A duet::Phone living in wasm memory. Whoever creates it owns it and must call delete() when
 * done (on sign-out, or when the SDK is torn down): wasm objects are not garbage-collected, and
 * a Phone never deleted leaks its memory for the life of the page. After delete(), calling any
 * method throws.
 */
export interface Phone {
  /** "" when the constructor's arguments were good; else an ErrorInfo as JSON text. */
  configError(): string;
  /** One event (a PhoneEvent as JSON text) at nowMs (Date.now(): whole milliseconds since the
   *  Unix epoch). Returns a HandleResult as JSON text. Carry the effects out in order before
   *  handing the phone its next event. */
  handle(eventJson: string, nowMs: number): string;
  /** The current CallView as JSON text. */
  view(): string;
  /** Frees the phone. Must be called by its owner exactly once. */
  delete(): void;
}

// ----- Results ----------------------------------------------------------------------------------

/** The stable error codes (docs/protocol.md, "Error codes"). */
export type ErrorCode =
  | 'bad_json' | 'too_large' | 'too_deep' | 'not_an_object' | 'bad_version' | 'unknown_type'
  | 'missing_field' | 'wrong_type' | 'too_long' | 'bad_value'
  | 'unauthenticated' | 'forbidden' | 'not_found' | 'not_participant' | 'invalid_state' | 'busy'
  | 'rate_limited' | 'conflict' | 'internal';

export interface ErrorInfo {
  code: ErrorCode;
  /** For people; may change between versions. Switch on code. */
  message: string;
}

/** What handle() returns, parsed. `error` only when the event JSON or nowMs was invalid (or the
 *  constructor's arguments were), and then the phone did not change. An intent the phone
 *  refuses is not an error: it comes as an intentRefused effect. */
export type HandleResult = { effects: PhoneEffect[] } | { error: ErrorInfo };

/** What checkMessage() returns, parsed. `message` is the message as the core writes it back. */
export type CheckMessageResult =
  | { ok: true; type: string; message: Record<string, unknown> }
  | { ok: false; error: ErrorInfo };

/** The constructor's configJson, parsed. Every field is optional; timeouts are whole
 *  milliseconds in 1..2147483647. A field not listed here is refused (bad_value). */
export interface PhoneConfig {
  ringTimeoutMs?: number;       // default 30000: unanswered this long, a missed call
  connectTimeoutMs?: number;    // default 30000: accepted but no media path this long, failed
  iceGraceMs?: number;          // default 2000: disconnected this long, restart ICE
  reconnectTimeoutMs?: number;  // default 30000: still disconnected after this long, call lost
  preconnect?: boolean;         // default true: connect while it rings
}

// ----- Values -----------------------------------------------------------------------------------

export type CallType = 'audio' | 'video';
export type SdpType = 'offer' | 'answer';
export type MediaKind = 'audio' | 'video';
export type Tone = 'none' | 'ringtone' | 'ringback';
export type TimerKind = 'ring' | 'connect' | 'ice_grace' | 'reconnect';
export type MediaProblem = 'none' | 'denied' | 'not_found' | 'in_use' | 'other';
/** RTCSignalingState, without the pranswer states (Duet never uses provisional answers). */
export type SignalingState = 'stable' | 'have-local-offer' | 'have-remote-offer' | 'closed';
/** RTCPeerConnectionState. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
export type CallState = 'idle' | 'outgoing' | 'incoming' | 'connecting' | 'active' | 'ended';
export type Direction = 'outgoing' | 'incoming';
export type Connection = 'none' | 'connecting' | 'connected' | 'reconnecting';
export type EndReason =
  | 'hangup' | 'cancelled' | 'rejected' | 'busy' | 'timeout' | 'failed' | 'media_unavailable'
  | 'answered_elsewhere' | 'connection_lost' | 'glare';

/** RTCIceCandidateInit, as RTCIceCandidate.toJSON() gives it. An empty candidate marks the end
 *  of candidates. Effects leave out the parts that are not set; events may also send null. */
export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

// ----- Events: what happened (the argument of handle) -------------------------------------------
// Fields marked ? may be left out or null. Any other field is refused (bad_value).

export type PhoneEvent =
  | { type: 'dial'; callId: string; peer: string; callType: CallType; peerName?: string | null }
  | { type: 'accept'; audioOnly?: boolean | null }
  | { type: 'reject' }
  | { type: 'hangUp' }
  | { type: 'leave' }
  | { type: 'setMicrophone'; on: boolean }
  | { type: 'setCamera'; on: boolean }
  | { type: 'shareScreen'; on?: boolean | null }
  | { type: 'received'; text: string }
  | { type: 'mediaAcquired'; audio: boolean; video: boolean }
  | { type: 'mediaFailed'; problem: Exclude<MediaProblem, 'none'>; microphone: boolean; camera: boolean }
  | { type: 'screenAcquired' }
  | { type: 'screenFailed'; problem: Exclude<MediaProblem, 'none'> }
  | { type: 'screenEnded' }
  | { type: 'negotiationNeeded'; peer: string }
  | { type: 'localDescription'; peer: string; sdpType: SdpType; sdp: string }
  | { type: 'localCandidate'; peer: string; candidate: IceCandidate }
  | { type: 'remoteDescriptionApplied'; peer: string; sdpType: SdpType }
  | { type: 'signalingChanged'; peer: string; state: SignalingState }
  | { type: 'peerStateChanged'; peer: string; state: PeerState }
  | { type: 'peerOperationFailed'; peer: string; operation: string; message: string }
  | { type: 'timerFired'; timer: TimerKind; callId: string };

// ----- Effects: what to do (in handle's result, in order) ----------------------------------------

export type PhoneEffect =
  | { type: 'send'; text: string }
  | { type: 'acquireMedia'; audio: boolean; video: boolean }
  | { type: 'releaseMedia' }
  | { type: 'openPeer'; peer: string; polite: boolean; initiator: boolean; callType: CallType }
  | { type: 'closePeer'; peer: string }
  | { type: 'attachMedia'; peer: string }
  | { type: 'makeOffer'; peer: string }
  | { type: 'makeAnswer'; peer: string }
  | { type: 'applyRemoteDescription'; peer: string; sdpType: SdpType; sdp: string }
  | { type: 'addRemoteCandidate'; peer: string; candidate: IceCandidate }
  | { type: 'restartIce'; peer: string }
  | { type: 'setTrackEnabled'; kind: MediaKind; enabled: boolean }
  | { type: 'acquireScreen' }
  | { type: 'attachScreen'; peer: string }
  | { type: 'releaseScreen' }
  | { type: 'playTone'; tone: Tone }
  | { type: 'startTimer'; timer: TimerKind; callId: string; afterMs: number }
  | { type: 'cancelTimer'; timer: TimerKind; callId: string }
  | { type: 'publish'; view: CallView }
  | { type: 'intentRefused'; error: ErrorInfo };

/** The same unions under the names docs/core.md uses. In code that also handles DOM events,
 *  prefer PhoneEvent: `Event` would shadow the DOM's. */
export type Event = PhoneEvent;
export type Effect = PhoneEffect;

// ----- What the UI shows ------------------------------------------------------------------------

/** Every field is always present; the nullable ones are null until they are set. */
export interface CallView {
  state: CallState;
  callId: string;
  peer: string;
  peerName: string;
  direction: Direction;
  callType: CallType;
  connection: Connection;
  ringing: boolean;
  microphoneOn: boolean;
  cameraOn: boolean;
  remoteAudioMuted: boolean;
  remoteVideoMuted: boolean;
  /** This side sends its screen. */
  screenSharing: boolean;
  /** The other side says it sends its screen. */
  remoteScreenShared: boolean;
  /** Why the last try to share the screen failed; 'none' after a success or a new try. */
  screenProblem: MediaProblem;
  startedAt: number | null;
  endedAt: number | null;
  endReason: EndReason | null;
  mediaProblem: MediaProblem;
  mediaProblemKind: MediaKind;
  serverError: ErrorCode | null;
}
