import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  authError, commonError, contactError, fieldOf, refusedMessage, serverErrorMessage, validateAuth,
} from '../../web/app/errors.mjs';
import { translator } from './helpers.mjs';

const en = translator('en');
const tr = translator('tr');
/** @param {{key: string, params?: any} | null} m @param {typeof en} t */
const say = (m, t = en) => (m ? t(m.key, m.params) : null);

describe('validateAuth (the server\'s rules, before sending)', () => {
  test('sign-in needs both fields, nothing more', () => {
    assert.deepEqual(validateAuth('signin', { username: 'Al', password: 'x' }), {});
    const p = validateAuth('signin', { username: '  ', password: '' });
    assert.equal(p.username?.key, 'auth.error.usernameRequired');
    assert.equal(p.password?.key, 'auth.error.passwordRequired');
  });
  test('sign-up: usernames of 3..32 of a-z 0-9 _ . - (upper case is lower-cased)', () => {
    for (const ok of ['abc', 'Alice', 'a.b-c_d', 'x'.repeat(32), ' bob ']) {
      assert.equal(validateAuth('signup', { username: ok, password: 'password1' }).username, undefined, ok);
    }
    for (const bad of ['ab', 'x'.repeat(33), 'a b', 'ayşe', 'a@b']) {
      assert.equal(validateAuth('signup', { username: bad, password: 'password1' }).username?.key, 'auth.error.usernameRule', bad);
    }
  });
  test('sign-up: passwords of 8..128 bytes', () => {
    assert.equal(validateAuth('signup', { username: 'abc', password: '1234567' }).password?.key, 'auth.error.passwordRule');
    assert.equal(validateAuth('signup', { username: 'abc', password: '12345678' }).password, undefined);
    assert.equal(validateAuth('signup', { username: 'abc', password: 'ş'.repeat(4) }).password, undefined, '8 bytes in UTF-8');
    assert.equal(validateAuth('signup', { username: 'abc', password: 'x'.repeat(129) }).password?.key, 'auth.error.passwordRule');
  });
  test('sign-up: display name optional, at most 64 bytes, no control characters', () => {
    assert.equal(validateAuth('signup', { username: 'abc', password: 'password1', displayName: '' }).displayName, undefined);
    assert.equal(validateAuth('signup', { username: 'abc', password: 'password1', displayName: 'Ayşe Yılmaz' }).displayName, undefined);
    assert.equal(validateAuth('signup', { username: 'abc', password: 'password1', displayName: 'ş'.repeat(33) }).displayName?.key, 'auth.error.displayNameRule');
    assert.equal(validateAuth('signup', { username: 'abc', password: 'password1', displayName: 'a\tb' }).displayName?.key, 'auth.error.displayNameRule');
  });
});

describe('authError (what the server refused, on the right field)', () => {
  test('conflict: the username is taken', () => {
    const e = authError({ code: 'conflict', message: 'username is taken' });
    assert.equal(e.field, 'username');
    assert.equal(say(e.message), 'This username is taken. Try another one.');
  });
  test('bad_value names its field', () => {
    assert.equal(fieldOf('field "password" must have 8 to 128 bytes'), 'password');
    assert.equal(authError({ code: 'bad_value', message: 'field "username" must have 3 to 32 characters' }).field, 'username');
    assert.equal(authError({ code: 'bad_value', message: 'field "displayName" must have 1 to 64 bytes' }).field, 'displayName');
    assert.deepEqual(authError({ code: 'bad_value', message: 'something else' }), { field: null, message: { key: 'errors.generic' } });
  });
  test('wrong login', () => {
    assert.equal(say(authError({ code: 'unauthenticated' }).message, tr), 'Kullanıcı adı veya şifre yanlış.');
  });
  test('rate limited, with the wait from Retry-After', () => {
    assert.equal(say(authError({ code: 'rate_limited', retryAfter: 6 }).message), 'Too many attempts. Try again in 6 s.');
    assert.equal(say(authError({ code: 'rate_limited', retryAfter: 6 }).message, tr), 'Çok fazla deneme. 6 saniye sonra tekrar deneyin.');
    assert.equal(authError({ code: 'rate_limited', retryAfter: null }).message.key, 'errors.rateLimitedSoon');
  });
  test('no answer, server faults', () => {
    assert.equal(authError({ code: 'network' }).message.key, 'errors.network');
    assert.equal(commonError({ code: 'internal' }).key, 'errors.internal');
    assert.equal(commonError(/** @type {any} */ (undefined)).key, 'errors.generic');
  });
});

describe('contactError', () => {
  test('maps the add-contact refusals', () => {
    assert.equal(say(contactError({ code: 'not_found', message: 'no such user' })), 'No one has that username.');
    assert.equal(contactError({ code: 'conflict' }).key, 'contacts.error.exists');
    assert.equal(contactError({ code: 'bad_value', message: 'you cannot add yourself as a contact' }).key, 'contacts.error.self');
    assert.equal(contactError({ code: 'forbidden' }).key, 'contacts.error.forbidden');
    assert.equal(contactError({ code: 'network' }).key, 'errors.network');
  });
});

describe('call refusals', () => {
  test('server errors on a call', () => {
    assert.equal(serverErrorMessage(null), null);
    assert.equal(serverErrorMessage('busy'), null, 'busy is an end reason of its own');
    assert.equal(serverErrorMessage('forbidden')?.key, 'server.forbidden');
    assert.equal(serverErrorMessage('rate_limited')?.key, 'server.rateLimited');
    assert.deepEqual(serverErrorMessage('bad_version'), { key: 'server.other', params: { code: 'bad_version' } });
  });
  test('a refused intent is explained by its code, and the camera\'s by the intent', () => {
    assert.equal(say(refusedMessage({ code: 'busy' }, 'call'), tr), 'Zaten bir görüşmedesiniz. Önce aramayı bitirin.');
    assert.equal(say(refusedMessage({ code: 'not_found' }, 'accept')), 'That call has already ended.');
    assert.equal(refusedMessage({ code: 'not_found' }, 'hangUp').key, 'refused.noCall');
    assert.equal(refusedMessage({ code: 'invalid_state' }, 'camera').key, 'refused.cameraUnavailable');
    assert.equal(refusedMessage({ code: 'bad_value' }, 'camera').key, 'refused.cameraUnavailable');
    assert.equal(refusedMessage({ code: 'invalid_state' }, 'accept').key, 'refused.generic');
    assert.equal(refusedMessage({ code: 'rate_limited' }, 'call').key, 'server.rateLimited');
    assert.equal(refusedMessage({ code: 'bad_value' }, 'call').key, 'refused.generic');
  });
});
