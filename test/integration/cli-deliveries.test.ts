/**
 * `closeloop deliveries` over a real store: one row per delivery however often it was retried,
 * with its attempts; filters by destination and time; `--counts` counts every delivery ever,
 * pruned rows included. A real process reading a real SQLite store.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import type { DeliveryRecord, StoredDelivery } from '../../src/ports/delivery-log';
import { BIN } from '../helpers/closeloop-process';

const DAY = 86_400_000;

function row(over: Partial<DeliveryRecord>): DeliveryRecord {
  return {
    at: Date.now(),
    account: 'default',
    source: 'amocrm',
    crmAccount: '29638927',
    dealId: '4711',
    kind: 'stage_changed',
    stageId: '142',
    jobId: 'deliver:4711',
    destination: 'ga4',
    outcome: 'sent',
    code: null,
    reason: null,
    events: ['purchase'],
    payload: null,
    attempts: 1,
    ...over,
  };
}

describe('CLI: closeloop deliveries over a real store', function () {
  this.timeout(20_000);
  let dataDir: string;

  beforeEach(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-deliveries-'));
    const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 1000, lock: false });
    try {
      const now = Date.now();
      // A send retried three times during an outage, then sent: one row.
      for (let attempt = 1; attempt <= 3; attempt++) {
        await store.deliveryLog.record(
          row({
            at: now - 3 * DAY + attempt * 60_000,
            key: 'deliver:4711',
            outcome: 'retrying',
            code: 'GA4_UNAVAILABLE',
            reason: 'GA4 answered 503',
            attempts: attempt,
          }),
        );
      }
      await store.deliveryLog.record(
        row({ at: now - 3 * DAY + 240_000, key: 'deliver:4711', attempts: 4 }),
      );
      await store.deliveryLog.record(
        row({
          at: now - 60_000,
          dealId: '4712',
          jobId: 'deliver:4712',
          key: 'deliver:4712',
          account: 'shop',
          destination: 'shop/ga4',
          outcome: 'skipped',
          code: 'LEAD_NO_CLIENT_ID',
          reason: 'the deal has no GA client id',
        }),
      );
      // A deal's revenue: sent anew at another amount to one destination, refunded at the other
      // (its delivery rows pruned long ago).
      const deal = { source: 'amocrm', crmAccount: '29638927', dealId: '4713' };
      const purchase = { key: 'amocrm:29638927:4713:purchase:142', currency: 'RUB' };
      await store.revenue.recordPurchase(
        { ...deal, destination: 'ga4' },
        { ...purchase, revision: 2, transactionId: '4713-2', amount: '120000' },
        Date.UTC(2026, 11, 2),
      );
      await store.revenue.recordPurchase(
        { ...deal, destination: 'shop/ga4' },
        { ...purchase, revision: 1, transactionId: '4713', amount: '150000' },
        Date.UTC(2026, 11, 1),
      );
      await store.revenue.recordRefund(
        { ...deal, destination: 'shop/ga4' },
        1,
        Date.UTC(2026, 11, 3),
      );
    } finally {
      await store.close();
    }
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  function deliveries(...args: string[]) {
    const r = spawnSync(process.execPath, [BIN, 'deliveries', ...args], {
      env: { PATH: process.env.PATH, CLOSELOOP_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 15_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n');
  }
  const rowsOf = (...args: string[]): StoredDelivery[] =>
    deliveries(...args, '--json').map((l) => JSON.parse(l) as StoredDelivery);

  it('shows a retried delivery as one row with its attempts and when it began', () => {
    const lines = deliveries('--deal', '4711');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] as string, /SENT {2}purchase {2}\(4 attempts since \d{4}-\d\d-\d\dT/);
  });

  it('shows what revenue each destination counts for the deal, before its rows', () => {
    const lines = deliveries('--deal', '4713');
    assert.deepEqual(lines.slice(0, 4), [
      'Revenue sent for deal 4713:',
      '  ga4  amocrm deal 4713  purchase 4713-2  120000 RUB  sent 2026-12-02T00:00:00.000Z  counted',
      '  shop/ga4  amocrm deal 4713  purchase 4713  150000 RUB  sent 2026-12-01T00:00:00.000Z  refunded 2026-12-03T00:00:00.000Z',
      '',
    ]);
    assert.equal(lines[4], 'The delivery log has no matching rows.');
    assert.deepEqual(deliveries('--deal', '4713', '--destination', 'ga4').slice(0, 2), [
      'Revenue sent for deal 4713:',
      '  ga4  amocrm deal 4713  purchase 4713-2  120000 RUB  sent 2026-12-02T00:00:00.000Z  counted',
    ]);
  });

  it('filters by destination and by time', () => {
    const shop = rowsOf('--destination', 'shop/ga4');
    assert.deepEqual(
      shop.map((r) => r.dealId),
      ['4712'],
    );
    const lastDay = rowsOf('--since', '1d');
    assert.deepEqual(
      lastDay.map((r) => r.dealId),
      ['4712'],
    );
    const before = rowsOf('--until', '2d');
    assert.deepEqual(
      before.map((r) => [r.dealId, r.outcome, r.attempts]),
      [['4711', 'sent', 4]],
    );
  });

  it('--counts counts each delivery once, in its latest outcome', () => {
    const [json] = deliveries('--counts', '--json');
    assert.deepEqual(JSON.parse(json as string), {
      sent: 1,
      dry_run: 0,
      skipped: 1,
      duplicate: 0,
      retrying: 0,
      failed: 0,
      uncertain: 0,
      expired: 0,
    });
    const text = deliveries('--counts');
    assert.ok(text.includes('sent       1'), text.join('\n'));
    assert.ok(text.includes('retrying   0'), text.join('\n'));
  });
});
