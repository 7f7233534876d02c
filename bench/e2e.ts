/**
 * `npm run bench:e2e`: lead conversions per second end to end, from the webhook POST to the request
 * arriving at a local GA4 stand-in, with real `closeloop start` processes as operators run them:
 *
 * - embedded: one process (role all), SQLite in a temporary CLOSELOOP_DATA_DIR;
 * - redis: one web process and two worker processes sharing REDIS_URL under a prefix of their own
 *   (its keys are deleted afterwards);
 * - next to them, the intake ceiling: durable webhook intake alone, no worker (SQLite: the
 *   `npm run bench:intake` server, bench/intake-server.ts; Redis: a web process without workers),
 *   posted by the same load generator.
 *
 * Each webhook is a won-deal status change of one distinct lead, so it must become exactly one GA4
 * request with two events (close_convert_lead + purchase, transaction_id = lead id). The stand-in
 * (bench/ga4-sink.ts) runs in its own process, validates every payload like the test stand-in and
 * records when each request arrived; at the end every lead must have arrived exactly once.
 * Reported per setup: webhooks/s accepted, conversions/s end to end (first POST to the last GA4
 * request), GA4 events/s, latency from the webhook's 200 to its GA4 request (under a burst, so mostly
 * time spent waiting in the queue) and the CPU seconds each process used during the run.
 * The closeloop runs use LOG_LEVEL=warn; the `-info` setups repeat them with the default info logs.
 *
 * Options (env): BENCH_WEBHOOKS (default 5000), BENCH_CONCURRENCY (concurrent POSTs over keep-alive
 * connections, default 64), BENCH_WARMUP (webhooks sent and delivered before measuring, default
 * 500), BENCH_SETUPS (comma-separated, default
 * intake-sqlite,intake-redis,embedded,redis,embedded-info,redis-info), REDIS_URL (default
 * redis://127.0.0.1:6379), BENCH_TIMEOUT_S (give up when nothing arrives for this long, default 30),
 * BENCH_CPU_PROF=1 (profile the closeloop processes with V8's sampling profiler, as `node --cpu-prof`
 * would, through bench/cpu-profile-preload.ts, and print the top self-time functions per
 * process; profiling costs CPU, so the rows of such a run are labelled "profiled").
 */
import { fork, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { webhookBody } from '../test/helpers/amocrm-webhook';
import { deleteRedisKeys, uniqueRedisPrefix } from '../test/helpers/redis-test-prefix';
import {
  kill9,
  startCloseloopProcess,
  type CloseloopProcess,
} from '../test/helpers/closeloop-process';
import type { SinkMessage } from './ga4-sink';
import { formatSummary, summariseProfile } from './cpuprofile-top';
import { startIntakeServer } from './intake-server-process';

const N = Number(process.env.BENCH_WEBHOOKS ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 500);
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const STALL_MS = Number(process.env.BENCH_TIMEOUT_S ?? 30) * 1000;
const CPU_PROF = process.env.BENCH_CPU_PROF === '1';
const ALL_SETUPS = [
  'intake-sqlite',
  'intake-redis',
  'embedded',
  'redis',
  'embedded-info',
  'redis-info',
] as const;
type SetupKey = (typeof ALL_SETUPS)[number];
const SETUPS = (process.env.BENCH_SETUPS ?? ALL_SETUPS.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean) as SetupKey[];
/** The secret bench/intake-server.ts uses too. */
const SECRET = 'bench-webhook-secret-0123456789';
const WEBHOOK_PATH = `/webhooks/amocrm/${SECRET}`;
/** Wait after the last expected arrival for requests that should not come (duplicates). */
const SETTLE_MS = 1000;
const CLK_TCK = 100;

/** Wall clock in ms with sub-ms resolution, comparable across processes on this machine. */
const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Load generator: node:http over keep-alive sockets, CONCURRENCY requests in flight.

interface Webhook {
  id: number;
  body: Buffer;
}

interface PostResult {
  t0: number;
  t1: number;
  /** Lead id → wall time its 200 arrived. */
  acked: Map<number, number>;
  non200: number;
  errors: number;
  latencies: number[];
}

function webhooks(firstId: number, count: number): Webhook[] {
  return Array.from({ length: count }, (_, i) => ({
    id: firstId + i,
    body: Buffer.from(webhookBody('status', [{ id: firstId + i }])),
  }));
}

async function postAll(port: number, hooks: Webhook[]): Promise<PostResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const result: PostResult = {
    t0: wall(),
    t1: 0,
    acked: new Map(),
    non200: 0,
    errors: 0,
    latencies: [],
  };
  const post = (hook: Webhook) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          path: WEBHOOK_PATH,
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': hook.body.length,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(hook.body);
    });
  let next = 0;
  const loop = async () => {
    while (next < hooks.length) {
      const hook = hooks[next++]!;
      const started = wall();
      try {
        const status = await post(hook);
        const at = wall();
        if (status === 200) {
          result.acked.set(hook.id, at);
          result.latencies.push(at - started);
        } else result.non200 += 1;
      } catch {
        result.errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, hooks.length) }, loop));
  result.t1 = wall();
  agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------------
// The GA4 stand-in process.

interface Sink {
  proc: ChildProcess;
  url: string;
  ask<T extends SinkMessage['type']>(type: T): Promise<Extract<SinkMessage, { type: T }>>;
  reset(): void;
  close(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const proc = fork(path.join(__dirname, 'ga4-sink.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('message', (m: SinkMessage) => (m.type === 'ready' ? resolve(m.port) : undefined));
    proc.once('exit', (code) => reject(new Error(`GA4 sink exited with ${code}`)));
  });
  proc.removeAllListeners('exit');
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    ask: <T extends SinkMessage['type']>(type: T) =>
      new Promise<Extract<SinkMessage, { type: T }>>((resolve) => {
        const on = (m: SinkMessage) => {
          if (m.type !== type) return;
          proc.off('message', on);
          resolve(m as Extract<SinkMessage, { type: T }>);
        };
        proc.on('message', on);
        proc.send({ type });
      }),
    reset: () => proc.send({ type: 'reset' }),
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.disconnect();
      }),
  };
}

/** Polls the sink until `expected` purchases arrived; false when nothing new came for STALL_MS. */
async function waitDelivered(sink: Sink, expected: number): Promise<boolean> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { purchases } = await sink.ask('count');
    if (purchases >= expected) return true;
    if (purchases !== last) {
      last = purchases;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > STALL_MS) return false;
    await sleep(20);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU time per process.

interface Proc {
  label: string;
  pid: number;
}

/** user + system CPU seconds of a process from /proc/<pid>/stat; null when it is not readable. */
function procCpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

function redisServerPids(): number[] {
  try {
    return execFileSync('pgrep', ['redis-server'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const BENCH_LABEL = 'bench (load generator)';

function cpuSnapshot(procs: Proc[]): Map<string, number> {
  const snap = new Map<string, number>();
  for (const p of procs) {
    const s = procCpuSeconds(p.pid);
    if (s !== null) snap.set(p.label, (snap.get(p.label) ?? 0) + s);
  }
  const u = process.cpuUsage();
  snap.set(BENCH_LABEL, (u.user + u.system) / 1e6);
  return snap;
}

function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const d = new Map<string, number>();
  for (const [label, s] of after) d.set(label, s - (before.get(label) ?? 0));
  return d;
}

function formatCpu(cpu: Map<string, number>, wallS: number): string {
  const total = [...cpu.values()].reduce((a, b) => a + b, 0);
  const parts = [...cpu.entries()].map(
    ([label, s]) => `${label} ${s.toFixed(2)} s (${((100 * s) / wallS).toFixed(0)}%)`,
  );
  const cores = os.cpus().length;
  return `${parts.join(', ')}; total ${total.toFixed(2)} of ${(wallS * cores).toFixed(2)} core-seconds (${cores} cores × ${wallS.toFixed(2)} s)`;
}

// ---------------------------------------------------------------------------------------------
// Processes.

function profileEnv(name: string, profDir: string): Record<string, string> {
  // Node 20 does not allow --cpu-prof in NODE_OPTIONS; the preload starts the same profiler.
  return CPU_PROF
    ? {
        NODE_OPTIONS: `--require ${path.join(__dirname, 'cpu-profile-preload.js')}`,
        BENCH_CPU_PROFILE_FILE: path.join(profDir, `${name}.cpuprofile`),
      }
    : {};
}

async function stopCloseloop(c: CloseloopProcess): Promise<number | null> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return c.proc.exitCode;
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => void kill9(c), 30_000);
  const { code } = await c.exited;
  clearTimeout(timer);
  return code;
}

/** warn/error lines in a closeloop process's JSON output, for the report. */
function problemLines(c: CloseloopProcess): string[] {
  return c
    .output()
    .split('\n')
    .filter((l) => /"level":"(warn|error)"/.test(l));
}

// ---------------------------------------------------------------------------------------------
// Results.

interface Row {
  setup: string;
  webhooksPerS: number;
  conversionsPerS?: number;
  eventsPerS?: number;
  p50?: number;
  p95?: number;
  cpu: Map<string, number>;
  wallS: number;
  warnings: string[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function describeIntake(post: PostResult, count: number): string {
  const lat = [...post.latencies].sort((a, b) => a - b);
  const s = (post.t1 - post.t0) / 1000;
  return `intake: ${post.acked.size} of ${count} webhooks answered 200 in ${s.toFixed(2)} s = ${(post.acked.size / s).toFixed(0)} webhooks/s (POST latency p50 ${percentile(lat, 50).toFixed(1)} ms, p95 ${percentile(lat, 95).toFixed(1)} ms; non-200 ${post.non200}, errors ${post.errors})`;
}

// ---------------------------------------------------------------------------------------------
// Setups.

const profiles: Array<{ title: string; file: string }> = [];

/** Durable intake alone on SQLite: bench/intake-server.ts `durable` (the bench:intake server). */
async function intakeSqlite(): Promise<Row> {
  const title = 'intake ceiling (sqlite)';
  console.log(
    `${title}: bench/intake-server.js durable (closeloop's app + embedded store, no worker)`,
  );
  const server = await startIntakeServer('durable');
  const { port } = server;
  const procs = [{ label: 'intake server', pid: server.proc.pid! }];
  const warm = await postAll(port, webhooks(900_000, WARMUP));
  const before = cpuSnapshot(procs);
  const post = await postAll(port, webhooks(1_000_000, N));
  const cpu = cpuDelta(before, cpuSnapshot(procs));
  const stored = await server.stop();
  const wallS = (post.t1 - post.t0) / 1000;
  const warnings: string[] = [];
  const acked = warm.acked.size + post.acked.size;
  if (!(stored >= acked))
    warnings.push(`WARNING: ${acked} webhooks acknowledged but only ${stored} jobs stored`);
  console.log(`  ${describeIntake(post, N)}`);
  console.log(`  durability: ${stored} jobs stored, ${acked} acknowledged (warm-up included)`);
  console.log(`  CPU during intake: ${formatCpu(cpu, wallS)}`);
  for (const w of warnings) console.log(`  ${w}`);
  console.log('');
  return { setup: title, webhooksPerS: post.acked.size / wallS, cpu, wallS, warnings };
}

/** Durable intake alone on Redis: a web process, no workers. */
async function intakeRedis(): Promise<Row> {
  const title = 'intake ceiling (redis, web)';
  const prefix = uniqueRedisPrefix('bench');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-'));
  console.log(`${title}: 1 closeloop web process, no worker, ${REDIS_URL} prefix ${prefix}`);
  const warnings: string[] = [];
  let web: CloseloopProcess | undefined;
  try {
    web = await startCloseloopProcess({
      ...closeloopEnv(dir, 'http://127.0.0.1:9', 'warn'),
      REDIS_URL,
      CLOSELOOP_REDIS_PREFIX: prefix,
      CLOSELOOP_ROLE: 'web',
    });
    const procs = [
      { label: 'web', pid: web.proc.pid! },
      ...redisServerPids().map((pid) => ({ label: 'redis-server', pid })),
    ];
    await postAll(web.port, webhooks(900_000, WARMUP));
    const before = cpuSnapshot(procs);
    const post = await postAll(web.port, webhooks(1_000_000, N));
    const cpu = cpuDelta(before, cpuSnapshot(procs));
    const wallS = (post.t1 - post.t0) / 1000;
    console.log(`  ${describeIntake(post, N)}`);
    console.log(`  CPU during intake: ${formatCpu(cpu, wallS)}`);
    return { setup: title, webhooksPerS: post.acked.size / wallS, cpu, wallS, warnings };
  } finally {
    if (web) await stopCloseloop(web);
    const deleted = await deleteRedisKeys(REDIS_URL, prefix);
    console.log(`  stopped; ${deleted} Redis keys under ${prefix}: deleted\n`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function closeloopEnv(dataDir: string, ga4: string, logLevel: 'warn' | 'info') {
  return {
    CLOSELOOP_DATA_DIR: dataDir,
    CLOSELOOP_WEBHOOK_SECRET: SECRET,
    GA4_MEASUREMENT_ID: 'G-BENCH12345',
    GA4_API_SECRET: 'bench-ga4-api-secret',
    GA4_ENDPOINT: ga4,
    LOG_LEVEL: logLevel,
  };
}

/** One end-to-end run: closeloop processes, the sink, warm-up, then N webhooks measured. */
async function endToEnd(kind: 'embedded' | 'redis', logLevel: 'warn' | 'info'): Promise<Row> {
  const title = `${kind === 'embedded' ? 'embedded (1 process)' : 'redis (1 web + 2 workers)'}${logLevel === 'info' ? ' info' : ''}${CPU_PROF ? ' profiled' : ''}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-e2e-'));
  const profDir = path.join(dir, 'profiles');
  const prefix = uniqueRedisPrefix('bench');
  const sink = await startSink();
  console.log(
    `${title}: LOG_LEVEL=${logLevel}, GA4 stand-in bench/ga4-sink.js in its own process${kind === 'redis' ? `, ${REDIS_URL} prefix ${prefix}` : `, SQLite in ${dir}`}`,
  );
  const env = closeloopEnv(dir, sink.url, logLevel);
  const children: Array<{ label: string; c: CloseloopProcess }> = [];
  const profileName = (label: string) => `${kind}-${logLevel}-${label}`;
  const warnings: string[] = [];
  if (CPU_PROF) fs.mkdirSync(profDir);
  try {
    if (kind === 'embedded') {
      children.push({
        label: 'closeloop all',
        c: await startCloseloopProcess({ ...env, ...profileEnv(profileName('all'), profDir) }),
      });
    } else {
      const redisEnv = { ...env, REDIS_URL, CLOSELOOP_REDIS_PREFIX: prefix };
      children.push({
        label: 'web',
        c: await startCloseloopProcess({
          ...redisEnv,
          CLOSELOOP_ROLE: 'web',
          ...profileEnv(profileName('web'), profDir),
        }),
      });
      for (const w of ['worker1', 'worker2']) {
        children.push({
          label: w,
          c: await startCloseloopProcess({
            ...redisEnv,
            CLOSELOOP_ROLE: 'worker',
            PORT: '', // no HTTP server, as in the Procfile
            ...profileEnv(profileName(w), profDir),
          }),
        });
      }
    }
    const port = children[0]!.c.port;
    const procs: Proc[] = [
      ...children.map(({ label, c }) => ({ label, pid: c.proc.pid! })),
      { label: 'GA4 sink', pid: sink.proc.pid! },
      ...(kind === 'redis' ? redisServerPids().map((pid) => ({ label: 'redis-server', pid })) : []),
    ];

    if (WARMUP > 0) {
      const warm = await postAll(port, webhooks(900_000, WARMUP));
      if (!(await waitDelivered(sink, warm.acked.size)))
        warnings.push('WARNING: the warm-up webhooks were not all delivered');
      await sleep(200);
      sink.reset();
    }

    const before = cpuSnapshot(procs);
    const post = await postAll(port, webhooks(1_000_000, N));
    const complete = await waitDelivered(sink, post.acked.size);
    const cpuAt = wall();
    const cpu = cpuDelta(before, cpuSnapshot(procs));
    await sleep(SETTLE_MS);
    const dump = await sink.ask('dump');

    // Exactly once, by purchase transaction_id; latency from each lead's 200 to its first arrival.
    const seen = new Map<string, number>();
    const latencies: number[] = [];
    let lastAt = post.t0;
    let events = 0;
    let oddRequests = 0;
    let problems = 0;
    let unexpected = 0;
    for (const a of dump.arrivals) {
      events += a.events.length;
      problems += a.problems;
      if (a.events.join(',') !== 'close_convert_lead,purchase') oddRequests += 1;
      for (const id of a.purchases) {
        const n = (seen.get(id) ?? 0) + 1;
        seen.set(id, n);
        const ackedAt = post.acked.get(Number(id));
        if (ackedAt === undefined) unexpected += 1;
        else if (n === 1) {
          latencies.push(a.at - ackedAt);
          lastAt = Math.max(lastAt, a.at);
        }
      }
    }
    const delivered = [...post.acked.keys()].filter((id) => seen.has(String(id))).length;
    const duplicated = [...seen.values()].filter((n) => n > 1).length;
    const missing = post.acked.size - delivered;
    if (!complete) warnings.push(`WARNING: nothing new arrived for ${STALL_MS / 1000} s; gave up`);
    if (post.acked.size !== N)
      warnings.push(`WARNING: only ${post.acked.size} of ${N} webhooks were answered 200`);
    if (missing || duplicated || unexpected)
      warnings.push(
        `WARNING: not exactly once: ${missing} leads missing, ${duplicated} delivered more than once, ${unexpected} unexpected purchases`,
      );
    if (oddRequests)
      warnings.push(
        `WARNING: ${oddRequests} GA4 requests did not carry exactly close_convert_lead + purchase`,
      );
    if (problems) warnings.push(`WARNING: ${problems} GA4 validation problems in the payloads`);
    if (dump.other) warnings.push(`WARNING: ${dump.other} unexpected requests at the GA4 stand-in`);

    const e2eS = (lastAt - post.t0) / 1000;
    const wallS = (cpuAt - post.t0) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(`  ${describeIntake(post, N)}`);
    console.log(
      `  end to end: ${delivered} conversions delivered ${e2eS.toFixed(2)} s after the first POST = ${(delivered / e2eS).toFixed(0)} conversions/s; ${dump.arrivals.length} GA4 requests, ${events} events = ${(events / e2eS).toFixed(0)} GA4 events/s`,
    );
    console.log(
      `  latency webhook 200 → GA4 arrival: p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms, max ${percentile(latencies, 100).toFixed(0)} ms`,
    );
    console.log(`  CPU seconds during the run: ${formatCpu(cpu, wallS)}`);
    console.log(
      `  exactly once: ${delivered} of ${post.acked.size} acknowledged leads delivered, ${duplicated} more than once`,
    );
    for (const w of warnings) console.log(`  ${w}`);
    return {
      setup: title,
      webhooksPerS: post.acked.size / ((post.t1 - post.t0) / 1000),
      conversionsPerS: delivered / e2eS,
      eventsPerS: events / e2eS,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      cpu,
      wallS,
      warnings,
    };
  } finally {
    for (const { label, c } of children) {
      const code = await stopCloseloop(c);
      const logged = problemLines(c);
      if (logLevel === 'info') {
        const out = c.output();
        console.log(
          `  ${label}: ${out.split('\n').length - 1} log lines, ${(Buffer.byteLength(out) / 1e6).toFixed(1)} MB (read by the bench through a pipe)`,
        );
      }
      if (code !== 0 || (logLevel === 'warn' && logged.length)) {
        console.log(`  ${label}: exit code ${code}, ${logged.length} warn/error log lines`);
        for (const l of logged.slice(0, 3)) console.log(`    ${l.slice(0, 300)}`);
      }
      if (CPU_PROF) {
        const file = path.join(
          profDir,
          `${profileName(label.replace('closeloop ', ''))}.cpuprofile`,
        );
        const kept = path.join(os.tmpdir(), `closeloop-e2e-${path.basename(file)}`);
        if (fs.existsSync(file)) {
          fs.copyFileSync(file, kept);
          profiles.push({ title: `${title}: ${label}`, file: kept });
        } else console.log(`  no CPU profile written for ${label}`);
      }
    }
    await sink.close();
    if (kind === 'redis') {
      const deleted = await deleteRedisKeys(REDIS_URL, prefix);
      console.log(`  stopped; ${deleted} Redis keys under ${prefix}: deleted`);
    } else console.log('  stopped');
    fs.rmSync(dir, { recursive: true, force: true });
    console.log('');
  }
}

function table(rows: Row[]): string {
  const num = (v: number | undefined, w: number) =>
    (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(0)).padStart(w);
  const width = Math.max(26, ...rows.map((r) => r.setup.length + 1));
  const header = `${'setup'.padEnd(width)} ${'webhooks/s in'.padStart(13)}   ${'conversions/s e2e'.padStart(17)}   ${'GA4 events/s'.padStart(12)}   ${'p50 ms'.padStart(6)}   ${'p95 ms'.padStart(6)}`;
  return [
    header,
    ...rows.map(
      (r) =>
        `${r.setup.padEnd(width)} ${num(r.webhooksPerS, 13)}   ${num(r.conversionsPerS, 17)}   ${num(r.eventsPerS, 12)}   ${num(r.p50, 6)}   ${num(r.p95, 6)}`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  for (const s of SETUPS) {
    if (!ALL_SETUPS.includes(s)) throw new Error(`BENCH_SETUPS: unknown setup "${s}"`);
  }
  console.log(
    `end-to-end benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  console.log(
    `${N} won-deal status webhooks, one distinct lead each (→ 1 GA4 request, 2 events), ${CONCURRENCY} concurrent POSTs over keep-alive connections (node:http), ${WARMUP} warm-up webhooks first\n`,
  );
  const rows: Row[] = [];
  for (const s of SETUPS) {
    if (s === 'intake-sqlite') rows.push(await intakeSqlite());
    else if (s === 'intake-redis') rows.push(await intakeRedis());
    else {
      const [kind, level] = s.split('-') as ['embedded' | 'redis', string | undefined];
      rows.push(await endToEnd(kind, level === 'info' ? 'info' : 'warn'));
    }
  }

  console.log(table(rows));
  console.log(
    '\nwebhooks/s in: webhooks answered 200 per second while posting (workers run meanwhile in the e2e setups).',
  );
  console.log(
    'conversions/s e2e: leads whose GA4 request arrived, per second from the first POST to the last arrival.',
  );
  console.log(
    'p50/p95: from the webhook 200 to its GA4 request arriving; all webhooks come as one burst, so this is mostly queueing.',
  );
  console.log('"info" rows: the default LOG_LEVEL=info; the others LOG_LEVEL=warn.');
  console.log('\nCPU seconds per process during each run:');
  for (const r of rows) console.log(`  ${r.setup}: ${formatCpu(r.cpu, r.wallS)}`);
  const best = Math.max(0, ...rows.map((r) => r.conversionsPerS ?? 0));
  if (rows.some((r) => r.conversionsPerS !== undefined))
    console.log(
      `\ntarget ≥ 1000 conversions/s end to end: best ${best.toFixed(0)}/s (${best >= 1000 ? 'met' : 'NOT met'})`,
    );
  const warnings = rows.flatMap((r) => r.warnings.map((w) => `${r.setup}: ${w}`));
  for (const w of warnings) console.log(w);

  for (const p of profiles)
    console.log(`\n${formatSummary(`${p.title} (${p.file})`, summariseProfile(p.file))}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
