// From rules and error codes to words. Forms are checked here first with the server's own
// rules (docs/api.md, "Limits"), so most mistakes are shown before a round trip; what the
// server still refuses is mapped from its stable error codes. The results are locale keys
// with parameters (`{key, params}`), never text: the screens translate them.

/** @typedef {{key: string, params?: Record<string, string | number>}} Message */
/** @typedef {'username' | 'password' | 'displayName'} AuthField */
/** @typedef {'call' | 'accept' | 'reject' | 'hangUp' | 'microphone' | 'camera' | 'screen'} Intent what the user asked the SDK for */

const encoder = new TextEncoder();
const byteLength = (/** @type {string} */ s) => encoder.encode(s).length;

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

/**
 * Checks the sign-in or sign-up form before it is sent. Sign-in only needs both fields
 * filled (the server lower-cases usernames and says nothing about which part was wrong).
 * @param {'signin' | 'signup'} mode
 * @param {{username: string, password: string, displayName?: string}} fields
 * @returns {Partial<Record<AuthField, Message>>} no keys when the form may be sent
 */
export function validateAuth(mode, { username, password, displayName = '' }) {
  /** @type {Partial<Record<AuthField, Message>>} */
  const problems = {};
  const name = username.trim();
  if (name === '') problems.username = { key: 'auth.error.usernameRequired' };
  else if (mode === 'signup' && !USERNAME_PATTERN.test(name.toLowerCase())) {
    problems.username = { key: 'auth.error.usernameRule' };
  }
  if (password === '') problems.password = { key: 'auth.error.passwordRequired' };
  else if (mode === 'signup' && (byteLength(password) < 8 || byteLength(password) > 128)) {
    problems.password = { key: 'auth.error.passwordRule' };
  }
  if (mode === 'signup') {
    const shown = displayName.trim();
    // eslint-disable-next-line no-control-regex
    if (byteLength(shown) > 64 || /[\u0000-\u001f\u007f]/.test(shown)) {
      problems.displayName = { key: 'auth.error.displayNameRule' };
    }
  }
  return problems;
}

/**
 * The words for an error any screen can meet: no answer, rate limits, server faults.
 * @param {{code?: string, retryAfter?: number | null}} error
 * @returns {Message}
 */
export function commonError(error) {
  switch (error?.code) {
    case 'network': return { key: 'errors.network' };
    case 'rate_limited': return error.retryAfter
      ? { key: 'errors.rateLimited', params: { seconds: error.retryAfter } }
      : { key: 'errors.rateLimitedSoon' };
    case 'internal': return { key: 'errors.internal' };
    default: return { key: 'errors.generic' };
  }
}

/**
 * Which field a `bad_value` is about: the server names it as `field "username" ...`.
 * @param {string | undefined} message
 * @returns {AuthField | null}
 */
export function fieldOf(message) {
  const match = /field "(\w+)"/.exec(message ?? '');
  const field = match?.[1];
  return field === 'username' || field === 'password' || field === 'displayName' ? field : null;
}

/**
 * A refused sign-in or sign-up, as a message on the field it is about (or on the form).
 * @param {{code?: string, message?: string, retryAfter?: number | null}} error
 * @returns {{field: AuthField | null, message: Message}}
 */
export function authError(error) {
  switch (error?.code) {
    case 'conflict': return { field: 'username', message: { key: 'auth.error.taken' } };
    case 'unauthenticated': return { field: null, message: { key: 'auth.error.wrongLogin' } };
    case 'bad_value':
    case 'missing_field':
    case 'wrong_type': {
      const field = fieldOf(error.message);
      if (field === 'username') return { field, message: { key: 'auth.error.usernameRule' } };
      if (field === 'password') return { field, message: { key: 'auth.error.passwordRule' } };
      if (field === 'displayName') return { field, message: { key: 'auth.error.displayNameRule' } };
      return { field: null, message: { key: 'errors.generic' } };
    }
    default: return { field: null, message: commonError(error) };
  }
}

/**
 * A refused contact request (POST /api/contacts and friends).
 * @param {{code?: string, message?: string, retryAfter?: number | null}} error
 * @returns {Message}
 */
export function contactError(error) {
  switch (error?.code) {
    case 'not_found': return { key: 'contacts.error.notFound' };
    case 'conflict': return { key: 'contacts.error.exists' };
    case 'bad_value': return /yourself/.test(error.message ?? '')
      ? { key: 'contacts.error.self' } : { key: 'contacts.error.notFound' };
    case 'forbidden': return { key: 'contacts.error.forbidden' };
    default: return commonError(error);
  }
}

/**
 * Why the server refused a call (CallView.serverError), for the ended notice.
 * `busy` is not here: it is an end reason of its own.
 * @param {string | null} code
 * @returns {Message | null}
 */
export function serverErrorMessage(code) {
  switch (code) {
    case null:
    case undefined:
    case 'busy': return null;
    case 'forbidden': return { key: 'server.forbidden' };
    case 'not_found': return { key: 'server.notFound' };
    case 'rate_limited': return { key: 'server.rateLimited' };
    case 'invalid_state': return { key: 'server.invalidState' };
    case 'internal': return { key: 'errors.internal' };
    default: return { key: 'server.other', params: { code } };
  }
}

/**
 * Why the calling core refused what the user asked (the SDK's `refused` event), given what
 * the user asked for last. The core's codes (docs/sdk.md): `busy` for dialing during a call,
 * `not_found` when there is no call to act on (it ended a moment before the click), and for
 * the camera `invalid_state` (it could not be opened) or `bad_value` (an audio call).
 * @param {{code?: string}} refusal
 * @param {Intent | null} lastIntent
 * @returns {Message}
 */
export function refusedMessage(refusal, lastIntent) {
  switch (refusal?.code) {
    case 'busy': return { key: 'refused.inCall' };
    case 'not_found': return { key: 'refused.noCall' };
    case 'rate_limited': return { key: 'server.rateLimited' };
    case 'invalid_state':
    case 'bad_value':
      if (lastIntent === 'camera') return { key: 'refused.cameraUnavailable' };
      return { key: 'refused.generic' };
    default: return { key: 'refused.generic' };
  }
}
