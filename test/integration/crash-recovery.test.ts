/**
 * A webhook that got 200 is delivered after a SIGKILL and a restart, exactly once; a send the kill
 * interrupted is uncertain, and handled as the README promises (the purchase resent with its
 * transaction_id, the lead event held and listed for `closeloop replay`, never sent twice). Real processes: `closeloop start` as operators run it, the
 * example config, the embedded store on disk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { countEvents, dealOf } from '../helpers/ga4-events';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../../src/config/load-config';
import {
  BIN,
  EXAMPLE_CONFIG,
  kill9,
  postWebhook,
  startCloseloopProcess,
  terminate,
  type CloseloopProcess,
} from '../helpers/closeloop-process';

const SECRET = 'crash-test-webhook-secret-42';

function startCloseloop(dataDir: string, ga4Endpoint: string): Promise<CloseloopProcess> {
  return startCloseloopProcess({
    CLOSELOOP_DATA_DIR: dataDir,
    CLOSELOOP_WEBHOOK_SECRET: SECRET,
    GA4_MEASUREMENT_ID: 'G-CRASHTEST',
    GA4_API_SECRET: 'crash-test-api-secret',
    GA4_ENDPOINT: ga4Endpoint,
  });
}

describe('crash recovery (real processes, SIGKILL)', function () {
  this.timeout(60_000);
  let dir: string;
  let ga4: Ga4StandIn;
  const children: CloseloopProcess[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-crash-'));
    ga4 = await startGa4StandIn();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await kill9(c);
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('delivers acknowledged webhooks exactly once after SIGKILL and restart', async () => {
    // First life: GA4 unreachable (a closed port), so nothing acknowledged can be delivered yet.
    const first = await startCloseloop(dir, 'http://127.0.0.1:9');
    children.push(first);
    const leads = Array.from({ length: 20 }, (_, i) => ({ id: 7000 + i }));
    for (let i = 0; i < leads.length; i += 5) {
      const res = await fetch(`http://127.0.0.1:${first.port}/webhooks/amocrm/${SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: webhookBody('status', leads.slice(i, i + 5)),
      });
      assert.equal(res.status, 200);
    }
    // a repeat of the first webhook, acknowledged too
    await fetch(`http://127.0.0.1:${first.port}/webhooks/amocrm/${SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: webhookBody('status', leads.slice(0, 5)),
    });
    await new Promise((r) => setTimeout(r, 300));
    await kill9(first);
    assert.equal(ga4.attempts().length, 0);

    // Second life: GA4 is back.
    const second = await startCloseloop(dir, ga4.url);
    children.push(second);
    await waitFor(() => ga4.collected().length >= leads.length, {
      timeoutMs: 30_000,
      message: `delivered ${ga4.collected().length} of ${leads.length}`,
    });
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now
    const purchases = ga4
      .collected()
      .flatMap(
        (r) =>
          (r.json as { events: Array<{ name: string; params: { transaction_id?: string } }> })
            .events,
      )
      .filter((e) => e.name === 'purchase')
      .map((e) => e.params.transaction_id)
      .sort();
    assert.deepEqual(purchases, leads.map((l) => String(l.id)).sort());
    assert.equal(ga4.collected().length, leads.length);
    assert.equal(second.output().includes('crash-test-api-secret'), false);

    // and SIGTERM stops it cleanly
    assert.equal(await terminate(second), 0);
  });

  it('never sends a lead event twice when a SIGKILL lands after GA4 took the request in', async () => {
    const concurrency = loadConfig({ path: EXAMPLE_CONFIG, env: {} }).delivery.concurrency;
    const LEADS = 300;
    const first = await startCloseloop(dir, ga4.url);
    children.push(first);
    const ids = Array.from({ length: LEADS }, (_, i) => 71_000 + i);
    // Each lead its own visitor (client id `<lead>.1700000000`), so every request names its lead.
    const post = (id: number): Promise<number> =>
      postWebhook(
        first.port,
        SECRET,
        webhookBody('status', [{ id, clientId: `GA1.1.${id}.1700000000` }]),
      );
    for (const id of ids.slice(0, 100)) assert.equal(await post(id), 200);
    await waitFor(() => ga4.collected().length >= 100, { timeoutMs: 20_000 });
    // From now on GA4 takes every request in (it counts) and its answer never comes back: the
    // worst moment for a kill, after GA4 counted and before closeloop could know.
    ga4.holdAnswers({ counted: true });
    for (const id of ids.slice(100)) assert.equal(await post(id), 200);
    await waitFor(() => ga4.held().length === concurrency, {
      timeoutMs: 10_000,
      message: () => `${concurrency} sends in flight (have ${ga4.held().length})`,
    });
    const interrupted = ga4.held().map(dealOf).sort();
    await kill9(first);
    await waitFor(() => ga4.held().every((r) => r.clientGone), { timeoutMs: 5000 });
    ga4.releaseAnswers();

    const second = await startCloseloop(dir, ga4.url);
    children.push(second);
    const count = (name: string): Map<string, number> => countEvents(ga4.collected(), name);
    await waitFor(
      () => count('purchase').size === LEADS && count('close_convert_lead').size === LEADS,
      {
        timeoutMs: 30_000,
        message: () => `${LEADS} leads (have ${count('purchase').size})`,
      },
    );
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now
    const uncertain = deliveriesJson('--outcome', 'uncertain');
    assert.deepEqual(
      uncertain.map((r) => [r.dealId, r.events, r.code]).sort(),
      interrupted.map((id) => [id, ['close_convert_lead'], 'DELIVERY_UNCERTAIN']),
      'the interrupted lead events are held as uncertain, listed for a person',
    );
    let repeated = 0;
    for (const id of ids) {
      assert.equal(count('close_convert_lead').get(String(id)), 1, `close_convert_lead of ${id}`);
      // The one repeat the promise allows: a purchase, with the same transaction_id (GA4 counts one).
      const purchases = count('purchase').get(String(id));
      assert.equal(purchases, interrupted.includes(String(id)) ? 2 : 1, `purchase of ${id}`);
      if (purchases === 2) repeated++;
    }
    // `closeloop replay` lists them; the person who finds them in GA4 says so.
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args], {
        env: { PATH: process.env.PATH, CLOSELOOP_DATA_DIR: dir },
        encoding: 'utf8',
        timeout: 15_000,
      });
    const listed = cli('replay');
    assert.equal(listed.status, 0, listed.stderr);
    const jobIds = [
      ...listed.stdout.matchAll(
        /^ {2}(\S+) {2}\S+ {2}amocrm deal (\d+) .*\n.*DELIVERY_UNCERTAIN/gm,
      ),
    ];
    assert.deepEqual(jobIds.map((m) => m[2]).sort(), interrupted);
    const confirmed = cli('replay', '--arrived', ...jobIds.map((m) => m[1] as string));
    assert.equal(confirmed.status, 0, confirmed.stderr);
    assert.match(
      confirmed.stdout,
      new RegExp(`^${concurrency} uncertain conversions recorded as sent`),
    );
    assert.equal(cli('replay').stdout.trim(), 'No failed deliveries.');
    assert.deepEqual(deliveriesJson('--outcome', 'uncertain'), []);
    // Recorded as sent: amoCRM repeating the webhook sends nothing more.
    const before = ga4.collected().length;
    for (const id of interrupted) {
      assert.equal(
        await postWebhook(
          second.port,
          SECRET,
          webhookBody('status', [{ id: Number(id), clientId: `GA1.1.${id}.1700000000` }]),
        ),
        200,
      );
    }
    await waitFor(
      () =>
        interrupted.every((id) =>
          deliveriesJson('--deal', id).some((r) => r.outcome === 'duplicate'),
        ),
      { timeoutMs: 10_000, message: 'the repeats to be recorded as duplicates' },
    );
    assert.equal(ga4.collected().length, before);
    console.log(
      `      embedded store: ${LEADS} leads, SIGKILL with ${interrupted.length} sends counted by GA4 and unanswered; lost 0, lead events repeated 0, purchases repeated ${repeated} (same transaction_id), uncertain ${uncertain.length}`,
    );
    assert.equal(await terminate(second), 0);
  });

  function deliveriesJson(
    ...args: string[]
  ): Array<{ dealId: string; events: string[]; code: string; outcome: string }> {
    const r = spawnSync(
      process.execPath,
      [BIN, 'deliveries', '--json', '--limit', '1000', ...args],
      {
        env: { PATH: process.env.PATH, CLOSELOOP_DATA_DIR: dir },
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as { dealId: string; events: string[]; code: string; outcome: string },
      );
  }
});
