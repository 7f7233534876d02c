/**
 * Two accounts in one process, as an agency runs closeloop: each account's webhook URL, its own
 * GA4 stream, its own ledger keys and delivery-log rows. The config comes from YAML, as an
 * operator writes it; the same deal id in both accounts is two deals.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load-config';
import { startService, type RunningService } from '../../src/main';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const DEFAULT_SECRET = 'default-account-secret-0123456789';
const SHOP_SECRET = 'shop-account-secret-0123456789';

function yaml(ga4Default: string, ga4Shop: string): string {
  return [
    'currency: RUB',
    'ga4:',
    '  measurement_id: G-DEFAULT1',
    '  api_secret: default-api-secret',
    `  endpoint: ${ga4Default}`,
    'webhook:',
    `  secret: ${DEFAULT_SECRET}`,
    'rules:',
    '  - name: Deal won',
    '    on: status_changed',
    '    outcome: won',
    '    send:',
    '      - event: purchase',
    '        params: { value: { deal: amount, required: true }, transaction_id: { deal: id } }',
    'accounts:',
    '  - name: shop',
    '    currency: USD',
    `    webhook_secret: \${SHOP_SECRET}`,
    '    ga4:',
    '      measurement_id: G-SHOP1',
    '      api_secret: ${SHOP_GA4_SECRET}',
    `      endpoint: ${ga4Shop}`,
    '    rules:',
    '      - name: Shop deal won',
    '        on: status_changed',
    '        outcome: won',
    '        send:',
    '          - event: shop_purchase',
    '            params: { value: { deal: amount } }',
    '',
  ].join('\n');
}

describeOnEachStore('two accounts in one process', (storeName, redisUrl) => {
  describe(`two accounts in one process (${storeName})`, function () {
    this.timeout(20_000);
    let dir: string;
    let prefix: string;
    let ga4Default: Ga4StandIn;
    let ga4Shop: Ga4StandIn;
    let service: RunningService;

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-accounts-'));
      prefix = uniqueRedisPrefix('accounts');
      ga4Default = await startGa4StandIn();
      ga4Shop = await startGa4StandIn();
      const config = parseConfig(yaml(ga4Default.url, ga4Shop.url), 'agency.yaml', {
        SHOP_SECRET,
        SHOP_GA4_SECRET: 'shop-api-secret',
      });
      service = await startService(
        loopbackService(config, captureLogger(), dir, {
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
        }),
      );
    });
    afterEach(async () => {
      await service.close();
      await ga4Default.close();
      await ga4Shop.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    async function post(secret: string, body: string): Promise<number> {
      const res = await fetch(`http://127.0.0.1:${service.port}/webhooks/amocrm/${secret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    }

    it('sends each account’s deals to its own GA4 stream, with its own rules and currency', async () => {
      const won = webhookBody('status', [{ id: 4711, price: 1000 }]);
      assert.equal(await post(DEFAULT_SECRET, won), 200);
      assert.equal(await post(SHOP_SECRET, won), 200);
      assert.equal(await post('not-an-account-secret-0123456', won), 404);
      await waitFor(() => ga4Default.collected().length === 1 && ga4Shop.collected().length === 1, {
        timeoutMs: 8000,
        message: 'each account’s purchase to reach its stream',
      });
      await waitForDrained(service.store.queue);

      const d = ga4Default.collected()[0]!;
      assert.equal(d.query.get('measurement_id'), 'G-DEFAULT1');
      const dEvents = (d.json as { events: Array<{ name: string; params: object }> }).events;
      assert.deepEqual(
        dEvents.map((e) => [e.name, e.params]),
        [
          [
            'purchase',
            { value: 1000, transaction_id: '4711', currency: 'RUB', engagement_time_msec: 1 },
          ],
        ],
      );
      const s = ga4Shop.collected()[0]!;
      assert.equal(s.query.get('measurement_id'), 'G-SHOP1');
      assert.equal(s.query.get('api_secret'), 'shop-api-secret');
      const sEvents = (s.json as { events: Array<{ name: string; params: object }> }).events;
      assert.deepEqual(
        sEvents.map((e) => [e.name, e.params]),
        [['shop_purchase', { value: 1000, currency: 'USD', engagement_time_msec: 1 }]],
      );

      // The same deal id in two accounts: two ledger keys, each sent once.
      const key = (destination: string, event: string): string =>
        `${destination}:amocrm:29638927:4711:${event}:142`;
      const claims = await service.store.ledger.claim(
        [key('ga4', 'purchase'), key('shop/ga4', 'shop_purchase')],
        'probe',
        Date.now(),
      );
      assert.deepEqual([...claims.values()], ['already_sent', 'already_sent']);

      const shopRows = await service.store.deliveryLog.list({ account: 'shop' });
      assert.deepEqual(
        shopRows.map((r) => [r.account, r.destination, r.outcome, r.dealId]),
        [['shop', 'shop/ga4', 'sent', '4711']],
      );
      const defaultRows = await service.store.deliveryLog.list({ account: 'default' });
      assert.deepEqual(
        defaultRows.map((r) => [r.destination, r.outcome]),
        [['ga4', 'sent']],
      );
    });

    it('tells the webhook paths of each account, and a repeat in one account stays a repeat there', async () => {
      assert.equal(service.webhookPaths.get('shop')?.amocrm, `/webhooks/amocrm/${SHOP_SECRET}`);
      assert.equal(service.webhookPath, `/webhooks/amocrm/${DEFAULT_SECRET}`);
      const won = webhookBody('status', [{ id: 77 }]);
      assert.equal(await post(SHOP_SECRET, won), 200);
      assert.equal(await post(SHOP_SECRET, won), 200);
      await waitFor(() => ga4Shop.collected().length === 1, { timeoutMs: 8000 });
      await waitForDrained(service.store.queue);
      assert.equal(ga4Shop.collected().length, 1);
      assert.equal(ga4Default.collected().length, 0);
      // Both were taken at once: one sends, the other finds the claim (in either order).
      const outcomes = (await service.store.deliveryLog.list({ account: 'shop', dealId: '77' }))
        .map((r) => r.outcome)
        .sort();
      assert.deepEqual(outcomes, ['duplicate', 'sent']);
    });
  });
});
