/**
 * The service for bench/metrics.ts, in its own process: closeloop's real startService (HTTP and
 * worker, embedded store in the folder given) in dry-run mode, so nothing leaves the machine.
 * `node metrics-server.js <data dir> cached|per-scrape`: `per-scrape` reads the queue depths from
 * the store on every scrape, as /metrics did before they were cached. Prints `READY <port>`; stops
 * on SIGTERM.
 */
import { PassThrough } from 'node:stream';
import { startService } from '../src/main';
import { createLogger } from '../src/adapters/log/create-logger';
import { Redactor } from '../src/adapters/log/redactor';
import { testConfig } from '../test/helpers/builders';

export const BENCH_SECRET = 'bench-metrics-webhook-secret-0123';

async function main(): Promise<void> {
  const [dataDir, mode] = process.argv.slice(2);
  if (dataDir === undefined || (mode !== 'cached' && mode !== 'per-scrape')) {
    throw new Error('usage: metrics-server.js <data dir> cached|per-scrape');
  }
  const base = testConfig();
  const redactor = new Redactor();
  const sink = new PassThrough();
  sink.resume();
  const service = await startService({
    config: {
      ...base,
      webhook: { ...base.webhook, secret: BENCH_SECRET },
      ga4: { ...base.ga4, measurementId: null, apiSecret: null, dryRun: true },
      delivery: { ...base.delivery, concurrency: 8 },
    },
    logger: createLogger({ level: 'error', format: 'json', redactor, stream: sink }),
    redactor,
    dataDir,
    port: 0,
    host: '127.0.0.1',
    queueDepthsMaxAgeMs: mode === 'per-scrape' ? 0 : undefined,
  });
  console.log(`READY ${service.port}`);
  process.once('SIGTERM', () => {
    service.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

// Run as a program; imported (for BENCH_SECRET), nothing starts.
if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
