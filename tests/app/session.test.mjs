import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectionNotice, connectionStep, readToken, refusedTokenMessage, TOKEN_STORAGE_KEY, tokenExpiry, tokenState, writeToken } from '../../web/app/session.mjs';
import { translator } from './helpers.mjs';

const jwt = (/** @type {object} */ claims) =>
  `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

test('tokenExpiry reads exp (seconds) as milliseconds', () => {
  assert.equal(tokenExpiry(jwt({ sub: 'u_1', exp: 1795922136 })), 1795922136000);
  assert.equal(tokenExpiry(jwt({ sub: 'u_1', name: 'Ayşe ✓' , exp: 5 })), 5000, 'UTF-8 and base64url');
  assert.equal(tokenExpiry(jwt({ sub: 'u_1' })), null);
  assert.equal(tokenExpiry(jwt({ exp: '5' })), null);
  assert.equal(tokenExpiry('not.a.jwt'), null);
  assert.equal(tokenExpiry('abc'), null);
  assert.equal(tokenExpiry(null), null);
});

test('tokenState: none, expired, usable', () => {
  const now = 1_800_000_000_000;
  assert.equal(tokenState(null, now), 'none');
  assert.equal(tokenState('', now), 'none');
  assert.equal(tokenState(jwt({ exp: now / 1000 - 1 }), now), 'expired');
  assert.equal(tokenState(jwt({ exp: now / 1000 }), now), 'expired');
  assert.equal(tokenState(jwt({ exp: now / 1000 + 60 }), now), 'usable');
  assert.equal(tokenState('opaque-token', now), 'usable', 'the server judges what the page cannot read');
});

test('storage: kept, forgotten, and a broken storage does not throw', () => {
  const map = new Map();
  const storage = /** @type {Storage} */ (/** @type {unknown} */ ({
    getItem: (k) => map.get(k) ?? null, setItem: (k, v) => map.set(k, v), removeItem: (k) => map.delete(k),
  }));
  writeToken(storage, 'abc');
  assert.equal(map.get(TOKEN_STORAGE_KEY), 'abc');
  assert.equal(readToken(storage), 'abc');
  writeToken(storage, null);
  assert.equal(readToken(storage), null);
  const broken = /** @type {Storage} */ (/** @type {unknown} */ ({
    getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); }, removeItem() { throw new Error('denied'); },
  }));
  assert.equal(readToken(broken), null);
  assert.doesNotThrow(() => writeToken(broken, 'x'));
  assert.equal(readToken(undefined), null);
});

test('a refused token says the session expired when its exp has passed, else that it ended', () => {
  const now = 1_800_000_000_000;
  assert.deepEqual(refusedTokenMessage(jwt({ exp: now / 1000 - 1 }), now), { key: 'auth.expired' });
  assert.deepEqual(refusedTokenMessage(jwt({ exp: now / 1000 + 3600 }), now), { key: 'auth.sessionEnded' });
  assert.deepEqual(refusedTokenMessage('opaque-token', now), { key: 'auth.sessionEnded' });
});

test('the SDK\'s connection states: a drop is a banner, a refused token is the sign-in screen, a transport that gave up is a new client', () => {
  const now = 1_800_000_000_000;
  const token = jwt({ exp: now / 1000 + 3600 });
  assert.deepEqual(connectionStep({ state: 'connected', reason: 'signed_in' }, token, now), { kind: 'online' });
  assert.deepEqual(connectionStep({ state: 'reconnecting', reason: 'dropped' }, token, now), { kind: 'reconnecting' });
  assert.deepEqual(connectionStep({ state: 'disconnected', reason: 'unauthenticated' }, token, now), { kind: 'signIn', message: { key: 'auth.sessionEnded' } });
  assert.deepEqual(connectionStep({ state: 'disconnected', reason: 'unauthenticated' }, jwt({ exp: 1 }), now), { kind: 'signIn', message: { key: 'auth.expired' } });
  assert.deepEqual(connectionStep({ state: 'disconnected', reason: 'transport' }, token, now), { kind: 'restart' });
  assert.deepEqual(connectionStep({ state: 'disconnected', reason: 'closed' }, token, now), { kind: 'none' }, 'the page closed it itself');
});

test('the banner says "Reconnecting…" in both languages while reconnecting, and nothing once online', () => {
  assert.equal(connectionNotice('reconnecting'), 'app.reconnecting');
  assert.equal(translator('en')(connectionNotice('reconnecting') ?? ''), 'Reconnecting…');
  assert.equal(translator('tr')(connectionNotice('reconnecting') ?? ''), 'Yeniden bağlanılıyor…');
  for (const quiet of /** @type {const} */ (['online', 'connecting', 'none'])) assert.equal(connectionNotice(quiet), null, quiet);
  assert.equal(connectionNotice('offline'), 'app.offline');
  assert.equal(connectionNotice('unavailable'), 'app.callsUnavailable');
  assert.match(translator('tr')('auth.sessionEnded'), /tekrar giriş yapın/);
});
