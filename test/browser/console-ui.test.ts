/**
 * The console's pages in a real browser (Debian's Chromium driven by playwright-core): the real
 * shells, page script, stylesheet and uPlot, against the stand-in server side of
 * test/helpers/console-ui-stand-in.ts (real HTTP on loopback, strict about CSRF and sessions).
 * What is proved here is the browser's half: the numbers shown equal the API's, a skipped deal's
 * reason is on its trace, a replay click sends one POST with the CSRF token, a refused token and an
 * ended session are shown as such, Russian labels by the browser's language, and no page is wider
 * than a 360 px screen. The server's half (login, sessions, CSRF checks against the real store)
 * is test/integration/console-api*.test.ts.
 *
 * Needs `npm run build` (dist/console-ui) and /usr/bin/chromium; without the browser they fail
 * under CI and are skipped, with a loud line saying why, on a developer's machine.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, needChromium } from '../helpers/launch-chromium';
import { consoleAssetsDir } from '../../src/console/ui';
import {
  STAND_IN_CSRF,
  startConsoleStandIn,
  type ConsoleStandIn,
} from '../helpers/console-ui-stand-in';

describe('console pages in Chromium', function () {
  this.timeout(60000);

  let browser: Browser;
  let standIn: ConsoleStandIn;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  before(async function () {
    needChromium(this, "the console's browser tests");
    assert.ok(
      existsSync(path.join(consoleAssetsDir, 'console.js')),
      `${consoleAssetsDir}/console.js is missing: run npm run build`,
    );
    standIn = await startConsoleStandIn();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await standIn?.close();
  });

  const open = async (urlPath: string, opts: { locale?: string; width?: number } = {}) => {
    context = await browser.newContext({
      locale: opts.locale ?? 'en-GB',
      viewport: { width: opts.width ?? 1280, height: 900 },
    });
    page = await context.newPage();
    errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      // The browser logs every 401 and 403; the tests that cause them check how the page shows them.
      if (m.type() === 'error' && !/status of (401|403)/.test(m.text())) errors.push(m.text());
    });
    await page.goto(standIn.url + urlPath);
    return page;
  };

  beforeEach(() => {
    standIn.posts.length = 0;
    standIn.session.valid = true;
  });

  afterEach(async () => {
    await context?.close();
    assert.deepEqual(errors, [], 'the page logged no errors');
  });

  it('the login page asks for the password, in Russian for a Russian browser', async () => {
    await open('/console/login', { locale: 'ru-RU' });
    assert.equal(await page.locator('h1').textContent(), 'Вход в консоль closeloop');
    assert.equal(
      await page.locator('form[action="/console/login"] input[type=password]').getAttribute('name'),
      'password',
    );
  });

  it('overview: the totals, the gap and the breakdowns equal the API’s numbers; charts drawn', async () => {
    await open('/console');
    const { overview } = standIn.facts;
    await page.locator('#kpi-conversions[data-value]').waitFor();
    const value = async (selector: string) =>
      Number(await page.locator(selector).getAttribute('data-value'));
    const sum = (pick: (d: (typeof overview.days)[number]) => number) =>
      overview.days.reduce((s, d) => s + pick(d), 0);
    assert.equal(
      await value('#kpi-conversions'),
      sum((d) => d.conversions),
    );
    assert.equal(
      await value('#kpi-revenue'),
      sum((d) => d.revenue),
    );
    assert.equal(await value('#kpi-won'), overview.funnel.won);
    assert.equal(await value('#kpi-accepted'), overview.funnel.accepted);
    for (const [reason, n] of Object.entries(overview.funnel.gap)) {
      assert.equal(await value(`#table-gap tr[data-reason="${reason}"]`), n, reason);
    }
    const purchases = sum((d) => d.byEvent.purchase);
    const eventRows = await page.locator('#table-event tbody tr').allTextContents();
    assert.ok(
      eventRows.some(
        (r) => r.startsWith('purchase') && r.includes(purchases.toLocaleString('en-GB')),
      ),
      eventRows.join('|'),
    );
    assert.equal(await page.locator('#table-source tbody tr').count(), overview.bySource.length);
    assert.equal(
      await page.locator('#chart-conversions canvas').count(),
      1,
      'uPlot drew the conversions chart',
    );
    assert.equal(
      await page.locator('#chart-revenue canvas').count(),
      1,
      'uPlot drew the revenue chart',
    );
  });

  it('deal trace: a skipped deal shows why, its detail open, in order', async () => {
    await open('/console/deals/4711');
    const skipped = page.locator('#timeline li[data-kind="skipped"]');
    await skipped.waitFor();
    assert.match((await skipped.textContent()) ?? '', /no GA client id on the lead/);
    assert.equal(await skipped.locator('details').getAttribute('open'), '');
    assert.match((await skipped.locator('pre').textContent()) ?? '', /DELIVERY_NO_CLIENT_ID/);
    const items = await page.locator('#timeline li').all();
    const kinds = await Promise.all(items.map((item) => item.getAttribute('data-kind')));
    assert.deepEqual(
      kinds,
      standIn.facts.trace.steps.map((s) => s.kind),
    );
    await page.locator('#table-deliveries tbody tr[data-id="6"]').waitFor();
    assert.equal(
      await page.locator('#table-deliveries tbody tr').count(),
      1,
      'only deal 4711’s rows',
    );
  });

  it('deliveries: one click on Replay sends one POST with the CSRF token', async () => {
    await open('/console/deliveries');
    const failed = page.locator('#table-deliveries tr[data-outcome="failed"] button.replay');
    await failed.click();
    await page.locator('#status', { hasText: 'Replayed: 1.' }).waitFor();
    assert.deepEqual(standIn.posts, [
      { path: '/api/v1/replay', body: { id: 5 }, csrf: STAND_IN_CSRF },
    ]);
    assert.equal(
      await page.locator('#table-deliveries tr[data-outcome="sent"] button.replay').count(),
      0,
      'no replay of a sent row',
    );
  });

  it('deliveries: filters from the address bar go to the API, the form and the CSV link', async () => {
    await open('/console/deliveries?outcome=skipped&q=client');
    await page.locator('#table-deliveries tbody tr').first().waitFor();
    assert.equal(await page.locator('#table-deliveries tbody tr').count(), 1);
    assert.equal(await page.locator('#f-outcome').inputValue(), 'skipped');
    assert.equal(
      await page.locator('#csv').getAttribute('href'),
      '/api/v1/deliveries.csv?outcome=skipped&q=client',
    );
  });

  it('a refused CSRF token is shown as a stale page, not as success', async () => {
    await open('/console/deliveries');
    await page.evaluate(
      `document.querySelector('meta[name="csrf-token"]').setAttribute('content', 'stale')`,
    );
    await page.locator('#table-deliveries tr[data-outcome="failed"] button.replay').click();
    await page.locator('#status.status-error').waitFor();
    assert.match((await page.locator('#status').textContent()) ?? '', /Reload the page/);
    assert.equal(standIn.posts.length, 1);
    assert.equal(standIn.posts[0]?.csrf, 'stale');
  });

  it('an ended session sends the browser to the login page', async () => {
    standIn.session.valid = false;
    await open('/console/setup');
    await page.waitForURL(/\/console\/login$/);
  });

  it('setup: send-test shows GA4’s validation messages', async () => {
    await open('/console/setup');
    await page.locator('#webhook-urls li').first().waitFor();
    await page.locator('#send-test button').click();
    await page.locator('#send-test-result [data-valid="false"]').waitFor();
    assert.match((await page.locator('#send-test-result').textContent()) ?? '', /NAME_INVALID/);
    assert.equal(standIn.posts[0]?.csrf, STAND_IN_CSRF);
  });

  for (const urlPath of [
    '/console',
    '/console/deliveries',
    '/console/deals/4711',
    '/console/setup',
  ]) {
    it(`${urlPath} fits a 360 px screen (no sideways scrolling)`, async () => {
      await open(urlPath, { width: 360, locale: 'ru-RU' });
      await page.waitForLoadState('networkidle');
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 360, `the page is ${width} px wide`);
    });
  }
});
