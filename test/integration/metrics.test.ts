/**
 * /metrics on prom-client: the process's own metrics for free, histograms of webhook answer time
 * and delivery latency, queue depths served from a cache that reads the store at most every few
 * seconds however hard /metrics is scraped, and an optional Bearer token. The real service on
 * loopback, the embedded store, a GA4 stand-in.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import type { ServiceOptions } from '../../src/service-options';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';

const TOKEN = 'metrics-token-for-the-test-0123';

describe('/metrics', function () {
  this.timeout(20_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService | null = null;
  let log: ReturnType<typeof captureLogger>;

  async function start(extra: Partial<ServiceOptions> = {}): Promise<RunningService> {
    const base = testConfig();
    service = await startService(
      loopbackService({ ...base, ga4: { ...base.ga4, endpoint: ga4.url } }, log, dir, extra),
    );
    return service;
  }

  const url = (p: string): string => `http://127.0.0.1:${service!.port}${p}`;

  async function scrape(headers: Record<string, string> = {}): Promise<string> {
    const res = await fetch(url('/metrics'), { headers });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return res.text();
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-metrics-'));
    ga4 = await startGa4StandIn();
    log = captureLogger();
  });
  afterEach(async () => {
    await service?.close();
    service = null;
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("has the process's metrics and histograms of answer time and delivery latency", async () => {
    await start();
    const res = await fetch(url(service!.webhookPath), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: webhookBody('status', [{ id: 30307415, price: 150000 }]),
    });
    assert.equal(res.status, 200);
    await waitFor(() => ga4.collected().length === 1, { timeoutMs: 5000 });
    await waitForDrained(service!.store.queue);
    const text = await scrape();
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'nodejs_gc_duration_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(text, /^closeloop_webhook_answer_seconds_count 1$/m);
    assert.match(text, /^closeloop_webhook_answer_seconds_bucket\{le="2"\} 1$/m);
    assert.match(text, /^closeloop_delivery_latency_seconds_count\{destination="ga4"\} 1$/m);
    assert.match(
      text,
      /^closeloop_delivery_latency_seconds_bucket\{le="\+Inf",destination="ga4"\} 1$/m,
    );
    // Today's names, as dashboards read them.
    assert.match(text, /^closeloop_webhooks_total\{status="200"\} 1$/m);
    assert.match(text, /^closeloop_lead_events_stored_total 1$/m);
    assert.match(text, /^closeloop_deliveries_total\{destination="ga4",outcome="sent"\} 1$/m);
    assert.match(text, /^closeloop_queue_jobs\{queue="deliver",state="waiting"\} 0$/m);
    assert.match(text, /^closeloop_ga4_dry_run 0$/m);
    assert.match(text, /^closeloop_http_connections [1-9]\d*$/m);
  });

  it('reads queue depths from the store at most once per 5 s, however often it is scraped', async () => {
    await start();
    const queue = service!.store.queue;
    const counts = queue.counts.bind(queue);
    let reads = 0;
    queue.counts = (name) => {
      reads += 1;
      return counts(name);
    };
    const texts = await Promise.all(Array.from({ length: 50 }, () => scrape()));
    for (let i = 0; i < 50; i++) texts.push(await scrape());
    // One read of the three queues for a hundred scrapes.
    assert.equal(reads, 3);
    const last = texts[texts.length - 1]!;
    assert.match(
      last,
      /^# HELP closeloop_queue_jobs .*Read from the store in the background at most every 5 s and served from that cache/m,
    );
    assert.match(last, /^closeloop_queue_jobs_age_seconds (0|0\.\d+|[1-4](\.\d+)?)$/m);
  });

  it('serves cached depths and refreshes them in the background once they are older', async () => {
    await start({ queueDepthsMaxAgeMs: 200 });
    assert.match(await scrape(), /^closeloop_queue_jobs\{queue="inbound",state="delayed"\} 0$/m);
    await service!.store.queue.add('inbound', [
      { id: 'later-1', payload: {}, runAt: Date.now() + 3_600_000 },
    ]);
    // Still the cached value: the scrape did not ask the store.
    assert.match(await scrape(), /^closeloop_queue_jobs\{queue="inbound",state="delayed"\} 0$/m);
    await waitFor(
      async () =>
        /^closeloop_queue_jobs\{queue="inbound",state="delayed"\} 1$/m.test(await scrape()),
      { timeoutMs: 3000, intervalMs: 50 },
    );
  });

  it('needs Authorization: Bearer <CLOSELOOP_METRICS_TOKEN> when set, and never logs it', async () => {
    await start({ metricsToken: TOKEN });
    for (const headers of <Array<Record<string, string>>>[
      {},
      { authorization: 'Bearer wrong-token-of-the-same-length' },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
    ]) {
      const res = await fetch(url('/metrics'), { headers });
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="closeloop metrics"');
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'METRICS_UNAUTHORIZED');
      assert.match(
        body.error.message,
        /Authorization: Bearer <the value of CLOSELOOP_METRICS_TOKEN>/,
      );
    }
    assert.match(await scrape({ authorization: `Bearer ${TOKEN}` }), /closeloop_webhooks_total/);
    assert.match(await scrape({ authorization: `bearer  ${TOKEN}` }), /closeloop_webhooks_total/);
    // The health check stays open (platforms probe it without credentials).
    assert.equal((await fetch(url('/healthz'))).status, 200);
    log.logger.warn(`a line that quotes it: ${TOKEN}`);
    await waitFor(() => log.text().includes('a line that quotes it'));
    assert.equal(log.text().includes(TOKEN), false);
    assert.match(log.text(), /METRICS_UNAUTHORIZED/);
  });
});
