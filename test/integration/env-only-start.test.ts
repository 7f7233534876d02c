/**
 * The first hour, as a new user lives it: `closeloop start` as a real process with a two-line
 * config and nothing but the README's environment variables (or the same in a `.env` file) sends
 * a real event to a local GA4 stand-in, and the webhook URL with the chosen secret answers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import {
  postWebhook,
  startCloseloopProcess,
  terminate,
  type CloseloopProcess,
} from '../helpers/closeloop-process';

const SECRET = 'first-hour-webhook-secret-0123';
const TWO_LINES = [
  'currency: RUB',
  'rules: [{ name: Deal won, on: status_changed, status: 142, send: [{ event: purchase, params: { value: { lead: price } } }] }]',
  '',
].join('\n');

describe('closeloop start with a two-line config and the README’s variables only', function () {
  this.timeout(30_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let child: CloseloopProcess | null = null;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-first-hour-'));
    fs.writeFileSync(path.join(dir, 'closeloop.yaml'), TWO_LINES);
    ga4 = await startGa4StandIn();
  });
  afterEach(async () => {
    if (child) assert.equal(await terminate(child), 0, child.output());
    child = null;
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function sendsOnePurchase(started: CloseloopProcess): Promise<void> {
    const status = await postWebhook(started.port, SECRET, webhookBody('status', [{ id: 9101 }]));
    assert.equal(status, 200, started.output());
    await waitFor(() => ga4.collected().length === 1, {
      timeoutMs: 10_000,
      message: () => `the purchase to reach GA4:\n${started.output()}`,
    });
    const sent = ga4.collected()[0]!;
    assert.equal(sent.query.get('measurement_id'), 'G-FIRSTHOUR');
    assert.equal(sent.query.get('api_secret'), 'first-hour-api-secret');
    const started1 = started
      .output()
      .split('\n')
      .find((l) => l.includes('closeloop started'));
    assert.ok(started1 && !started1.includes('dry run'), started1);
    assert.ok(!started.output().includes('DRY-RUN'), 'started in dry-run mode');
  }

  it('from the environment', async () => {
    child = await startCloseloopProcess({
      CLOSELOOP_CONFIG: path.join(dir, 'closeloop.yaml'),
      CLOSELOOP_DATA_DIR: path.join(dir, 'data'),
      CLOSELOOP_WEBHOOK_SECRET: SECRET,
      GA4_MEASUREMENT_ID: 'G-FIRSTHOUR',
      GA4_API_SECRET: 'first-hour-api-secret',
      GA4_ENDPOINT: ga4.url,
    });
    await sendsOnePurchase(child);
  });

  it('from a .env file beside the config', async () => {
    fs.writeFileSync(
      path.join(dir, '.env'),
      [
        '# closeloop',
        `CLOSELOOP_WEBHOOK_SECRET=${SECRET}`,
        'GA4_MEASUREMENT_ID=G-FIRSTHOUR',
        'GA4_API_SECRET="first-hour-api-secret"',
        `GA4_ENDPOINT=${ga4.url}`,
        '',
      ].join('\n'),
    );
    child = await startCloseloopProcess({
      CLOSELOOP_CONFIG: path.join(dir, 'closeloop.yaml'),
      CLOSELOOP_DATA_DIR: path.join(dir, 'data'),
    });
    await sendsOnePurchase(child);
  });
});
