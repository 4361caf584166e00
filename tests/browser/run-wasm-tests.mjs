#!/usr/bin/env node
// Runs the wasm unit tests in headless Chromium: serves the wasm build folder and harness.html
// from an in-process server on 127.0.0.1, opens the harness, and prints what the tests print as
// they print it. Exits 0 only when the tests exited 0 after reporting
// "duet-tests: N passed, 0 failed" with N > 0.
//   node tests/browser/run-wasm-tests.mjs [build/wasm] [catch arguments...]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createStaticServer } from '../../tools/serve.mjs';
import { launchChromium } from './chromium.mjs';

const TIME_LIMIT_MS = 180_000; // for the tests, which take seconds; the browser's start is extra

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const [buildArg = 'build/wasm', ...catchArgs] = process.argv.slice(2);
const buildDir = path.resolve(root, buildArg);

let summary = null;
function print({ type, text }) {
  (type === 'stderr' ? process.stderr : process.stdout).write(`${text}\n`);
  const match = type === 'stdout' && /^duet-tests: (\d+) passed, (\d+) failed$/.exec(text);
  if (match) summary = { passed: Number(match[1]), failed: Number(match[2]) };
}

// How the run ended: { status } from the tests' exit, or { status: null, error } when it did not.
async function run() {
  const server = createStaticServer({ '/': buildDir, '/harness/': here });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  let timer;
  try {
    const page = await browser.newPage();
    let end;
    const ended = new Promise((resolve) => { end = resolve; });
    await page.exposeFunction('duetReport', (event) => (event.type === 'end' ? end(event) : print(event)));
    page.on('crash', () => end({ status: null, error: 'the page crashed' }));
    timer = setTimeout(() => end({ status: null, error: `no result within ${TIME_LIMIT_MS / 1000} s` }), TIME_LIMIT_MS);
    const query = new URLSearchParams(catchArgs.map((arg) => ['arg', arg]));
    await page.goto(`http://127.0.0.1:${server.address().port}/harness/harness.html?${query}`);
    return await ended;
  } finally {
    clearTimeout(timer);
    await browser.close();
    server.close();
  }
}

const result = await run();
const problems = [];
if (result.error) problems.push(result.error);
if (result.status !== null && result.status !== 0) problems.push(`the tests exited with status ${result.status}`);
if (!summary) problems.push('no "duet-tests:" line in the output');
else if (summary.passed + summary.failed === 0) problems.push('no tests ran');
for (const problem of problems) console.error(`[wasm-chromium] ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
