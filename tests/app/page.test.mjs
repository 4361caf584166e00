// The page as files: small, self-contained, and wired the way the brief says.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { WEB } from './helpers.mjs';

/** @param {string} dir @returns {string[]} */
const files = (dir) => readdirSync(dir).flatMap((n) => {
  const full = path.join(dir, n);
  return statSync(full).isDirectory() ? files(full) : [full];
});
const appFiles = files(path.join(WEB, 'app'));
const pageFiles = [path.join(WEB, 'index.html'), ...files(path.join(WEB, 'styles')), ...appFiles, path.join(WEB, 'locales', 'tr.json')];

test('HTML, CSS, app JS and one locale stay well under 60 KB gzipped', () => {
  let total = 0;
  for (const f of pageFiles) total += gzipSync(readFileSync(f), { level: 9 }).length;
  console.log(`# page without SDK and wasm: ${(total / 1024).toFixed(1)} KB gzipped (each file on its own)`);
  assert.ok(total < 60 * 1024, `${total} bytes`);
});

test('the page never touches WebRTC or the devices itself: calls are the SDK\'s', () => {
  for (const f of appFiles) {
    const src = readFileSync(f, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    assert.doesNotMatch(src, /RTCPeerConnection|getUserMedia|mediaDevices/, path.relative(WEB, f));
  }
});

test('the SDK is imported from /sdk/duet-client.mjs with the module at /duet/', () => {
  const main = readFileSync(path.join(WEB, 'app', 'main.mjs'), 'utf8');
  assert.match(main, /'\/sdk\/duet-client\.mjs'/);
  assert.match(main, /'\/duet\/duet-core\.mjs'/);
});

test('no stand-in SDK, fonts or images shipped in web/app and web/styles', () => {
  for (const f of [...appFiles, ...files(path.join(WEB, 'styles'))]) {
    assert.match(f, /\.(mjs|css)$/, f);
    assert.doesNotMatch(path.basename(f), /fake|stub|mock/i, f);
  }
  assert.doesNotMatch(readFileSync(path.join(WEB, 'styles', 'app.css'), 'utf8'), /@font-face|url\(/);
});

test('the remote video and the remote audio are not muted; the local video is', () => {
  const call = readFileSync(path.join(WEB, 'app', 'screens', 'call.mjs'), 'utf8');
  const remote = /const remoteVideo = [^\n]+/.exec(call)?.[0] ?? '';
  assert.match(remote, /autoplay: true, playsinline: true/);
  assert.doesNotMatch(remote, /muted/);
  assert.doesNotMatch(call, /remoteVideo\.muted\s*=\s*true/);
  // The sound has an element of its own: a <video> without frames plays no audio in Chromium.
  const audio = /const remoteAudio = [^\n]+/.exec(call)?.[0] ?? '';
  assert.match(audio, /h\('audio', \{[^}]*autoplay: true/);
  assert.doesNotMatch(audio, /muted/);
  assert.doesNotMatch(call, /remoteAudio\.muted\s*=\s*true/);
  assert.match(call, /localVideo\.muted = true/);
});

test('index.html: a module entry, a language switch, live regions', () => {
  const html = readFileSync(path.join(WEB, 'index.html'), 'utf8');
  assert.match(html, /<script type="module" src="\/app\/main\.mjs">/);
  assert.match(html, /data-testid="lang-switch"/);
  assert.match(html, /aria-live="polite"/);
  assert.match(html, /aria-live="assertive"/);
  assert.match(html, /name="viewport" content="width=device-width, initial-scale=1"/);
});
