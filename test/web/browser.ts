/**
 * Headless Chromium for the web UI tests (the Debian `chromium` package, driven by playwright-core).
 * `chromium.launch()` gives every browser a fresh temporary profile (its own `--user-data-dir`,
 * deleted on close), so runs share no cookies or storage.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A reason to skip browser tests, or false when Chromium is there. */
export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
