// Turkish and English. Every string the page shows comes from web/locales/<lang>.json: flat
// objects of dotted keys ("call.ringing") to text with {name}-style parameters. A key with a
// count may have plural forms as "<key>_one" / "<key>_other" (Intl.PluralRules categories).
// The pure parts (choosing the language, translating) are tested in tests/app/i18n.test.mjs.

/** @typedef {'tr' | 'en'} Lang */
/** @typedef {Record<string, string>} Dictionary */

/** @type {readonly Lang[]} */
export const LANGUAGES = Object.freeze(['tr', 'en']);

/** Where the chosen language is kept between visits. */
export const LANG_STORAGE_KEY = 'duet.lang';

/**
 * The language to start with: the one the user chose before, else the browser's first
 * language when it is Turkish (tr, tr-TR, tr-CY), else English.
 * @param {string | null | undefined} stored
 * @param {readonly string[] | undefined} browserLanguages navigator.languages (or [navigator.language])
 * @returns {Lang}
 */
export function pickLanguage(stored, browserLanguages) {
  if (stored === 'tr' || stored === 'en') return stored;
  const first = (browserLanguages ?? []).find((l) => typeof l === 'string' && l.length > 0);
  return first && first.toLowerCase().startsWith('tr') ? 'tr' : 'en';
}

/**
 * Fills {param} placeholders; a placeholder without a value is left as it is, so a missing
 * parameter shows up in review instead of vanishing.
 * @param {string} text
 * @param {Record<string, string | number> | undefined} params
 * @returns {string}
 */
export function interpolate(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

/**
 * A translator over one dictionary. Unknown keys come back as the key itself (and are
 * reported once through `onMissing`), so a missing string is visible, never blank.
 * @param {Dictionary} dict
 * @param {Lang} lang
 * @param {(key: string) => void} [onMissing]
 * @returns {(key: string, params?: Record<string, string | number>) => string}
 */
export function createTranslator(dict, lang, onMissing) {
  const plural = new Intl.PluralRules(lang);
  const reported = new Set();
  return (key, params) => {
    let text;
    if (params && typeof params.count === 'number') {
      text = dict[`${key}_${plural.select(params.count)}`] ?? dict[`${key}_other`];
    }
    text ??= dict[key];
    if (typeof text !== 'string') {
      if (onMissing && !reported.has(key)) {
        reported.add(key);
        onMissing(key);
      }
      return key;
    }
    return interpolate(text, params);
  };
}

/**
 * Loads a locale file from the server.
 * @param {Lang} lang
 * @param {typeof fetch} [fetchImpl]
 * @returns {Promise<Dictionary>}
 */
export async function loadDictionary(lang, fetchImpl = globalThis.fetch) {
  const response = await fetchImpl(`/locales/${lang}.json`);
  if (!response.ok) throw new Error(`locale ${lang}: HTTP ${response.status}`);
  return /** @type {Dictionary} */ (await response.json());
}

/**
 * Applies translations to static markup: `data-i18n="key"` sets the text,
 * `data-i18n-attr="aria-label:key;title:key2"` sets attributes.
 * @param {ParentNode} root
 * @param {(key: string) => string} t
 */
export function translateStatic(root, t) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(/** @type {string} */ (el.getAttribute('data-i18n')));
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of /** @type {string} */ (el.getAttribute('data-i18n-attr')).split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}
