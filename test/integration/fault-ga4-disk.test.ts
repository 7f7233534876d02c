/**
 * Faults around a running service (the real app on loopback, the embedded store, the GA4 stand-in):
 * - a slow GA4 (answers after a second): webhooks are still answered at once, every delivery
 *   arrives once, at its first attempt;
 * - a GA4 slower than the timeout: the send is uncertain, as the README promises for a timeout
 *   (the purchase sent again with its transaction_id, the lead event held, never twice);
 * - a GA4 answering 429 with a Retry-After longer than the backoff: the next attempt waits for it,
 *   and the delivery is sent, not counted exhausted;
 * - the disk filling up at a random moment of a stream of webhooks: answers are 200 or 503 (the
 *   CRM sends a 503 again), and every deal acknowledged is delivered once space is back.
 * What embedded-store-storage.test.ts covers (a full disk refusing a webhook, a read-only folder at
 * the start, /healthz and its reasons) is not repeated here.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loopbackService, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { webhookBody } from '../helpers/amocrm-webhook';
import { startGa4StandIn, type Ga4StandIn, type Ga4StandInRequest } from '../helpers/ga4-stand-in';
import { countEvents, eventsOf } from '../helpers/ga4-events';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs';
import { skipBecause } from '../helpers/skip-because';
import { waitFor } from '../helpers/wait-for';
import { Random, fuzzSeed } from '../fuzz/random';

/** amoCRM waits at most 2 s for a webhook's answer (research amocrm.md). */
const AMOCRM_CUT_OFF_MS = 2000;

describe('fault: a slow GA4, a GA4 past its timeout, a 429 with a long Retry-After', function () {
  this.timeout(40_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-fault-ga4-'));
    ga4 = await startGa4StandIn();
    const config = testConfig();
    service = await startService(
      loopbackService(
        testConfig({ ga4: { ...config.ga4, endpoint: ga4.url } }),
        captureLogger(),
        dir,
      ),
    );
  });
  afterEach(async () => {
    await service.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers webhooks at once while GA4 takes a second per request; each delivery once, first time', async () => {
    ga4.hangNext(1000, 1000);
    const ids = Array.from({ length: 16 }, (_, i) => 61_000 + i);
    let slowest = 0;
    for (const id of ids) {
      const started = Date.now();
      assert.equal(await post(service, id), 200);
      slowest = Math.max(slowest, Date.now() - started);
    }
    await waitFor(() => ga4.collected().length >= ids.length, { timeoutMs: 20_000 });
    await waitFor(async () => (await service.store.deliveryLog.counts()).sent === ids.length, {
      timeoutMs: 5000,
    });
    const rows = await service.store.deliveryLog.list({ outcome: 'sent', limit: 100 });
    console.log(
      `      slow GA4 (1 s per request): ${ids.length} webhooks, slowest answer ${slowest} ms; ${ga4.collected().length} requests, attempts ${rows.map((r) => r.attempts).join(',')}`,
    );
    assert.ok(slowest < AMOCRM_CUT_OFF_MS, `a webhook answer took ${slowest} ms`);
    assert.equal(ga4.attempts().length, ids.length, 'nothing sent twice');
    assert.ok(rows.every((r) => r.attempts === 1));
  });

  it('holds the lead event of a send that timed out as uncertain, and sends the purchase again', async () => {
    // Longer than ga4.timeout_ms (2 s in the test config): GA4 took it in, the answer comes late.
    ga4.hangNext(1, 2500);
    assert.equal(await post(service, 62_000), 200);
    await waitFor(() => ga4.collected().length >= 2, { timeoutMs: 15_000 });
    await waitFor(async () => (await service.store.deliveryLog.counts()).uncertain === 1, {
      timeoutMs: 5000,
    });
    await new Promise((r) => setTimeout(r, 500)); // anything more would arrive now
    assert.deepEqual(names(ga4.collected()), [['close_convert_lead', 'purchase'], ['purchase']]);
    const [held] = await service.store.deliveryLog.list({ outcome: 'uncertain' });
    assert.deepEqual(held?.events, ['close_convert_lead']);
    assert.equal(held?.code, 'DELIVERY_UNCERTAIN');
  });

  it('waits out a 429 Retry-After longer than the backoff, then sends; not exhausted', async () => {
    // The test config's backoff is at most 200 ms; GA4 asks for 3 s.
    ga4.failNext(1, 429, { 'Retry-After': '3' });
    assert.equal(await post(service, 63_000), 200);
    await waitFor(() => ga4.collected().length === 1, { timeoutMs: 15_000 });
    const [refused, accepted] = ga4.attempts() as [Ga4StandInRequest, Ga4StandInRequest];
    const waited = accepted.at - refused.at;
    console.log(`      GA4 429 with Retry-After: 3 → next attempt ${waited} ms later`);
    assert.equal(refused.status, 429);
    assert.ok(waited >= 2900, `the next attempt came ${waited} ms after the 429`);
    await waitFor(async () => (await service.store.deliveryLog.counts()).sent === 1, {
      timeoutMs: 5000,
    });
    const [row] = await service.store.deliveryLog.list({ outcome: 'sent' });
    assert.equal(row?.attempts, 2);
    assert.equal((await service.store.deliveryLog.counts()).failed, 0);
  });
});

describe('fault: the disk fills up at a random moment of a webhook stream', function () {
  this.timeout(60_000);
  let fsys: Tmpfs | null = null;
  let ga4: Ga4StandIn;
  let service: RunningService | null = null;

  beforeEach(async function () {
    const mounted = mountTmpfs(96 * 1024 * 1024);
    if ('cannot' in mounted) skipBecause(this, mounted.cannot);
    fsys = mounted;
    ga4 = await startGa4StandIn();
  });
  afterEach(async () => {
    await service?.close().catch(() => undefined);
    service = null;
    await ga4?.close();
    fsys?.unmount();
    fsys = null;
  });

  it('answers 200 or 503 while full, and delivers every acknowledged deal once space is back', async () => {
    const seed = fuzzSeed();
    const rnd = new Random(seed);
    const config = testConfig();
    const s = await startService(
      loopbackService(
        testConfig({ ga4: { ...config.ga4, endpoint: ga4.url } }),
        captureLogger(),
        path.join(fsys!.dir, 'data'),
      ),
    );
    service = s;
    const DEALS = 300;
    const fillAt = rnd.int(20, 200);
    const pending = Array.from({ length: DEALS }, (_, i) => 64_000 + i);
    const acked = new Set<number>();
    const answers = new Map<string, number>();
    let filler: string | null = null;
    let freed = false;
    const poster = async (): Promise<void> => {
      for (;;) {
        const id = pending.shift();
        if (id === undefined) {
          if (acked.size >= DEALS) return;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        const { status, code } = await postWithCode(s, id);
        answers.set(`${status} ${code}`, (answers.get(`${status} ${code}`) ?? 0) + 1);
        if (status === 200) acked.add(id);
        else pending.push(id); // amoCRM sends it again
        if (filler === null && acked.size >= fillAt) filler = fsys!.fill(0);
        if (filler !== null && !freed && (answers.get('503 STORE_UNAVAILABLE') ?? 0) >= 20) {
          freed = true;
          fs.rmSync(filler);
        }
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
    };
    await Promise.all(Array.from({ length: 4 }, poster));
    const converts = (): Map<string, number> => countEvents(ga4.collected(), 'close_convert_lead');
    const purchases = (): Map<string, number> => countEvents(ga4.collected(), 'purchase');
    const uncertain = async (): Promise<Set<string>> =>
      new Set(
        (await s.store.deliveryLog.list({ outcome: 'uncertain', limit: 1000 })).map(
          (r) => r.dealId,
        ),
      );
    await waitFor(
      async () => {
        const held = await uncertain();
        return [...acked].every(
          (id) =>
            purchases().has(String(id)) && (converts().has(String(id)) || held.has(String(id))),
        );
      },
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: () => `${purchases().size} of ${DEALS} deals`,
      },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const repeated = [...converts().values()].filter((n) => n > 1).length;
    const held = await uncertain();
    console.log(
      `      disk full after ${fillAt} webhooks (seed ${seed}): answers ${JSON.stringify(Object.fromEntries(answers))}; ${acked.size} acknowledged, lost 0, lead events repeated ${repeated}, uncertain ${held.size}`,
    );
    assert.deepEqual(
      [...answers.keys()].filter((k) => k !== '200 -' && k !== '503 STORE_UNAVAILABLE'),
      [],
      'only 200 or 503 STORE_UNAVAILABLE',
    );
    assert.ok((answers.get('503 STORE_UNAVAILABLE') ?? 0) >= 20, 'the disk did fill up');
    assert.equal(repeated, 0, 'no lead event twice');
  });
});

async function post(service: RunningService, id: number): Promise<number> {
  return (await postWithCode(service, id)).status;
}

async function postWithCode(
  service: RunningService,
  id: number,
): Promise<{ status: number; code: string }> {
  const res = await fetch(`http://127.0.0.1:${service.port}${service.webhookPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: webhookBody('status', [{ id, clientId: `GA1.1.${id}.1700000000` }]),
  });
  const text = await res.text();
  if (res.status === 200) return { status: 200, code: '-' };
  const code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? '?';
  return { status: res.status, code };
}

function names(requests: Ga4StandInRequest[]): string[][] {
  return requests.map((r) => eventsOf(r).map((e) => e.name));
}
