/**
 * `npm run bench:amocrm`: 1,000 field-less webhooks (Digital Pipeline hooks carry no fields, so
 * every lead must be read from the API) against a local amoCRM stand-in that answers 429 past 7
 * requests in a second. Prints API calls made, 429s received and seconds until every conversion
 * reached a local GA4 stand-in, next to the bound the rate limit sets.
 *
 * Options (env): BENCH_LEADS (default 1000), BENCH_LEADS_PER_WEBHOOK (default 1).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService } from '../src/main';
import { testConfig } from '../test/helpers/builders';
import { captureLogger } from '../test/helpers/capture-logger';
import { startGa4StandIn } from '../test/helpers/ga4-stand-in';
import { apiLead, startAmocrmStandIn } from '../test/helpers/amocrm-stand-in';
import { digitalPipelineBody } from '../test/helpers/amocrm-webhook';
import { eventsOf } from '../test/helpers/ga4-events';

const LEADS = Number(process.env.BENCH_LEADS ?? 1000);
const PER_WEBHOOK = Number(process.env.BENCH_LEADS_PER_WEBHOOK ?? 1);
const TOKEN = 'bench-long-lived-token';
const RPS = 7;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-amocrm-'));
  const ga4 = await startGa4StandIn();
  const amo = await startAmocrmStandIn({ limitPerSecond: RPS, token: TOKEN });
  for (let id = 1; id <= LEADS; id++) amo.leads.set(id, apiLead(id, { price: id * 100 }));
  const base = testConfig();
  const log = captureLogger();
  const service = await startService({
    config: {
      ...base,
      ga4: { ...base.ga4, endpoint: ga4.url },
      delivery: { ...base.delivery, concurrency: 16 },
      amocrm: {
        ...base.amocrm,
        api: {
          baseUrl: amo.url,
          auth: { kind: 'long-lived', token: TOKEN },
          requestsPerSecond: RPS,
          timeoutMs: 10_000,
          batchWindowMs: 200,
          reconcile: { enabled: false, intervalMs: 600_000 },
        },
      },
    },
    logger: log.logger,
    redactor: log.redactor,
    dataDir: dir,
    port: 0,
    host: '127.0.0.1',
  });

  const url = `http://127.0.0.1:${service.port}${service.webhookPath}`;
  const started = Date.now();
  const bodies: string[] = [];
  for (let id = 1; id <= LEADS; id += PER_WEBHOOK) {
    bodies.push(
      digitalPipelineBody(
        Array.from({ length: Math.min(PER_WEBHOOK, LEADS - id + 1) }, (_, k) => ({ id: id + k })),
      ),
    );
  }
  // amoCRM sends hooks as they happen: post them 50 at a time, as fast as they are acknowledged.
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
      }
    }),
  );
  const acked = Date.now();
  const purchases = (): number =>
    ga4
      .collected()
      .flatMap(eventsOf)
      .filter((e) => e.name === 'purchase').length;
  while (purchases() < LEADS && Date.now() - started < 300_000)
    await new Promise((r) => setTimeout(r, 20));
  const done = Date.now();

  const leadCalls = amo.requests().filter((r) => r.path === '/api/v4/leads');
  const minCalls = Math.ceil(LEADS / 250);
  console.log(
    `amoCRM benchmark: ${LEADS} field-less webhooks (${PER_WEBHOOK} lead${PER_WEBHOOK === 1 ? '' : 's'} each), stand-in limit ${RPS} req/s, node ${process.version}\n`,
  );
  console.log(`webhooks acknowledged in           ${((acked - started) / 1000).toFixed(2)} s`);
  console.log(
    `every purchase at GA4 after        ${((done - started) / 1000).toFixed(2)} s  (${purchases()} of ${LEADS})`,
  );
  console.log(
    `amoCRM API calls                   ${amo.requests().length} (lead look-ups ${leadCalls.length}, ids per look-up ${(LEADS / Math.max(1, leadCalls.length)).toFixed(0)} on average)`,
  );
  console.log(`429 answers received               ${amo.tooMany()}`);
  console.log(
    `\nbound set by the rate limit: ${minCalls} look-ups of 250 ids need ≥ ${((minCalls - 1) / RPS).toFixed(2)} s at ${RPS} req/s;`,
  );
  console.log(
    `one look-up per lead would need ${LEADS} calls, ≥ ${((LEADS - 1) / RPS).toFixed(0)} s.`,
  );
  await service.close();
  await ga4.close();
  await amo.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
