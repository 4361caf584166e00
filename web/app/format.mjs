// Pure formatting for the page: durations, call timers, history statuses, dates, initials.
// Nothing here touches the DOM or the clock: the caller passes the translator (`t`) and `now`,
// so every function is tested in Node (tests/app/format.test.mjs).

/**
 * A translator: a key of web/locales/*.json and its parameters to text.
 * @typedef {(key: string, params?: Record<string, string | number>) => string} Translate
 */

/**
 * A call as GET /api/calls gives it (docs/api.md, "call").
 * @typedef {object} CallRecord
 * @property {string} id
 * @property {string} callerId
 * @property {string | null} receiverId
 * @property {'audio' | 'video'} type
 * @property {'pending'|'ringing'|'active'|'ended'|'missed'|'rejected'|'busy'|'cancelled'|'failed'} status
 * @property {string | null} startedAt
 * @property {string | null} endedAt
 * @property {number | null} duration
 * @property {string | null} endReason
 * @property {string} createdAt
 * @property {'outgoing' | 'incoming'} direction
 * @property {{id: string, username: string, displayName: string}} caller
 * @property {{id: string, username: string, displayName: string} | null} receiver
 */

/** @param {number} n @returns {string} */
const pad2 = (n) => String(n).padStart(2, '0');

/**
 * A call's length as the seed's call history shows it: under a minute "N saniye" / "N s",
 * otherwise m:ss (and h:mm:ss from an hour on, where m:ss would read as "75:03").
 * @param {number} seconds whole seconds, >= 0
 * @param {Translate} t
 * @returns {string}
 */
export function formatDuration(seconds, t) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  if (s < 60) return t('duration.seconds', { n: s });
  return formatClock(s);
}

/**
 * m:ss, or h:mm:ss from an hour on.
 * @param {number} totalSeconds
 * @returns {string}
 */
export function formatClock(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return hours > 0 ? `${hours}:${pad2(minutes)}:${pad2(rest)}` : `${minutes}:${pad2(rest)}`;
}

/**
 * The running call timer: mm:ss from `startedAt` (the CallView's milliseconds) to `now`;
 * h:mm:ss from an hour on. A clock that went backwards shows 00:00.
 * @param {number | null} startedAt
 * @param {number} now
 * @returns {string}
 */
export function formatTimer(startedAt, now) {
  if (startedAt == null) return '00:00';
  const s = Math.max(0, Math.floor((now - startedAt) / 1000));
  const hours = Math.floor(s / 3600);
  const mmss = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return hours > 0 ? `${hours}:${mmss}` : mmss;
}

/**
 * How a history row reads, in one word. The server's statuses are the ledger's; a person
 * thinks of them from their own side:
 * - `cancelled` for the callee is a missed call (the caller gave up while it rang), as the
 *   server's missed list counts it; a `glare` cancel is not (the other call went through).
 * - `missed` for the caller is "no answer".
 * - calls not final yet (`pending`, `ringing`, `active`) are "in progress".
 * @param {Pick<CallRecord, 'status' | 'direction' | 'endReason'>} call
 * @returns {'ended'|'missed'|'noAnswer'|'rejected'|'busy'|'cancelled'|'failed'|'ongoing'}
 */
export function displayStatus(call) {
  const outgoing = call.direction === 'outgoing';
  switch (call.status) {
    case 'ended': return 'ended';
    case 'missed': return outgoing ? 'noAnswer' : 'missed';
    case 'rejected': return 'rejected';
    case 'busy': return 'busy';
    case 'failed': return 'failed';
    case 'cancelled':
      if (outgoing) return call.endReason === 'timeout' ? 'noAnswer' : 'cancelled';
      return call.endReason === 'glare' ? 'cancelled' : 'missed';
    default: return 'ongoing';
  }
}

/**
 * The talk time a history row shows, in seconds, or null. The server's record decides: a call
 * whose peers never connected is `failed` with duration 0 (the ledger), so only a call that
 * connected has one.
 * @param {Pick<CallRecord, 'duration'>} call
 * @returns {number | null}
 */
export function talkSeconds(call) {
  return call.duration != null && call.duration > 0 ? call.duration : null;
}

/** The locale key of each display status (written out so the key test sees them). */
export const STATUS_KEYS = Object.freeze({
  ended: 'status.ended',
  missed: 'status.missed',
  noAnswer: 'status.noAnswer',
  rejected: 'status.rejected',
  busy: 'status.busy',
  cancelled: 'status.cancelled',
  failed: 'status.failed',
  ongoing: 'status.ongoing',
});

/**
 * The other person in a call record, from the viewer's side.
 * @param {CallRecord} call
 * @returns {{id: string, username: string, displayName: string}}
 */
export function otherParty(call) {
  const other = call.direction === 'outgoing' ? call.receiver : call.caller;
  return other ?? { id: '', username: '', displayName: '?' };
}

/**
 * The BCP 47 tag to format dates with: the browser's own tag when it is of the chosen
 * language (en-GB keeps its day-month order), otherwise the language's default.
 * @param {'tr' | 'en'} lang
 * @param {string | undefined} browserTag navigator.language
 * @returns {string}
 */
export function formatLocale(lang, browserTag) {
  if (browserTag && browserTag.toLowerCase().split('-')[0] === lang) return browserTag;
  return lang === 'tr' ? 'tr-TR' : 'en-US';
}

/**
 * When a call happened: "Today 14:03", "Yesterday 09:15", or a full short date and time
 * (the seed's 2-digit day and month, numeric year, 2-digit hour and minute).
 * @param {string} iso the server's ISO-8601 time
 * @param {{t: Translate, locale: string, now: number, timeZone?: string}} options
 * @returns {string}
 */
export function formatCallTime(iso, { t, locale, now, timeZone }) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return '';
  const zone = timeZone ? { timeZone } : {};
  const time = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', ...zone }).format(when);
  const day = (/** @type {Date} */ d) => new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', ...zone }).format(d);
  const today = day(new Date(now));
  if (day(when) === today) return t('time.today', { time });
  if (day(when) === day(new Date(now - 86_400_000))) return t('time.yesterday', { time });
  return new Intl.DateTimeFormat(locale, {
    day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', ...zone,
  }).format(when);
}

/**
 * One or two letters for an avatar: the first letters of the first two words of a name.
 * @param {string | null | undefined} name
 * @returns {string}
 */
export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const first = (/** @type {string} */ w) => Array.from(w)[0] ?? '';
  const letters = words.length === 1 ? first(words[0]) : first(words[0]) + first(words[1]);
  return letters.toLocaleUpperCase();
}

/** The locale key of each presence status. */
export const PRESENCE_KEYS = Object.freeze({
  online: 'presence.online',
  busy: 'presence.busy',
  offline: 'presence.offline',
});

/**
 * A presence status from the server, with anything unknown read as offline.
 * @param {unknown} status
 * @returns {'online' | 'busy' | 'offline'}
 */
export function presenceOf(status) {
  return status === 'online' || status === 'busy' ? status : 'offline';
}
