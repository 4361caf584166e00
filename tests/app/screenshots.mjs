// Walks the real page with real users and takes screenshots of every screen, in Turkish and
// English, at desktop and phone (360×640) sizes, checking as it goes what a person would see:
// no horizontal scrolling, focus where it belongs, the words and data-testids the e2e tests
// rely on. It starts its own duet-server (fresh data, RING_TIMEOUT=5) and drives Debian's
// Chromium with fake devices; calls go through the real SDK and core.
//
//   node tests/app/screenshots.mjs            # PNGs in build/screenshots/, exit 1 on a failed check
//
// Needs build/native/duet-server and build/wasm/module (the run command builds both).
// Not a node:test file (it takes about a minute and needs a browser): the unit tests of the
// page's logic are the *.test.mjs files beside it.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, launchChromium } from '../browser/chromium.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.resolve(ROOT, process.env.SCREENSHOT_DIR ?? 'build/screenshots');
const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 640 };

/** @type {string[]} */
const failures = [];
function check(ok, what) {
  if (!ok) {
    failures.push(what);
    console.log(`  FAIL ${what}`);
  }
}

// ----- the server ---------------------------------------------------------------------------

async function startServer() {
  const dir = await mkdtemp(path.join(tmpdir(), 'duet-app-'));
  const proc = spawn(path.join(ROOT, 'build/native/duet-server'), [], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: '0', HOST: '127.0.0.1', DUET_DATA_DIR: dir,
      DUET_WEB_DIR: path.join(ROOT, 'web'), DUET_MODULE_DIR: path.join(ROOT, 'build/wasm/module'), RING_TIMEOUT: '5',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`duet-server did not start:\n${log}`)), 15000);
    const read = (/** @type {Buffer} */ chunk) => {
      log += chunk;
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    proc.stdout.on('data', read);
    proc.stderr.on('data', read);
    proc.once('exit', (code) => reject(new Error(`duet-server exited (${code}):\n${log}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ----- REST setup ---------------------------------------------------------------------------

let BASE = '';
async function api(method, urlPath, { token, body } = {}) {
  const response = await fetch(BASE + urlPath, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
  return data;
}
async function register(username, displayName) {
  const s = await api('POST', '/api/auth/register', { body: { username, password: PASSWORD, displayName } });
  return { token: s.token, id: s.user.id, username: s.user.username, name: displayName };
}
const addContact = (from, to) => api('POST', '/api/contacts', { token: from.token, body: { username: to.username } });
const acceptContact = (who, from) => api('POST', `/api/contacts/${from.id}/accept`, { token: who.token });
const startCall = async (from, to, type) => (await api('POST', '/api/calls', { token: from.token, body: { receiverId: to.id, type } })).id;
const callAction = (who, id, action) => api('POST', `/api/calls/${id}/${action}`, { token: who.token });

// ----- page helpers -------------------------------------------------------------------------

async function shot(page, name) {
  await page.waitForTimeout(250); // let fonts and layout settle
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `${name}: no horizontal scroll (page is ${overflow}px too wide)`);
  for (const problem of await page.evaluate(layoutProblems)) check(false, `${name}: ${problem}`);
  console.log(`  ${path.relative(ROOT, file)}`);
}

// Runs in the page. What the page-wide scroll check cannot see: a control that spills out of
// the card or dialog it sits in (clipped there, not scrolled), a control smaller than a
// fingertip on a phone, a control with no name for a screen reader.
function layoutProblems() {
  const problems = [];
  const phone = window.innerWidth <= 480;
  const seen = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[hidden], .visually-hidden');
  };
  const label = (el) => el.dataset.testid || el.dataset.focusKey || el.id || el.getAttribute('aria-label') || (el.textContent ?? '').trim().slice(0, 30);
  const controls = [...document.querySelectorAll('button, a[href], select, input, textarea')]
    .filter((el) => seen(el) && !el.classList.contains('skip-link'));
  for (const el of controls) {
    const r = el.getBoundingClientRect();
    // Measured against the padding edge: a control over the padding looks lopsided even when
    // the card's border still holds it.
    const box = el.closest('.row, .card, dialog, .toast');
    if (box) {
      const b = box.getBoundingClientRect();
      const style = getComputedStyle(box);
      const left = b.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
      const right = b.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
      if (r.left < left - 0.5 || r.right > right + 0.5) problems.push(`"${label(el)}" spills out of its ${box.className || box.tagName} by ${Math.round(Math.max(left - r.left, r.right - right))} px`);
    }
    if (phone && (r.width < 43.5 || r.height < 43.5)) problems.push(`"${label(el)}" is ${Math.round(r.width)}×${Math.round(r.height)} px, under 44 on a phone`);
    const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.labels?.length
      || (el.textContent ?? '').trim() || el.getAttribute('title');
    if (!named) problems.push(`"${label(el)}" has no accessible name`);
  }
  return problems;
}

/** @param {import('playwright-core').Page} page */
function watch(page, who) {
  page.on('pageerror', (e) => check(false, `${who}: page error ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(`  [${who} console] ${m.text()}`);
  });
}

async function signIn(page, user) {
  await page.getByTestId('auth-username').fill(user.username);
  await page.getByTestId('auth-password').fill(PASSWORD);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('contacts-screen').waitFor();
  await page.getByTestId('contacts-list').locator('li').first().waitFor();
}

const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);

// ----- the walk -----------------------------------------------------------------------------

async function main() {
  await mkdir(OUT, { recursive: true });
  const server = await startServer();
  BASE = server.base;
  const browser = await launchChromium();
  // A browser that asks for permissions for real (no fake UI): a context without a grant is denied.
  const strictBrowser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true,
    args: CHROMIUM_ARGS.filter((a) => a !== '--use-fake-ui-for-media-stream'),
  });
  try {
    const sfx = crypto.randomBytes(2).toString('hex');
    const ayse = await register(`ayse_${sfx}`, 'Ayşe Yılmaz');
    const burak = await register(`burak_${sfx}`, 'Burak Demir');
    const canan = await register(`canan_${sfx}`, 'Canan Kaya');
    const deniz = await register(`deniz_${sfx}`, 'Deniz Arslan');
    const emre = await register(`emre_${sfx}`, 'Emre Şahin');
    await addContact(ayse, burak); await acceptContact(burak, ayse);
    await addContact(ayse, emre); await acceptContact(emre, ayse);
    await addContact(canan, ayse); // a request waiting for Ayşe
    await addContact(ayse, deniz); // Ayşe's request waiting for Deniz

    console.log('history through the REST API (about 8 s)');
    let id = await startCall(ayse, burak, 'video'); await callAction(burak, id, 'accept'); await sleep(2100); await callAction(ayse, id, 'end');
    id = await startCall(ayse, burak, 'audio'); await callAction(burak, id, 'reject');
    id = await startCall(burak, ayse, 'video'); await callAction(burak, id, 'end'); // the caller gave up: missed for Ayşe
    id = await startCall(ayse, burak, 'audio'); await callAction(ayse, id, 'end'); // Ayşe cancelled
    id = await startCall(burak, ayse, 'audio'); await sleep(6000); // nobody answered: missed (RING_TIMEOUT=5)

    // --- sign-in screens ---
    console.log('sign-in');
    const anon = await browser.newContext({ locale: 'en-US', viewport: PHONE });
    const p0 = await anon.newPage(); watch(p0, 'anon');
    await p0.goto(BASE);
    await p0.getByTestId('auth-form').waitFor();
    check(await p0.evaluate(() => document.documentElement.lang) === 'en', 'en-US browser gets English');
    await shot(p0, 'signin-en-phone');
    await p0.getByTestId('auth-switch').click();
    await p0.getByTestId('auth-username').fill('A b');
    await p0.getByTestId('auth-password').fill('short');
    await p0.getByTestId('auth-submit').click();
    check(await p0.getByTestId('auth-username-error').isVisible(), 'sign-up: username rule shown');
    check(await focusedTestId(p0) === 'auth-username', 'sign-up: focus on the first wrong field');
    await shot(p0, 'signup-errors-en-phone');
    await p0.getByTestId('auth-username').fill(burak.username);
    await p0.getByTestId('auth-password').fill(PASSWORD);
    await p0.getByTestId('auth-submit').click();
    await p0.getByTestId('auth-username-error').waitFor();
    check((await p0.getByTestId('auth-username-error').textContent())?.includes('taken'), 'sign-up: "username is taken"');
    await p0.getByTestId('auth-switch').click();
    await p0.getByTestId('auth-username').fill(burak.username);
    await p0.getByTestId('auth-password').fill('wrong password');
    await p0.getByTestId('auth-submit').click();
    await p0.getByTestId('auth-error').waitFor();
    await shot(p0, 'signin-wrong-en-phone');
    // An expired token in storage: back to sign-in, with a note.
    const expired = `e30.${Buffer.from(JSON.stringify({ sub: burak.id, exp: 1000 })).toString('base64url')}.x`;
    await p0.evaluate((t) => { localStorage.setItem('duet.token', t); localStorage.setItem('duet.lang', 'tr'); }, expired);
    await p0.reload();
    await p0.getByTestId('auth-notice').waitFor();
    check((await p0.getByTestId('auth-notice').textContent())?.includes('süresi doldu'), 'expired token: Turkish note');
    check(await p0.evaluate(() => document.documentElement.lang) === 'tr', 'stored language wins: tr');
    await shot(p0, 'signin-expired-tr-phone');
    await anon.close();

    // --- a new account through the form, in the dark scheme: add a contact, sign out ---
    console.log('sign-up');
    const fresh = await browser.newContext({ locale: 'tr-TR', viewport: PHONE, colorScheme: 'dark' });
    const pf = await fresh.newPage(); watch(pf, 'fresh');
    await pf.goto(BASE);
    await pf.getByTestId('auth-switch').click();
    await pf.getByTestId('auth-username').fill(`Fatma_${sfx}`);
    await pf.getByTestId('auth-display-name').fill('Fatma Çelik');
    await pf.getByTestId('auth-password').fill(PASSWORD);
    await pf.getByTestId('auth-submit').click();
    await pf.getByTestId('contacts-empty').waitFor();
    check(await pf.getByTestId('me').textContent() === 'Fatma Çelik', 'signed up: display name in the header');
    await pf.getByTestId('contact-add-input').fill('nobody_here');
    await pf.getByTestId('contact-add-submit').click();
    await pf.waitForFunction(() => document.querySelector('[data-testid="contact-add-message"]')?.textContent?.includes('kimse yok'));
    await pf.getByTestId('contact-add-input').fill(burak.username.toUpperCase());
    await pf.getByTestId('contact-add-input').press('Enter');
    await pf.getByTestId(`pending-${burak.username}`).waitFor();
    await shot(pf, 'contacts-dark-tr-phone');
    await pf.getByTestId('sign-out').click();
    await pf.getByTestId('auth-notice').waitFor();
    check(await pf.evaluate(() => localStorage.getItem('duet.token')) === null, 'signed out: token forgotten');
    await fresh.close();

    // --- Ayşe: contacts and history, Turkish ---
    console.log('contacts and history');
    const ctxA = await browser.newContext({ locale: 'tr-TR', viewport: DESKTOP, permissions: ['camera', 'microphone'] });
    const pa = await ctxA.newPage(); watch(pa, 'ayse');
    await pa.goto(BASE);
    await pa.getByTestId('auth-form').waitFor();
    check(await pa.evaluate(() => document.documentElement.lang) === 'tr', 'tr-TR browser gets Turkish');
    await shot(pa, 'signin-tr-desktop');
    await signIn(pa, ayse);
    await pa.getByTestId(`request-${canan.username}`).waitFor();
    await pa.getByTestId(`pending-${deniz.username}`).waitFor();
    check(await pa.getByTestId('missed-badge').textContent() === '2', 'missed badge says 2');
    check(await pa.getByTestId(`contact-${burak.username}`).getAttribute('data-presence') === 'offline', 'Burak offline before he signs in');
    check((await pa.getByTestId(`call-audio-${burak.username}`).textContent())?.includes('Sesli Arama'), '"Sesli Arama" button');
    await shot(pa, 'contacts-tr-desktop');

    await pa.getByTestId('nav-history').click();
    await pa.getByTestId('history-list').locator('li').first().waitFor();
    await pa.getByTestId('missed-badge').waitFor({ state: 'detached' });
    const statuses = await pa.getByTestId('history-row').evaluateAll((rows) => rows.map((r) => `${r.dataset.direction}:${r.dataset.status}:${r.dataset.duration}`));
    console.log(`  history rows: ${statuses.join(' ')}`);
    check(statuses.length === 5, 'five calls in history');
    check(statuses.includes('outgoing:ended:2'), 'an answered call with its duration');
    check(statuses.includes('outgoing:rejected:'), 'a declined call');
    check(statuses.filter((s) => s.startsWith('incoming:missed')).length === 2, 'two missed calls (one timed out, one the caller gave up)');
    check(statuses.includes('outgoing:cancelled:'), 'a cancelled call');
    check(await pa.getByTestId('missed-row').count() === 2, 'two rows under "Kaçırılan Aramalar"');
    await shot(pa, 'history-tr-desktop');

    await pa.getByTestId('lang-switch').selectOption('en');
    await pa.waitForFunction(() => document.documentElement.lang === 'en');
    check((await pa.getByTestId('nav-history').textContent())?.includes('Call history'), 'English after the switch');
    await shot(pa, 'history-en-desktop');
    await pa.getByTestId('lang-switch').selectOption('tr');
    await pa.waitForFunction(() => document.documentElement.lang === 'tr');

    const phone = await ctxA.newPage(); watch(phone, 'ayse-phone');
    await phone.setViewportSize(PHONE);
    await phone.goto(`${BASE}/#/contacts`);
    await phone.getByTestId(`contact-${burak.username}`).waitFor();
    await shot(phone, 'contacts-tr-phone');
    await phone.goto(`${BASE}/#/history`);
    await phone.getByTestId('history-list').locator('li').first().waitFor();
    await shot(phone, 'history-tr-phone');
    await phone.close();

    // Remove asks first; "Vazgeç" keeps the contact and puts focus back.
    await pa.getByTestId('nav-contacts').click();
    await pa.getByTestId(`remove-${emre.username}`).click();
    check(await focusedTestId(pa) === `remove-cancel-${emre.username}`, 'remove: focus on "Vazgeç"');
    await shot(pa, 'contacts-remove-confirm-tr-desktop');
    await pa.keyboard.press('Enter');
    check(await focusedTestId(pa) === `remove-${emre.username}`, 'remove cancelled: focus back on the remove button');
    await pa.getByTestId(`pending-withdraw-${deniz.username}`).click();
    await pa.getByTestId(`pending-${deniz.username}`).waitFor({ state: 'detached' });

    // Accept Canan's request from the keyboard-reachable button.
    await pa.getByTestId('nav-contacts').click();
    await pa.getByTestId(`request-accept-${canan.username}`).click();
    await pa.getByTestId(`contact-${canan.username}`).waitFor();

    // --- Burak signs in (English): presence, then a video call ---
    console.log('a video call');
    const ctxB = await browser.newContext({ locale: 'en-US', viewport: DESKTOP, permissions: ['camera', 'microphone'] });
    const pb = await ctxB.newPage(); watch(pb, 'burak');
    await pb.goto(BASE);
    await signIn(pb, burak);
    await pa.waitForFunction((u) => document.querySelector(`[data-testid="contact-${u}"]`)?.getAttribute('data-presence') === 'online', burak.username);

    await pa.getByTestId(`call-video-${burak.username}`).click();
    await pa.getByTestId('call-screen').waitFor();
    check(await focusedTestId(pa) === 'hangup-button', 'outgoing: focus on the cancel button');
    check((await pa.getByTestId('call-connection').textContent())?.match(/aranıyor|Çalıyor/) !== null, 'outgoing: "aranıyor..." or "Çalıyor…"');
    await pb.getByTestId('incoming-dialog').waitFor();
    await pa.waitForFunction(() => document.querySelector('[data-testid="call-connection"]')?.textContent === 'Çalıyor…');
    await shot(pa, 'call-outgoing-video-tr-desktop');
    check(await pa.getByTestId('play-sound').count() === 0, 'outgoing: no "turn on sound" button');
    check(await focusedTestId(pb) === 'incoming-accept', 'incoming: focus on Accept');
    await pb.keyboard.press('Escape');
    await pb.keyboard.press('Escape');
    await sleep(300);
    check(await pb.getByTestId('incoming-dialog').isVisible(), 'incoming: Escape does not decline');
    check(await pb.getByTestId('incoming-accept-audio').isVisible(), 'incoming video call: "Accept without video"');
    await shot(pb, 'incoming-video-en-desktop');
    await pb.getByTestId('incoming-accept').click();
    for (const p of [pa, pb]) {
      await p.waitForFunction(() => document.querySelector('[data-testid="call-screen"]')?.getAttribute('data-connection') === 'connected', null, { timeout: 15000 });
      await p.waitForFunction(() => (document.querySelector('[data-testid="remote-video"]')?.videoWidth ?? 0) > 0, null, { timeout: 15000 });
      check(await p.getByTestId('remote-video').evaluate((v) => !v.muted), 'remote video is not muted');
      check(await p.getByTestId('local-video').evaluate((v) => v.muted), 'local video is muted');
    }
    await sleep(2200);
    check((await pa.getByTestId('call-timer').textContent())?.match(/^00:0[1-9]$/) !== null, 'timer counts mm:ss');
    await shot(pa, 'call-active-video-tr-desktop');
    await shot(pb, 'call-active-video-en-desktop');
    await pb.getByTestId('mute-button').click();
    check(await pb.getByTestId('mute-button').getAttribute('aria-pressed') === 'true', 'mute: aria-pressed');
    await pa.getByTestId('remote-muted').waitFor();
    await pa.getByTestId('camera-button').click();
    await pb.getByTestId('remote-camera-off').waitFor();
    await shot(pb, 'call-remote-camera-off-en-desktop');
    await pa.getByTestId('camera-button').click();
    // Ayşe shares her screen (this browser has the fake picker): Burak sees it whole.
    await pa.getByTestId('screen-button').click();
    await pa.getByTestId('self-sharing').waitFor();
    check(await pa.getByTestId('self-sharing').textContent() === 'Ekranınızı paylaşıyorsunuz', 'sharing: "Ekranınızı paylaşıyorsunuz"');
    check(await pa.getByTestId('screen-button').getAttribute('aria-pressed') === 'true', 'share screen: aria-pressed');
    check(await pa.getByTestId('screen-button').textContent() === 'Paylaşımı durdur', 'share screen: "Paylaşımı durdur"');
    await pb.getByTestId('remote-sharing').waitFor();
    check(await pb.getByTestId('remote-sharing').textContent() === 'Ayşe Yılmaz is sharing their screen', '"Ayşe Yılmaz is sharing their screen"');
    await pb.waitForFunction(() => (document.querySelector('[data-testid="remote-video"]')?.videoWidth ?? 0) === 1280, null, { timeout: 15000 });
    await shot(pb, 'call-remote-screen-en-desktop');
    await pa.setViewportSize(PHONE);
    await shot(pa, 'call-sharing-tr-phone');
    await pa.getByTestId('screen-button').click();
    await pb.getByTestId('remote-sharing').waitFor({ state: 'detached' });
    await shot(pa, 'call-active-video-tr-phone');
    await pa.setViewportSize(DESKTOP);
    await pa.getByTestId('hangup-button').click();
    await pa.getByTestId('call-ended').waitFor();
    await pb.getByTestId('call-ended').waitFor();
    check((await pa.getByTestId('call-ended-reason').textContent())?.startsWith('Arama sona erdi'), 'ended: "Arama sona erdi"');
    await shot(pb, 'call-ended-en-desktop');
    await pa.getByTestId('call-screen').waitFor({ state: 'detached', timeout: 6000 }).catch(() => check(false, 'ended notice goes away by itself'));

    // --- an audio call, declined, on a phone ---
    console.log('an audio call, declined');
    await pa.setViewportSize(PHONE);
    await pb.getByTestId('call-ended-close').click().catch(() => {});
    await pb.getByTestId(`call-audio-${ayse.username}`).click();
    await pa.getByTestId('incoming-dialog').waitFor();
    check(!(await pa.getByTestId('incoming-accept-audio').isVisible().catch(() => false)), 'audio call: no "Accept without video"');
    await shot(pa, 'incoming-audio-tr-phone');
    await pb.waitForFunction(() => document.querySelector('[data-testid="call-connection"]')?.textContent === 'Ringing…');
    await shot(pb, 'call-outgoing-audio-en-desktop');
    await pa.getByTestId('incoming-decline').click();
    await pb.getByTestId('call-ended').waitFor();
    check(await pb.getByTestId('call-ended-reason').textContent() === 'Declined', 'declined: "Declined"');
    check(await pb.getByTestId('call-again').isVisible(), 'declined: "Call again"');
    await shot(pb, 'call-declined-en-desktop');
    await pb.getByTestId('call-ended-close').click();

    // --- an audio call, answered, on a phone ---
    await pb.getByTestId(`call-audio-${ayse.username}`).click();
    await pa.getByTestId('incoming-accept').click();
    await pa.waitForFunction(() => document.querySelector('[data-testid="call-screen"]')?.getAttribute('data-connection') === 'connected', null, { timeout: 15000 });
    await sleep(1200);
    await shot(pa, 'call-active-audio-tr-phone');

    // --- busy: Canan calls Ayşe during the call ---
    console.log('busy');
    const ctxC = await browser.newContext({ locale: 'tr-TR', viewport: DESKTOP, permissions: ['camera', 'microphone'] });
    const pc = await ctxC.newPage(); watch(pc, 'canan');
    await pc.goto(BASE);
    await signIn(pc, canan);
    await pc.getByTestId(`call-audio-${ayse.username}`).click();
    await pc.getByTestId('call-ended').waitFor({ timeout: 10000 });
    check(await pc.getByTestId('call-ended-reason').textContent() === 'Meşgul', 'busy: "Meşgul"');
    await shot(pc, 'call-busy-tr-desktop');
    await pa.getByTestId('hangup-button').click();
    await ctxC.close();

    // --- camera denied: Emre may use his microphone but not his camera ---
    console.log('camera denied');
    const ctxE = await strictBrowser.newContext({ locale: 'tr-TR', viewport: PHONE, permissions: ['microphone'] });
    const pe = await ctxE.newPage(); watch(pe, 'emre');
    await pe.goto(BASE);
    await signIn(pe, emre);
    await pe.getByTestId(`call-video-${ayse.username}`).click();
    await pe.getByTestId('media-problem').waitFor({ timeout: 10000 }).catch(async (e) => {
      console.log(await pe.evaluate(() => document.body.innerText));
      await pe.screenshot({ path: path.join(OUT, 'FAILED-emre.png') });
      throw e;
    });
    check((await pe.getByTestId('media-problem').textContent())?.includes('site ayarlarından'), 'denied: how to allow it');
    check(await pe.getByTestId('audio-only-retry').isVisible(), 'denied camera: "Yalnızca Sesli Ara"');
    await shot(pe, 'media-camera-denied-tr-phone');
    // Ayşe calls Emre with video: he answers, the camera fails, the dialog offers audio only.
    await pe.getByTestId('call-ended-close').click();
    await pa.getByTestId('call-screen').waitFor({ state: 'detached', timeout: 6000 }).catch(() => {});
    await pa.goto(`${BASE}/#/contacts`);
    await pa.getByTestId(`call-video-${emre.username}`).click();
    await pe.getByTestId('incoming-accept').click();
    await pe.getByTestId('media-problem').waitFor({ timeout: 10000 });
    check(await focusedTestId(pe) === 'incoming-accept-audio', 'camera failed on accept: focus on "Görüntüsüz Kabul Et"');
    await shot(pe, 'incoming-camera-denied-tr-phone');
    await pe.getByTestId('incoming-accept-audio').click();
    await pe.waitForFunction(() => document.querySelector('[data-testid="call-screen"]')?.getAttribute('data-connection') === 'connected', null, { timeout: 15000 });
    await pa.setViewportSize(DESKTOP);
    await pa.waitForFunction(() => document.querySelector('[data-testid="call-screen"]')?.getAttribute('data-state') === 'active', null, { timeout: 15000 });
    await sleep(800);
    await shot(pa, 'call-peer-audio-only-tr-desktop');
    await pe.getByTestId('hangup-button').click();
    await ctxE.close();

    // --- history after the calls, and keyboard focus visible ---
    await pa.getByTestId('call-screen').waitFor({ state: 'detached', timeout: 6000 }).catch(() => {});
    await pa.goto(`${BASE}/#/history`);
    await pa.getByTestId('history-list').locator('li').first().waitFor();
    await pa.keyboard.press('Tab');
    await pa.keyboard.press('Tab');
    await shot(pa, 'history-after-calls-focus-tr-desktop');
    await ctxA.close();
    await ctxB.close();
  } finally {
    await browser.close();
    await strictBrowser.close();
    await server.stop();
  }
}

try {
  await main();
} catch (error) {
  failures.push(String(error?.stack ?? error));
  console.log(error);
}
console.log(failures.length === 0 ? 'all checks passed' : `${failures.length} check(s) failed`);
process.exit(failures.length === 0 ? 0 : 1);
