// The signed-in session: the token lives in localStorage under `duet.token`. Tokens are
// HS256 JWTs whose `exp` claim (Unix seconds) says when the server stops taking them; the page
// reads it only to go back to the sign-in screen on time. It never trusts anything else in it:
// who the user is comes from GET /api/me. Also here: what the page makes of the SDK's
// connection states (a banner while reconnecting, back to sign-in when the token is refused).

export const TOKEN_STORAGE_KEY = 'duet.token';

/**
 * The `exp` claim of a JWT in milliseconds, or null when the token is not a readable JWT.
 * @param {string | null | undefined} token
 * @returns {number | null}
 */
export function tokenExpiry(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const claims = JSON.parse(atob(padded));
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * Whether a stored token is worth sending: present, a JWT, and not past its `exp`.
 * A token without a readable `exp` is left for the server to judge.
 * @param {string | null | undefined} token
 * @param {number} now milliseconds
 * @returns {'none' | 'expired' | 'usable'}
 */
export function tokenState(token, now) {
  if (!token) return 'none';
  const exp = tokenExpiry(token);
  if (exp !== null && exp <= now) return 'expired';
  return 'usable';
}

/**
 * @param {Storage | undefined} storage
 * @returns {string | null}
 */
export function readToken(storage) {
  try {
    return storage?.getItem(TOKEN_STORAGE_KEY) ?? null;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

/**
 * @param {Storage | undefined} storage
 * @param {string | null} token null forgets it
 */
export function writeToken(storage, token) {
  try {
    if (token) storage?.setItem(TOKEN_STORAGE_KEY, token);
    else storage?.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // storage disabled or full: signing in still works for this page
  }
}

/**
 * What the sign-in screen says when the server stopped taking the session's token: that it
 * expired if its `exp` has passed, else that the session ended (revoked, or the server's
 * secret changed).
 * @param {string | null | undefined} token
 * @param {number} now milliseconds
 * @returns {{key: 'auth.expired' | 'auth.sessionEnded'}}
 */
export function refusedTokenMessage(token, now) {
  return { key: tokenState(token, now) === 'expired' ? 'auth.expired' : 'auth.sessionEnded' };
}

/** @typedef {'none' | 'connecting' | 'online' | 'reconnecting' | 'offline' | 'unavailable'} Connection */

/**
 * What the page does with the SDK's connectionState ({state, reason}, docs/sdk.md):
 * - `online` / `reconnecting`: show that; calls go on through a drop;
 * - `signIn`: the token was refused, the session is over: back to sign-in with `message`;
 * - `restart`: the client ended for good without being asked to (its transport gave up):
 *   make a new one;
 * - `none`: the client was closed by the page itself.
 * @param {{state: string, reason: string}} status
 * @param {string | null} token
 * @param {number} now milliseconds
 * @returns {{kind: 'online' | 'reconnecting' | 'restart' | 'none'} | {kind: 'signIn', message: {key: string}}}
 */
export function connectionStep(status, token, now) {
  switch (status?.state) {
    case 'connected': return { kind: 'online' };
    case 'connecting':
    case 'reconnecting': return { kind: 'reconnecting' };
    case 'disconnected':
      if (status.reason === 'unauthenticated') return { kind: 'signIn', message: refusedTokenMessage(token, now) };
      if (status.reason === 'closed') return { kind: 'none' };
      return { kind: 'restart' };
    default: return { kind: 'none' };
  }
}

/**
 * The banner's line for the connection to the server, or null when there is nothing to say.
 * While reconnecting it stays the same words from try to try, so a screen reader says it once.
 * @param {Connection} connection
 * @returns {'app.reconnecting' | 'app.offline' | 'app.callsUnavailable' | null}
 */
export function connectionNotice(connection) {
  switch (connection) {
    case 'reconnecting': return 'app.reconnecting';
    case 'offline': return 'app.offline';
    case 'unavailable': return 'app.callsUnavailable';
    default: return null;
  }
}
