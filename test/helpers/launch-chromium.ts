import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`), driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium without the calls to Google's services a closed network refuses. With
 * `language` (the screenshots: `ru`), the browser's own widgets, such as a date field's
 * placeholder, speak it: on Linux Chromium takes it from LANGUAGE (Debian: chromium-l10n).
 */
export function launchChromium(language?: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    env: language === undefined ? undefined : { ...process.env, LANGUAGE: language },
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
