/**
 * Redis goes away and comes back (a TCP proxy in front of the real Redis is cut, then restored):
 * webhooks are answered 503 at once (amoCRM retries them later) and /healthz says so; a delivery
 * in flight waits and marks its conversion sent once Redis is back, instead of sending it again;
 * the worker reconnects by itself and goes on. Nothing acknowledged is lost, nothing sent twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import {
  deleteRedisKeys,
  REDIS_URL,
  uniqueRedisPrefix,
  itNeedsRedis,
} from '../helpers/redis-test-prefix';
import { createRedisStore } from '../../src/adapters/store/redis';

function purchasesOf(ga4: Ga4StandIn): string[] {
  return ga4
    .collected()
    .flatMap(
      (r) =>
        (r.json as { events: Array<{ name: string; params: { transaction_id?: string } }> }).events,
    )
    .filter((e) => e.name === 'purchase')
    .map((e) => e.params.transaction_id ?? '')
    .sort();
}

if (!REDIS_URL) {
  describe('Redis outage', () => itNeedsRedis());
} else {
  const redisUrl = REDIS_URL;
  describe('Redis outage', function () {
    this.timeout(30_000);
    let dir: string;
    let ga4: Ga4StandIn;
    let proxy: TcpProxy;
    let prefix: string;
    let service: RunningService | null;
    let log: ReturnType<typeof captureLogger>;

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-outage-'));
      ga4 = await startGa4StandIn();
      proxy = await startTcpProxy(redisUrl);
      prefix = uniqueRedisPrefix('outage');
      log = captureLogger();
      const base = testConfig();
      service = await startService(
        loopbackService({ ...base, ga4: { ...base.ga4, endpoint: ga4.url } }, log, dir, {
          // Short locks, so a job whose lock lapsed during the outage comes back within the test.
          redis: { url: proxy.url, prefix, lockMs: 1000 },
        }),
      );
    });
    afterEach(async () => {
      await proxy.restore().catch(() => undefined); // already listening when the test restored it
      await service?.close();
      await proxy.close();
      await ga4.close();
      fs.rmSync(dir, { recursive: true, force: true });
      await deleteRedisKeys(redisUrl, prefix);
    });

    async function post(body: string): Promise<{ status: number; json: unknown; ms: number }> {
      const t0 = Date.now();
      const res = await fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      return { status: res.status, json: await res.json(), ms: Date.now() - t0 };
    }

    it('answers 503 while Redis is away, then goes on; acknowledged webhooks are delivered once', async () => {
      assert.equal((await post(webhookBody('status', [{ id: 1 }]))).status, 200);
      await waitFor(() => ga4.collected().length === 1, { timeoutMs: 5000 });

      await proxy.cut();
      const refused = await post(webhookBody('status', [{ id: 2 }]));
      assert.equal(refused.status, 503);
      assert.deepEqual(
        (refused.json as { error: { code: string } }).error.code,
        'STORE_UNAVAILABLE',
      );
      // amoCRM waits at most 2 s for an answer; a refusal must come well before.
      assert.ok(refused.ms < 1500, `the 503 took ${refused.ms} ms`);
      const health = await fetch(`http://127.0.0.1:${service!.port}/healthz`);
      assert.equal(health.status, 503);
      await waitFor(() => /Redis unreachable \(intake connection\)/.test(log.text()), {
        message: 'the outage to be logged',
      });

      await proxy.restore();
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${service!.port}/healthz`)).status === 200,
        { timeoutMs: 10_000, message: '/healthz to recover' },
      );
      // amoCRM's retry of the refused webhook, and a new one
      assert.equal((await post(webhookBody('status', [{ id: 2 }]))).status, 200);
      assert.equal((await post(webhookBody('status', [{ id: 3 }]))).status, 200);
      await waitFor(() => ga4.collected().length === 3, {
        timeoutMs: 10_000,
        message: () => `3 deliveries, got ${ga4.collected().length}`,
      });
      await new Promise((r) => setTimeout(r, 1500)); // a duplicate would arrive now
      assert.deepEqual(purchasesOf(ga4), ['1', '2', '3']);
      assert.match(log.text(), /Redis reachable again/);
    });

    it('answers 503 within amoCRM’s two seconds while Redis is up but does not answer', async () => {
      proxy.stall();
      const refused = await post(webhookBody('status', [{ id: 20 }]));
      assert.equal(refused.status, 503);
      assert.ok(refused.ms < 1900, `the 503 took ${refused.ms} ms`);
      proxy.resume();
      await waitFor(async () => (await post(webhookBody('status', [{ id: 21 }]))).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 200,
        message: 'webhooks to be taken again',
      });
      await waitFor(() => purchasesOf(ga4).includes('21'), { timeoutMs: 10_000 });
    });

    it('a delivery in flight when Redis goes away is marked sent when it returns, not sent again', async () => {
      // GA4 answers the first request after 1.5 s: Redis is cut while the request is out.
      ga4.hangNext(1, 1500);
      assert.equal((await post(webhookBody('status', [{ id: 10 }]))).status, 200);
      await waitFor(() => ga4.attempts().length === 1, { message: 'the request to reach GA4' });
      await proxy.cut();
      await waitFor(() => ga4.collected().length === 1, { timeoutMs: 5000 });
      // Longer than the job lock (1 s): the job looks stalled to Redis when it returns.
      await new Promise((r) => setTimeout(r, 2500));
      await proxy.restore();

      // The worker goes on: a webhook after the outage is delivered too.
      await waitFor(async () => (await post(webhookBody('status', [{ id: 11 }]))).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 200,
        message: 'a webhook to be taken again',
      });
      await waitFor(() => purchasesOf(ga4).includes('11'), {
        timeoutMs: 10_000,
        message: () => `lead 11 delivered; got ${purchasesOf(ga4).join(', ')}`,
      });
      await waitForDrained(service!.store.queue);
      await new Promise((r) => setTimeout(r, 1500)); // a second send of lead 10 would arrive now
      assert.deepEqual(purchasesOf(ga4), ['10', '11']);
      const outcomes = (await service!.store.deliveryLog.list({ dealId: '10' })).map(
        (r) => r.outcome,
      );
      assert.equal(
        outcomes.filter((o) => o === 'sent').length,
        1,
        `outcomes: ${outcomes.join(', ')}`,
      );
    });
  });

  describe('Redis outage longer than the job lock', function () {
    this.timeout(30_000);

    it('the run that lost its job does not send; the job’s new run does, once', async () => {
      const proxy = await startTcpProxy(redisUrl);
      const prefix = uniqueRedisPrefix('zombie');
      const store = await createRedisStore({
        url: proxy.url,
        prefix,
        deliveryLogMaxRows: 100,
        lockMs: 1000,
      });
      try {
        const runs: Array<{ claim?: string; sent: boolean }> = [];
        let firstStarted!: () => void;
        const started = new Promise<void>((resolve) => (firstStarted = resolve));
        store.queue.process(
          'deliver',
          async (job) => {
            const run: { claim?: string; sent: boolean } = { sent: false };
            runs.push(run);
            if (runs.length === 1) {
              firstStarted();
              // Redis goes away now: this claim waits for it, and the job's lock lapses meanwhile.
              await new Promise((r) => setTimeout(r, 300));
            }
            const key = '29638927:77:purchase:142';
            const claims = await store.ledger.claim([key], job.id, Date.now(), job.fence);
            run.claim = claims.get(key);
            if (run.claim !== 'claimed') return { status: 'retry', delayMs: 0, error: 'not mine' };
            run.sent = true; // the GA4 request
            await store.ledger.markSent([key], job.id, Date.now());
            return { status: 'done' };
          },
          { concurrency: 4 },
        );
        await store.queue.add('deliver', [{ id: 'deliver:77', payload: {} }]);
        await started;
        await proxy.cut();
        await new Promise((r) => setTimeout(r, 3000)); // three times the lock
        await proxy.restore();
        await waitFor(() => runs.some((r) => r.sent), {
          timeoutMs: 15_000,
          message: () => `a run to send; runs ${JSON.stringify(runs)}`,
        });
        await waitForDrained(store.queue);
        await new Promise((r) => setTimeout(r, 1500)); // a second send would happen now
        assert.equal(runs.filter((r) => r.sent).length, 1, JSON.stringify(runs));
        assert.equal(runs[0]!.claim, 'lost_lock', JSON.stringify(runs));
      } finally {
        await store.close();
        await proxy.close();
        await deleteRedisKeys(redisUrl, prefix);
      }
    });
  });
}
