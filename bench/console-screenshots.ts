/**
 * `npm run screenshots`: saves a picture of each console page to docs/images/console-*.png (shown
 * in docs/console.md and the README), in real headless Chromium, from a real closeloop holding a
 * month of deals that came in through its webhooks (bench/console-seed.ts: amoCRM, Bitrix24 and
 * the signed intake, against the project's fakes of the CRMs, GA4 and Metrica). In Russian at
 * 1280 px, the overview also in English and at 360 px.
 *
 * Then times a page render on a slow laptop: Chromium with its CPU slowed 4× (CDP
 * Emulation.setCPUThrottlingRate), from the navigation's start to the overview's charts drawn and
 * to the deliveries table filled; the median of RENDER_RUNS runs (5), next to the same unslowed.
 * SCREENSHOTS_TIMING=0 skips the timing.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../test/helpers/launch-chromium';
import { CONSOLE_PASSWORD, startSeededConsole } from './console-seed';

const OUT = path.resolve('docs', 'images');
const RUNS = Number(process.env.RENDER_RUNS ?? 5);
const TIMING = process.env.SCREENSHOTS_TIMING !== '0';

interface Shot {
  name: string;
  path: string;
  width: number;
  locale: 'ru-RU' | 'en-GB';
  click?: string;
  /** Wait for this before the picture (the page's data drawn). */
  ready: string;
  /** The picture's height at most (long pages: the top, as a screen shows it). */
  maxHeight?: number;
  /** Before the picture: what a reader does on the page. */
  prepare?: (page: Page) => Promise<void>;
}

function shots(skippedDealId: string): Shot[] {
  const at = (name: string, p: string, ready: string, extra: Partial<Shot> = {}): Shot => ({
    name,
    path: p,
    width: 1280,
    locale: 'ru-RU',
    ready,
    ...extra,
  });
  const charts = '#chart-revenue canvas';
  return [
    at('login', '/console/login', '#password'),
    at('overview', '/console', charts),
    at('overview-en', '/console', charts, { locale: 'en-GB' }),
    at('deliveries', '/console/deliveries', '#table-deliveries tbody tr', { maxHeight: 1400 }),
    at('deal', `/console/deals/${skippedDealId}`, '#timeline li[data-kind="skipped"]', {
      prepare: foldAllButSkips,
    }),
    at('setup', '/console/setup', '#pipeline-list table', {
      click: '#send-test button',
      maxHeight: 2000,
    }),
    at('overview-360-ru', '/console', charts, { width: 360 }),
  ];
}

/**
 * One comes to a skipped deal's trace for the reason: the details of every other step are folded
 * (as a reader would fold them), so the picture shows the skips and their reasons.
 */
async function foldAllButSkips(page: Page): Promise<void> {
  await page.evaluate(`(() => {
    for (const li of document.querySelectorAll('#timeline li:not([data-kind="skipped"])'))
      li.querySelector('details')?.removeAttribute('open');
  })()`);
}

async function newContext(
  browser: Browser,
  shot: Pick<Shot, 'locale' | 'width'>,
  storageState?: Awaited<ReturnType<BrowserContext['storageState']>>,
): Promise<BrowserContext> {
  return browser.newContext({
    locale: shot.locale,
    timezoneId: 'Europe/Moscow',
    viewport: { width: shot.width, height: 800 },
    deviceScaleFactor: 1,
    storageState,
  });
}

/** Logs in once through the login page; the session is reused by every other page. */
async function logIn(browser: Browser, url: string) {
  const context = await newContext(browser, { locale: 'ru-RU', width: 1280 });
  const page = await context.newPage();
  await page.goto(`${url}/console/login`);
  await page.fill('#password', CONSOLE_PASSWORD);
  await Promise.all([page.waitForURL(/\/console$/), page.click('button[type=submit]')]);
  const state = await context.storageState();
  await context.close();
  return state;
}

/**
 * Takes the pictures, each language in a browser of its own: Chromium's built-in widgets (the
 * date fields' placeholder) follow the browser's language, not the page's (Debian: chromium-l10n).
 */
async function takeShots(browsers: Browsers, url: string, skippedDealId: string): Promise<void> {
  const session = await logIn(browsers['ru-RU'], url);
  for (const shot of shots(skippedDealId)) {
    const browser = browsers[shot.locale];
    const context = await newContext(browser, shot, shot.name === 'login' ? undefined : session);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // The console has no icon: a browser's first page asks for one (404).
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) {
        errors.push(`${m.text()} (${m.location().url})`);
      }
    });
    await page.goto(url + shot.path);
    await page.locator(shot.ready).first().waitFor();
    await page.waitForLoadState('networkidle');
    if (shot.click) {
      await page.locator(shot.click).click();
      await page.locator('#send-test-result p').waitFor();
      await page.waitForLoadState('networkidle');
    }
    await shot.prepare?.(page);
    if (errors.length) throw new Error(`${shot.name}: the page reported ${errors.join('; ')}`);
    const file = path.join(OUT, `console-${shot.name}.png`);
    const height = await page.evaluate('document.documentElement.scrollHeight');
    await page.screenshot({
      path: file,
      fullPage: true,
      clip: {
        x: 0,
        y: 0,
        width: shot.width,
        height: Math.min(Number(height), shot.maxHeight ?? Infinity),
      },
    });
    const kb = statSync(file).size / 1024;
    console.log(`saved ${path.relative(process.cwd(), file)} (${kb.toFixed(0)} KB)`);
    await context.close();
  }
}

/**
 * In the page, from the start of navigation: when the revenue chart's canvas appeared (both
 * charts are drawn in one go, revenue last) and when the deliveries table got its first row.
 */
const MARKS = `(() => {
  const marks = (window.__marks = {});
  const look = () => {
    if (!marks.charts && document.querySelector('#chart-revenue canvas')) marks.charts = performance.now();
    if (!marks.rows && document.querySelector('#table-deliveries tbody tr')) marks.rows = performance.now();
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true });
})();`;

async function timeRenders(browser: Browser, url: string): Promise<void> {
  const session = await logIn(browser, url);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nrender time from navigation start, median of ${RUNS} (desktop width, Russian):`);
  for (const rate of [1, 4]) {
    const context = await newContext(browser, { locale: 'ru-RU', width: 1280 }, session);
    await context.addInitScript(MARKS);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate });
    const results: Record<string, number[]> = { charts: [], rows: [] };
    for (const [mark, pagePath] of [
      ['charts', '/console'],
      ['rows', '/console/deliveries'],
    ] as const) {
      for (let i = 0; i < RUNS; i++) {
        await page.goto(url + pagePath);
        const at = await page.waitForFunction(`window.__marks && window.__marks.${mark}`);
        results[mark]!.push(Number(await at.jsonValue()));
      }
    }
    const label = rate === 1 ? 'CPU unslowed' : `CPU slowed ${rate}×`;
    console.log(
      `  ${label.padEnd(16)} overview charts drawn ${median(results.charts!).toFixed(0).padStart(5)} ms, deliveries table filled ${median(results.rows!).toFixed(0).padStart(5)} ms`,
    );
    await context.close();
  }
}

type Browsers = Record<Shot['locale'], Browser>;

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const seeded = await startSeededConsole({ log: console.log });
  const browsers: Browsers = {
    'ru-RU': await launchChromium('ru'),
    'en-GB': await launchChromium('en_GB'),
  };
  try {
    await takeShots(browsers, seeded.url, seeded.skippedDealId);
    if (TIMING) await timeRenders(browsers['ru-RU'], seeded.url);
  } finally {
    await Promise.all(Object.values(browsers).map((b) => b.close()));
    await seeded.close();
  }
}

main().catch((e: unknown) => {
  console.error(`screenshots: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});
