import { existsSync } from 'node:fs';
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

/**
 * In a suite's `before`: without Chromium, fails under CI (which installs it) and elsewhere skips
 * the suite with a loud line saying why.
 */
export function needChromium(ctx: Mocha.Context, what: string): void {
  if (existsSync(CHROMIUM)) return;
  const why = `Chromium is not installed at ${CHROMIUM}. Install it with: apt-get install chromium`;
  if (process.env.CI) throw new Error(why);
  console.warn(`\n  SKIPPED: ${what}. ${why}\n`);
  ctx.skip();
}
