// Sign in and sign up: one form with two modes. Fields are checked with the server's rules
// before sending; what the server refuses is shown on the field it is about.

import { h, setText, show } from '../dom.mjs';
import { authError, validateAuth } from '../errors.mjs';

/** @typedef {import('../errors.mjs').Message} Message */
/** @typedef {import('../errors.mjs').AuthField} AuthField */

/**
 * @param {{ t: (key: string, params?: Record<string, string | number>) => string,
 *           api: import('../api.mjs').Api,
 *           onSignedIn: (session: import('../api.mjs').Session) => void }} app
 */
export function createAuthScreen(app) {
  /** @type {'signin' | 'signup'} */
  let mode = 'signin';
  /** @type {Message | null} a note above the form: session expired, signed out */
  let notice = null;
  /** @type {Partial<Record<AuthField, Message>>} */
  let fieldErrors = {};
  /** @type {Message | null} */
  let formError = null;
  let busy = false;
  let lockedUntil = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let unlockTimer;

  /**
   * @param {AuthField} name
   * @param {string} type
   * @param {string} testid
   */
  function field(name, type, testid) {
    const input = /** @type {HTMLInputElement} */ (h('input', {
      id: `auth-${name}`, name, type, 'data-testid': testid,
      'aria-describedby': `auth-${name}-hint auth-${name}-error`,
      autocapitalize: name === 'username' ? 'none' : null,
      spellcheck: name === 'username' ? 'false' : null,
      required: name !== 'displayName',
    }));
    const label = h('label', { for: `auth-${name}` });
    const hint = h('p', { id: `auth-${name}-hint`, class: 'hint' });
    const error = h('p', { id: `auth-${name}-error`, class: 'field-error', 'data-tid': `auth-${name}-error` });
    const wrap = h('div', { class: 'field' }, label, input, hint, error);
    input.addEventListener('input', () => {
      if (fieldErrors[name]) {
        delete fieldErrors[name];
        render();
      }
    });
    return { input, label, hint, error, wrap };
  }

  const fields = {
    username: field('username', 'text', 'auth-username'),
    displayName: field('displayName', 'text', 'auth-display-name'),
    password: field('password', 'password', 'auth-password'),
  };
  const title = h('h2', { id: 'auth-title', class: 'auth-title' });
  const noticeEl = h('p', { class: 'notice', role: 'status', 'data-tid': 'auth-notice' });
  const formErrorEl = h('p', { class: 'form-error', role: 'alert', 'data-tid': 'auth-error' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'btn primary wide', 'data-testid': 'auth-submit' }));
  const form = h('form', { class: 'card auth-form', novalidate: true, 'data-testid': 'auth-form', 'aria-labelledby': 'auth-title', onsubmit: onSubmit },
    title, noticeEl, fields.username.wrap, fields.displayName.wrap, fields.password.wrap, formErrorEl, submit);
  const switchText = h('span');
  const switchButton = h('button', { type: 'button', class: 'link', 'data-testid': 'auth-switch', onclick: () => setMode(mode === 'signin' ? 'signup' : 'signin', true) });
  const tagline = h('p', { class: 'tagline' });
  const el = h('section', { class: 'screen auth', 'data-testid': 'auth-screen', 'aria-labelledby': 'auth-title' },
    tagline, form, h('p', { class: 'auth-switch' }, switchText, ' ', switchButton));

  /**
   * @param {'signin' | 'signup'} next
   * @param {boolean} [focus]
   */
  function setMode(next, focus = false) {
    mode = next;
    fieldErrors = {};
    formError = null;
    render();
    if (focus) fields.username.input.focus();
  }

  /** @param {Event} event */
  async function onSubmit(event) {
    event.preventDefault();
    if (busy || Date.now() < lockedUntil) return;
    const values = {
      username: fields.username.input.value,
      password: fields.password.input.value,
      displayName: fields.displayName.input.value,
    };
    fieldErrors = validateAuth(mode, values);
    formError = null;
    notice = null;
    const first = /** @type {AuthField[]} */ (['username', 'displayName', 'password']).find((f) => fieldErrors[f]);
    if (first) {
      render();
      fields[first].input.focus();
      return;
    }
    busy = true;
    render();
    try {
      const username = values.username.trim();
      const session = mode === 'signup'
        ? await app.api.register({ username, password: values.password, ...(values.displayName.trim() ? { displayName: values.displayName.trim() } : {}) })
        : await app.api.login({ username, password: values.password });
      busy = false;
      fields.password.input.value = '';
      render();
      app.onSignedIn(session);
    } catch (error) {
      busy = false;
      const e = /** @type {any} */ (error);
      const { field: which, message } = authError(e);
      if (which) fieldErrors[which] = message;
      else formError = message;
      if (e?.code === 'rate_limited' && e.retryAfter) {
        lockedUntil = Date.now() + e.retryAfter * 1000;
        clearTimeout(unlockTimer);
        unlockTimer = setTimeout(() => { lockedUntil = 0; formError = null; render(); }, e.retryAfter * 1000);
      }
      render();
      if (which) fields[which].input.focus();
    }
  }

  function render() {
    const { t } = app;
    const signup = mode === 'signup';
    form.dataset.mode = mode;
    setText(tagline, t('app.tagline'));
    setText(title, t(signup ? 'auth.signUpTitle' : 'auth.signInTitle'));
    setText(fields.username.label, t('auth.username'));
    setText(fields.displayName.label, t('auth.displayName'));
    setText(fields.password.label, t('auth.password'));
    setText(fields.username.hint, signup ? t('auth.usernameHint') : '');
    setText(fields.password.hint, signup ? t('auth.passwordHint') : '');
    setText(fields.displayName.hint, '');
    fields.username.hint.hidden = !signup;
    fields.password.hint.hidden = !signup;
    fields.displayName.hint.hidden = true;
    fields.displayName.wrap.hidden = !signup;
    fields.username.input.setAttribute('autocomplete', 'username');
    fields.password.input.setAttribute('autocomplete', signup ? 'new-password' : 'current-password');
    fields.displayName.input.setAttribute('autocomplete', 'nickname');
    for (const name of /** @type {AuthField[]} */ (['username', 'displayName', 'password'])) {
      const problem = fieldErrors[name];
      setText(fields[name].error, problem ? t(problem.key, problem.params) : '');
      show(fields[name].error, Boolean(problem));
      if (problem) fields[name].input.setAttribute('aria-invalid', 'true');
      else fields[name].input.removeAttribute('aria-invalid');
    }
    setText(noticeEl, notice ? t(notice.key, notice.params) : '');
    show(noticeEl, Boolean(notice));
    setText(formErrorEl, formError ? t(formError.key, formError.params) : '');
    show(formErrorEl, Boolean(formError));
    setText(submit, busy ? t('auth.busy') : t(signup ? 'auth.submitSignUp' : 'auth.submitSignIn'));
    submit.disabled = busy || Date.now() < lockedUntil;
    submit.setAttribute('aria-busy', busy ? 'true' : 'false');
    setText(switchText, t(signup ? 'auth.toSignIn' : 'auth.toSignUp'));
    setText(switchButton, t(signup ? 'auth.submitSignIn' : 'auth.submitSignUp'));
  }

  return {
    el,
    render,
    /**
     * Shows the screen fresh, with an optional note (why the user is here).
     * @param {Message | null} message
     */
    reset(message) {
      notice = message;
      fieldErrors = {};
      formError = null;
      busy = false;
      fields.password.input.value = '';
      render();
    },
    focus() {
      fields.username.input.focus();
    },
  };
}
