/**
 * The DeliveryLog contract (src/ports/delivery-log.ts), as one suite every backend runs. The
 * factory gives a fresh, empty log bounded to `maxRows` rows.
 */
import { skipBecause } from '../helpers/skip-because';
import assert from 'node:assert/strict';
import type { DeliveryLog, DeliveryRecord } from '../../src/ports/delivery-log';

export interface DeliveryLogBackend {
  deliveryLog: DeliveryLog;
  /** Closes the backend and opens it again on the same data, as a restart does. */
  reopen?: () => Promise<DeliveryLog>;
  cleanup: () => Promise<void>;
}

/**
 * How far past `maxRows` a log may grow before it prunes: the SQLite log prunes once every
 * PRUNE_EVERY (500) records (src/adapters/store/sqlite/sqlite-delivery-log.ts), so it holds at most
 * maxRows + 499 rows. A backend with a larger slack must say so there and here.
 */
export const PRUNING_SLACK = 500;

const T0 = 1_700_000_000_000;

function record(i: number, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  return {
    at: T0 + i * 1000,
    account: 'default',
    source: 'amocrm',
    crmAccount: '29638927',
    dealId: '30307415',
    kind: 'stage_changed',
    stageId: '142',
    jobId: `deliver:${i}`,
    destination: 'ga4',
    outcome: 'sent',
    code: null,
    reason: null,
    events: ['purchase'],
    payload: {
      client_id: '1234567890.1700000000',
      events: [{ name: 'purchase', params: { value: i } }],
    },
    attempts: 0,
    ...overrides,
  };
}

function withoutId({ id: _, ...rest }: DeliveryRecord & { id: number }): DeliveryRecord {
  return rest;
}

export function describeDeliveryLogContract(
  name: string,
  factory: (maxRows: number) => Promise<DeliveryLogBackend>,
): void {
  describe(`DeliveryLog contract: ${name}`, function () {
    let opened: DeliveryLogBackend[];

    async function openBackend(maxRows: number): Promise<DeliveryLogBackend> {
      const backend = await factory(maxRows);
      opened.push(backend);
      return backend;
    }

    async function open(maxRows = 10_000): Promise<DeliveryLog> {
      return (await openBackend(maxRows)).deliveryLog;
    }

    beforeEach(function () {
      opened = [];
    });

    afterEach(async function () {
      await Promise.all(opened.map((b) => b.cleanup()));
    });

    it('gives back every field as recorded, newest first', async function () {
      const log = await open();
      const entries: DeliveryRecord[] = [
        record(1, {
          events: ['close_convert_lead', 'purchase'],
          payload: {
            client_id: '1234567890.1700000000',
            timestamp_micros: 1_700_000_000_000_000,
            events: [
              { name: 'close_convert_lead', params: { value: 150000.5, currency: 'RUB' } },
              { name: 'purchase', params: { transaction_id: '30307415', item: 'Сделка «Ёлка»' } },
            ],
            validation: null,
            debug: false,
          },
          attempts: 2,
        }),
        record(2, {
          kind: 'created',
          stageId: null,
          destination: null,
          outcome: 'skipped',
          code: 'LEAD_NO_CLIENT_ID',
          reason: 'У сделки нет GA client ID',
          events: [],
          payload: null,
        }),
        record(3, {
          outcome: 'failed',
          code: 'GA4_REJECTED',
          reason: 'GA4 answered 400: "bad request"',
          events: ['generate_lead'],
          payload: [{ request: 1 }, { request: 2, body: 'тело' }],
          attempts: 7,
        }),
        record(4, {
          outcome: 'dry_run',
          dealId: 'A-77',
          account: 'shop',
          source: 'generic',
          crmAccount: 'example',
          kind: 'reassigned',
          stageId: 'C1:WON',
        }),
      ];
      for (const e of entries) await log.record(e);

      const listed = await log.list();
      assert.deepEqual(listed.map(withoutId), [...entries].reverse());
      for (const row of listed) assert.ok(Number.isInteger(row.id), `id ${row.id}`);
      assert.equal(new Set(listed.map((r) => r.id)).size, entries.length, 'ids are unique');
    });

    it('filters by outcome, by deal, by account, by both, and limits', async function () {
      const log = await open();
      const outcomes = ['sent', 'failed', 'retrying', 'sent', 'duplicate', 'failed'] as const;
      for (const [i, outcome] of outcomes.entries()) {
        await log.record(
          record(i, {
            outcome,
            dealId: i % 2 === 0 ? '100' : '200',
            account: i < 2 ? 'shop' : 'default',
          }),
        );
      }
      const jobIds = async (filter: Parameters<DeliveryLog['list']>[0]): Promise<string[]> =>
        (await log.list(filter)).map((r) => r.jobId);

      assert.deepEqual(await jobIds({ outcome: 'failed' }), ['deliver:5', 'deliver:1']);
      assert.deepEqual(await jobIds({ outcome: 'sent' }), ['deliver:3', 'deliver:0']);
      assert.deepEqual(await jobIds({ outcome: 'dry_run' }), []);
      assert.deepEqual(await jobIds({ dealId: '100' }), ['deliver:4', 'deliver:2', 'deliver:0']);
      assert.deepEqual(await jobIds({ dealId: '200', outcome: 'failed' }), [
        'deliver:5',
        'deliver:1',
      ]);
      assert.deepEqual(await jobIds({ dealId: '100', outcome: 'failed' }), []);
      assert.deepEqual(await jobIds({ dealId: '999' }), []);
      assert.deepEqual(await jobIds({ account: 'shop' }), ['deliver:1', 'deliver:0']);
      assert.deepEqual(await jobIds({ account: 'shop', dealId: '200' }), ['deliver:1']);
      assert.deepEqual(await jobIds({ limit: 2 }), ['deliver:5', 'deliver:4']);
      assert.deepEqual(await jobIds({ outcome: 'sent', limit: 1 }), ['deliver:3']);
      assert.deepEqual(
        await jobIds({}),
        [5, 4, 3, 2, 1, 0].map((i) => `deliver:${i}`),
      );
    });

    it('stays bounded, keeping the newest rows', async function () {
      this.timeout(20_000);
      const maxRows = 1000;
      const total = 1600;
      const log = await open(maxRows);
      const count = async (): Promise<number> => (await log.list({ limit: 100_000 })).length;
      for (let i = 0; i < total; i++) {
        await log.record(record(i, { dealId: String(i) }));
        if ((i + 1) % 100 === 0) {
          const n = await count();
          assert.ok(n <= maxRows + PRUNING_SLACK, `${n} rows after ${i + 1} records`);
        }
      }
      const rows = await log.list({ limit: 100_000 });
      assert.ok(rows.length >= maxRows, `only ${rows.length} rows kept of ${total}`);
      assert.ok(rows.length <= maxRows + PRUNING_SLACK, `${rows.length} rows kept`);
      assert.deepEqual(
        rows.map((r) => r.dealId),
        Array.from({ length: rows.length }, (_, i) => String(total - 1 - i)),
      );
    });

    it('stays bounded across restarts, however few records each process makes', async function () {
      this.timeout(20_000);
      const backend = await openBackend(100);
      if (!backend.reopen) skipBecause(this, `${name}: the factory cannot reopen its data`);
      const maxRows = 100;
      let log = backend.deliveryLog;
      let recorded = 0;
      // A quiet account on a host restarted nightly: a few hundred deliveries per process.
      for (let run = 0; run < 6; run++) {
        for (let i = 0; i < 300; i++)
          await log.record(record(recorded, { dealId: String(recorded++) }));
        const n = (await log.list({ limit: 100_000 })).length;
        assert.ok(
          n <= maxRows + PRUNING_SLACK,
          `${n} rows after ${recorded} records in ${run + 1} runs (max ${maxRows} + ${PRUNING_SLACK})`,
        );
        log = await backend.reopen();
      }
      const rows = await log.list({ limit: 100_000 });
      assert.deepEqual(
        rows.map((r) => r.dealId),
        Array.from({ length: rows.length }, (_, i) => String(recorded - 1 - i)),
      );
    });
  });
}
