import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  displayStatus, formatCallTime, formatClock, formatDuration, formatLocale, formatTimer, initials,
  otherParty, presenceOf, STATUS_KEYS, talkSeconds,
} from '../../web/app/format.mjs';
import { translator } from './helpers.mjs';

const tr = translator('tr');
const en = translator('en');

describe('formatDuration (the seed: under 60 s "N saniye", else m:ss)', () => {
  test('seconds under a minute, in words', () => {
    assert.equal(formatDuration(0, tr), '0 saniye');
    assert.equal(formatDuration(1, tr), '1 saniye');
    assert.equal(formatDuration(59, tr), '59 saniye');
    assert.equal(formatDuration(42, en), '42 s');
  });
  test('a minute and more as m:ss, the same in both languages', () => {
    assert.equal(formatDuration(60, tr), '1:00');
    assert.equal(formatDuration(61, en), '1:01');
    assert.equal(formatDuration(754, tr), '12:34');
    assert.equal(formatDuration(3599, tr), '59:59');
  });
  test('an hour and more as h:mm:ss', () => {
    assert.equal(formatDuration(3600, tr), '1:00:00');
    assert.equal(formatDuration(3723, en), '1:02:03');
  });
  test('fractions are cut, nonsense reads as 0', () => {
    assert.equal(formatDuration(59.9, en), '59 s');
    assert.equal(formatDuration(-5, en), '0 s');
    assert.equal(formatDuration(/** @type {any} */ (null), en), '0 s');
    assert.equal(formatDuration(Number.NaN, tr), '0 saniye');
  });
  test('formatClock', () => {
    assert.equal(formatClock(0), '0:00');
    assert.equal(formatClock(9), '0:09');
    assert.equal(formatClock(36000), '10:00:00');
  });
});

describe('formatTimer (the running call timer, mm:ss from startedAt)', () => {
  const start = 1_700_000_000_000;
  test('counts whole seconds', () => {
    assert.equal(formatTimer(start, start), '00:00');
    assert.equal(formatTimer(start, start + 999), '00:00');
    assert.equal(formatTimer(start, start + 1000), '00:01');
    assert.equal(formatTimer(start, start + 65_000), '01:05');
    assert.equal(formatTimer(start, start + 3_599_000), '59:59');
  });
  test('hours are added in front', () => {
    assert.equal(formatTimer(start, start + 3_600_000), '1:00:00');
    assert.equal(formatTimer(start, start + 3_661_000), '1:01:01');
  });
  test('no start, or a clock that went back, shows 00:00', () => {
    assert.equal(formatTimer(null, start), '00:00');
    assert.equal(formatTimer(start, start - 5000), '00:00');
  });
});

describe('talkSeconds (the duration a history row shows)', () => {
  /** @param {string} status @param {string | null} endReason @param {number | null} duration */
  const secs = (status, endReason, duration) => talkSeconds(/** @type {any} */ ({ status, direction: 'outgoing', endReason, duration }));
  test('a call that connected shows how long it lasted', () => {
    assert.equal(secs('ended', 'hangup', 42), 42);
    assert.equal(secs('ended', 'connection_lost', 7), 7);
  });
  test('none for a call that never connected: the server records it failed, with no talk time', () => {
    assert.equal(secs('failed', 'failed', 0), null);
  });
  test('none for unanswered calls, or a call shorter than a second', () => {
    assert.equal(secs('missed', 'timeout', null), null);
    assert.equal(secs('rejected', 'rejected', null), null);
    assert.equal(secs('ended', 'hangup', 0), null);
  });
});

describe('displayStatus (history rows in words, from the viewer\'s side)', () => {
  /** @param {string} status @param {'outgoing'|'incoming'} direction @param {string|null} [endReason] */
  const s = (status, direction, endReason = null) => displayStatus(/** @type {any} */ ({ status, direction, endReason }));
  test('the seed\'s statuses', () => {
    assert.equal(s('ended', 'outgoing', 'hangup'), 'ended');
    assert.equal(s('ended', 'incoming', 'connection_lost'), 'ended');
    assert.equal(s('missed', 'incoming', 'timeout'), 'missed');
    assert.equal(s('rejected', 'outgoing', 'rejected'), 'rejected');
    assert.equal(s('rejected', 'incoming', 'rejected'), 'rejected');
    assert.equal(s('busy', 'outgoing', 'busy'), 'busy');
    assert.equal(s('failed', 'incoming', 'failed'), 'failed');
  });
  test('an answered call whose peers never connected reads as failed, for both sides', () => {
    assert.equal(s('failed', 'outgoing', 'failed'), 'failed');
    assert.equal(s('failed', 'incoming', 'failed'), 'failed');
  });
  test('a caller who gave up: cancelled for the caller, missed for the callee', () => {
    assert.equal(s('cancelled', 'outgoing', 'cancelled'), 'cancelled');
    assert.equal(s('cancelled', 'incoming', 'cancelled'), 'missed');
    assert.equal(s('cancelled', 'incoming', 'timeout'), 'missed');
    assert.equal(s('cancelled', 'incoming', null), 'missed');
  });
  test('a glare cancel is not a missed call (the other call went through)', () => {
    assert.equal(s('cancelled', 'incoming', 'glare'), 'cancelled');
  });
  test('unanswered, from the caller\'s side, is "no answer"', () => {
    assert.equal(s('missed', 'outgoing', 'timeout'), 'noAnswer');
    assert.equal(s('cancelled', 'outgoing', 'timeout'), 'noAnswer');
  });
  test('calls not over yet are in progress', () => {
    for (const status of ['pending', 'ringing', 'active', 'something-new']) assert.equal(s(status, 'incoming'), 'ongoing');
  });
  test('the seed\'s Turkish words', () => {
    const word = (/** @type {keyof typeof STATUS_KEYS} */ k) => tr(STATUS_KEYS[k]);
    assert.equal(word('ended'), 'Bağlandı');
    assert.equal(word('missed'), 'Cevapsız');
    assert.equal(word('rejected'), 'Reddedildi');
    assert.equal(word('busy'), 'Meşgul');
    assert.equal(en(STATUS_KEYS.ended), 'Connected');
    assert.equal(en(STATUS_KEYS.missed), 'Missed');
    assert.equal(en(STATUS_KEYS.rejected), 'Declined');
  });
  test('every display status has words in both languages', () => {
    for (const key of Object.values(STATUS_KEYS)) {
      assert.ok(tr(key).length > 0);
      assert.ok(en(key).length > 0);
    }
  });
});

describe('formatCallTime', () => {
  const now = Date.parse('2026-11-22T15:00:00.000Z');
  const opts = (/** @type {any} */ t, locale) => ({ t, locale, now, timeZone: 'UTC' });
  test('today and yesterday in words', () => {
    assert.equal(formatCallTime('2026-11-22T03:15:36.123Z', opts(tr, 'tr-TR')), 'Bugün 03:15');
    assert.equal(formatCallTime('2026-11-21T23:59:00.000Z', opts(tr, 'tr-TR')), 'Dün 23:59');
    assert.match(formatCallTime('2026-11-22T14:05:00.000Z', opts(en, 'en-US')), /^Today 02:05\sPM$/);
  });
  test('older calls with the seed\'s date and time', () => {
    assert.equal(formatCallTime('2026-11-02T09:07:00.000Z', opts(tr, 'tr-TR')), '02.11.2026 09:07');
    assert.match(formatCallTime('2026-11-02T09:07:00.000Z', opts(en, 'en-US')), /^11\/02\/2026, 09:07\sAM$/);
  });
  test('a bad time shows nothing', () => {
    assert.equal(formatCallTime('not a time', opts(tr, 'tr-TR')), '');
  });
});

describe('small helpers', () => {
  test('formatLocale keeps the browser\'s tag when it is of the chosen language', () => {
    assert.equal(formatLocale('en', 'en-GB'), 'en-GB');
    assert.equal(formatLocale('tr', 'en-GB'), 'tr-TR');
    assert.equal(formatLocale('tr', 'tr'), 'tr');
    assert.equal(formatLocale('en', undefined), 'en-US');
  });
  test('initials', () => {
    assert.equal(initials('Ayşe Yılmaz'), 'AY');
    assert.equal(initials('şule'), 'Ş');
    assert.equal(initials('  bob  the builder '), 'BT');
    assert.equal(initials(''), '?');
    assert.equal(initials(null), '?');
    assert.equal(initials('😀 smile'), '😀S');
  });
  test('otherParty is the person on the other side', () => {
    const caller = { id: 'u_a', username: 'a', displayName: 'A' };
    const receiver = { id: 'u_b', username: 'b', displayName: 'B' };
    assert.equal(otherParty(/** @type {any} */ ({ direction: 'outgoing', caller, receiver })), receiver);
    assert.equal(otherParty(/** @type {any} */ ({ direction: 'incoming', caller, receiver })), caller);
    assert.equal(otherParty(/** @type {any} */ ({ direction: 'outgoing', caller, receiver: null })).id, '');
  });
  test('presenceOf reads unknown values as offline', () => {
    assert.equal(presenceOf('online'), 'online');
    assert.equal(presenceOf('busy'), 'busy');
    assert.equal(presenceOf('away'), 'offline');
    assert.equal(presenceOf(undefined), 'offline');
  });
});
