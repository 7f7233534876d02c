/**
 * Yandex Metrica end to end, on each store: signed won events → rules → the Metrica destination →
 * the outbox → CSV uploads to a loopback HTTP fake of the Management API → statuses polled → each
 * conversion's delivery row shows its upload. Every won deal with a Metrica identity is uploaded
 * exactly once: through a connection dropped after the body was read, and through a restart while
 * an upload hung (the stand-in of the Management API, test/helpers/metrica-stand-in.ts).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loadConfig } from '../../src/config/load-config';
import type { CloseloopConfig } from '../../src/config/config-types';
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

const INTAKE_SECRET = 'intake-key-5f1c9a7e3b2d4c6a8e0f';
const WEBHOOK_SECRET = 'metrica-webhook-secret-0123456789';
const TOKEN = 'y0_metrica-test-token';
const COUNTER = '44147844';

function sign(body: string): string {
  return `sha256=${createHmac('sha256', INTAKE_SECRET).update(body).digest('hex')}`;
}

const recent = (): string => new Date(Date.now() - 3_600_000).toISOString();

function won(id: string, identities: Record<string, string>): Record<string, unknown> {
  return {
    account: 'shop',
    deal_id: id,
    stage: 'complete',
    outcome: 'won',
    amount: '2500.50',
    currency: 'RUB',
    occurred_at: recent(),
    identities,
  };
}

describeOnEachStore('Metrica end to end', (storeName, redisUrl) => {
  describe(`Metrica end to end (${storeName})`, function () {
    this.timeout(30_000);
    let dir: string;
    let prefix: string;
    let ga4: Ga4StandIn;
    let fake: MetricaStandIn;
    let service: RunningService | null;

    function config(): CloseloopConfig {
      const c = loadConfig({
        path: 'config/closeloop.example.yaml',
        env: {
          CLOSELOOP_WEBHOOK_SECRET: WEBHOOK_SECRET,
          CLOSELOOP_INTAKE_SECRET: INTAKE_SECRET,
          GA4_MEASUREMENT_ID: 'G-METRICA1',
          GA4_API_SECRET: 'metrica-api-secret',
          GA4_ENDPOINT: ga4.url,
          METRICA_COUNTER_ID: COUNTER,
          METRICA_TOKEN: TOKEN,
          METRICA_ENDPOINT: fake.url,
          METRICA_FLUSH_SECONDS: '1',
          METRICA_POLL_SECONDS: '1',
        },
      });
      return { ...c, metrica: { ...c.metrica!, timeoutMs: 1000 } };
    }

    async function start(): Promise<RunningService> {
      service = await startService(
        loopbackService(config(), captureLogger(), dir, {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
          metricaTickMs: 50,
        }),
      );
      return service;
    }

    async function post(events: unknown[]): Promise<void> {
      const body = JSON.stringify(events);
      const res = await fetch(
        `http://127.0.0.1:${service!.port}/webhooks/generic/${WEBHOOK_SECRET}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-closeloop-signature': sign(body) },
          body,
        },
      );
      assert.equal(res.status, 200, await res.text());
      await waitForDrained(service!.store.queue);
    }

    const posts = (): number => fake.requests.filter((r) => r.endpoint === 'upload').length;

    /** Statuses move on with Metrica's clock: 40 minutes at each look. */
    async function processedRows(n: number): Promise<void> {
      await waitFor(
        async () => {
          fake.advance(40 * 60_000);
          return (
            (await service!.store.deliveryLog.list({ destination: 'metrica' })).filter((r) =>
              /status PROCESSED/.test(r.reason ?? ''),
            ).length === n
          );
        },
        { timeoutMs: 10_000, intervalMs: 200 },
      );
    }

    /** Every data row uploaded, by its identifier. */
    function uploadedRows(): string[] {
      return fake.uploads().flatMap((u) => u.csv.trim().split('\n').slice(1));
    }

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-metrica-'));
      prefix = uniqueRedisPrefix('metrica');
      ga4 = await startGa4StandIn();
      fake = await startMetricaStandIn({
        tokens: { [TOKEN]: { scopes: ['metrika:read', 'metrika:offline_data'] } },
        counters: [COUNTER],
      });
      fake.addGoal(COUNTER, 'deal_won');
      fake.addVisitors(COUNTER, {
        clientIds: ['1764583200123456789', '1764583200987654321'],
        yclids: ['987654321', '55'],
      });
      service = null;
    });
    afterEach(async () => {
      await service?.close();
      await fake.close();
      await ga4.close();
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('uploads each won deal with an identity once, one file per identifier type, and shows its status', async () => {
      await start();
      await post([
        won('D-1', { ga_client_id: '111.222', ym_client_id: '1764583200123456789' }),
        won('D-2', { ym_client_id: '1764583200987654321' }),
        won('D-3', { yclid: '987654321' }),
        won('D-4', { ga_client_id: '333.444' }),
      ]);
      await waitFor(() => uploadedRows().length === 3, {
        timeoutMs: 10_000,
        message: () => JSON.stringify(fake.uploads()),
      });
      const files = fake
        .uploads()
        .map((u) => u.csv.split('\n')[0])
        .sort();
      assert.deepEqual(files, [
        'ClientId,Target,DateTime,Price,Currency',
        'Yclid,Target,DateTime,Price,Currency',
      ]);
      const rows = uploadedRows().sort();
      assert.match(rows[0]!, /^1764583200123456789,deal_won,\d{10},2500\.5,RUB$/);
      assert.match(rows[2]!, /^987654321,deal_won,\d{10},2500\.5,RUB$/);
      for (const u of fake.uploads()) assert.match(u.comment ?? '', /^closeloop-[0-9a-f-]{36}$/);
      // Each conversion's row comes to show its upload, PROCESSED.
      await processedRows(3);
      const log = await service!.store.deliveryLog.list({ destination: 'metrica' });
      const d4 = log.find((r) => r.dealId === 'D-4');
      assert.equal(d4?.outcome, 'skipped');
      assert.equal(d4?.code, 'METRICA_NO_IDENTITY');
      const d1 = log.find((r) => r.dealId === 'D-1')!;
      assert.equal(d1.outcome, 'sent');
      assert.match(d1.reason!, /uploaded to Metrica as upload 10\d\d .*\d linked/);
      // GA4 keeps its events; D-2 and D-3 have no GA client ID.
      assert.equal(ga4.collected().length, 2);
      // A repeated webhook uploads nothing again.
      await post([won('D-1', { ym_client_id: '1764583200123456789' })]);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(uploadedRows().length, 3);
    });

    it('records a won deal more than 21 days old as expired for Metrica, uploads nothing, and still sends it to GA4', async () => {
      await start();
      const old = {
        ...won('D-OLD', { ga_client_id: '555.666', ym_client_id: '1764583200123456789' }),
        occurred_at: new Date(Date.now() - 22 * 86_400_000).toISOString(),
      };
      await post([old]);
      const log = await service!.store.deliveryLog.list({ destination: 'metrica' });
      const row = log.find((r) => r.dealId === 'D-OLD');
      assert.equal(row?.outcome, 'expired', JSON.stringify(row));
      assert.equal(row?.code, 'METRICA_CONVERSION_EXPIRED');
      assert.match(row.reason!, /22 days ago/);
      assert.equal((await service!.store.deliveryLog.counts()).expired, 1);
      await new Promise((r) => setTimeout(r, 1200)); // a flush interval: still nothing to upload
      assert.equal(posts(), 0);
      assert.equal(ga4.collected().length, 1);
    });

    it('never uploads twice when the connection drops after the body was read: the comment is found', async () => {
      fake.setFault({ kind: 'drop' }, { endpoint: 'upload' });
      await start();
      await post([won('D-9', { ym_client_id: '1764583200123456789' })]);
      await waitFor(
        async () =>
          (await service!.store.deliveryLog.list({ destination: 'metrica' })).some((r) =>
            /found by its comment/.test(r.reason ?? ''),
          ),
        { timeoutMs: 10_000 },
      );
      assert.equal(posts(), 1, 'one upload request');
      assert.equal(uploadedRows().length, 1);
    });

    it('after a restart while an upload hung, finds it by its comment and does not upload it again', async () => {
      fake.setFault({ kind: 'delay', ms: 3000 }, { endpoint: 'upload' });
      await start();
      await post([
        won('D-5', { ym_client_id: '1764583200123456789' }),
        won('D-6', { yclid: '55' }),
      ]);
      await waitFor(() => fake.uploads().length >= 1, { timeoutMs: 10_000 });
      await service!.close();
      service = null;
      await start();
      await waitFor(() => uploadedRows().length === 2, { timeoutMs: 10_000 });
      await processedRows(2);
      // The hung upload may or may not have been taken in; either way each deal went once.
      assert.ok(posts() >= 2);
      assert.deepEqual(
        uploadedRows()
          .map((r) => r.split(',')[0])
          .sort(),
        ['1764583200123456789', '55'],
      );
    });

    it('stops the counter’s queue on a 403 and says which scope is missing', async () => {
      fake.setFault(
        { kind: 'status', status: 403, errorType: 'access_denied', message: 'Access is denied' },
        { endpoint: 'upload' },
      );
      await start();
      await post([won('D-7', { ym_client_id: '1764583200123456789' })]);
      await waitFor(() => posts() === 1, { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(posts(), 1, 'not retried');
      const metrics = await (await fetch(`http://127.0.0.1:${service!.port}/metrics`)).text();
      assert.match(metrics, /closeloop_metrica_uploads\{destination="metrica",what="stopped"\} 1/);
    });
  });
});
