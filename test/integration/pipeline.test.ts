/**
 * End to end in one process: the real HTTP server on loopback, the real store (SQLite, and Redis
 * when REDIS_URL is set), the worker, and a local GA4 stand-in. A won-deal webhook becomes exactly
 * one valid purchase.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import type { CloseloopConfig } from '../../src/config/config-types';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

describeOnEachStore('pipeline: webhook → store → worker → GA4', describePipeline);

function describePipeline(storeName: string, redisUrl: string | null): void {
  describe(`pipeline: webhook → store → worker → GA4 (${storeName})`, function () {
    this.timeout(20_000);
    let prefix: string;
    let dir: string;
    let ga4: Ga4StandIn;
    let service: RunningService | null;
    let log: ReturnType<typeof captureLogger>;

    async function start(
      overrides: (c: CloseloopConfig) => CloseloopConfig = (c) => c,
    ): Promise<RunningService> {
      const base = testConfig();
      const config = overrides({ ...base, ga4: { ...base.ga4, endpoint: ga4.url } });
      service = await startService(
        loopbackService(config, log, dir, {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
        }),
      );
      return service;
    }

    async function post(body: string): Promise<Response> {
      return fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    }

    async function settled(): Promise<void> {
      await waitForDrained(service!.store.queue);
    }

    /** The lead's delivery-log outcomes, oldest first. */
    async function outcomesOf(leadId: number): Promise<string[]> {
      return (await service!.store.deliveryLog.list({ dealId: String(leadId) }))
        .map((r) => r.outcome)
        .reverse();
    }

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-pipeline-'));
      ga4 = await startGa4StandIn();
      log = captureLogger();
      service = null;
      prefix = uniqueRedisPrefix('pipeline');
    });
    afterEach(async () => {
      await service?.close();
      await ga4.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    it('sends a won deal as close_convert_lead + purchase, once, with value, currency and transaction_id', async () => {
      await start();
      const res = await post(
        webhookBody('status', [{ id: 30307415, price: 150000, sessionId: '1747132561' }]),
      );
      assert.equal(res.status, 200);
      await waitFor(() => ga4.collected().length >= 1, {
        timeoutMs: 5000,
        message: 'nothing reached GA4',
      });
      await settled();
      const got = ga4.collected();
      assert.equal(got.length, 1);
      const req = got[0]!;
      assert.equal(req.query.get('measurement_id'), 'G-TEST123');
      assert.equal(req.query.get('api_secret'), 'test-api-secret-value');
      assert.deepEqual(req.problems, []);
      const body = req.json as {
        client_id: string;
        timestamp_micros?: number;
        events: Array<{ name: string; params: Record<string, unknown> }>;
      };
      assert.equal(body.client_id, '1234567890.1700000000');
      assert.equal(typeof body.timestamp_micros, 'number');
      assert.deepEqual(
        body.events.map((e) => e.name),
        ['close_convert_lead', 'purchase'],
      );
      assert.deepEqual(body.events[1]!.params, {
        value: 150000,
        currency: 'RUB',
        transaction_id: '30307415',
        engagement_time_msec: 1,
        session_id: '1747132561',
      });
      const rows = await service!.store.deliveryLog.list({ dealId: '30307415' });
      assert.deepEqual(
        rows.map((r) => r.outcome),
        ['sent'],
      );
      assert.equal(JSON.stringify(rows[0]!.payload).includes('test-api-secret-value'), false);
      const metrics = await (await fetch(`http://127.0.0.1:${service!.port}/metrics`)).text();
      assert.match(metrics, /^closeloop_webhooks_total\{status="200"\} 1$/m);
      assert.match(metrics, /^closeloop_lead_events_stored_total 1$/m);
      assert.match(metrics, /^closeloop_deliveries_total\{destination="ga4",outcome="sent"\} 1$/m);
      assert.match(metrics, /^closeloop_queue_jobs\{queue="deliver",state="failed"\} 0$/m);
      assert.match(metrics, /^closeloop_ga4_dry_run 0$/m);
    });

    it('delivers once even when GA4 first answers 503', async () => {
      ga4.failNext(2, 503);
      await start();
      assert.equal((await post(webhookBody('status', [{ id: 501 }]))).status, 200);
      await waitFor(() => ga4.collected().length >= 1, {
        timeoutMs: 8000,
        message: 'never delivered after 503s',
      });
      await settled();
      assert.equal(ga4.collected().length, 1);
      assert.equal(ga4.attempts().length, 3);
      // One row for the delivery, however often it was retried (retries never push history out).
      const rows = await service!.store.deliveryLog.list({ dealId: '501' });
      assert.deepEqual(
        rows.map((r) => [r.outcome, r.attempts, r.code]),
        [['sent', 3, null]],
      );
      assert.ok(rows[0]!.firstAt < rows[0]!.at, 'the row keeps when the delivery began');
    });

    it('treats a GA4 timeout after the request was sent as uncertain: the purchase resent, the lead event held', async () => {
      // GA4 takes the request in and answers after closeloop stopped waiting: it may have counted.
      ga4.hangNext(1, 1500);
      await start((c) => ({ ...c, ga4: { ...c.ga4, timeoutMs: 300 } }));
      assert.equal((await post(webhookBody('status', [{ id: 502 }]))).status, 200);
      await waitFor(() => ga4.collected().length >= 2, {
        timeoutMs: 8000,
        message: 'the resend after the timeout',
      });
      await settled();
      await new Promise((r) => setTimeout(r, 300)); // anything extra would arrive now
      const names = ga4
        .collected()
        .map((r) => (r.json as { events: Array<{ name: string }> }).events.map((e) => e.name));
      // GA4 counted the first request; the second carries the purchase alone, with the same
      // transaction_id, which GA4 counts once. The lead event is not sent twice.
      assert.deepEqual(names, [['close_convert_lead', 'purchase'], ['purchase']]);
      const rows = await service!.store.deliveryLog.list({ dealId: '502' });
      const uncertain = rows.find((r) => r.outcome === 'uncertain');
      assert.deepEqual(uncertain?.events, ['close_convert_lead']);
      assert.equal(uncertain?.code, 'DELIVERY_UNCERTAIN');
      assert.match(uncertain?.reason ?? '', /closeloop replay [0-9a-f-]+:ga4$/);
      const sent = rows.find((r) => r.outcome === 'sent');
      assert.match(
        sent?.reason ?? '',
        /^resent after an interrupted attempt: purchase \(GA4 counts it once\)$/,
      );
      assert.equal(sent?.attempts, 2);
      const failed = await service!.store.queue.listFailed('deliver', 10);
      assert.equal(failed.length, 1, 'the held delivery waits for closeloop replay');
      assert.match(failed[0]!.error ?? '', /^DELIVERY_UNCERTAIN: close_convert_lead: /);
    });

    it('never sends a conversion twice when amoCRM repeats the webhook', async () => {
      await start();
      const body = webhookBody('status', [{ id: 777 }]);
      for (let i = 0; i < 3; i++) assert.equal((await post(body)).status, 200);
      await settled();
      await new Promise((r) => setTimeout(r, 100));
      await settled();
      assert.equal(ga4.collected().length, 1);
      const purchases = ga4
        .collected()
        .flatMap((r) => (r.json as { events: Array<{ name: string }> }).events)
        .filter((e) => e.name === 'purchase');
      assert.equal(purchases.length, 1);
      assert.deepEqual((await outcomesOf(777)).sort(), ['duplicate', 'duplicate', 'sent']);
    });

    it('records a lead without a client ID as skipped, with the reason, and sends nothing', async () => {
      await start();
      assert.equal((await post(webhookBody('status', [{ id: 900, clientId: null }]))).status, 200);
      await settled();
      assert.equal(ga4.attempts().length, 0);
      const rows = await service!.store.deliveryLog.list({ dealId: '900' });
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.outcome, 'skipped');
      assert.equal(rows[0]!.code, 'LEAD_NO_CLIENT_ID');
      assert.deepEqual(rows[0]!.events, ['close_convert_lead', 'purchase']);
    });

    it('in dry-run mode validates and records the payload, sends nothing, and says so at start', async () => {
      await start((c) => ({
        ...c,
        ga4: { ...c.ga4, measurementId: null, apiSecret: null, dryRun: true },
      }));
      assert.equal((await post(webhookBody('status', [{ id: 42 }]))).status, 200);
      await settled();
      assert.equal(ga4.attempts().length, 0);
      const rows = await service!.store.deliveryLog.list({ dealId: '42' });
      assert.equal(rows[0]!.outcome, 'dry_run');
      const payload = JSON.stringify(rows[0]!.payload);
      assert.match(payload, /"purchase"/);
      assert.match(log.text(), /DRY-RUN MODE/);
      // not claimed in the ledger: once credentials are set, the conversion can still be sent
      const claim = await service!.store.ledger.claim(
        ['ga4:amocrm:29638927:42:purchase:142'],
        'probe',
        Date.now(),
      );
      assert.equal(claim.get('ga4:amocrm:29638927:42:purchase:142'), 'claimed');
    });

    it('records an invalid payload as a permanent failure with the reason and never sends it', async () => {
      await start((c) => ({
        ...c,
        rules: [
          {
            name: 'Bad',
            on: 'status_changed',
            pipelines: null,
            statuses: null,
            fromStatuses: null,
            outcomes: null,
            sources: null,
            send: [
              {
                name: 'qualify_lead',
                // A reserved name: no cut can make it right (an over-long value is cut instead).
                params: { ga_note: { kind: 'literal', value: 'x' } },
              },
            ],
          },
        ],
      }));
      assert.equal((await post(webhookBody('status', [{ id: 31 }]))).status, 200);
      await settled();
      assert.equal(ga4.attempts().length, 0);
      const rows = await service!.store.deliveryLog.list({ dealId: '31' });
      assert.equal(rows[0]!.outcome, 'failed');
      assert.equal(rows[0]!.code, 'GA4_PAYLOAD_INVALID');
      assert.match(rows[0]!.reason ?? '', /ga_note/);
      assert.equal((await service!.store.queue.listFailed('deliver', 10)).length, 1);
    });

    it('records a GA4 4xx as a permanent failure and does not retry it', async () => {
      ga4.failNext(1, 400);
      await start();
      assert.equal((await post(webhookBody('status', [{ id: 32 }]))).status, 200);
      await settled();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(ga4.attempts().length, 1);
      const rows = await service!.store.deliveryLog.list({ dealId: '32' });
      assert.deepEqual(
        rows.map((r) => [r.outcome, r.code]),
        [['failed', 'GA4_REJECTED']],
      );
    });

    it('never writes a secret to the log', async () => {
      ga4.failNext(1, 503);
      await start();
      await post(webhookBody('status', [{ id: 33 }]));
      await fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      await waitFor(() => ga4.collected().length >= 1, {
        timeoutMs: 5000,
        message: 'not delivered',
      });
      await settled();
      // and a line that carries the secret on purpose is redacted, not written
      log.logger.warn('probe', {
        url: `${ga4.url}/mp/collect?measurement_id=G-TEST123&api_secret=test-api-secret-value`,
      });
      const text = log.text();
      assert.match(text, /api_secret=\[REDACTED\]/);
      assert.ok(text.length > 200, 'the test must have produced log lines');
      for (const secret of ['test-api-secret-value', 'test-webhook-secret-0123456789']) {
        assert.equal(text.includes(secret), false, `secret ${secret} appears in the log`);
      }
    });
  });
}
