/**
 * `npm run bench:intake`: durable webhooks per second next to the ceiling, a bare node:http server
 * parsing the same bodies, on the same machine in the same run. Each server runs in its own
 * process; the load generator (autocannon) runs here.
 *
 * Options (env): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { webhookBody } from '../test/helpers/amocrm-webhook';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECRET = 'bench-webhook-secret-0123456789';

function startServer(
  mode: 'bare' | 'durable',
): Promise<{ proc: ChildProcess; port: number; lines: string[] }> {
  const proc = spawn(process.execPath, [path.join(__dirname, 'intake-server.js'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (c: Buffer) => {
      for (const line of c.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        const m = /^READY (\d+)/.exec(line);
        if (m) resolve({ proc, port: Number(m[1]), lines });
      }
    });
    proc.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function stopServer(s: { proc: ChildProcess; lines: string[] }): Promise<string[]> {
  await new Promise<void>((resolve) => {
    s.proc.removeAllListeners('exit');
    s.proc.once('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });
  return s.lines;
}

async function load(url: string, bodies: string[]) {
  let i = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    requests: [
      {
        setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length] }),
      },
    ],
  });
  return {
    perSecond: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

async function main(): Promise<void> {
  // Real-shaped won-deal webhooks: one lead each, a tracking field, a select field, Cyrillic.
  const bodies = Array.from({ length: 1000 }, (_, n) =>
    webhookBody('status', [{ id: 100000 + n, sessionId: '1747132561' }]),
  );
  console.log(
    `intake benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}`,
  );
  console.log(
    `${CONNECTIONS} connections, ${SECONDS} s per server, body ${bodies[0]!.length} bytes\n`,
  );

  const bare = await startServer('bare');
  await load(`http://127.0.0.1:${bare.port}/`, bodies.slice(0, 50)); // warm-up
  const ceiling = await load(`http://127.0.0.1:${bare.port}/`, bodies);
  await stopServer(bare);

  const durable = await startServer('durable');
  const url = `http://127.0.0.1:${durable.port}/webhooks/amocrm/${SECRET}`;
  const warm = await load(url, bodies.slice(0, 50));
  const ours = await load(url, bodies);
  const lines = await stopServer(durable);
  const stored = Number(
    /^STORED (\d+)/.exec(lines.find((l) => l.startsWith('STORED')) ?? '')?.[1] ?? NaN,
  );

  const row = (name: string, r: typeof ceiling) =>
    `${name.padEnd(38)} ${r.perSecond.toFixed(0).padStart(8)} req/s   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(4)} ms   non-2xx ${r.non2xx}  errors ${r.errors}`;
  console.log(row('bare node:http + parse (ceiling)', ceiling));
  console.log(row('closeloop durable intake (SQLite FULL)', ours));
  console.log(
    `\nratio durable / ceiling: ${(ours.perSecond / ceiling.perSecond).toFixed(2)} (target ≥ 0.50)`,
  );
  // Requests still in flight when the load stops are stored but their answers are not counted,
  // so stored ≥ acknowledged is the check: every acknowledged webhook must be in the store.
  const acked = warm.ok + ours.ok;
  console.log(
    `durability check: ${stored} jobs stored, ${acked} webhooks acknowledged: ${stored >= acked ? 'every acknowledged webhook is stored' : 'ACKNOWLEDGED WEBHOOKS MISSING'}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
