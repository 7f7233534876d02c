/**
 * HTTP fuzz against `closeloop start` as operators run it (a real process on loopback, the example
 * config with every way in turned on: amoCRM with its API, Bitrix24, the signed intake, /leads),
 * with the vendors' stand-ins behind it. Random and mutated webhooks and forms (test/fuzz/), a seed
 * printed and taken from FUZZ_SEED. Invariants, for every request: never a 5xx, the process never
 * exits, every answer that is not 2xx is JSON with an error code; at the end, every event an
 * acknowledged webhook reported as stored is counted stored by the store's own counter, and RSS
 * stayed bounded. Short here (`npm test`); `npm run fuzz` runs it long.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { startAmocrmStandIn, type AmocrmStandIn } from '../helpers/amocrm-stand-in';
import { startBitrix24StandIn, type Bitrix24StandIn } from '../helpers/bitrix24-stand-in';
import {
  EXAMPLE_CONFIG,
  startCloseloopProcess,
  terminate,
  kill9,
  type CloseloopProcess,
} from '../helpers/closeloop-process';
import { Random, fuzzRuns, fuzzSeed } from '../fuzz/random';
import { fuzzRequests, type FuzzRequest, type FuzzTarget } from '../fuzz/requests';

const TARGET: FuzzTarget = {
  webhookSecret: 'fuzz-webhook-secret-7Kq2pX9m',
  intakeSecret: 'fuzz-intake-secret-Zr81vQ0w',
  bitrix24Token: 's8gj3kd92jfq0wn4u7x6z1c5v0b2n9m4',
  site: 'https://example.com',
};
/** RSS may grow by this much over the run (caches, the SQLite page cache); a leak grows past it. */
const RSS_BUDGET_BYTES = 200 * 1024 * 1024;
const PARALLEL = 8;

describe('fuzz: HTTP (a real process, random and mutated requests)', function () {
  const runs = fuzzRuns(1500, 50_000);
  this.timeout(30_000 + runs * 20);
  let dir: string;
  let ga4: Ga4StandIn;
  let amocrm: AmocrmStandIn;
  let portal: Bitrix24StandIn;
  let child: CloseloopProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-fuzz-http-'));
    [ga4, amocrm, portal] = await Promise.all([
      startGa4StandIn(),
      startAmocrmStandIn({ limitPerSecond: 1000 }),
      startBitrix24StandIn({ perSecond: 1000, burst: 1000 }),
    ]);
    const config = path.join(dir, 'closeloop.yaml');
    fs.writeFileSync(
      config,
      `${fs.readFileSync(EXAMPLE_CONFIG, 'utf8')}\nlead_intake:\n  enabled: true\n  cors_origins: [${TARGET.site}]\n  per_ip_per_minute: 1000\n`,
    );
    child = await startCloseloopProcess({
      CLOSELOOP_CONFIG: config,
      CLOSELOOP_DATA_DIR: path.join(dir, 'data'),
      CLOSELOOP_WEBHOOK_SECRET: TARGET.webhookSecret,
      CLOSELOOP_INTAKE_SECRET: TARGET.intakeSecret,
      GA4_MEASUREMENT_ID: 'G-FUZZ',
      GA4_API_SECRET: 'fuzz-api-secret',
      GA4_ENDPOINT: ga4.url,
      AMOCRM_SUBDOMAIN: 'example',
      AMOCRM_TOKEN: 'fuzz-amocrm-token',
      AMOCRM_BASE_URL: amocrm.url,
      BITRIX24_WEBHOOK_URL: portal.webhookUrl,
      BITRIX24_APPLICATION_TOKEN: TARGET.bitrix24Token,
      LOG_LEVEL: 'error',
    });
  });
  after(async () => {
    if (child) await kill9(child);
    await Promise.all([ga4?.close(), amocrm?.close(), portal?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`answers every request without a 5xx or a crash, errors as JSON, acknowledged ones stored`, async () => {
    const proc = child!;
    const seed = fuzzSeed();
    console.log(`      fuzz seed ${seed} (FUZZ_SEED=${seed} reproduces), ${runs} requests`);
    const next = fuzzRequests(new Random(seed), TARGET);
    const byStatus = new Map<string, number>();
    const problems: string[] = [];
    let storedByAnswers = 0;
    const rssStart = rssOf(proc);
    let rssMax = rssStart;
    const storedBefore = await metric(proc.port, 'closeloop_lead_events_stored_total');
    let sent = 0;

    const one = async (r: FuzzRequest, n: number): Promise<void> => {
      let status: number;
      let text: string;
      try {
        const res = await fetch(`http://127.0.0.1:${proc.port}${r.path}`, {
          method: r.method,
          headers: r.headers,
          body: r.method === 'GET' ? undefined : r.body,
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        text = await res.text();
      } catch (e) {
        // A connection closed after a 413 (the body is not read on) is the one allowed way.
        count(byStatus, `${r.route} closed`);
        if (proc.proc.exitCode !== null || proc.proc.signalCode !== null) {
          problems.push(`#${n} the process exited: ${String(e)}`);
        }
        return;
      }
      count(byStatus, `${r.route} ${status}`);
      const show = (): string =>
        `#${n} ${r.method} ${r.route} ${status}: ${text.slice(0, 200)} <- ${String(r.body).slice(0, 300)}`;
      if (status >= 500) problems.push(`5xx ${show()}`);
      if (status >= 300 && !isJsonError(text) && !(r.route === 'other' && status === 404)) {
        problems.push(`not a JSON error ${show()}`);
      }
      if (status === 200 && r.route !== 'other' && r.route !== 'leads') {
        const stored = (JSON.parse(text) as { stored?: unknown }).stored;
        if (typeof stored !== 'number') problems.push(`200 without stored ${show()}`);
        else storedByAnswers += stored;
      }
    };
    const workers = Array.from({ length: PARALLEL }, async () => {
      while (sent < runs && problems.length < 20) {
        const n = sent++;
        await one(next(), n);
        if (n % 250 === 0) rssMax = Math.max(rssMax, rssOf(proc));
      }
    });
    await Promise.all(workers);
    rssMax = Math.max(rssMax, rssOf(proc));

    const stored = (await metric(proc.port, 'closeloop_lead_events_stored_total')) - storedBefore;
    const summary = [...byStatus]
      .sort()
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ');
    console.log(
      `      fuzz: ${sent} requests (${summary}); events acknowledged as stored ${storedByAnswers}, counted stored ${stored}; RSS ${mb(rssStart)} → max ${mb(rssMax)}; problems ${problems.length}`,
    );
    assert.deepEqual(problems, [], `seed ${seed}`);
    assert.equal(stored, storedByAnswers, 'every event an answer acknowledged is stored');
    assert.ok(
      rssMax - rssStart < RSS_BUDGET_BYTES,
      `RSS grew from ${mb(rssStart)} to ${mb(rssMax)}`,
    );
    assert.equal(await terminate(proc), 0, 'and it still stops cleanly');
    child = undefined;
  });
});

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function isJsonError(text: string): boolean {
  try {
    const error = (JSON.parse(text) as { error?: { code?: unknown } }).error;
    return typeof error?.code === 'string' && /^[A-Z0-9_]+$/.test(error.code);
  } catch {
    return false;
  }
}

/** The process's resident set size, from /proc (Linux); 0 elsewhere. */
function rssOf(child: CloseloopProcess): number {
  try {
    const status = fs.readFileSync(`/proc/${child.proc.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}
