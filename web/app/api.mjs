// The REST client for duet-server (docs/api.md). Every failure is an ApiError with the
// server's stable `code` (or `network` when no answer came), the HTTP `status` and, for
// `rate_limited`, the seconds to wait. A 401 on a route that needs a token also calls
// `onUnauthenticated`, so the page can go back to the sign-in screen from anywhere.

export class ApiError extends Error {
  /**
   * @param {string} code the server's error code (`conflict`, `bad_value`, ...) or `network`
   * @param {string} message the server's message, for people and logs
   * @param {number} status HTTP status, 0 when there was no answer
   * @param {number | null} [retryAfter] seconds from the Retry-After header
   */
  constructor(code, message, status, retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * @typedef {{id: string, username: string, displayName: string, createdAt?: string}} User
 * @typedef {{token: string, expiresAt: string, user: User}} Session
 * @typedef {{id: string, username: string, displayName: string,
 *            state: 'accepted' | 'outgoing' | 'incoming', since: string,
 *            presence: 'online' | 'busy' | 'offline'}} Contact
 * @typedef {import('./format.mjs').CallRecord} CallRecord
 */

/**
 * Retry-After as whole seconds (the server sends seconds; an HTTP date is read too).
 * @param {string | null} value
 * @param {number} now
 * @returns {number | null}
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * @param {{ baseUrl?: string, fetch?: typeof fetch, getToken: () => string | null,
 *           onUnauthenticated?: (error: ApiError) => void }} options
 */
export function createApi({ baseUrl = '', fetch: fetchImpl = globalThis.fetch.bind(globalThis), getToken, onUnauthenticated }) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, auth?: boolean }} [options]
   */
  async function request(method, path, { body, auth = true } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) {
      const token = getToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    let response;
    try {
      response = await fetchImpl(baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (cause) {
      throw new ApiError('network', cause instanceof Error ? cause.message : String(cause), 0);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    /** @type {any} */
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (response.ok) return data;
    const code = typeof data?.error?.code === 'string' ? data.error.code : response.status >= 500 ? 'internal' : 'bad_response';
    const message = typeof data?.error?.message === 'string' ? data.error.message : `HTTP ${response.status}`;
    const error = new ApiError(code, message, response.status, parseRetryAfter(response.headers.get('Retry-After')));
    if (auth && response.status === 401 && onUnauthenticated) onUnauthenticated(error);
    throw error;
  }

  const id = (/** @type {string} */ value) => encodeURIComponent(value);

  return {
    /** @returns {Promise<Session>} */
    register: (/** @type {{username: string, password: string, displayName?: string}} */ fields) =>
      request('POST', '/api/auth/register', { body: fields, auth: false }),
    /** @returns {Promise<Session>} */
    login: (/** @type {{username: string, password: string}} */ fields) =>
      request('POST', '/api/auth/login', { body: fields, auth: false }),
    /** @returns {Promise<{user: User, missedUnseen: number}>} */
    me: () => request('GET', '/api/me'),
    /** @returns {Promise<Contact[]>} */
    contacts: () => request('GET', '/api/contacts'),
    /** @returns {Promise<Contact>} */
    addContact: (/** @type {string} */ username) => request('POST', '/api/contacts', { body: { username } }),
    /** @returns {Promise<Contact>} */
    acceptContact: (/** @type {string} */ userId) => request('POST', `/api/contacts/${id(userId)}/accept`),
    /** @returns {Promise<null>} */
    removeContact: (/** @type {string} */ userId) => request('DELETE', `/api/contacts/${id(userId)}`),
    /** @returns {Promise<CallRecord[]>} */
    calls: ({ limit = 20, skip = 0 } = {}) => request('GET', `/api/calls?limit=${limit}&skip=${skip}`),
    /** @returns {Promise<CallRecord[]>} */
    missedCalls: ({ limit = 10 } = {}) => request('GET', `/api/calls/missed?limit=${limit}`),
    /** @returns {Promise<{unseen: number}>} */
    missedCount: () => request('GET', '/api/calls/missed/count'),
    /** @returns {Promise<null>} */
    markMissedSeen: () => request('POST', '/api/calls/missed/seen'),
  };
}

/** @typedef {ReturnType<typeof createApi>} Api */
