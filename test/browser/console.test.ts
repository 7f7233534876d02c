/**
 * The console end to end in Chromium: the real service (HTTP, store, worker, GA4 stand-in) with
 * CLOSELOOP_CONSOLE_PASSWORD set, on SQLite and on Redis when REDIS_URL is set. Log-in (and a
 * wrong password), a CSRF-less action refused, the overview's totals equal to the delivery log's,
 * the trace of a skipped deal showing the reason, and a replay click sending once.
 *
 * Needs `npm run build` and /usr/bin/chromium (see console-ui.test.ts for the browser half alone).
 */
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningService } from '../../src/main';
import type { Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitForDrained } from '../helpers/wait-for-drained';
import { describeOnEachStore } from '../helpers/redis-test-prefix';
import { startConsoleService, type ConsoleService } from '../helpers/console-service';
import { launchChromium, needChromium } from '../helpers/launch-chromium';

const PASSWORD = 'correct horse battery staple 42';

describeOnEachStore('the console in Chromium', (storeName, redisUrl) => {
  describe(`the console in Chromium (${storeName})`, function () {
    this.timeout(60_000);
    let browser: Browser;
    let running: ConsoleService | undefined;
    let ga4: Ga4StandIn;
    let service: RunningService;
    let context: BrowserContext;
    let page: Page;
    let base: string;

    before(async function () {
      needChromium(this, "the console's browser tests");
      running = await startConsoleService({
        redisUrl,
        name: 'console-browser',
        password: PASSWORD,
        apiToken: null,
      });
      ({ ga4, service, base } = running);
      const post = running.postWebhook;
      await post(webhookBody('status', [{ id: 4712, price: 125000 }])); // sent
      await post(webhookBody('status', [{ id: 4711, price: 98000, clientId: null }])); // skipped
      ga4.failNext(1, 400);
      await post(webhookBody('status', [{ id: 4710, price: 15500 }])); // failed
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
      await running?.close();
    });

    beforeEach(async () => {
      context = await browser.newContext({
        locale: 'en-GB',
        viewport: { width: 1280, height: 900 },
      });
      page = await context.newPage();
    });
    afterEach(() => context.close());

    const logIn = async () => {
      await page.goto(`${base}/console`);
      await page.waitForURL(/\/console\/login$/);
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForURL(/\/console$/), page.click('button[type=submit]')]);
    };

    it('a wrong password is refused on the login page; the right one opens the overview', async () => {
      await page.goto(`${base}/console/login`);
      await page.fill('#password', 'not the password');
      await page.click('button[type=submit]');
      await page.locator('#login-error').waitFor();
      assert.match((await page.locator('#login-error').textContent()) ?? '', /Wrong password/);
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForURL(/\/console$/), page.click('button[type=submit]')]);
      await page.locator('#kpi-conversions[data-value]').waitFor();
    });

    it('an action without the CSRF token is refused (403), with it accepted', async () => {
      await logIn();
      const status = (withToken: boolean) =>
        page.evaluate<number>(
          `fetch('/api/v1/reconcile', { method: 'POST', headers: ${
            withToken
              ? `{ 'x-csrf-token': document.querySelector('meta[name="csrf-token"]').content }`
              : '{}'
          } }).then((r) => r.status)`,
        );
      assert.equal(await status(false), 403);
      assert.notEqual(await status(true), 403);
    });

    it('the overview’s totals equal the delivery log’s', async () => {
      await logIn();
      await page.locator('#kpi-conversions[data-value]').waitFor();
      const rows = await service.store.deliveryLog.list({ limit: 1000 });
      const accepted = rows.filter((r) => r.outcome === 'sent' || r.outcome === 'dry_run');
      const events = accepted.reduce((n, r) => n + r.events.length, 0);
      assert.ok(events > 0, 'something was sent');
      assert.equal(
        Number(await page.locator('#kpi-conversions').getAttribute('data-value')),
        events,
      );
    });

    it('the trace of a skipped deal shows why it was skipped', async () => {
      await logIn();
      await page.goto(`${base}/console/deals/4711`);
      const skipped = page.locator('#timeline li[data-kind="skipped"]');
      await skipped.first().waitFor();
      const [row] = await service.store.deliveryLog.list({
        dealId: '4711',
        outcome: 'skipped',
        limit: 1,
      });
      assert.ok(row?.reason, 'the log has the reason');
      assert.ok(((await skipped.first().textContent()) ?? '').includes(row.reason));
    });

    it('a replay click sends the failed delivery once', async () => {
      await logIn();
      await page.goto(`${base}/console/deliveries?deal=4710`);
      const button = page.locator('#table-deliveries tr[data-outcome="failed"] button.replay');
      await button.first().click();
      await page.locator('#status', { hasText: 'Replayed: 1.' }).waitFor();
      await waitForDrained(service.store.queue);
      const sentFor4710 = () =>
        ga4.collected().filter((r) => JSON.stringify(r.json).includes('4710')).length;
      assert.equal(sentFor4710(), 1);
      // The same click again (a stale page): the ledger keeps it from going twice.
      await button
        .first()
        .click()
        .catch(() => undefined);
      await page.locator('#status').filter({ hasNotText: 'Loading' }).waitFor();
      await waitForDrained(service.store.queue);
      assert.equal(sentFor4710(), 1);
    });
  });
});
