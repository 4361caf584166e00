// The incoming-call dialog ("Gelen Arama"): a modal <dialog> opened with showModal(), so the
// rest of the page is inert and focus stays inside. Focus starts on "Accept".
//
// Escape does nothing here, on purpose. In a dialog Escape usually means "dismiss", and the
// only dismissal an incoming call has is "Decline", which tells the caller "declined" and
// cannot be undone. A stray Escape (meant for another window, or pressed twice out of habit)
// must not hang up on someone; declining takes a deliberate press of the Decline button.
// Chromium may close a dialog on a second Escape even when `cancel` is prevented (its
// close-watcher abuse rule), so a dialog that closes while the call still rings is reopened.
//
// The dialog stays up from the accept until the devices are open (callPhase "incoming"):
// when only the camera fails the call rings here again, and closing and reopening the dialog
// in between would flash the call screen and move focus twice before the problem shows.

import { h, setText, show } from '../dom.mjs';
import { callPhase, describeIncoming } from '../call-model.mjs';
import { initials } from '../format.mjs';
import { icon } from '../icons.mjs';

/** @typedef {import('../call-model.mjs').CallView} CallView */

/**
 * @param {{ t: (key: string, params?: Record<string, string | number>) => string,
 *           accept: (audioOnly: boolean) => void,
 *           decline: () => void }} app
 */
export function createIncomingDialog(app) {
  // Focusable from script only: it holds focus while the accept buttons are disabled.
  const title = h('h2', { id: 'incoming-title', class: 'incoming-title', tabindex: '-1' });
  const avatarText = h('span');
  const name = h('p', { class: 'incoming-name', 'data-testid': 'incoming-caller' });
  const type = h('p', { class: 'incoming-type', 'data-testid': 'incoming-type' });
  const problem = h('p', { class: 'problem', role: 'alert', 'data-tid': 'media-problem' });
  const accept = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn accept', 'data-testid': 'incoming-accept', onclick: () => app.accept(false) }));
  const acceptAudio = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn', 'data-tid': 'incoming-accept-audio', onclick: () => app.accept(true) }));
  const decline = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn danger', 'data-testid': 'incoming-decline', onclick: () => app.decline() }));
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', {
    class: 'incoming', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'incoming-title',
    'aria-describedby': 'incoming-desc', 'data-testid': 'incoming-dialog',
  },
  title,
  h('div', { class: 'avatar large ringing', 'aria-hidden': 'true' }, avatarText),
  h('div', { id: 'incoming-desc' }, name, type),
  problem,
  h('div', { class: 'incoming-actions' }, accept, acceptAudio, decline)));

  /** @type {CallView | null} */
  let view = null;
  let shownCallId = /** @type {string | null} */ (null);
  /** @type {Element | null} */
  let returnFocus = null;

  // Escape: see the note at the top of this file.
  dialog.addEventListener('cancel', (event) => event.preventDefault());
  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') event.preventDefault();
  });
  dialog.addEventListener('close', () => {
    if (view && callPhase(view) === 'incoming') dialog.showModal();
  });

  function render() {
    if (!view) return;
    const { t } = app;
    const d = describeIncoming(view);
    setText(title, t('incoming.title'));
    setText(avatarText, initials(d.name));
    setText(name, t('incoming.isCalling', { name: d.name }));
    setText(type, t(d.typeKey));
    dialog.dataset.callType = view.callType;
    setText(problem, d.problem ? t(d.problem.key, d.problem.params) : '');
    show(problem, d.problem !== null);
    accept.replaceChildren(icon(d.video ? 'video' : 'phone'), h('span', { text: t('incoming.accept') }));
    acceptAudio.replaceChildren(icon('phone'), h('span', { text: t('incoming.acceptAudio') }));
    decline.replaceChildren(icon('hangUp'), h('span', { text: t('incoming.decline') }));
    show(acceptAudio, d.offerAudioOnly);
    acceptAudio.classList.toggle('accept', d.preferAudioOnly);
    accept.classList.toggle('accept', !d.preferAudioOnly);
    // Answered already: a second accept would only be refused. Declining still works.
    accept.disabled = d.answering;
    acceptAudio.disabled = d.answering;
    dialog.setAttribute('aria-busy', String(d.answering));
  }

  return {
    el: dialog,
    render,
    /**
     * Shows the dialog for a ringing call, updates it while it rings, closes it after.
     * @param {CallView} next
     */
    update(next) {
      const before = view;
      view = next;
      if (callPhase(next) !== 'incoming') {
        show(problem, false);
        show(acceptAudio, false);
        if (dialog.open) {
          dialog.close();
          if (next.state === 'idle' && returnFocus instanceof HTMLElement && returnFocus.isConnected) returnFocus.focus();
        }
        shownCallId = null;
        return;
      }
      render();
      if (!dialog.open) {
        returnFocus = document.activeElement;
        dialog.showModal();
      }
      const d = describeIncoming(next);
      const problemAppeared = d.problem && (!before || before.mediaProblem !== next.mediaProblem);
      if (shownCallId !== next.callId || problemAppeared) {
        shownCallId = next.callId;
        (d.answering ? title : d.preferAudioOnly ? acceptAudio : accept).focus();
      } else if (d.answering && (document.activeElement === accept || document.activeElement === acceptAudio)) {
        // The button just pressed is disabled now: keep focus in the dialog, and off Decline,
        // where a second press of Enter would hang up on the caller.
        title.focus();
      }
    },
  };
}
