/**
 * Yandex Metrica's orders mode end to end, on each store (embedded SQLite, Redis): signed deal
 * events → the rules and deal life → the Metrica destination (`METRICA_MODE=orders`) → the outbox →
 * CSV uploads to the stand-in's simple_orders over real HTTP (test/helpers/metrica-stand-in.ts,
 * strict about merge_mode, the part `file`, the columns and their values). A won deal becomes a PAID
 * order once; an amount corrected after the win becomes a SAVE of the same order with the new
 * amount; a deal lost after the win becomes CANCELLED; a dropped connection is retried and loses
 * nothing.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loadConfig } from '../../src/config/load-config';
import type { CloseloopConfig } from '../../src/config/config-types';
import type { DeliveryRecord } from '../../src/ports/delivery-log';
import { DEFAULT_REVENUE_SETTINGS } from '../../src/core/config-types';
import { startMetricaStandIn, type MetricaStandIn } from '../helpers/metrica-stand-in';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const INTAKE = 'orders-intake-key-8d2e4f6a0b1c3e5d7f9a';
const HOOK = 'orders-webhook-secret-abcdef0123456789';
const TOKEN = 'y0_orders-test-token';
const COUNTER = '51234567';
const CID = '1764583200123456789';

/** A deal event of the signed intake, `minutesAgo` before now. */
function deal(
  id: string,
  outcome: 'won' | 'lost',
  amount: string,
  minutesAgo: number,
): Record<string, unknown> {
  return {
    account: 'shop',
    deal_id: id,
    stage: outcome === 'won' ? 'complete' : 'lost',
    outcome,
    amount,
    currency: 'RUB',
    occurred_at: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
    identities: { ym_client_id: CID },
  };
}

describeOnEachStore('Metrica orders mode', (storeName, redisUrl) => {
  describe(`Metrica orders mode (${storeName})`, function () {
    this.timeout(30_000);
    let dir: string;
    let prefix: string;
    let ga4: Ga4StandIn;
    let metrica: MetricaStandIn;
    let service: RunningService | null = null;

    async function start(orderStatuses?: Record<string, string>): Promise<void> {
      const loaded = loadConfig({
        path: 'config/closeloop.example.yaml',
        env: {
          CLOSELOOP_WEBHOOK_SECRET: HOOK,
          CLOSELOOP_INTAKE_SECRET: INTAKE,
          GA4_MEASUREMENT_ID: 'G-ORDERS01',
          GA4_API_SECRET: 'orders-api-secret',
          GA4_ENDPOINT: ga4.url,
          METRICA_COUNTER_ID: COUNTER,
          METRICA_TOKEN: TOKEN,
          METRICA_ENDPOINT: metrica.url,
          METRICA_FLUSH_SECONDS: '1',
          METRICA_MODE: 'orders',
        },
      });
      const config: CloseloopConfig = {
        ...loaded,
        metrica: {
          ...loaded.metrica!,
          timeoutMs: 1000,
          ...(orderStatuses ? { orderStatuses } : {}),
        },
        // Every correction deal life can make, so each reaches the order.
        revenue: {
          ...DEFAULT_REVENUE_SETTINGS,
          amountChanged: 'refund_and_resend',
          lostAfterWon: 'refund',
          wonAgain: 'refund_and_resend',
        },
      };
      service = await startService(
        loopbackService(config, captureLogger(), dir, {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
          metricaTickMs: 50,
        }),
      );
    }

    async function send(...events: Array<Record<string, unknown>>): Promise<void> {
      const body = JSON.stringify(events);
      const signature = `sha256=${createHmac('sha256', INTAKE).update(body).digest('hex')}`;
      const res = await fetch(`http://127.0.0.1:${service!.port}/webhooks/generic/${HOOK}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-closeloop-signature': signature },
        body,
      });
      assert.equal(res.status, 200, await res.text());
      await waitForDrained(service!.store.queue);
    }

    const passed = () => metrica.orderUploads(COUNTER).filter((u) => u.status === 'PASSED');
    const order = (id: string) => metrica.orders(COUNTER).get(id);

    async function uploads(n: number): Promise<void> {
      await waitFor(() => passed().length === n, {
        timeoutMs: 10_000,
        message: () => JSON.stringify(metrica.orderUploads()),
      });
    }

    /** The deal's delivery row, once its reason matches (the upload's answer is written after it). */
    async function logged(dealId: string, reason: RegExp, status = 'PAID') {
      let found: DeliveryRecord | undefined;
      await waitFor(
        async () => {
          const rows = await service!.store.deliveryLog.list({ destination: 'metrica' });
          found = rows.find(
            (r) => r.dealId === dealId && reason.test(r.reason ?? '') && r.events.includes(status),
          );
          return found !== undefined;
        },
        { timeoutMs: 10_000 },
      );
      return found!;
    }

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-orders-'));
      prefix = uniqueRedisPrefix('metrica-orders');
      ga4 = await startGa4StandIn();
      metrica = await startMetricaStandIn({
        tokens: { [TOKEN]: { scopes: ['metrika:read', 'metrika:offline_data'] } },
        counters: [COUNTER],
      });
    });
    afterEach(async () => {
      await service?.close();
      service = null;
      await metrica.close();
      await ga4.close();
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('uploads a won deal as a PAID order once, with merge_mode=SAVE, and shows it', async () => {
      await start();
      await send(deal('D-1', 'won', '2500.50', 60));
      await uploads(1);
      const [upload] = passed();
      assert.equal(upload!.mergeMode, 'SAVE');
      const lines = upload!.csv.trim().split('\n');
      assert.equal(lines[0], 'id,create_date_time,client_ids,order_status,revenue,currency');
      assert.match(
        lines[1]!,
        new RegExp(`^D-1,\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,${CID},PAID,2500\\.5,RUB$`),
      );
      assert.equal(
        lines.length,
        2,
        'one row: the purchase (close_convert_lead is no order status)',
      );
      assert.deepEqual(
        metrica.requests
          .filter((r) => r.endpoint === 'simple_orders')
          .map((r) => r.query.get('merge_mode')),
        ['SAVE'],
      );
      const row = await logged('D-1', /uploaded to Metrica as upload cdp-\d+ .*status PASSED/);
      assert.equal(row.outcome, 'sent');
      assert.deepEqual(row.events, ['PAID']);
      // The same webhook again: nothing new is uploaded.
      await send(deal('D-1', 'won', '2500.50', 60));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(metrica.orderUploads().length, 1);
      assert.equal(order('D-1')?.order_status, 'PAID');
    });

    it('an amount changed after the win: a SAVE of the same order id with the new amount', async () => {
      await start();
      await send(deal('D-2', 'won', '1000', 90));
      await uploads(1);
      await send(deal('D-2', 'won', '1200', 30));
      await uploads(2);
      const second = passed()[1]!.csv.trim().split('\n');
      // The refund and the new purchase of deal life are one change of the order: one row.
      assert.equal(second.length, 2);
      assert.match(second[1]!, new RegExp(`^D-2,[^,]+,${CID},PAID,1200,RUB$`));
      assert.equal(order('D-2')?.revenue, '1200');
      assert.equal(order('D-2')?.order_status, 'PAID');
      assert.equal(metrica.orders(COUNTER).size, 1);
    });

    it('a deal lost after it was won: the order becomes CANCELLED', async () => {
      await start();
      await send(deal('D-3', 'won', '700', 90));
      await uploads(1);
      await send(deal('D-3', 'lost', '700', 10));
      await uploads(2);
      assert.equal(order('D-3')?.order_status, 'CANCELLED');
      const row = await logged('D-3', /status PASSED/, 'CANCELLED');
      assert.equal(row.outcome, 'sent');
    });

    it('a file Metrica’s check FAILS is not sent again; the counter’s queue stops and says why', async () => {
      // A goal identifier as the status, but the counter has no such goal: FAILED.
      await start({ purchase: 'oplata_cash' });
      await send(deal('D-6', 'won', '900', 20));
      await waitFor(() => metrica.orderUploads().length === 1, { timeoutMs: 10_000 });
      assert.equal(metrica.orderUploads()[0]!.status, 'FAILED');
      const row = await logged('D-6', /api_validation_status FAILED/, 'oplata_cash');
      assert.equal(row.outcome, 'failed');
      assert.equal(row.code, 'METRICA_UPLOAD_REJECTED');
      await send(deal('D-7', 'won', '100', 20));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(metrica.orderUploads().length, 1, 'neither resent nor a new upload');
      const metrics = await (await fetch(`http://127.0.0.1:${service!.port}/metrics`)).text();
      assert.match(metrics, /closeloop_metrica_uploads\{destination="metrica",what="stopped"\} 1/);
    });

    it('retries an upload whose connection dropped after the body was read, losing nothing', async () => {
      metrica.setFault({ kind: 'drop' }, { endpoint: 'simple_orders' });
      await start();
      await send(deal('D-4', 'won', '300', 20), deal('D-5', 'won', '400', 20));
      await uploads(2);
      const [dropped, again] = metrica.requests.filter((r) => r.endpoint === 'simple_orders');
      assert.equal(dropped?.dropped, true);
      assert.equal(again?.dropped, false);
      // The same file again: SAVE replaces each order by its id, so the resend changes nothing.
      assert.equal(passed()[0]!.csv, passed()[1]!.csv);
      assert.equal(order('D-4')?.order_status, 'PAID');
      assert.equal(order('D-5')?.revenue, '400');
      await logged('D-4', /status PASSED/);
      await logged('D-5', /status PASSED/);
    });
  });
});
