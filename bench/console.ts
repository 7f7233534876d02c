/**
 * bench:console — how long one page of the console's deliveries takes with 100,000 rows in the
 * delivery log (issue 15 asks under 200 ms). Fills a fresh embedded store (and a Redis store, when
 * REDIS_URL is set) with BENCH_ROWS rows (100,000 by default), then times the API's own page query
 * (listDeliveries, what GET /api/v1/deliveries runs) for the first page, a deep page, filters and
 * a text search: the median and the slowest of BENCH_REPEATS runs (20) each, and the overview
 * (GET /api/v1/overview over 30 days: every row) in BENCH_OVERVIEW_REPEATS runs (3). The stores are
 * printed side by side.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../src/adapters/store/sqlite';
import { createRedisStore } from '../src/adapters/store/redis';
import type { Store } from '../src/ports/store';
import type { DeliveryLogFilter, DeliveryOutcome, DeliveryRecord } from '../src/ports/delivery-log';
import { listDeliveries } from '../src/console/api-deliveries';
import { buildOverview } from '../src/console/api-overview';
import { deleteRedisKeys, uniqueRedisPrefix } from '../test/helpers/redis-test-prefix';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 20);
const OVERVIEW_REPEATS = Number(process.env.BENCH_OVERVIEW_REPEATS ?? 3);
const OUTCOMES: DeliveryOutcome[] = ['sent', 'sent', 'sent', 'sent', 'skipped', 'failed', 'sent'];
const EVENTS = ['close_convert_lead', 'purchase'];
const SOURCES = ['yandex', 'google', 'vk', null];

function row(i: number, start: number): DeliveryRecord {
  const outcome = OUTCOMES[i % OUTCOMES.length]!;
  const event = EVENTS[i % 2]!;
  const dealId = String(100_000 + Math.floor(i / 2));
  return {
    at: start + i * 1000,
    account: 'default',
    source: 'amocrm',
    crmAccount: '29000000',
    dealId,
    kind: 'stage_changed',
    stageId: '142',
    jobId: `bench-${i}`,
    destination: i % 3 === 0 ? 'metrica' : 'ga4',
    outcome,
    code:
      outcome === 'skipped' ? 'LEAD_NO_CLIENT_ID' : outcome === 'failed' ? 'GA4_REJECTED' : null,
    reason: outcome === 'sent' ? null : `bench reason for deal ${dealId}`,
    events: [event],
    payload: {
      events: [{ name: event, params: { value: 1500 + (i % 100), currency: 'RUB' } }],
    },
    attempts: 1,
    key: `bench:${i}`,
    utm: { source: SOURCES[i % SOURCES.length]!, medium: 'cpc' },
  };
}

async function fill(store: Store): Promise<number> {
  const started = Date.now();
  const start = Date.now() - ROWS * 1000;
  for (let i = 0; i < ROWS; i += 1000) {
    const chunk: Promise<void>[] = [];
    for (let j = i; j < Math.min(ROWS, i + 1000); j++)
      chunk.push(store.deliveryLog.record(row(j, start)));
    await Promise.all(chunk);
  }
  return Date.now() - started;
}

interface Timing {
  median: number;
  max: number;
  rows: number;
}

async function time(runs: number, run: () => Promise<number>): Promise<Timing> {
  const ms: number[] = [];
  let rows = 0;
  for (let k = 0; k < runs; k++) {
    const t = process.hrtime.bigint();
    rows = await run();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]!, rows };
}

const CASES: [string, (newest: number) => DeliveryLogFilter][] = [
  ['first page', () => ({})],
  [
    'deep page (90% down)',
    (newest) => ({ beforeId: Math.max(1, newest - Math.floor(ROWS * 0.9)) }),
  ],
  ['outcome=failed', () => ({ outcome: 'failed' })],
  ['outcome=uncertain (none)', () => ({ outcome: 'uncertain' })],
  ['destination=metrica', () => ({ destination: 'metrica' })],
  ['event=purchase', () => ({ event: 'purchase' })],
  ['one deal', () => ({ dealId: String(100_000 + Math.floor(ROWS / 4)) })],
  ['since last 24 h', () => ({ since: Date.now() - 86_400_000 })],
  ['until 25 h ago (oldest rows)', () => ({ until: Date.now() - 25 * 3_600_000 })],
  ['text "reason for deal 1234"', () => ({ text: 'reason for deal 1234' })],
  ['text "reason for deal 1234", page 2', () => ({ text: 'reason for deal 1234' })],
  ['text "GA4_rej" + destination=ga4', () => ({ text: 'GA4_rej', destination: 'ga4' })],
  ['text, no match', () => ({ text: 'no such text anywhere' })],
];

async function measure(store: Store): Promise<{ fillMs: number; results: Timing[] }> {
  const fillMs = await fill(store);
  const first = await listDeliveries(store.deliveryLog, { limit: 1 });
  const newest = first.rows[0]?.id ?? ROWS;
  const results: Timing[] = [];
  for (const [label, make] of CASES) {
    let filter: DeliveryLogFilter = { limit: 50, ...make(newest) };
    if (label.endsWith('page 2')) {
      const page = await listDeliveries(store.deliveryLog, filter);
      filter = { ...filter, beforeId: Number(page.nextCursor ?? newest) };
    }
    results.push(
      await time(
        REPEATS,
        async () => (await listDeliveries(store.deliveryLog, filter)).rows.length,
      ),
    );
  }
  results.push(
    await time(OVERVIEW_REPEATS, async () => {
      const o = await buildOverview(store.deliveryLog, store.dealTrace, 30, Date.now(), 'RUB');
      return o.days.reduce((n, d) => n + d.conversions, 0);
    }),
  );
  return { fillMs, results };
}

function cell(t: Timing | undefined): string {
  if (t === undefined) return 'not measured'.padEnd(30);
  return `${t.median.toFixed(1).padStart(7)} ms (max ${t.max.toFixed(1).padStart(7)}) ${String(t.rows).padStart(5)}`;
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-console-'));
  const sqlite = createSqliteStore({ dataDir, deliveryLogMaxRows: ROWS * 2 });
  let embedded: Awaited<ReturnType<typeof measure>>;
  try {
    embedded = await measure(sqlite);
  } finally {
    await sqlite.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  let onRedis: Awaited<ReturnType<typeof measure>> | undefined;
  const url = process.env.REDIS_URL;
  if (url) {
    const prefix = uniqueRedisPrefix('bench-console');
    const redis = await createRedisStore({ url, prefix, deliveryLogMaxRows: ROWS * 2 });
    try {
      onRedis = await measure(redis);
    } finally {
      await redis.close();
      await deleteRedisKeys(url, prefix);
    }
  }
  const fillS = (m: { fillMs: number } | undefined): string =>
    m === undefined ? 'REDIS_URL not set' : `written in ${(m.fillMs / 1000).toFixed(1)} s`;
  console.log(
    `\n${ROWS.toLocaleString('en')} rows, 50 a page; median (slowest) of ${REPEATS} runs, rows returned`,
  );
  console.log(`${''.padEnd(38)} ${'embedded (SQLite)'.padEnd(34)} Redis`);
  console.log(`${''.padEnd(38)} ${fillS(embedded).padEnd(34)} ${fillS(onRedis)}`);
  const labels = [...CASES.map(([l]) => l), `overview, 30 days (${OVERVIEW_REPEATS} runs)`];
  labels.forEach((label, k) => {
    console.log(
      `  ${label.padEnd(36)} ${cell(embedded.results[k]).padEnd(34)} ${cell(onRedis?.results[k])}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
