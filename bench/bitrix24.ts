/**
 * `npm run bench:bitrix24`: 1,000 outgoing webhooks of won deals (ONCRMDEALUPDATE carries only the
 * deal's id, so every deal is read through REST) against the local Bitrix24 REST fake, whose
 * leaky bucket answers 503 QUERY_LIMIT_EXCEEDED past 50 requests drained at 2 a second (research
 * bitrix24.md §4.1). Prints the REST calls made, the 503 answers caused (goal: 0) and the seconds
 * until every purchase reached a local GA4 stand-in, next to the bound the bucket sets.
 *
 * Options (env): BENCH_DEALS (default 1000); BENCH_FROM_LEADS=1 puts the client ID on each deal's
 * source lead only (one more read per deal); BENCH_REPEATS (default 1) posts each webhook that
 * many times, as Bitrix24 does when robots edit a deal after its move; BENCH_PREFILL (default 0)
 * requests another integration already put in the portal's bucket; REDIS_URL runs on Redis.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load-config';
import { startService } from '../src/main';
import { loopbackService } from '../test/helpers/builders';
import { captureLogger } from '../test/helpers/capture-logger';
import { startGa4StandIn } from '../test/helpers/ga4-stand-in';
import { eventsOf } from '../test/helpers/ga4-events';
import { outgoingWebhook, STAGES, startBitrix24StandIn } from '../test/helpers/bitrix24-stand-in';
import { deleteRedisKeys, uniqueRedisPrefix } from '../test/helpers/redis-test-prefix';

const DEALS = Number(process.env.BENCH_DEALS ?? 1000);
const FROM_LEADS = process.env.BENCH_FROM_LEADS === '1';
const REPEATS = Number(process.env.BENCH_REPEATS ?? 1);
const PREFILL = Number(process.env.BENCH_PREFILL ?? 0);
const REDIS_URL = process.env.REDIS_URL || undefined;
const TOKEN = 'bench-b24-application-token-0123';
const SECRET = 'bench-bitrix24-webhook-secret-0123456789';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-b24-'));
  const prefix = uniqueRedisPrefix('bench-b24');
  const ga4 = await startGa4StandIn();
  const portal = await startBitrix24StandIn();
  for (let i = 0; i < DEALS; i++) {
    const id = String(100_000 + i);
    const clientId = `${1_000_000 + i}.1700000000`;
    if (FROM_LEADS) portal.putLead(String(i + 1), { UF_CRM_GA_CLIENT_ID: `GA1.1.${clientId}` });
    portal.moveDeal(id, STAGES.won, {
      OPPORTUNITY: `${(i + 1) * 100}.50`,
      LEAD_ID: FROM_LEADS ? String(i + 1) : null,
      UF_CRM_GA_CLIENT_ID: FROM_LEADS ? false : `GA1.1.${clientId}`,
    });
  }
  // Another integration's requests, already in the portal's bucket when closeloop starts.
  for (let i = 0; i < PREFILL; i++) await fetch(`${portal.webhookUrl}crm.category.list.json`);
  const before = { requests: portal.requests().length, limited: portal.limitAnswers() };

  const config = loadConfig({
    path: 'config/closeloop.example.yaml',
    env: {
      GA4_MEASUREMENT_ID: 'G-BENCHB24',
      GA4_API_SECRET: 'bench-api-secret',
      GA4_ENDPOINT: ga4.url,
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
      BITRIX24_WEBHOOK_URL: portal.webhookUrl,
      BITRIX24_APPLICATION_TOKEN: TOKEN,
    },
  });
  const log = captureLogger();
  const service = await startService(
    loopbackService({ ...config, delivery: { ...config.delivery, concurrency: 16 } }, log, dir, {
      redis: REDIS_URL ? { url: REDIS_URL, prefix } : undefined,
      reconcileFirstRunMs: 3_600_000,
    }),
  );

  const url = `http://127.0.0.1:${service.port}/webhooks/bitrix24/${SECRET}`;
  const bodies: string[] = [];
  for (let r = 0; r < REPEATS; r++) {
    for (let i = 0; i < DEALS; i++) {
      bodies.push(outgoingWebhook('ONCRMDEALUPDATE', String(100_000 + i), TOKEN));
    }
  }
  const started = Date.now();
  // Bitrix24's queue server posts events as they happen: 50 at a time, as fast as acknowledged.
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < bodies.length) {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: bodies[next++]!,
        });
        if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
        await res.arrayBuffer();
      }
    }),
  );
  const acked = Date.now();
  const purchases = (): number =>
    ga4
      .collected()
      .flatMap(eventsOf)
      .filter((e) => e.name === 'purchase').length;
  while (purchases() < DEALS && Date.now() - started < 600_000) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const done = Date.now();
  // Anything more (a repeat sent twice) would arrive now.
  await new Promise((r) => setTimeout(r, 500));

  const calls = portal.requests().slice(before.requests);
  const batches = calls.filter((c) => c.method === 'batch');
  const commands = batches.reduce((n, b) => n + b.commands.length, 0);
  const minRequests = Math.ceil(DEALS / 50) * (FROM_LEADS ? 2 : 1);
  const capacity = 45; // 90 % of the burst of 50 (leaky-bucket.ts)
  const minSeconds = Math.max(0, (minRequests + PREFILL - capacity) / 2);
  console.log(
    `Bitrix24 benchmark: ${DEALS} won deals, ${REPEATS} ONCRMDEALUPDATE each${FROM_LEADS ? ', client ID on the source lead' : ''}${PREFILL ? `, ${PREFILL} requests of another integration in the bucket` : ''}, fake bucket 2 req/s burst 50, ${REDIS_URL ? 'Redis' : 'embedded store'}, node ${process.version}\n`,
  );
  console.log(
    `webhooks acknowledged in        ${((acked - started) / 1000).toFixed(2)} s (${bodies.length})`,
  );
  console.log(
    `every purchase at GA4 after     ${((done - started) / 1000).toFixed(2)} s  (${purchases()} of ${DEALS})`,
  );
  console.log(
    `REST calls (HTTP requests)      ${calls.length} (batches ${batches.length}, ${(commands / Math.max(1, batches.length)).toFixed(1)} commands each on average)`,
  );
  console.log(`503 QUERY_LIMIT_EXCEEDED caused ${portal.limitAnswers() - before.limited}`);
  console.log(
    `\nbound set by the bucket: ${minRequests} batch requests of 50 need ≥ ${minSeconds.toFixed(2)} s (45 at once, then 2 a second);`,
  );
  console.log(
    `one request per deal would need ${DEALS * (FROM_LEADS ? 2 : 1)} requests, ≥ ${((DEALS * (FROM_LEADS ? 2 : 1) - capacity) / 2).toFixed(0)} s.`,
  );
  await service.close();
  await ga4.close();
  await portal.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (REDIS_URL) await deleteRedisKeys(REDIS_URL, prefix);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
