/**
 * A deal's whole life through the real pipeline (HTTP, store, worker, GA4 stand-in), on SQLite
 * and on Redis when REDIS_URL is set: a deal won at 150 000 ₽, reopened, won again at 120 000 ₽,
 * lost, or edited after its purchase went. What reaches GA4 is exactly what revenue.* says, once,
 * however often amoCRM repeats itself.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import type { CloseloopConfig } from '../../src/config/config-types';
import { DEFAULT_REVENUE_SETTINGS, type RevenueSettings } from '../../src/core/config-types';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const DEAL = 4711;
const WON = webhookBody('status', [{ id: DEAL, price: 150000 }]);
const REOPENED = webhookBody('status', [{ id: DEAL, statusId: 41893093, oldStatusId: 142 }]);
const WON_AGAIN = webhookBody('status', [{ id: DEAL, price: 120000 }]);
const LOST = webhookBody('status', [{ id: DEAL, statusId: 143, oldStatusId: 142 }]);
const EDITED = webhookBody('update', [{ id: DEAL, price: 120000 }]);

describeOnEachStore('a deal’s whole life', describeDealLife);

function describeDealLife(storeName: string, redisUrl: string | null): void {
  describe(`a deal’s whole life (${storeName})`, function () {
    this.timeout(20_000);
    let prefix: string;
    let dir: string;
    let ga4: Ga4StandIn;
    let service: RunningService | null;

    async function start(
      revenue: Partial<RevenueSettings> = {},
      over: (c: CloseloopConfig) => CloseloopConfig = (c) => c,
    ): Promise<void> {
      const base = testConfig();
      const config = over({
        ...base,
        ga4: { ...base.ga4, endpoint: ga4.url },
        revenue: { ...DEFAULT_REVENUE_SETTINGS, ...revenue },
      });
      service = await startService(
        loopbackService(config, captureLogger(), dir, {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
        }),
      );
    }

    /** Posts the webhook `times` times, waiting for the worker to finish with each. */
    async function post(body: string, times = 1): Promise<void> {
      for (let i = 0; i < times; i++) await burst(body, 1);
    }

    /** Posts the webhook `times` times at once (the worker sees them together), then waits. */
    async function burst(body: string, times: number): Promise<void> {
      const answers = await Promise.all(
        Array.from({ length: times }, () =>
          fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
          }),
        ),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        answers.map(() => 200),
      );
      await waitForDrained(service!.store.queue);
    }

    /** Every purchase and refund GA4 got: name, transaction_id, value, currency. */
    function revenueEvents(): Array<[string, unknown, unknown, unknown]> {
      return ga4
        .collected()
        .flatMap(
          (r) =>
            (r.json as { events: Array<{ name: string; params: Record<string, unknown> }> }).events,
        )
        .filter((e) => e.name === 'purchase' || e.name === 'refund')
        .map((e) => [e.name, e.params.transaction_id, e.params.value, e.params.currency]);
    }

    const record = () =>
      service!.store.revenue.get({
        destination: 'ga4',
        source: 'amocrm',
        crmAccount: '29638927',
        dealId: String(DEAL),
      });

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-deal-life-'));
      ga4 = await startGa4StandIn();
      service = null;
      prefix = uniqueRedisPrefix('deal-life');
    });
    afterEach(async () => {
      await service?.close();
      await ga4.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    it('by default, a deal won, reopened and won again at another amount is counted once, and the new amount recorded', async () => {
      await start();
      await post(WON);
      await post(REOPENED);
      await post(WON_AGAIN, 2);
      assert.deepEqual(revenueEvents(), [['purchase', '4711', 150000, 'RUB']]);
      const rec = await record();
      assert.deepEqual(
        [rec?.revision, rec?.state, rec?.transactionId, rec?.amount, rec?.currency],
        [1, 'reopened', '4711', '150000', 'RUB'],
      );
      const rows = await service!.store.deliveryLog.list({ dealId: String(DEAL) });
      const changed = rows.filter((r) => r.code === 'DEAL_AMOUNT_CHANGED');
      assert.equal(changed.length, 1, 'one row for the change, however often it is seen');
      assert.equal(changed[0]!.outcome, 'skipped');
      assert.equal(changed[0]!.destination, 'ga4');
      assert.match(
        changed[0]!.reason ?? '',
        /^purchase 4711 was sent with 150000 RUB on .+; the deal now says 120000 RUB\. It was won again \(revenue\.won_again: ignore\)\./,
      );
    });

    it('with won_again: refund_and_resend, refunds the old amount and sends the new purchase once, even when webhooks repeat', async () => {
      await start({ wonAgain: 'refund_and_resend' });
      await post(WON, 2);
      await post(REOPENED, 2);
      await burst(WON_AGAIN, 3);
      await post(WON_AGAIN);
      assert.deepEqual(revenueEvents(), [
        ['purchase', '4711', 150000, 'RUB'],
        ['refund', '4711', 150000, 'RUB'],
        ['purchase', '4711-2', 120000, 'RUB'],
      ]);
      assert.deepEqual(
        ga4.collected().flatMap((r) => r.problems),
        [],
        'GA4 takes every event as it is',
      );
      // The refund and the new purchase went together; the lead event of the win was sent once.
      const last = ga4.collected().at(-1)!.json as { events: Array<{ name: string }> };
      assert.deepEqual(
        last.events.map((e) => e.name),
        ['refund', 'purchase'],
      );
      const rec = await record();
      assert.deepEqual(
        [rec?.revision, rec?.state, rec?.transactionId, rec?.amount],
        [2, 'sent', '4711-2', '120000'],
      );
      const sent = (await service!.store.deliveryLog.list({ dealId: String(DEAL) })).filter(
        (r) => r.outcome === 'sent',
      );
      assert.match(
        sent[0]!.reason ?? '',
        /^won again after it was reopened \(revenue\.won_again: refund_and_resend\): refund of purchase 4711 \(150000 RUB\), then purchase 4711-2 \(120000 RUB\)$/,
      );
      // Reopened and won again once more: the refund is of the second purchase.
      await post(REOPENED);
      await post(webhookBody('status', [{ id: DEAL, price: 90000 }]));
      assert.deepEqual(revenueEvents().slice(3), [
        ['refund', '4711-2', 120000, 'RUB'],
        ['purchase', '4711-3', 90000, 'RUB'],
      ]);
    });

    it('with lost_after_won: refund, a won deal moved to lost is refunded in full, once; won again, it is sent anew', async () => {
      await start({ lostAfterWon: 'refund' });
      await post(WON);
      await post(LOST, 3);
      assert.deepEqual(revenueEvents(), [
        ['purchase', '4711', 150000, 'RUB'],
        ['refund', '4711', 150000, 'RUB'],
      ]);
      assert.equal((await record())?.state, 'refunded');
      await post(WON_AGAIN, 2);
      assert.deepEqual(revenueEvents().slice(2), [['purchase', '4711-2', 120000, 'RUB']]);
    });

    it('by default, a won deal moved to lost keeps its purchase', async () => {
      await start();
      await post(WON);
      await post(LOST);
      assert.deepEqual(revenueEvents(), [['purchase', '4711', 150000, 'RUB']]);
      assert.equal((await record())?.state, 'reopened');
    });

    it('records an amount changed after the purchase was sent, and corrects it with amount_changed: refund_and_resend', async () => {
      await start();
      await post(WON);
      await post(EDITED, 2);
      assert.deepEqual(revenueEvents(), [['purchase', '4711', 150000, 'RUB']]);
      const changed = (await service!.store.deliveryLog.list({ dealId: String(DEAL) })).filter(
        (r) => r.code === 'DEAL_AMOUNT_CHANGED',
      );
      assert.equal(changed.length, 1);
      assert.match(
        changed[0]!.reason ?? '',
        /the deal now says 120000 RUB\. The destination keeps counting 150000 RUB/,
      );
      await service!.close();
      service = null;

      await start({ amountChanged: 'refund_and_resend' });
      await post(EDITED, 2);
      assert.deepEqual(revenueEvents().slice(1), [
        ['refund', '4711', 150000, 'RUB'],
        ['purchase', '4711-2', 120000, 'RUB'],
      ]);
    });

    it('records no revenue from a dry run', async () => {
      await start({}, (c) => ({ ...c, ga4: { ...c.ga4, dryRun: true } }));
      await post(WON);
      assert.equal(ga4.attempts().length, 0);
      assert.equal(await record(), null);
    });
  });
}
