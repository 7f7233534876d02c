/**
 * Metrica figures for 10,000 won deals (`npm run bench:metrica`): a real service on loopback (the
 * embedded store, the example config, the signed intake) uploads to a loopback fake of the
 * Management API (the stand-in, test/helpers/metrica-stand-in.ts). Prints the uploads and API requests used
 * (goal: at most 20), rows per upload, and the time from a deal's won event reaching closeloop to its
 * upload arriving. The flush interval is 2 s here instead of the default 600 s, so that the time
 * measured is closeloop's own, not the wait for a batch to fill: with the default, a deal waits at
 * most 10 minutes, or less once 1,000 rows wait.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService } from '../src/main';
import { loadConfig } from '../src/config/load-config';
import { loopbackService } from '../test/helpers/builders';
import { captureLogger } from '../test/helpers/capture-logger';
import { startMetricaStandIn } from '../test/helpers/metrica-stand-in';

const METRICA_FAKE_COUNTER = '44147844';
const METRICA_FAKE_TOKEN = 'y0_bench-token';

const DEALS = Number(process.env.BENCH_DEALS ?? 10_000);
const PER_REQUEST = 500;
const SECRET = 'bench-intake-key-5f1c9a7e3b2d4c6a';
const WEBHOOK = 'bench-metrica-webhook-0123456789';

async function main(): Promise<void> {
  const fake = await startMetricaStandIn({
    tokens: { [METRICA_FAKE_TOKEN]: { scopes: ['metrika:read', 'metrika:offline_data'] } },
    counters: [METRICA_FAKE_COUNTER],
  });
  fake.addGoal(METRICA_FAKE_COUNTER, 'deal_won');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bench-metrica-'));
  const config = loadConfig({
    path: 'config/closeloop.example.yaml',
    env: {
      CLOSELOOP_WEBHOOK_SECRET: WEBHOOK,
      CLOSELOOP_INTAKE_SECRET: SECRET,
      METRICA_COUNTER_ID: METRICA_FAKE_COUNTER,
      METRICA_TOKEN: METRICA_FAKE_TOKEN,
      METRICA_ENDPOINT: fake.url,
      METRICA_FLUSH_SECONDS: '2',
      METRICA_POLL_SECONDS: '2',
    },
  });
  const service = await startService(loopbackService(config, captureLogger(), dir));
  const postedAt = new Map<string, number>();
  const t0 = Date.now();
  for (let i = 0; i < DEALS; i += PER_REQUEST) {
    const events = [];
    for (let j = i; j < Math.min(DEALS, i + PER_REQUEST); j++) {
      const ym = `17645832${String(j).padStart(11, '0')}`;
      postedAt.set(ym, Date.now());
      events.push({
        account: 'bench',
        deal_id: `B-${j}`,
        stage: 'complete',
        outcome: 'won',
        amount: '1990.00',
        currency: 'RUB',
        occurred_at: new Date(Date.now() - 60_000).toISOString(),
        identities: { ym_client_id: ym },
      });
    }
    const body = JSON.stringify(events);
    const res = await fetch(`http://127.0.0.1:${service.port}/webhooks/generic/${WEBHOOK}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-closeloop-signature': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
      body,
    });
    if (res.status !== 200) throw new Error(`intake answered ${res.status}: ${await res.text()}`);
  }
  const rows = (): string[][] => fake.uploads().map((u) => u.csv.trim().split('\n').slice(1));
  const deadline = Date.now() + 300_000;
  while (rows().flat().length < DEALS && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const uploadedAll = Date.now();
  // Let the polls read each upload once more, then count every request the fake saw.
  await new Promise((r) => setTimeout(r, 4500));
  const arrivals = (): number[] =>
    fake.requests.filter((r) => r.endpoint === 'upload' && r.status === 200).map((r) => r.at);
  const latencies: number[] = [];
  rows().forEach((list, i) => {
    for (const row of list) latencies.push(arrivals()[i]! - postedAt.get(row.split(',')[0]!)!);
  });
  latencies.sort((a, b) => a - b);
  const q = (p: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  const perUpload = rows().map((r) => r.length);
  const unique = new Set(
    rows()
      .flat()
      .map((r) => r.split(',')[0]),
  );
  await service.close();
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(
    `Metrica bench: ${DEALS} won deals, flush every 2 s (default 600 s), batch_rows 1000`,
  );
  console.log(
    `rows uploaded: ${perUpload.reduce((a, b) => a + b, 0)} (distinct deals ${unique.size}; duplicates ${perUpload.reduce((a, b) => a + b, 0) - unique.size})`,
  );
  console.log(
    `uploads: ${fake.uploads().length}; API requests: ${fake.requests.length} (goal ≤ 20) of which upload POSTs ${fake.requests.filter((r) => r.endpoint === 'upload').length}`,
  );
  console.log(
    `rows per upload: min ${Math.min(...perUpload)}, max ${Math.max(...perUpload)}, mean ${(DEALS / perUpload.length).toFixed(0)}`,
  );
  console.log(
    `won → uploaded: p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${latencies[latencies.length - 1]} ms; all ${DEALS} uploaded ${uploadedAll - t0} ms after the first was posted`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
