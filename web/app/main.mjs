// Duet's page: boot, session, routing between screens, and the wiring between the SDK's call
// state and the screens. Calls themselves are entirely the SDK's (web/sdk/duet-client.mjs):
// this file never touches RTCPeerConnection or getUserMedia, it only turns clicks into the
// SDK's intents and renders the CallView the SDK publishes.
//
// Screens: sign-in (#auth), contacts (#/contacts), call history (#/history); the call screen
// and the incoming-call dialog sit above them whenever the CallView says so.

import { createApi } from './api.mjs';
import { announcement, callPhase, describeIncoming, IDLE_VIEW, peerLabel } from './call-model.mjs';
import { announce, h, setText } from './dom.mjs';
import { commonError, refusedMessage } from './errors.mjs';
import { formatLocale, otherParty, presenceOf } from './format.mjs';
import { createTranslator, LANG_STORAGE_KEY, loadDictionary, pickLanguage, translateStatic } from './i18n.mjs';
import { connectionNotice, connectionStep, readToken, refusedTokenMessage, tokenExpiry, tokenState, writeToken } from './session.mjs';
import { createAuthScreen } from './screens/auth.mjs';
import { createCallScreen } from './screens/call.mjs';
import { createContactsScreen } from './screens/contacts.mjs';
import { createHistoryScreen } from './screens/history.mjs';
import { createIncomingDialog } from './screens/incoming.mjs';

/** @typedef {import('./call-model.mjs').CallView} CallView */
/** @typedef {import('./errors.mjs').Message} Message */
/** @typedef {import('./i18n.mjs').Lang} Lang */
/** @typedef {import('./api.mjs').Contact} Contact */

const SDK_URL = '/sdk/duet-client.mjs';
const MODULE_URL = '/duet/duet-core.mjs';
const HISTORY_PAGE = 20;
/** Contact requests have no push message: the list is read again this often while visible. */
const CONTACTS_POLL_MS = 30_000;
/** The server records a call's end when its message arrives; read history a moment later. */
const AFTER_CALL_REFRESH_MS = 800;
const TOAST_MS = 7000;
/** How long a call placed while the client is still connecting waits for it. */
const CLIENT_WAIT_MS = 10_000;

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

// ----- state ----------------------------------------------------------------------------------

const state = {
  /** @type {Lang} */
  lang: 'en',
  /** @type {Partial<Record<Lang, Record<string, string>>>} */
  dictionaries: {},
  /** @type {(key: string, params?: Record<string, string | number>) => string} */
  t: (key) => key,
  /** @type {string | null} */
  token: null,
  /** bumped on every sign-in and sign-out: late answers of an older session are dropped */
  generation: 0,
  /** @type {import('./api.mjs').User | null} */
  me: null,
  /** @type {Contact[] | null} */
  contacts: null,
  /** @type {Message | null} */
  contactsError: null,
  /** @type {Map<string, string>} live presence from the SDK, over what GET /api/contacts said */
  presence: new Map(),
  /** @type {'contacts' | 'history'} */
  route: 'contacts',
  missedUnseen: 0,
  history: {
    /** @type {import('./format.mjs').CallRecord[] | null} */
    calls: null,
    /** @type {import('./format.mjs').CallRecord[]} */
    missed: [],
    more: false,
    loading: false,
    /** @type {Message | null} */
    error: null,
  },
  /** @type {CallView} */
  view: IDLE_VIEW,
  /** @type {any} the DuetClient, once connected */
  client: null,
  /** @type {'none' | 'connecting' | 'online' | 'reconnecting' | 'offline' | 'unavailable'} */
  connection: 'none',
  /** whether this browser can share its screen (the SDK says; false on phones) */
  canShareScreen: false,
  /** @type {import('./errors.mjs').Intent | null} */
  lastIntent: null,
  /** @type {Element | null} where focus goes back to when the call screen closes */
  returnFocus: null,
  /** @type {{message: Message, kind: 'info' | 'error'} | null} */
  toast: null,
};

/** @type {ReturnType<typeof setTimeout> | undefined} */ let expiryTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */ let pollTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */ let reconnectTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */ let toastTimer;
/** @type {ReturnType<typeof setTimeout> | undefined} */ let contactsReloadTimer;
let reconnectDelay = 2000;

// ----- the REST client ------------------------------------------------------------------------

const api = createApi({
  getToken: () => state.token,
  onUnauthenticated: () => signOut({ key: 'auth.expired' }),
});

// ----- screens --------------------------------------------------------------------------------

/** The object screens read through: `t` is always the current language's translator. */
const app = {
  get t() { return state.t; },
  api,
  locale: () => formatLocale(state.lang, navigator.language),
  onSignedIn,
  contacts: () => state.contacts,
  contactsError: () => state.contactsError,
  presence: (/** @type {string} */ userId) => state.presence.get(userId) ?? 'offline',
  reloadContacts,
  startCall,
  history: () => state.history,
  loadMore: () => loadHistory(true),
  reload: () => loadHistory(false),
  callBack,
  accept,
  decline,
  hangUp,
  setMicrophone,
  setCamera,
  shareScreen,
  canShareScreen: () => state.canShareScreen,
  callAgain,
  dismissed: onEndedDismissed,
};

const authScreen = createAuthScreen(app);
const contactsScreen = createContactsScreen(app);
const historyScreen = createHistoryScreen(app);
const callScreen = createCallScreen(app);
const incomingDialog = createIncomingDialog(app);

const header = $('topbar');
const main = $('main');
const nav = $('nav');
const badge = $('missed-badge');
const badgeText = $('missed-badge-text');
const banner = $('banner');
const toast = $('toast');
const politeRegion = $('live-polite');
const assertiveRegion = $('live-assertive');
const langSelect = /** @type {HTMLSelectElement} */ ($('lang'));
const signOutButton = $('sign-out');
const meName = $('me');

document.body.append(callScreen.el, incomingDialog.el);

// ----- language -------------------------------------------------------------------------------

/**
 * @param {Lang} lang
 * @param {boolean} persist
 */
async function setLanguage(lang, persist) {
  let dict = state.dictionaries[lang];
  if (!dict) {
    dict = await loadDictionary(lang);
    state.dictionaries[lang] = dict;
  }
  state.lang = lang;
  state.t = createTranslator(dict, lang, (key) => console.warn(`duet: no "${key}" in ${lang}.json`));
  if (persist) {
    try { localStorage.setItem(LANG_STORAGE_KEY, lang); } catch { /* storage disabled */ }
  }
  document.documentElement.lang = lang;
  langSelect.value = lang;
  renderAll();
}

function renderAll() {
  translateStatic(document, state.t);
  document.title = state.t('app.name');
  renderChrome();
  authScreen.render();
  contactsScreen.render();
  historyScreen.render();
  callScreen.render();
  incomingDialog.render();
  updateTitle();
}

// ----- chrome: header, badge, banner, toast ---------------------------------------------------

function renderChrome() {
  const { t } = state;
  const signedIn = state.me !== null;
  nav.hidden = !signedIn;
  signOutButton.hidden = !signedIn;
  meName.hidden = !signedIn;
  setText(meName, signedIn ? /** @type {any} */ (state.me).displayName : '');
  if (signedIn) meName.title = t('nav.signedInAs', { name: /** @type {any} */ (state.me).displayName });
  for (const link of nav.querySelectorAll('a')) {
    const current = link.getAttribute('href') === `#/${state.route}`;
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const count = state.missedUnseen;
  badge.hidden = count === 0;
  if (count > 0) badge.setAttribute('data-testid', 'missed-badge');
  else badge.removeAttribute('data-testid');
  setText(badge, String(count > 99 ? '99+' : count));
  badge.dataset.count = String(count);
  setText(badgeText, count > 0 ? t('nav.missedBadge', { count }) : '');

  // For end-to-end tests (and styles): whether calls can be placed now.
  document.documentElement.dataset.connection = state.connection;
  const bannerKey = signedIn ? connectionNotice(state.connection) : null;
  banner.hidden = bannerKey === null;
  banner.dataset.connection = state.connection;
  setText(banner, bannerKey ? t(bannerKey) : '');

  toast.hidden = state.toast === null;
  if (state.toast) {
    toast.className = `toast ${state.toast.kind}`;
    toast.replaceChildren(
      h('span', { text: t(state.toast.message.key, state.toast.message.params) }),
      h('button', { type: 'button', class: 'btn subtle', text: t('app.dismiss'), onclick: () => showToast(null) }));
  }
}

/**
 * @param {Message | null} message
 * @param {'info' | 'error'} [kind]
 */
function showToast(message, kind = 'error') {
  clearTimeout(toastTimer);
  state.toast = message ? { message, kind } : null;
  renderChrome();
  if (message) toastTimer = setTimeout(() => showToast(null), TOAST_MS);
}

function updateTitle() {
  const { t, view } = state;
  if (view.state === 'incoming') document.title = `${t('incoming.isCalling', { name: peerLabel(view) })} – ${t('app.name')}`;
  else if (callPhase(view) === 'call') document.title = `${peerLabel(view)} – ${t('app.name')}`;
  else document.title = t('app.name');
}

/** @param {number} count */
function setMissedUnseen(count) {
  state.missedUnseen = Math.max(0, Number(count) || 0);
  renderChrome();
}

// ----- routing --------------------------------------------------------------------------------

function routeFromHash() {
  return location.hash === '#/history' ? 'history' : 'contacts';
}

/** @param {boolean} focus move focus to the new screen's heading (user navigation) */
function showRoute(focus) {
  if (!state.me) {
    main.replaceChildren(authScreen.el);
    return;
  }
  state.route = routeFromHash();
  const screen = state.route === 'history' ? historyScreen : contactsScreen;
  if (main.firstElementChild !== screen.el) main.replaceChildren(screen.el);
  renderChrome();
  if (state.route === 'history') openHistory();
  if (focus) screen.focus();
}

window.addEventListener('hashchange', () => showRoute(true));

// ----- session --------------------------------------------------------------------------------

/** @param {Message | null} message */
function showAuth(message) {
  state.me = null;
  authScreen.reset(message);
  main.replaceChildren(authScreen.el);
  renderChrome();
}

/** @param {import('./api.mjs').Session} session */
async function onSignedIn(session) {
  state.token = session.token;
  writeToken(localStorage, session.token);
  if (location.hash !== '#/contacts' && location.hash !== '#/history') history.replaceState(null, '', '#/contacts');
  await enterApp(session.user, null);
  contactsScreen.focus();
}

/**
 * @param {import('./api.mjs').User} user
 * @param {number | null} missedUnseen null: ask the server
 */
async function enterApp(user, missedUnseen) {
  const generation = ++state.generation;
  state.me = user;
  state.contacts = null;
  state.contactsError = null;
  state.presence.clear();
  showRoute(false);
  renderAll();
  if (missedUnseen === null) refreshMissedCount();
  else setMissedUnseen(missedUnseen);
  reloadContacts();
  scheduleExpiry();
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && state.generation === generation) reloadContacts();
  }, CONTACTS_POLL_MS);
  connectClient(generation);
}

/** Goes back to the sign-in screen when the token runs out (after any call in progress). */
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const exp = tokenExpiry(state.token);
  if (exp === null) return;
  const wait = Math.min(Math.max(0, exp - Date.now()), 2 ** 31 - 1);
  expiryTimer = setTimeout(function check() {
    if (Date.now() < exp) return scheduleExpiry();
    if (callPhase(state.view) === 'call' || callPhase(state.view) === 'incoming') {
      expiryTimer = setTimeout(check, 30_000);
      return;
    }
    signOut({ key: 'auth.expired' });
  }, wait);
}

/** @param {Message | null} message why, shown on the sign-in screen */
function signOut(message) {
  if (state.token === null && state.me === null) return;
  state.generation++;
  const client = state.client;
  state.client = null;
  state.token = null;
  state.connection = 'none';
  writeToken(localStorage, null);
  clearTimeout(expiryTimer);
  clearInterval(pollTimer);
  clearTimeout(reconnectTimer);
  if (client) Promise.resolve().then(() => client.close()).catch(() => {});
  clientChanged(null);
  state.contacts = null;
  state.presence.clear();
  state.history = { calls: null, missed: [], more: false, loading: false, error: null };
  state.missedUnseen = 0;
  state.toast = null;
  onView(IDLE_VIEW);
  callScreen.setLocalStream(null);
  callScreen.setRemoteStream(null);
  showAuth(message);
  authScreen.focus();
}

// ----- the calling client ----------------------------------------------------------------------

/** @param {number} generation */
async function connectClient(generation) {
  clearTimeout(reconnectTimer);
  state.connection = 'connecting';
  renderChrome();
  let client;
  try {
    const { DuetClient } = await import(SDK_URL);
    client = await DuetClient.create({ token: state.token, moduleUrl: MODULE_URL });
  } catch (error) {
    if (generation !== state.generation) return;
    const code = /** @type {any} */ (error)?.code;
    if (code === 'unauthenticated') {
      signOut(refusedTokenMessage(state.token, Date.now()));
      return;
    }
    console.warn('duet: calling is unavailable', error);
    state.connection = 'unavailable';
    renderChrome();
    reconnectTimer = setTimeout(() => connectClient(generation), reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 60_000);
    return;
  }
  if (generation !== state.generation) {
    client.close().catch(() => {});
    return;
  }
  reconnectDelay = 2000;
  state.client = client;
  state.connection = 'online';
  // The SDK's word (the devices it was given have getDisplayMedia; not on phones), not the
  // page's own look at the browser: the page leaves devices to the SDK.
  state.canShareScreen = client.canShareScreen === true;
  // A client that was let go (signed out, replaced) may still say things while it closes,
  // such as the ended view of the call close() hangs up: only the current one is heard.
  const mine = (/** @type {(value: any) => void} */ listener) => (/** @type {any} */ value) => {
    if (state.client === client) listener(value);
  };
  client.on('state', mine((/** @type {CallView} */ view) => onView(view)));
  client.on('localStream', mine((/** @type {MediaStream | null} */ s) => callScreen.setLocalStream(s)));
  client.on('remoteStream', mine((/** @type {MediaStream | null} */ s) => callScreen.setRemoteStream(s)));
  client.on('presence', mine(onPresence));
  client.on('refused', mine((/** @type {{code: string, message: string}} */ r) => {
    console.info('duet: refused', r);
    showToast(refusedMessage(r, state.lastIntent));
  }));
  // A refused token comes here too, but its end is the connection state's to handle.
  client.on('error', mine((/** @type {any} */ error) => console.warn('duet:', error)));
  client.on('connectionState', mine((/** @type {{state: string, reason: string}} */ status) => {
    const wasDown = state.connection === 'reconnecting' || state.connection === 'offline';
    const step = connectionStep(status, state.token, Date.now());
    switch (step.kind) {
      case 'online':
        state.connection = 'online';
        break;
      case 'reconnecting':
        // Calls go on through a drop: only the banner says so.
        state.connection = 'reconnecting';
        break;
      case 'signIn':
        // The token is no good any more: no client will get in with it.
        signOut(step.message);
        return;
      case 'restart':
        // The client ended by itself (its transport gave up): a new one, after a while.
        state.connection = 'offline';
        state.client = null;
        reconnectTimer = setTimeout(() => connectClient(generation), reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, 60_000);
        break;
      default:
        return;
    }
    renderChrome();
    if (step.kind === 'online' && wasDown) {
      reloadContacts();
      refreshMissedCount();
    }
  }));
  renderChrome();
  clientChanged(client);
  // Presence that came with the sign-in, before these listeners were there.
  for (const [userId, status] of Object.entries(client.presence ?? {})) state.presence.set(userId, presenceOf(status));
  contactsScreen.render();
  unlockAudio();
  if (client.view) onView(client.view);
}

/** Ringtones need an unlocked AudioContext: after sign-in (a click) and on any later gesture. */
function unlockAudio() {
  state.client?.unlockAudio?.().catch(() => {});
}
document.addEventListener('pointerdown', unlockAudio, { capture: true, passive: true });
document.addEventListener('keydown', unlockAudio, { capture: true, passive: true });

/** @param {{userId: string, status: string}} p */
function onPresence({ userId, status }) {
  state.presence.set(userId, presenceOf(status));
  const known = state.contacts?.some((c) => c.id === userId && c.state === 'accepted');
  if (known) contactsScreen.render();
  else {
    // Someone accepted our request (or removed us): the list itself changed.
    clearTimeout(contactsReloadTimer);
    contactsReloadTimer = setTimeout(reloadContacts, 200);
  }
}

/** @param {CallView} view */
function onView(view) {
  const before = state.view;
  state.view = view;
  const phaseBefore = callPhase(before);
  const phase = callPhase(view);
  // A call that starts while nothing was up (an incoming one, or one dialed from elsewhere):
  // remember where focus was, to put it back when the call is over.
  if ((phase === 'incoming' || phase === 'call') && (phaseBefore === 'none' || phaseBefore === 'ended') && !state.returnFocus) {
    const active = document.activeElement;
    if (active && active !== document.body && !callScreen.el.contains(active)) state.returnFocus = active;
  }

  incomingDialog.update(view);
  const up = callScreen.update(view);
  setInert(up);

  if (phase === 'incoming' && (phaseBefore !== 'incoming' || before.callId !== view.callId)) {
    const d = describeIncoming(view);
    announce(assertiveRegion, state.t(d.announce.key, d.announce.params));
  } else {
    const said = announcement(before, view);
    if (said) announce(politeRegion, state.t(said.key, said.params));
  }
  if (phase === 'ended' && (phaseBefore !== 'ended' || before.callId !== view.callId)) {
    const generation = state.generation;
    setTimeout(() => { if (generation === state.generation) afterCall(); }, AFTER_CALL_REFRESH_MS);
  }
  if (!up && phase !== 'incoming') restoreFocus();
  updateTitle();
}

/**
 * While the call screen is up, the rest of the page is out of reach (and of the reader); but
 * the connection banner stays above it: a call goes on through a drop, and the user should
 * know that, meanwhile, a hang-up or a mute reaches the other side only once it is back.
 * @param {boolean} on
 */
function setInert(on) {
  for (const el of [header, main, toast]) {
    if (on) el.setAttribute('inert', '');
    else el.removeAttribute('inert');
  }
  document.body.classList.toggle('in-call', on);
}

function restoreFocus() {
  const target = state.returnFocus;
  state.returnFocus = null;
  if (!target) return;
  if (document.activeElement && document.activeElement !== document.body && !callScreen.el.contains(document.activeElement)) return;
  if (target instanceof HTMLElement && target.isConnected && !target.closest('[inert]')) target.focus();
  else (state.route === 'history' ? historyScreen : contactsScreen).focus();
}

/** @param {CallView} view */
function onEndedDismissed(view) {
  if (state.view.callId === view.callId) onView(state.view);
}

/** After a call ends: the history and the missed badge have changed on the server. */
function afterCall() {
  if (state.route === 'history' && state.me) openHistory();
  else {
    refreshMissedCount();
    state.history.calls = null; // read again when the tab opens
  }
}

// ----- intents ---------------------------------------------------------------------------------

/**
 * @param {import('./errors.mjs').Intent} intent
 * @param {(client: any) => void} action
 */
async function intent(intent, action) {
  state.lastIntent = intent;
  // Right after sign-in the client may still be loading the core: a call waits for it a little.
  const client = state.client ?? (intent === 'call' ? await whenClient(CLIENT_WAIT_MS) : null);
  if (!client) {
    if (state.me) showToast({ key: 'app.callsUnavailable' });
    return;
  }
  try {
    action(client);
  } catch (error) {
    console.warn('duet:', error);
    showToast(refusedMessage(/** @type {any} */ (error), intent));
  }
}

/** @type {Set<(client: any) => void>} */
const clientWaiters = new Set();

/**
 * The client once it is connected, or null after `ms` (or at sign-out).
 * @param {number} ms
 * @returns {Promise<any>}
 */
function whenClient(ms) {
  if (state.client) return Promise.resolve(state.client);
  if (!state.me) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (/** @type {any} */ client) => {
      clearTimeout(timer);
      clientWaiters.delete(done);
      resolve(client);
    };
    const timer = setTimeout(() => done(null), ms);
    clientWaiters.add(done);
  });
}

/** @param {any} client */
function clientChanged(client) {
  for (const waiter of [...clientWaiters]) waiter(client);
}

/**
 * @param {string} peerId
 * @param {string} peerName
 * @param {boolean} video
 */
function dial(peerId, peerName, video) {
  if (callPhase(state.view) !== 'call') state.returnFocus = document.activeElement;
  intent('call', (client) => client.call(peerId, { video, peerName }));
}

/** @param {Contact} contact @param {boolean} video */
function startCall(contact, video) {
  dial(contact.id, contact.displayName, video);
}

/** @param {import('./format.mjs').CallRecord} call */
function callBack(call) {
  const other = otherParty(call);
  dial(other.id, other.displayName, call.type === 'video');
}

/** @param {CallView} view @param {boolean} video */
function callAgain(view, video) {
  if (view.peer) dial(view.peer, peerLabel(view), video);
}

/** @param {boolean} audioOnly */
function accept(audioOnly) { intent('accept', (c) => c.accept({ audioOnly })); }
function decline() { intent('reject', (c) => c.reject()); }
function hangUp() { intent('hangUp', (c) => c.hangUp()); }
/** @param {boolean} on */
function setMicrophone(on) { intent('microphone', (c) => c.setMicrophone(on)); }
/** @param {boolean} on */
function setCamera(on) { intent('camera', (c) => c.setCamera(on)); }
/** @param {boolean} on */
function shareScreen(on) { intent('screen', (c) => c.shareScreen(on)); }

// ----- data ------------------------------------------------------------------------------------

async function reloadContacts() {
  const generation = state.generation;
  try {
    const contacts = await api.contacts();
    if (generation !== state.generation) return;
    state.contacts = contacts;
    state.contactsError = null;
    for (const c of contacts) state.presence.set(c.id, presenceOf(c.presence));
  } catch (error) {
    if (generation !== state.generation || /** @type {any} */ (error)?.code === 'unauthenticated') return;
    state.contactsError = { key: 'contacts.loadError' };
  }
  contactsScreen.render();
}

async function refreshMissedCount() {
  const generation = state.generation;
  try {
    const { unseen } = await api.missedCount();
    if (generation === state.generation) setMissedUnseen(unseen);
  } catch {
    // the badge keeps its last value; the next refresh will tell
  }
}

/** Opening the history tab reads it and clears the missed-calls badge. */
function openHistory() {
  loadHistory(false);
  const generation = state.generation;
  api.markMissedSeen().then(() => {
    if (generation === state.generation) setMissedUnseen(0);
  }, () => {});
}

/** @param {boolean} append */
async function loadHistory(append) {
  const generation = state.generation;
  const hs = state.history;
  if (hs.loading && append) return;
  hs.loading = true;
  historyScreen.render();
  try {
    const skip = append && hs.calls ? hs.calls.length : 0;
    const [calls, missed] = await Promise.all([
      api.calls({ limit: HISTORY_PAGE, skip }),
      append ? Promise.resolve(hs.missed) : api.missedCalls({ limit: 10 }),
    ]);
    if (generation !== state.generation) return;
    hs.calls = append && hs.calls ? hs.calls.concat(calls.filter((c) => !hs.calls?.some((o) => o.id === c.id))) : calls;
    hs.missed = missed;
    hs.more = calls.length === HISTORY_PAGE;
    hs.error = null;
  } catch (error) {
    if (generation !== state.generation || /** @type {any} */ (error)?.code === 'unauthenticated') return;
    hs.error = { key: 'history.loadError' };
    if (/** @type {any} */ (error)?.code === 'network') hs.error = commonError(/** @type {any} */ (error));
  } finally {
    if (generation === state.generation) {
      hs.loading = false;
      historyScreen.render();
    }
  }
}

// pagehide, not beforeunload: it comes on every way out of the page. The core decides what
// leaving means for the call (docs/core.md); the hang-up's frame reaches the socket at once,
// before the page closes it.
window.addEventListener('pagehide', () => state.client?.leave());

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.me) {
    reloadContacts();
    if (state.route === 'history') openHistory();
    else refreshMissedCount();
  }
});

// ----- boot ------------------------------------------------------------------------------------

langSelect.addEventListener('change', () => {
  const lang = langSelect.value === 'tr' ? 'tr' : 'en';
  setLanguage(lang, true).catch((error) => console.warn('duet: language', error));
});
signOutButton.addEventListener('click', () => signOut({ key: 'auth.signedOut' }));

async function boot() {
  let stored = null;
  try { stored = localStorage.getItem(LANG_STORAGE_KEY); } catch { /* storage disabled */ }
  await setLanguage(pickLanguage(stored, navigator.languages?.length ? navigator.languages : [navigator.language]), false);
  const token = readToken(localStorage);
  const st = tokenState(token, Date.now());
  if (st === 'none') return showAuth(null);
  if (st === 'expired') {
    writeToken(localStorage, null);
    return showAuth({ key: 'auth.expired' });
  }
  state.token = token;
  try {
    const me = await api.me();
    await enterApp(me.user, me.missedUnseen);
  } catch (error) {
    const code = /** @type {any} */ (error)?.code;
    if (code === 'unauthenticated') return; // onUnauthenticated went to sign-in already
    // The server cannot be reached: keep the token and offer to try again.
    main.replaceChildren(h('section', { class: 'screen card boot-error', role: 'alert', 'data-testid': 'boot-error' },
      h('p', { text: state.t(commonError(/** @type {any} */ (error)).key) }),
      h('button', { type: 'button', class: 'btn primary', text: state.t('app.retry'), onclick: () => location.reload() })));
  }
}

document.documentElement.classList.add('js');
boot().catch((error) => {
  console.error('duet: boot failed', error);
  main.replaceChildren(h('p', { class: 'boot-error', role: 'alert', text: String(error) }));
});
