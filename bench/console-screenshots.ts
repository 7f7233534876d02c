/**
 * `npm run screenshots`: saves a picture of each console page to docs/images/console-*.png (shown
 * in docs/console.md and the README), in real headless Chromium, from the real shells, page script
 * and stylesheet served with the fixed facts of test/helpers/console-ui-stand-in.ts, so the
 * pictures change only when the pages do. One page also at 360 px wide, in Russian.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startConsoleStandIn } from '../test/helpers/console-ui-stand-in';
import { launchChromium } from '../test/helpers/launch-chromium';

const OUT = path.resolve('docs', 'images');
/** A fixed "now", so the dates in the pictures do not move from run to run. */
const NOW = Date.parse('2026-12-03T12:00:00Z');

const SHOTS: Array<{ name: string; path: string; width: number; locale: string; click?: string }> =
  [
    { name: 'login', path: '/console/login', width: 1280, locale: 'en-GB' },
    { name: 'overview', path: '/console', width: 1280, locale: 'en-GB' },
    { name: 'deliveries', path: '/console/deliveries', width: 1280, locale: 'en-GB' },
    { name: 'deal', path: '/console/deals/4711', width: 1280, locale: 'en-GB' },
    {
      name: 'setup',
      path: '/console/setup',
      width: 1280,
      locale: 'en-GB',
      click: '#send-test button',
    },
    { name: 'overview-360-ru', path: '/console', width: 360, locale: 'ru-RU' },
  ];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const standIn = await startConsoleStandIn(NOW);
  const browser = await launchChromium();
  try {
    for (const shot of SHOTS) {
      const context = await browser.newContext({
        locale: shot.locale,
        timezoneId: 'Europe/Moscow',
        viewport: { width: shot.width, height: 800 },
        deviceScaleFactor: 1,
      });
      const page = await context.newPage();
      await page.goto(standIn.url + shot.path);
      await page.waitForLoadState('networkidle');
      if (shot.click) {
        await page.locator(shot.click).click();
        await page.waitForLoadState('networkidle');
      }
      const file = path.join(OUT, `console-${shot.name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`saved ${path.relative(process.cwd(), file)}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await standIn.close();
  }
}

main().catch((e: unknown) => {
  console.error(`screenshots: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
