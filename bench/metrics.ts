/**
 * `npm run bench:metrics`: webhook answer times while /metrics is scraped hard, with a 100,000-job
 * backlog in the embedded store. The target: p99 under 50 ms while /metrics is scraped 50
 * times a second (amoCRM gives up after 2 s and switches a hook off after 100 failures in 2 h).
 *
 * Three runs against the same backlog, each a fresh service in its own process:
 * 1. webhooks only;
 * 2. webhooks while /metrics is scraped (queue depths cached, read at most every 5 s);
 * 3. the same with the depths read from the store on every scrape, as before the cache.
 * Webhooks and scrapes are sent at fixed rates (open loop: a slow answer does not slow the
 * sender), over keep-alive connections, and every answer time is kept. Numbers are printed; no
 * assertion: speed targets live here, not in the tests.
 *
 * Options (env): BENCH_SECONDS (default 10), BENCH_BACKLOG (100000), BENCH_WEBHOOKS_PER_S (100),
 * BENCH_SCRAPES_PER_S (50).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../src/adapters/store/sqlite';
import { webhookBody } from '../test/helpers/amocrm-webhook';
import { BENCH_SECRET } from './metrics-server';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const WEBHOOKS_PER_S = Number(process.env.BENCH_WEBHOOKS_PER_S ?? 100);
const SCRAPES_PER_S = Number(process.env.BENCH_SCRAPES_PER_S ?? 50);
/** Past this many scrapes waiting for their answer, the scraper skips a beat (and counts it). */
const MAX_SCRAPES_IN_FLIGHT = 200;

interface Server {
  port: number;
  stop(): Promise<void>;
}

function startServer(dataDir: string, mode: 'cached' | 'per-scrape'): Promise<Server> {
  const proc: ChildProcess = spawn(
    process.execPath,
    [path.join(__dirname, 'metrics-server.js'), dataDir, mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (c: Buffer) => {
      const m = /READY (\d+)/.exec(c.toString());
      if (m)
        resolve({
          port: Number(m[1]),
          stop: () =>
            new Promise<void>((done) => {
              proc.removeAllListeners('exit');
              proc.once('exit', () => done());
              proc.kill('SIGTERM');
            }),
        });
    });
    proc.once('exit', (code) => reject(new Error(`metrics server exited with ${code}`)));
  });
}

/** 100,000 delivery jobs due tomorrow: counted by every depth read, never run by the worker. */
async function makeBacklog(dataDir: string): Promise<void> {
  const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 10_000 });
  const runAt = Date.now() + 24 * 3600_000;
  for (let i = 0; i < BACKLOG; i += 5000) {
    const n = Math.min(5000, BACKLOG - i);
    await store.queue.add(
      'deliver',
      Array.from({ length: n }, (_, j) => ({
        id: `backlog-${i + j}`,
        payload: { backlog: i + j },
        runAt,
      })),
    );
  }
  await store.close();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(
  port: number,
  method: string,
  pathname: string,
  body?: string,
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: pathname,
        agent,
        headers:
          body === undefined
            ? {}
            : {
                'content-type': 'application/x-www-form-urlencoded',
                'content-length': Buffer.byteLength(body),
              },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(body);
  });
}

/** Calls `fire` `perSecond` times a second for `seconds`, on schedule; resolves when all answered. */
async function atRate<T>(
  perSecond: number,
  seconds: number,
  fire: (i: number) => Promise<T> | null,
) {
  const pending: Array<Promise<T>> = [];
  const started = performance.now();
  const total = Math.round(perSecond * seconds);
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = fire(i);
    if (p !== null) pending.push(p);
  }
  return Promise.all(pending);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface RunResult {
  name: string;
  webhooks: number[];
  failed: number;
  scrapes: number[];
  skipped: number;
}

async function run(
  name: string,
  dataDir: string,
  mode: 'cached' | 'per-scrape',
  scrape: boolean,
): Promise<RunResult> {
  const server = await startServer(dataDir, mode);
  const url = `/webhooks/amocrm/${BENCH_SECRET}`;
  const bodies = Array.from({ length: 200 }, (_, n) =>
    webhookBody('status', [{ id: 500_000 + n, sessionId: '1747132561' }]),
  );
  // Warm-up: connections, JIT, the first depth read.
  await atRate(50, 1, (i) => request(server.port, 'POST', url, bodies[i % bodies.length]));
  await request(server.port, 'GET', '/metrics');
  let inFlight = 0;
  let skipped = 0;
  const [hooks, scrapes] = await Promise.all([
    atRate(WEBHOOKS_PER_S, SECONDS, (i) =>
      request(server.port, 'POST', url, bodies[i % bodies.length]),
    ),
    scrape
      ? atRate(SCRAPES_PER_S, SECONDS, () => {
          if (inFlight >= MAX_SCRAPES_IN_FLIGHT) {
            skipped += 1;
            return null;
          }
          inFlight += 1;
          return request(server.port, 'GET', '/metrics').finally(() => (inFlight -= 1));
        })
      : Promise.resolve([]),
  ]);
  await server.stop();
  return {
    name,
    webhooks: hooks
      .filter((r) => r.status === 200)
      .map((r) => r.ms)
      .sort((a, b) => a - b),
    failed: hooks.filter((r) => r.status !== 200).length,
    scrapes: scrapes.map((r) => r.ms).sort((a, b) => a - b),
    skipped,
  };
}

async function main(): Promise<void> {
  console.log(
    `metrics benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (other work on the machine moves the tail)`,
  );
  console.log(
    `${BACKLOG.toLocaleString('en-US')} jobs in the embedded store; ${WEBHOOKS_PER_S} webhooks/s and ${SCRAPES_PER_S} scrapes/s for ${SECONDS} s per run\n`,
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-metrics-'));
  try {
    const t = performance.now();
    await makeBacklog(dataDir);
    console.log(`backlog written in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const results = [
      await run('webhooks only', dataDir, 'cached', false),
      await run('webhooks + /metrics, depths cached', dataDir, 'cached', true),
      await run('webhooks + /metrics, depths per scrape', dataDir, 'per-scrape', true),
    ];
    const ms = (n: number): string => (Number.isNaN(n) ? '–' : n.toFixed(1)).padStart(8);
    console.log(
      `${'run'.padEnd(40)} ${'webhook p50'.padStart(12)} ${'p99'.padStart(8)} ${'max'.padStart(8)}   ${'/metrics p50'.padStart(12)} ${'p99'.padStart(8)}   answered`,
    );
    for (const r of results) {
      console.log(
        `${r.name.padEnd(40)} ${ms(percentile(r.webhooks, 50)).padStart(12)} ${ms(percentile(r.webhooks, 99))} ${ms(r.webhooks[r.webhooks.length - 1] ?? NaN)}   ${ms(percentile(r.scrapes, 50)).padStart(12)} ${ms(percentile(r.scrapes, 99))}   ${r.webhooks.length} webhooks (${r.failed} not 200), ${r.scrapes.length} scrapes (${r.skipped} skipped: ${MAX_SCRAPES_IN_FLIGHT} in flight)`,
      );
    }
    const cached = results[1]!;
    console.log(
      `\ntarget: webhook p99 < 50 ms while scraped: ${percentile(cached.webhooks, 99).toFixed(1)} ms (${percentile(cached.webhooks, 99) < 50 ? 'met' : 'NOT met'})`,
    );
  } finally {
    agent.destroy();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
