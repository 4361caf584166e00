// Contacts: add by username, answer requests, see who is online, call. Calls to people who
// are offline are allowed (they ring until missed, and the caller's phone says so), so the
// call buttons are always enabled; presence is shown beside them, in words and colour.

import { h, rebuild, setText, show } from '../dom.mjs';
import { contactError } from '../errors.mjs';
import { initials, PRESENCE_KEYS, presenceOf } from '../format.mjs';
import { icon } from '../icons.mjs';

/** @typedef {import('../api.mjs').Contact} Contact */
/** @typedef {import('../errors.mjs').Message} Message */

/**
 * @param {{ t: (key: string, params?: Record<string, string | number>) => string,
 *           api: import('../api.mjs').Api,
 *           contacts: () => Contact[] | null,
 *           contactsError: () => Message | null,
 *           presence: (userId: string) => string,
 *           reloadContacts: () => Promise<void>,
 *           startCall: (contact: Contact, video: boolean) => void }} app
 */
export function createContactsScreen(app) {
  /** @type {string | null} the contact whose removal waits for a confirmation */
  let removing = null;
  /** @type {{message: Message, kind: 'ok' | 'error'} | null} */
  let addResult = null;
  let adding = false;

  const heading = h('h2', { id: 'contacts-title', tabindex: '-1' });
  const addLabel = h('label', { for: 'contact-add-input' });
  const addInput = /** @type {HTMLInputElement} */ (h('input', {
    id: 'contact-add-input', name: 'username', type: 'text', autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', 'data-testid': 'contact-add-input', 'aria-describedby': 'contact-add-message',
  }));
  const addButton = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'contact-add-submit' }));
  const addMessage = h('p', { id: 'contact-add-message', class: 'form-message', role: 'status', 'data-testid': 'contact-add-message' });
  const addForm = h('form', { class: 'add-contact', novalidate: true, onsubmit: onAdd },
    addLabel, h('div', { class: 'inline-field' }, addInput, addButton), addMessage);

  const requestsTitle = h('h3', { id: 'requests-title' });
  const requestsList = h('ul', { class: 'list', 'aria-labelledby': 'requests-title', 'data-testid': 'requests-list' });
  const requestsSection = h('section', { class: 'group' }, requestsTitle, requestsList);

  const listTitle = h('h3', { id: 'contacts-list-title', class: 'visually-hidden' });
  const list = h('ul', { class: 'list', 'aria-labelledby': 'contacts-list-title', 'data-testid': 'contacts-list' });
  const empty = h('p', { class: 'empty', 'data-testid': 'contacts-empty' });
  const loadError = h('div', { class: 'load-error', role: 'alert' });

  const pendingTitle = h('h3', { id: 'pending-title' });
  const pendingList = h('ul', { class: 'list', 'aria-labelledby': 'pending-title', 'data-testid': 'pending-list' });
  const pendingSection = h('section', { class: 'group' }, pendingTitle, pendingList);

  const el = h('section', { class: 'screen contacts', 'aria-labelledby': 'contacts-title', 'data-testid': 'contacts-screen' },
    heading, addForm, requestsSection,
    h('section', { class: 'group' }, listTitle, loadError, empty, list),
    pendingSection);

  /** @param {Event} event */
  async function onAdd(event) {
    event.preventDefault();
    if (adding) return;
    const username = addInput.value.trim();
    if (!username) {
      addResult = { message: { key: 'contacts.error.empty' }, kind: 'error' };
      render();
      addInput.focus();
      return;
    }
    adding = true;
    addResult = null;
    render();
    try {
      const contact = await app.api.addContact(username);
      addInput.value = '';
      addResult = {
        message: { key: contact.state === 'accepted' ? 'contacts.addedAccepted' : 'contacts.added', params: { name: contact.displayName } },
        kind: 'ok',
      };
      await app.reloadContacts();
    } catch (error) {
      addResult = { message: contactError(/** @type {any} */ (error)), kind: 'error' };
    } finally {
      adding = false;
      render();
    }
  }

  /**
   * Runs a contact action, then reloads the list; a failure is shown under the add form.
   * @param {() => Promise<unknown>} action
   */
  async function act(action) {
    try {
      await action();
    } catch (error) {
      addResult = { message: contactError(/** @type {any} */ (error)), kind: 'error' };
    }
    removing = null;
    await app.reloadContacts();
    render();
  }

  /**
   * @param {string} action visible text of a button
   * @param {string} name whose row it is
   */
  const named = (action, name) => app.t('a11y.named', { action, name });

  /** @param {Contact} c */
  function contactRow(c) {
    const { t } = app;
    const presence = presenceOf(app.presence(c.id));
    const who = h('div', { class: 'who' },
      h('span', { class: 'name', text: c.displayName }),
      h('span', { class: 'meta' },
        h('span', { class: 'username', text: `@${c.username}` }),
        h('span', { class: `presence ${presence}`, 'data-testid': `presence-${c.username}`, text: t(PRESENCE_KEYS[presence]) })));
    /** @type {HTMLElement | HTMLElement[]} */
    let actions;
    if (removing === c.id) {
      actions = h('div', { class: 'actions confirm', role: 'group', 'aria-label': t('contacts.removeConfirm', { name: c.displayName }) },
        h('span', { class: 'confirm-text', text: t('contacts.removeConfirm', { name: c.displayName }) }),
        h('button', { type: 'button', class: 'btn danger', 'data-testid': `remove-confirm-${c.username}`, text: t('contacts.remove'),
          onclick: () => act(() => app.api.removeContact(c.id)) }),
        h('button', { type: 'button', class: 'btn', 'data-testid': `remove-cancel-${c.username}`, text: t('contacts.keep'),
          onclick: () => { removing = null; render(); focusTestId(`remove-${c.username}`); } }));
    } else {
      const audio = t('contacts.audioCall');
      const video = t('contacts.videoCall');
      const remove = t('contacts.remove');
      actions = [
        h('div', { class: 'calls' },
          h('button', { type: 'button', class: 'btn call', 'data-testid': `call-audio-${c.username}`, 'aria-label': named(audio, c.displayName),
            onclick: () => app.startCall(c, false) }, icon('phone'), h('span', { class: 'label', text: audio })),
          h('button', { type: 'button', class: 'btn call', 'data-testid': `call-video-${c.username}`, 'aria-label': named(video, c.displayName),
            onclick: () => app.startCall(c, true) }, icon('video'), h('span', { class: 'label', text: video }))),
        h('button', { type: 'button', class: 'btn subtle icon-only remove', 'data-testid': `remove-${c.username}`, 'aria-label': named(remove, c.displayName),
          title: remove, onclick: () => { removing = c.id; render(); focusTestId(`remove-cancel-${c.username}`); } }, icon('close')),
      ];
    }
    return h('li', { class: 'row contact', 'data-testid': `contact-${c.username}`, 'data-presence': presence, 'data-user-id': c.id },
      avatar(c.displayName, presence), who, actions);
  }

  /** @param {Contact} c */
  function requestRow(c) {
    const { t } = app;
    const accept = t('contacts.accept');
    const decline = t('contacts.decline');
    return h('li', { class: 'row request', 'data-testid': `request-${c.username}`, 'data-user-id': c.id },
      avatar(c.displayName, null),
      h('div', { class: 'who' },
        h('span', { class: 'name', text: c.displayName }),
        h('span', { class: 'meta', text: `@${c.username} · ${t('contacts.requestFrom')}` })),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn primary', 'data-testid': `request-accept-${c.username}`, 'aria-label': named(accept, c.displayName),
          onclick: () => act(() => app.api.acceptContact(c.id)) }, icon('check'), h('span', { class: 'label', text: accept })),
        h('button', { type: 'button', class: 'btn', 'data-testid': `request-decline-${c.username}`, 'aria-label': named(decline, c.displayName),
          onclick: () => act(() => app.api.removeContact(c.id)) }, icon('close'), h('span', { class: 'label', text: decline }))));
  }

  /** @param {Contact} c */
  function pendingRow(c) {
    const { t } = app;
    const withdraw = t('contacts.withdraw');
    return h('li', { class: 'row pending', 'data-testid': `pending-${c.username}`, 'data-user-id': c.id },
      avatar(c.displayName, null),
      h('div', { class: 'who' },
        h('span', { class: 'name', text: c.displayName }),
        h('span', { class: 'meta', text: `@${c.username} · ${t('contacts.pending')}` })),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', 'data-testid': `pending-withdraw-${c.username}`, 'aria-label': named(withdraw, c.displayName),
          onclick: () => act(() => app.api.removeContact(c.id)), text: withdraw })));
  }

  /** @param {string} id */
  function focusTestId(id) {
    const target = el.querySelector(`[data-testid="${CSS.escape(id)}"]`);
    if (target instanceof HTMLElement) target.focus();
  }

  function render() {
    const { t } = app;
    const contacts = app.contacts();
    setText(heading, t('contacts.title'));
    setText(addLabel, t('contacts.addLabel'));
    setText(addButton, t('contacts.add'));
    addButton.disabled = adding;
    setText(addMessage, addResult ? t(addResult.message.key, addResult.message.params) : '');
    addMessage.className = `form-message ${addResult?.kind ?? ''}`;
    setText(requestsTitle, t('contacts.requests'));
    setText(listTitle, t('contacts.title'));
    setText(pendingTitle, t('contacts.outgoing'));

    const problem = app.contactsError();
    loadError.hidden = !problem;
    if (problem) {
      loadError.replaceChildren(h('span', { text: t(problem.key, problem.params) }), ' ',
        h('button', { type: 'button', class: 'btn', text: t('app.retry'), onclick: () => app.reloadContacts() }));
    }
    const all = contacts ?? [];
    const incoming = all.filter((c) => c.state === 'incoming');
    const accepted = all.filter((c) => c.state === 'accepted');
    const outgoing = all.filter((c) => c.state === 'outgoing');
    requestsSection.hidden = incoming.length === 0;
    pendingSection.hidden = outgoing.length === 0;
    rebuild(requestsList, () => incoming.map(requestRow));
    rebuild(list, () => accepted.map(contactRow));
    rebuild(pendingList, () => outgoing.map(pendingRow));
    setText(empty, contacts === null ? t('app.loading') : t('contacts.empty'));
    show(empty, accepted.length === 0 && !problem);
  }

  return { el, render, focus: () => heading.focus() };
}

/**
 * A round avatar with initials, and a presence dot when presence is known.
 * @param {string} name
 * @param {string | null} presence
 */
export function avatar(name, presence) {
  return h('span', { class: 'avatar', 'aria-hidden': 'true' },
    h('span', { text: initials(name) }),
    presence ? h('span', { class: `dot ${presence}` }) : null);
}
