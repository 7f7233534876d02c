/**
 * bench:console — how long one page of the console's deliveries takes with 100,000 rows in the
 * delivery log (issue 15 asks under 200 ms). Fills a fresh embedded store (and a Redis store, when
 * REDIS_URL is set) with BENCH_ROWS rows (100,000 by default), then times the API's own page query
 * (listDeliveries, what GET /api/v1/deliveries runs) for the first page, a deep page, filters and
 * a text search: the median and the slowest of BENCH_REPEATS runs (20) each.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../src/adapters/store/sqlite';
import { createRedisStore } from '../src/adapters/store/redis';
import type { Store } from '../src/ports/store';
import type { DeliveryLogFilter, DeliveryOutcome, DeliveryRecord } from '../src/ports/delivery-log';
import { listDeliveries } from '../src/console/api-deliveries';
import { deleteRedisKeys, uniqueRedisPrefix } from '../test/helpers/redis-test-prefix';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 20);
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

async function time(
  store: Store,
  filter: DeliveryLogFilter,
): Promise<{ median: number; max: number; rows: number }> {
  const ms: number[] = [];
  let rows = 0;
  for (let k = 0; k < REPEATS; k++) {
    const t = process.hrtime.bigint();
    const page = await listDeliveries(store.deliveryLog, { limit: 50, ...filter });
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    rows = page.rows.length;
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]!, rows };
}

async function measure(name: string, store: Store): Promise<void> {
  const fillMs = await fill(store);
  const first = await listDeliveries(store.deliveryLog, { limit: 1 });
  const newest = first.rows[0]?.id ?? ROWS;
  const cases: [string, DeliveryLogFilter][] = [
    ['first page', {}],
    ['deep page (90% down)', { beforeId: Math.max(1, newest - Math.floor(ROWS * 0.9)) }],
    ['outcome=failed', { outcome: 'failed' }],
    ['destination=metrica', { destination: 'metrica' }],
    ['event=purchase', { event: 'purchase' }],
    ['one deal', { dealId: String(100_000 + Math.floor(ROWS / 4)) }],
    ['since last 24 h', { since: Date.now() - 86_400_000 }],
    ['text search "reason for deal 1234"', { text: 'reason for deal 1234' }],
    ['text search, no match', { text: 'no such text anywhere' }],
  ];
  console.log(
    `\n${name}: ${ROWS.toLocaleString('en')} rows written in ${(fillMs / 1000).toFixed(1)} s`,
  );
  for (const [label, filter] of cases) {
    const r = await time(store, filter);
    console.log(
      `  ${label.padEnd(38)} median ${r.median.toFixed(1).padStart(7)} ms, slowest ${r.max.toFixed(1).padStart(7)} ms (${r.rows} rows)`,
    );
  }
}

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-console-'));
  const sqlite = createSqliteStore({ dataDir, deliveryLogMaxRows: ROWS * 2 });
  try {
    await measure('embedded store (SQLite)', sqlite);
  } finally {
    await sqlite.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const url = process.env.REDIS_URL;
  if (!url) {
    console.log('\nRedis: not measured (REDIS_URL is not set)');
    return;
  }
  const prefix = uniqueRedisPrefix('bench-console');
  const redis = await createRedisStore({ url, prefix, deliveryLogMaxRows: ROWS * 2 });
  try {
    await measure('Redis store', redis);
  } finally {
    await redis.close();
    await deleteRedisKeys(url, prefix);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
