// The two languages are complete and consistent, and every key the page uses exists.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createTranslator, interpolate, LANGUAGES, pickLanguage } from '../../web/app/i18n.mjs';
import { dictionary, WEB } from './helpers.mjs';

const en = dictionary('en');
const tr = dictionary('tr');

/** @param {string} dir @returns {string[]} */
function moduleFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return moduleFiles(full);
    return name.endsWith('.mjs') ? [full] : [];
  });
}
const APP_FILES = moduleFiles(path.join(WEB, 'app'));
const INDEX = readFileSync(path.join(WEB, 'index.html'), 'utf8');

/** Keys a key may be found under: itself, or its plural forms. */
const exists = (/** @type {Record<string,string>} */ dict, /** @type {string} */ key) => key in dict || `${key}_other` in dict;

/** Every i18n key the page's modules and markup name. A key is a quoted string starting with
 *  one of the locale files' namespaces and a dot ('call.ringing'). */
function usedKeys() {
  const namespaces = [...new Set(Object.keys(en).map((k) => k.split('.')[0]))];
  const pattern = new RegExp(`['"\`]((?:${namespaces.join('|')})\\.[A-Za-z0-9_.]+)['"\`]`, 'g');
  /** @type {Map<string, string>} key → first file */
  const keys = new Map();
  for (const file of APP_FILES) {
    for (const m of readFileSync(file, 'utf8').matchAll(pattern)) {
      if (!keys.has(m[1])) keys.set(m[1], path.relative(WEB, file));
    }
  }
  for (const m of INDEX.matchAll(/data-i18n="([^"]+)"/g)) keys.set(m[1], 'index.html');
  for (const m of INDEX.matchAll(/data-i18n-attr="([^"]+)"/g)) {
    for (const pair of m[1].split(';')) keys.set(pair.split(':')[1].trim(), 'index.html');
  }
  return keys;
}

describe('the locale files', () => {
  test('every English key is in Turkish and every Turkish key in English', () => {
    assert.deepEqual(Object.keys(en).filter((k) => !(k in tr)), [], 'missing in tr.json');
    assert.deepEqual(Object.keys(tr).filter((k) => !(k in en)), [], 'missing in en.json');
  });
  test('no empty strings, no keys defined twice', () => {
    for (const lang of LANGUAGES) {
      const dict = dictionary(lang);
      for (const [key, text] of Object.entries(dict)) {
        assert.equal(typeof text, 'string', `${lang}: ${key}`);
        assert.ok(text.trim().length > 0, `${lang}: ${key} is empty`);
      }
      const raw = readFileSync(path.join(WEB, 'locales', `${lang}.json`), 'utf8');
      const seen = new Set();
      for (const m of raw.matchAll(/^\s*"([^"]+)"\s*:/gm)) {
        assert.ok(!seen.has(m[1]), `${lang}: "${m[1]}" is defined twice`);
        seen.add(m[1]);
      }
    }
  });
  test('both languages use the same {placeholders} in each string', () => {
    const names = (/** @type {string} */ s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en)) assert.deepEqual(names(tr[key]), names(en[key]), key);
  });
  test('plural forms come with an "other" form', () => {
    for (const dict of [en, tr]) {
      for (const key of Object.keys(dict)) {
        const m = /^(.*)_(zero|one|two|few|many)$/.exec(key);
        if (m) assert.ok(`${m[1]}_other` in dict, `${key} without ${m[1]}_other`);
      }
    }
  });
  test('the contract\'s Turkish words are there', () => {
    const words = Object.values(tr).join('\n');
    for (const w of ['Gelen Arama', 'Kabul Et', 'Reddet', 'Arama Geçmişi', 'Kaçırılan Aramalar', 'Cevapsız', 'Reddedildi',
      'Bağlandı', 'aranıyor...', 'Sesli Arama', 'Video Arama', 'Aramayı İptal Et', 'Çalıyor…', 'Bağlanıyor…',
      'Yeniden bağlanıyor…', 'Meşgul', 'Bağlantı kurulamadı', 'Sessiz', 'saniye']) {
      assert.ok(words.includes(w), `"${w}" missing from tr.json`);
    }
    assert.equal(tr['call.calling'], '{name} aranıyor...');
    assert.equal(en['call.calling'], 'Calling {name}…');
  });
});

describe('keys the page uses', () => {
  const used = usedKeys();
  test('the scan finds the page\'s keys', () => {
    assert.ok(used.size > 100, `only ${used.size} keys found: is the scan broken?`);
    assert.ok(used.has('incoming.title') && used.has('nav.history') && used.has('media.denied.video'));
  });
  test('every key used in web/app/**/*.mjs and index.html exists in both languages', () => {
    const missing = [];
    for (const [key, file] of used) {
      for (const [lang, dict] of /** @type {const} */ ([['en', en], ['tr', tr]])) {
        if (!exists(dict, key)) missing.push(`${key} (${file}) not in ${lang}.json`);
      }
    }
    assert.deepEqual(missing, []);
  });
  test('every key in the locale files is used (no dead strings)', () => {
    const unused = Object.keys(en).filter((k) => !used.has(k) && !used.has(k.replace(/_(zero|one|two|few|many|other)$/, '')));
    assert.deepEqual(unused, []);
  });
  test('no hard-coded words in the screens: texts and labels come from t()', () => {
    const offenders = [];
    for (const file of APP_FILES) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:text|'aria-label'|title|placeholder):\s*'([^']*)'/g)) {
        if (/\p{L}/u.test(m[1])) offenders.push(`${path.relative(WEB, file)}: ${m[0]}`);
      }
      for (const m of src.matchAll(/textContent\s*=\s*'([^']*)'/g)) {
        if (/\p{L}/u.test(m[1])) offenders.push(`${path.relative(WEB, file)}: ${m[0]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});

describe('pickLanguage', () => {
  test('Turkish browsers get Turkish, everyone else English', () => {
    assert.equal(pickLanguage(null, ['tr-TR', 'en']), 'tr');
    assert.equal(pickLanguage(null, ['tr']), 'tr');
    assert.equal(pickLanguage(null, ['TR-cy']), 'tr');
    assert.equal(pickLanguage(null, ['en-US', 'tr']), 'en');
    assert.equal(pickLanguage(null, ['de-DE']), 'en');
    assert.equal(pickLanguage(null, []), 'en');
    assert.equal(pickLanguage(undefined, undefined), 'en');
  });
  test('a stored choice wins; a stored nonsense value does not', () => {
    assert.equal(pickLanguage('en', ['tr-TR']), 'en');
    assert.equal(pickLanguage('tr', ['en-US']), 'tr');
    assert.equal(pickLanguage('fr', ['tr-TR']), 'tr');
  });
});

describe('the translator', () => {
  test('fills placeholders and leaves unknown ones visible', () => {
    assert.equal(interpolate('{name} aranıyor...', { name: 'Ayşe' }), 'Ayşe aranıyor...');
    assert.equal(interpolate('{a} and {b}', { a: 1 }), '1 and {b}');
    assert.equal(interpolate('no params', undefined), 'no params');
    assert.equal(interpolate('{x}{x}', { x: '$&' }), '$&$&');
  });
  test('plural forms by Intl.PluralRules', () => {
    const t = createTranslator(en, 'en');
    assert.equal(t('nav.missedBadge', { count: 1 }), '1 missed call');
    assert.equal(t('nav.missedBadge', { count: 2 }), '2 missed calls');
    assert.equal(t('nav.missedBadge', { count: 0 }), '0 missed calls');
    const tt = createTranslator(tr, 'tr');
    assert.equal(tt('nav.missedBadge', { count: 3 }), '3 cevapsız arama');
  });
  test('a missing key shows the key and is reported once', () => {
    const reported = [];
    const t = createTranslator({}, 'en', (k) => reported.push(k));
    assert.equal(t('nope.key'), 'nope.key');
    assert.equal(t('nope.key'), 'nope.key');
    assert.deepEqual(reported, ['nope.key']);
  });
});
