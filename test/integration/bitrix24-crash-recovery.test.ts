/**
 * Bitrix24 webhooks that got 200 are delivered after a SIGKILL and a restart, each won deal once.
 * Real processes: `closeloop start` with the example config and only the two Bitrix24 variables,
 * the embedded store on disk, the Bitrix24 REST fake and the GA4 stand-in in this process. The
 * first life reads the deals and remembers their stages while GA4 is unreachable; the kill may land
 * between remembering a move and storing its delivery, and the restart must still send it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import {
  outgoingWebhook,
  STAGES,
  startBitrix24StandIn,
  type Bitrix24StandIn,
} from '../helpers/bitrix24-stand-in';
import { waitFor } from '../helpers/wait-for';
import { kill9, startCloseloopProcess, type CloseloopProcess } from '../helpers/closeloop-process';

const SECRET = 'b24-crash-test-webhook-secret-42';
const TOKEN = 'b24-crash-test-application-token';

describe('Bitrix24 crash recovery (real processes, SIGKILL)', function () {
  this.timeout(60_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let portal: Bitrix24StandIn;
  const children: CloseloopProcess[] = [];

  const start = (ga4Endpoint: string): Promise<CloseloopProcess> =>
    startCloseloopProcess({
      CLOSELOOP_DATA_DIR: dir,
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
      GA4_MEASUREMENT_ID: 'G-B24CRASH',
      GA4_API_SECRET: 'b24-crash-api-secret',
      GA4_ENDPOINT: ga4Endpoint,
      BITRIX24_WEBHOOK_URL: portal.webhookUrl,
      BITRIX24_APPLICATION_TOKEN: TOKEN,
    });

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-b24-crash-'));
    ga4 = await startGa4StandIn();
    portal = await startBitrix24StandIn();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) await kill9(c);
    await portal.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sends each won deal once after SIGKILL and restart, however often Bitrix24 said "updated"', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => String(5000 + i));
    for (const id of ids) {
      portal.moveDeal(id, STAGES.won, {
        OPPORTUNITY: '2500.50',
        UF_CRM_GA_CLIENT_ID: `${id}.1700000000`,
      });
    }
    // First life: GA4 unreachable (a closed port), so nothing acknowledged can be delivered yet.
    const first = await start('http://127.0.0.1:9');
    children.push(first);
    const post = async (id: string): Promise<number> => {
      const res = await fetch(`http://127.0.0.1:${first.port}/webhooks/bitrix24/${SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: outgoingWebhook('ONCRMDEALUPDATE', id, TOKEN),
      });
      await res.arrayBuffer();
      return res.status;
    };
    for (const id of ids) assert.equal(await post(id), 200);
    for (const id of ids.slice(0, 5)) assert.equal(await post(id), 200); // robots edit them again
    await new Promise((r) => setTimeout(r, 400));
    await kill9(first);
    assert.equal(ga4.attempts().length, 0);

    // Second life: GA4 is back.
    const second = await start(ga4.url);
    children.push(second);
    const purchases = (): string[] =>
      ga4
        .collected()
        .flatMap(
          (r) =>
            (r.json as { events: Array<{ name: string; params: { transaction_id?: string } }> })
              .events,
        )
        .filter((e) => e.name === 'purchase')
        .map((e) => e.params.transaction_id ?? '');
    await waitFor(() => purchases().length >= ids.length, {
      timeoutMs: 40_000,
      message: () => `delivered ${purchases().length} of ${ids.length}`,
    });
    await new Promise((r) => setTimeout(r, 1000)); // anything extra would arrive now
    assert.deepEqual(purchases().sort(), ids);
    assert.equal(second.output().includes(TOKEN), false, 'the token never reaches a log line');
    assert.equal(second.output().includes(portal.webhookUrl), false, 'nor the webhook URL');
  });
});
