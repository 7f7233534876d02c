import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium without the calls to Google's services a closed network refuses. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
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
