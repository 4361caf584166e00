// The signed-in session: the token lives in localStorage under `duet.token`. Tokens are
// HS256 JWTs whose `exp` claim (Unix seconds) says when the server stops taking them; the page
// reads it only to go back to the sign-in screen on time. It never trusts anything else in it:
// who the user is comes from GET /api/me.

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
