// Call history ("Arama Geçmişi"): missed calls first ("Kaçırılan Aramalar"), then every call,
// newest first, a page at a time. Each row says who, which way, audio or video, how it went
// (in the seed's words), when, and for how long.

import { h, rebuild, setText } from '../dom.mjs';
import { displayStatus, formatCallTime, formatDuration, otherParty, STATUS_KEYS, talkSeconds } from '../format.mjs';
import { icon } from '../icons.mjs';

/** @typedef {import('../format.mjs').CallRecord} CallRecord */
/** @typedef {import('../errors.mjs').Message} Message */

/**
 * @param {{ t: (key: string, params?: Record<string, string | number>) => string,
 *           locale: () => string,
 *           history: () => {calls: CallRecord[] | null, missed: CallRecord[], more: boolean,
 *                            loading: boolean, error: Message | null},
 *           loadMore: () => void,
 *           reload: () => void,
 *           callBack: (call: CallRecord) => void }} app
 */
export function createHistoryScreen(app) {
  const heading = h('h2', { id: 'history-title', tabindex: '-1' });
  const missedTitle = h('h3', { id: 'missed-title' });
  const missedList = h('ul', { class: 'list', 'aria-labelledby': 'missed-title', 'data-testid': 'missed-list' });
  const missedSection = h('section', { class: 'group missed', 'data-testid': 'missed-section' }, missedTitle, missedList);
  const allTitle = h('h3', { id: 'all-calls-title' });
  const list = h('ul', { class: 'list', 'aria-labelledby': 'all-calls-title', 'data-testid': 'history-list' });
  const status = h('p', { class: 'empty', role: 'status', 'data-testid': 'history-status' });
  const errorBox = h('div', { class: 'load-error', role: 'alert' });
  const more = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn wide', 'data-testid': 'history-more', onclick: () => app.loadMore() }));
  const el = h('section', { class: 'screen history', 'aria-labelledby': 'history-title', 'data-testid': 'history-screen' },
    heading, missedSection, h('section', { class: 'group' }, allTitle, errorBox, status, list, more));

  /**
   * @param {CallRecord} call
   * @param {string} testid
   */
  function row(call, testid) {
    const { t } = app;
    const shown = displayStatus(call);
    const other = otherParty(call);
    const outgoing = call.direction === 'outgoing';
    const video = call.type === 'video';
    const missed = shown === 'missed';
    const talked = talkSeconds(call);
    const duration = talked === null ? '' : formatDuration(talked, t);
    const callBack = t('history.callBack');
    return h('li', {
      class: `row call-row${missed ? ' is-missed' : ''}`,
      'data-testid': testid,
      'data-call-id': call.id,
      'data-status': shown,
      'data-api-status': call.status,
      'data-direction': call.direction,
      'data-type': call.type,
      'data-duration': call.duration ?? '',
    },
    h('span', { class: `dir-icon ${missed ? 'missed' : call.direction}` }, icon(missed ? 'missed' : outgoing ? 'outgoing' : 'incoming')),
    h('div', { class: 'who' },
      h('span', { class: 'name', text: other.displayName }),
      h('span', { class: 'meta plain' },
        h('span', { class: 'direction', text: t(outgoing ? 'history.outgoing' : 'history.incoming') }),
        h('span', { class: 'type' }, icon(video ? 'video' : 'phone', 'icon small'), t(video ? 'history.video' : 'history.audio')),
        h('span', { class: `status status-${shown}`, 'data-testid': 'call-status', text: t(STATUS_KEYS[shown]) }))),
    h('div', { class: 'when' },
      h('time', { datetime: call.createdAt, text: formatCallTime(call.createdAt, { t, locale: app.locale(), now: Date.now() }) }),
      duration ? h('span', { class: 'duration', 'data-testid': 'call-duration', text: duration }) : null),
    other.id ? h('button', {
      type: 'button', class: 'btn subtle icon-only', 'data-focus-key': `${testid}-${call.id}-back`,
      'aria-label': t('a11y.named', { action: callBack, name: other.displayName }), title: callBack,
      onclick: () => app.callBack(call),
    }, icon(video ? 'video' : 'phone')) : null);
  }

  function render() {
    const { t } = app;
    const state = app.history();
    setText(heading, t('history.title'));
    setText(missedTitle, t('history.missedTitle'));
    setText(allTitle, t('history.allTitle'));
    missedSection.hidden = state.missed.length === 0;
    rebuild(missedList, () => state.missed.map((c) => row(c, 'missed-row')));
    rebuild(list, () => (state.calls ?? []).map((c) => row(c, 'history-row')));
    errorBox.hidden = !state.error;
    if (state.error) {
      errorBox.replaceChildren(h('span', { text: t(state.error.key, state.error.params) }), ' ',
        h('button', { type: 'button', class: 'btn', text: t('app.retry'), onclick: () => app.reload() }));
    }
    const text = state.calls === null ? (state.error ? '' : t('history.loading'))
      : state.calls.length === 0 ? t('history.empty') : '';
    setText(status, text);
    status.hidden = text === '';
    setText(more, state.loading && state.calls !== null ? t('app.loading') : t('history.loadMore'));
    more.hidden = !state.more || state.calls === null;
    more.disabled = state.loading;
  }

  return { el, render, focus: () => heading.focus() };
}
