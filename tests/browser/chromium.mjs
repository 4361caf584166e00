// Launches Debian's Chromium (/usr/bin/chromium) through playwright-core, headless, with the
// flags that work on our test machines (see the toolchain notes). Playwright's own browser
// downloads are not used. Fake camera and microphone are on, for the browser tests that call.
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox', // runs as root in CI containers
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', // otherwise a loopback-only network gathers no candidates
  '--autoplay-policy=no-user-gesture-required',
];

export function launchChromium(options = {}) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, ...options });
}
