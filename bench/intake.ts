/**
 * `npm run bench:intake`: durable webhooks per second next to the ceiling, a bare node:http server
 * parsing the same bodies, on the same machine in the same run. Each server runs in its own
 * process; the load generator (autocannon) runs here.
 *
 * Options (env): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 50).
 */
import os from 'node:os';
import autocannon from 'autocannon';
import { webhookBody } from '../test/helpers/amocrm-webhook';
import { startIntakeServer } from './intake-server-process';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECRET = 'bench-webhook-secret-0123456789';

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

  const bare = await startIntakeServer('bare');
  await load(`http://127.0.0.1:${bare.port}/`, bodies.slice(0, 50)); // warm-up
  const ceiling = await load(`http://127.0.0.1:${bare.port}/`, bodies);
  await bare.stop();

  const durable = await startIntakeServer('durable');
  const url = `http://127.0.0.1:${durable.port}/webhooks/amocrm/${SECRET}`;
  const warm = await load(url, bodies.slice(0, 50));
  const ours = await load(url, bodies);
  const stored = await durable.stop();

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
