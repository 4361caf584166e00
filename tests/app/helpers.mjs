// Shared by the page's unit tests: the repository's paths and a translator over the real
// locale files, so tests read the words users see.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTranslator } from '../../web/app/i18n.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB = path.join(ROOT, 'web');

/** @param {'tr' | 'en'} lang */
export function dictionary(lang) {
  return JSON.parse(readFileSync(path.join(WEB, 'locales', `${lang}.json`), 'utf8'));
}

/** @param {'tr' | 'en'} lang */
export function translator(lang) {
  return createTranslator(dictionary(lang), lang, (key) => { throw new Error(`no "${key}" in ${lang}.json`); });
}
