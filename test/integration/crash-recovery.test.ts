/**
 * A webhook that got 200 is delivered after a SIGKILL and a restart, exactly once. Real processes:
 * `closeloop start` as operators run it, the example config, the embedded store on disk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import {
  kill9,
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
});
