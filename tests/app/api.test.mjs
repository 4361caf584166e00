// The REST client against a fake fetch: what it sends, and the errors it makes of answers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError, createApi, parseRetryAfter } from '../../web/app/api.mjs';

/**
 * A fetch that records requests and answers from a list.
 * @param {Array<{status: number, body?: unknown, headers?: Record<string, string>} | Error>} answers
 */
function fakeFetch(answers) {
  /** @type {{url: string, init: any}[]} */
  const calls = [];
  const fetch = async (/** @type {string} */ url, /** @type {any} */ init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error('no answer left');
    if (next instanceof Error) throw next;
    const text = next.body === undefined ? '' : typeof next.body === 'string' ? next.body : JSON.stringify(next.body);
    return new Response(next.status === 204 ? null : text, { status: next.status, headers: next.headers });
  };
  return { fetch, calls };
}

describe('requests', () => {
  test('login sends JSON without a token', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: { token: 't', expiresAt: 'x', user: { id: 'u_1' } } }]);
    const api = createApi({ fetch, getToken: () => 'stale' });
    const s = await api.login({ username: 'alice', password: 'pw' });
    assert.equal(s.token, 't');
    assert.equal(calls[0].url, '/api/auth/login');
    assert.equal(calls[0].init.method, 'POST');
    assert.equal(calls[0].init.headers.Authorization, undefined);
    assert.equal(calls[0].init.headers['Content-Type'], 'application/json');
    assert.deepEqual(JSON.parse(calls[0].init.body), { username: 'alice', password: 'pw' });
  });
  test('other routes send the bearer token', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: [] }, { status: 200, body: { unseen: 3 } }, { status: 204 }]);
    const api = createApi({ fetch, getToken: () => 'tok' });
    assert.deepEqual(await api.contacts(), []);
    assert.deepEqual(await api.missedCount(), { unseen: 3 });
    assert.equal(await api.markMissedSeen(), null);
    assert.equal(calls[0].init.headers.Authorization, 'Bearer tok');
    assert.equal(calls[1].url, '/api/calls/missed/count');
    assert.equal(calls[2].url, '/api/calls/missed/seen');
    assert.equal(calls[2].init.method, 'POST');
  });
  test('paths: history pages, ids escaped', async () => {
    const { fetch, calls } = fakeFetch([{ status: 200, body: [] }, { status: 200, body: [] }, { status: 200, body: {} }, { status: 204 }]);
    const api = createApi({ fetch, getToken: () => 'tok', baseUrl: 'http://h' });
    await api.calls({ limit: 20, skip: 40 });
    await api.missedCalls();
    await api.acceptContact('u_a/b');
    await api.removeContact('u_x');
    assert.equal(calls[0].url, 'http://h/api/calls?limit=20&skip=40');
    assert.equal(calls[1].url, 'http://h/api/calls/missed?limit=10');
    assert.equal(calls[2].url, 'http://h/api/contacts/u_a%2Fb/accept');
    assert.equal(calls[3].init.method, 'DELETE');
  });
});

describe('errors', () => {
  test('the server\'s code and message, and the status', async () => {
    const { fetch } = fakeFetch([{ status: 409, body: { error: { code: 'conflict', message: 'username is taken' } } }]);
    const api = createApi({ fetch, getToken: () => null });
    await assert.rejects(api.register({ username: 'a', password: 'b' }), (e) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'conflict');
      assert.equal(e.status, 409);
      assert.equal(e.message, 'username is taken');
      return true;
    });
  });
  test('rate_limited carries Retry-After', async () => {
    const { fetch } = fakeFetch([{ status: 429, body: { error: { code: 'rate_limited', message: 'slow down' } }, headers: { 'Retry-After': '6' } }]);
    const api = createApi({ fetch, getToken: () => null });
    await assert.rejects(api.login({ username: 'a', password: 'b' }), { code: 'rate_limited', retryAfter: 6 });
  });
  test('no answer is a network error', async () => {
    const { fetch } = fakeFetch([new TypeError('Failed to fetch')]);
    const api = createApi({ fetch, getToken: () => 't' });
    await assert.rejects(api.me(), { code: 'network', status: 0 });
  });
  test('a body that is not the error shape still gives a code', async () => {
    const { fetch } = fakeFetch([{ status: 502, body: '<html>bad gateway</html>' }, { status: 418, body: '' }]);
    const api = createApi({ fetch, getToken: () => 't' });
    await assert.rejects(api.me(), { code: 'internal', status: 502 });
    await assert.rejects(api.me(), { code: 'bad_response', status: 418 });
  });
  test('401 on a signed-in route calls onUnauthenticated; a wrong login does not', async () => {
    const seen = [];
    const { fetch } = fakeFetch([
      { status: 401, body: { error: { code: 'unauthenticated', message: 'token expired' } } },
      { status: 401, body: { error: { code: 'unauthenticated', message: 'wrong username or password' } } },
    ]);
    const api = createApi({ fetch, getToken: () => 't', onUnauthenticated: (e) => seen.push(e.message) });
    await assert.rejects(api.contacts(), { code: 'unauthenticated' });
    await assert.rejects(api.login({ username: 'a', password: 'b' }), { code: 'unauthenticated' });
    assert.deepEqual(seen, ['token expired']);
  });
});

test('parseRetryAfter: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('5'), 5);
  assert.equal(parseRetryAfter(' 12 '), 12);
  assert.equal(parseRetryAfter(null), null);
  assert.equal(parseRetryAfter(''), null);
  assert.equal(parseRetryAfter('soon'), null);
  const now = Date.parse('2026-11-22T00:00:00Z');
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 00:00:30 GMT', now), 30);
  assert.equal(parseRetryAfter('Sun, 22 Nov 2026 00:00:00 GMT', now + 5000), 0);
});
