// TypeScript declarations for duet-client.mjs, the Duet browser SDK. Written by hand, like the
// core's duet-core.d.ts (packaged beside this file), whose types these reuse.
// tests/sdk/declarations.test.mjs checks this file against the real class.

import type { CallView, DuetCore, ErrorCode, ErrorInfo, MediaProblem, PhoneConfig, PhoneEffect, PhoneEvent, Tone } from './duet-core.js';

export type { CallView, DuetCore, PhoneConfig, PhoneEffect, PhoneEvent } from './duet-core.js';

/**
 * Anything that carries text messages in order, both ways: the default is a WebSocket to
 * duet-server (WebSocketTransport); bring your own to carry Duet over a connection you already
 * have. The client sets the three handlers; the transport calls them.
 */
export interface Transport {
  /** Sends one message. May return false when it cannot send now (the client keeps the message
   *  and sends it after the next sign-in). */
  send(text: string): boolean | void;
  /** Closes for good. The client calls it from close(); no onclose is expected after it. */
  close(): void;
  /** Set by the client: call it with every text message that arrives. */
  onmessage: ((text: string) => void) | null;
  /** Set by the client: call it when the connection opens (again). The client then signs in
   *  with an auth message as the first thing it sends. */
  onopen: (() => void) | null;
  /** Set by the client: call it when the connection drops. willReconnect: whether onopen will
   *  follow by itself (the client says 'reconnecting' rather than 'disconnected'). */
  onclose: ((info: TransportCloseInfo) => void) | null;
  /** Optional: true when the connection is already open as the client receives it; the client
   *  then signs in at once instead of waiting for onopen. */
  readonly connected?: boolean;
}

export interface TransportCloseInfo {
  /** The WebSocket close code, or your transport's own. 4401 (duet-server refused the token)
   *  ends the client as 'unauthenticated' even without willReconnect: false. */
  code?: number;
  reason?: string;
  willReconnect?: boolean;
  /** With willReconnect: in how many ms the next attempt starts (shown in connectionState). */
  delayMs?: number;
}

export interface DuetClientOptions {
  /** The token from POST /api/auth/login or /register (docs/api.md). */
  token: string;
  /** The duet-server origin; default location.origin. */
  server?: string;
  /** Where to load duet-core.mjs from. Default: the one packaged beside the SDK, else
   *  `${server}/duet/duet-core.mjs` (duet-server serves the built module there). */
  moduleUrl?: string | URL;
  /** An already loaded duet-core module (loadModule(), or your own loading); skips moduleUrl. */
  core?: DuetCore;
  /** Bring your own signaling connection; default a WebSocketTransport to `${server}/api/socket`. */
  transport?: Transport;
  /** ICE servers for RTCPeerConnection; default GET /api/ice-servers (refreshed at half its ttl). */
  iceServers?: RTCIceServer[];
  /** The core's PhoneConfig (timeouts, preconnect); a bad field rejects create() with bad_value. */
  config?: PhoneConfig;
  /** Where getUserMedia, and getDisplayMedia for shareScreen(), come from; default
   *  navigator.mediaDevices. Without getDisplayMedia, canShareScreen is false. */
  mediaDevices?: Pick<MediaDevices, 'getUserMedia'> & Partial<Pick<MediaDevices, 'getDisplayMedia'>>;
  /** Play the ringtone and ringback with WebAudio (default true). The 'tone' event fires either way. */
  tones?: boolean;
  /** Sees every event handed to the core with what came back, in order: for debugging and logs.
   *  Events and effects carry SDP and candidates, so keep traces private. */
  trace?: (entry: { event: PhoneEvent; effects?: PhoneEffect[]; error?: ErrorInfo }) => void;
  /** How long create() may take to load, fetch and sign in, in ms (default 20000). */
  timeoutMs?: number;
}

/** The short form of ConnectionStatus (the 'connection' event): 'connecting' until signed in
 *  and while reconnecting, 'online' when signed in, 'offline' when disconnected for good. */
export type ConnectionState = 'connecting' | 'online' | 'offline';

/** The signaling connection's state. 'disconnected' is final: the client is closed. */
export type ConnectionPhase = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** Why the connection is in its state:
 *  - 'start': create() is connecting (state 'connecting');
 *  - 'signed_in': the server answered auth:ok (state 'connected');
 *  - 'dropped': the connection dropped and the transport tries again (state 'reconnecting');
 *  - 'closed': the app called close(), on sign-out for example (state 'disconnected');
 *  - 'unauthenticated': the server refused the token (expired, revoked): sign in again and
 *    create a new client (state 'disconnected', error.code 'unauthenticated');
 *  - 'transport': the transport closed and will not reconnect (state 'disconnected',
 *    error.code 'transport'): create a new client when the network is back. */
export type ConnectionReason = 'start' | 'signed_in' | 'dropped' | 'closed' | 'unauthenticated' | 'transport';

/** The 'connectionState' event's value and client.connectionState: frozen, a new object on
 *  every change. */
export interface ConnectionStatus {
  readonly state: ConnectionPhase;
  readonly reason: ConnectionReason;
  /** 'reconnecting': which attempt this is since the last sign-in (1, 2, ...); otherwise 0. */
  readonly attempt: number;
  /** 'reconnecting': in how many ms (from the event) the attempt starts; null when the
   *  transport does not say (one of your own). Otherwise null. */
  readonly delayMs: number | null;
  /** The close code of the connection that dropped or ended ('dropped', 'transport',
   *  'unauthenticated' from a 4401 close), else null. */
  readonly code: number | null;
  /** For 'unauthenticated' and 'transport': what to act on. Otherwise null. */
  readonly error: DuetError | null;
}

export interface Presence {
  userId: string;
  status: 'online' | 'busy' | 'offline';
}

/** An intent the core refused ('refused'), or a problem outside a call ('error'). Codes are the
 *  protocol's error codes; 'error' also uses 'transport' (the signaling connection dropped or
 *  cannot keep up) and 'peer' (no RTCPeerConnection could be made). */
export interface DuetProblem {
  code: ErrorCode | 'transport' | 'peer';
  message: string;
}

export interface DuetClientEvents {
  /** The core published a new CallView: render it. Screen sharing is in its screenSharing,
   *  remoteScreenShared and screenProblem (declared with CallView in duet-core.d.ts). */
  state: CallView;
  /** The camera and microphone stream of the call (show it muted), or null when released. */
  localStream: MediaStream | null;
  /** The other side's stream (play it in a <video> or <audio> that is not muted), or null.
   *  Emitted again, with the same stream, for every track that joins it: in an audio call the
   *  other side's screen share adds a video track later. */
  remoteStream: MediaStream | null;
  /** A contact came online, went busy or offline. */
  presence: Presence;
  /** An intent (call, accept, hangUp, ...) the core refused; nothing changed. */
  refused: DuetProblem;
  /** A server error not about a call, or a transport problem. */
  error: DuetProblem;
  /** The signaling connection's state, short form ('connecting' | 'online' | 'offline'). */
  connection: ConnectionState;
  /** The signaling connection's state with its reason, the attempt and the wait when
   *  reconnecting, and the error when disconnected for good. The last one is 'disconnected'. */
  connectionState: ConnectionStatus;
  /** The tone the core asked for ('none' stops it), for apps that play their own sounds. */
  tone: Tone;
}

/** An Error from create(), from methods of a closed client ('closed', with the reason the client
 *  ended as `cause` when it was not close()), and in ConnectionStatus.error; with a stable code. */
export interface DuetError extends Error {
  code: ErrorCode | 'module' | 'unreachable' | 'timeout' | 'closed' | 'transport';
  cause?: unknown;
}

export declare class DuetClient {
  private constructor();
  /** Whether this browser can share a screen: navigator.mediaDevices.getDisplayMedia exists.
   *  False on phones, on insecure pages, in browsers without screen capture. */
  static readonly canShareScreen: boolean;
  /** Loads the core, gets the ICE servers, connects and signs in; resolves after auth:ok.
   *  Rejects with a DuetError: 'unauthenticated' for a bad token, 'bad_value' for bad options. */
  static create(options: DuetClientOptions): Promise<DuetClient>;

  /** The signed-in user's id (from auth:ok). */
  readonly userId: string;
  /** The signed-in user's display name ('' when the server sent none). */
  readonly displayName: string;
  /** The last CallView (idle before the first call). */
  readonly view: CallView;
  readonly connection: ConnectionState;
  /** The signaling connection's state now (the last 'connectionState' value). */
  readonly connectionState: ConnectionStatus;
  /** The last presence of every contact that has one. */
  readonly presence: Record<string, Presence['status']>;
  readonly localStream: MediaStream | null;
  readonly remoteStream: MediaStream | null;
  /** The current call's RTCPeerConnection, for getStats(); do not change it. */
  readonly peerConnection: RTCPeerConnection | null;
  readonly iceServers: RTCIceServer[];
  /** Whether this client can share a screen: the mediaDevices it was created with have
   *  getDisplayMedia. Hide the share button when false. */
  readonly canShareScreen: boolean;

  /** Returns a function that removes the listener. Throws a DuetError 'closed' on a closed client. */
  on<K extends keyof DuetClientEvents>(event: K, listener: (value: DuetClientEvents[K]) => void): () => void;
  off<K extends keyof DuetClientEvents>(event: K, listener: (value: DuetClientEvents[K]) => void): void;

  /** Calls a user; returns the new call id. A refusal comes as a 'refused' event. */
  call(peerId: string, options?: { video?: boolean; peerName?: string }): string;
  accept(options?: { audioOnly?: boolean }): void;
  reject(): void;
  hangUp(): void;
  /** The page is going away (pagehide): ends a call under way, leaves one ringing here to ring
   *  the page again. Never refused; does nothing on a closed client. */
  leave(): void;
  setMicrophone(on: boolean): void;
  setCamera(on: boolean): void;
  /** Shares the screen (true, the default) in place of the camera, or stops (false). The core
   *  allows it in an active call; in an audio call a video track is added and negotiated.
   *  Call it from a click handler: the browser opens its picker only with a user gesture.
   *  The view's screenSharing says when it is out; screenProblem why it could not be ('denied'
   *  also when the user closed the picker). A refusal comes as a 'refused' event. */
  shareScreen(on?: boolean): void;
  /** Lets tones play: call it from a user gesture (browsers block audio before one). Rejects
   *  with a DuetError 'closed' on a closed client. */
  unlockAudio(): Promise<void>;
  /** Hangs up if in a call, closes everything and frees the core. Its last events come before
   *  it returns; no listener is called after. Intents, on() and unlockAudio() then fail with a
   *  DuetError 'closed'. Calling it again does nothing. */
  close(): Promise<void>;
}

/** The default transport: a WebSocket that reconnects until close(), waiting between half and all
 *  of a base that starts at minDelayMs (500) and doubles up to maxDelayMs (15000). */
export declare class WebSocketTransport implements Transport {
  constructor(url: string | URL, options?: { minDelayMs?: number; maxDelayMs?: number; WebSocket?: typeof WebSocket });
  readonly connected: boolean;
  send(text: string): boolean;
  close(): void;
  onmessage: ((text: string) => void) | null;
  onopen: (() => void) | null;
  onclose: ((info: TransportCloseInfo) => void) | null;
}

/** Loads duet-core once per URL. Without a URL: the module packaged beside the SDK, else
 *  /duet/duet-core.mjs on the page's origin. */
export declare function loadModule(url?: string | URL): Promise<DuetCore>;

/** The core's media problem for a getUserMedia rejection, from its DOMException name. */
export declare function mediaProblemOf(error: unknown): Exclude<MediaProblem, 'none'>;
