/**
 * The DeliveryLog contract (src/ports/delivery-log.ts), as one suite every backend runs. The
 * factory gives a fresh, empty log with the given limits.
 */
import { skipBecause } from '../helpers/skip-because';
import assert from 'node:assert/strict';
import type {
  DeliveryLog,
  DeliveryRecord,
  PruneReport,
  StoredDelivery,
} from '../../src/ports/delivery-log';

export interface LogOptions {
  maxRows: number;
  maxAgeMs?: number;
  onPruned?: (report: PruneReport) => void;
  now?: () => number;
}

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

function withoutId({ id: _, firstAt: __, ...rest }: StoredDelivery): DeliveryRecord {
  return rest;
}

export function describeDeliveryLogContract(
  name: string,
  factory: (options: LogOptions) => Promise<DeliveryLogBackend>,
): void {
  describe(`DeliveryLog contract: ${name}`, function () {
    let opened: DeliveryLogBackend[];

    async function openBackend(
      maxRows: number,
      options: Omit<LogOptions, 'maxRows'> = {},
    ): Promise<DeliveryLogBackend> {
      const backend = await factory({ maxRows, ...options });
      opened.push(backend);
      return backend;
    }

    async function open(
      maxRows = 10_000,
      options: Omit<LogOptions, 'maxRows'> = {},
    ): Promise<DeliveryLog> {
      return (await openBackend(maxRows, options)).deliveryLog;
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

    it('keeps a deal id as text: a leading zero stays, and 007 is not 7 (1C numbers)', async function () {
      const log = await open();
      await log.record(record(0, { dealId: '000123' }));
      await log.record(record(1, { dealId: '123' }));
      await log.record(record(2, { dealId: '007', key: 'k:007' }));
      await log.record(record(3, { dealId: '007', key: 'k:007', outcome: 'failed' }));
      const dealIds = async (filter: Parameters<DeliveryLog['list']>[0]): Promise<string[]> =>
        (await log.list(filter)).map((r) => r.dealId);
      assert.deepEqual(await dealIds({}), ['007', '123', '000123']);
      assert.deepEqual(await dealIds({ dealId: '000123' }), ['000123']);
      assert.deepEqual(await dealIds({ dealId: '123' }), ['123']);
      assert.deepEqual(await dealIds({ dealId: '7' }), []);
      assert.deepEqual(await dealIds({ dealId: '007' }), ['007']);
      assert.deepEqual(await dealIds({ text: '0001' }), ['000123']);
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

    it('keeps one row per delivery: a keyed record updates it, and firstAt stays', async function () {
      const log = await open();
      const key = 'deliver:7:send';
      await log.record(
        record(1, { key, outcome: 'retrying', reason: 'GA4 answered 503', attempts: 1 }),
      );
      await log.record(
        record(2, { key, outcome: 'retrying', reason: 'GA4 answered 502', attempts: 2 }),
      );
      await log.record(record(3, { key: 'other', outcome: 'skipped' }));
      await log.record(record(9, { key, outcome: 'sent', attempts: 3 }));
      const rows = await log.list();
      assert.deepEqual(
        rows.map((r) => [r.key, r.outcome, r.attempts, r.reason]),
        [
          ['other', 'skipped', 0, null],
          [key, 'sent', 3, null],
        ],
      );
      const sent = rows[1]!;
      assert.equal(sent.firstAt, T0 + 1000);
      assert.equal(sent.at, T0 + 9000);
      const counts = await log.counts();
      assert.equal(counts.sent, 1);
      assert.equal(counts.retrying, 0);
      assert.equal(counts.skipped, 1);
    });

    it('lets retries never push history out', async function () {
      const log = await open(1000);
      for (let i = 0; i < 20; i++)
        await log.record(record(i, { outcome: 'sent', dealId: `s${i}` }));
      for (let a = 1; a <= 3000; a++) {
        await log.record(record(100 + a, { key: 'flaky', outcome: 'retrying', attempts: a }));
      }
      const rows = await log.list({ limit: 100_000 });
      assert.equal(rows.length, 21);
      assert.equal(rows.filter((r) => r.outcome === 'sent').length, 20);
    });

    it('prunes by count and by age, never a pending row, says what it removed, and counts stay exact', async function () {
      let now = T0 + 100 * 86_400_000;
      const reports: PruneReport[] = [];
      const backend = await openBackend(10, {
        maxAgeMs: 30 * 86_400_000,
        onPruned: (r) => reports.push(r),
        now: () => now,
      });
      let log = backend.deliveryLog;
      // Old rows: settled ones go by age; a pending one (retrying) and an uncertain one stay.
      await log.record(record(1, { dealId: 'old-sent', outcome: 'sent' }));
      await log.record(record(2, { dealId: 'old-retrying', outcome: 'retrying', key: 'r' }));
      await log.record(record(3, { dealId: 'old-uncertain', outcome: 'uncertain', key: 'u' }));
      for (let i = 0; i < 12; i++) {
        await log.record(record(0, { at: now, dealId: `new${i}`, outcome: 'skipped' }));
      }
      if (backend.reopen) log = await backend.reopen();
      else {
        // A backend that cannot reopen prunes as it records: record past its pruning interval.
        for (let i = 0; i < 500; i++) await log.record(record(0, { at: now, dealId: `more${i}` }));
      }
      const rows = await log.list({ limit: 100_000 });
      const ids = rows.map((r) => r.dealId);
      assert.ok(ids.includes('old-retrying'), 'a retrying row is never pruned');
      assert.ok(ids.includes('old-uncertain'), 'an uncertain row is never pruned');
      assert.ok(!ids.includes('old-sent'), 'a settled row past the age is pruned');
      assert.ok(rows.length <= 10 + PRUNING_SLACK, `${rows.length} rows`);
      const removed = reports.reduce(
        (n, r) => n + Object.values(r.removed).reduce((a, b) => a + (b ?? 0), 0),
        0,
      );
      assert.ok(removed > 0, 'pruning was reported');
      const counts = await log.counts();
      assert.equal(counts.sent, 1 + (backend.reopen ? 0 : 500), 'pruned rows still count');
      assert.equal(counts.skipped, 12);
      assert.equal(counts.retrying, 1);
      assert.equal(counts.uncertain, 1);
      now += 1;
    });

    it('filters by destination and time, and pages with beforeId', async function () {
      const log = await open();
      for (let i = 0; i < 10; i++) {
        await log.record(
          record(i, { destination: i % 2 === 0 ? 'ga4' : 'shop/ga4', jobId: `j${i}` }),
        );
      }
      const jobIds = async (filter: Parameters<DeliveryLog['list']>[0]): Promise<string[]> =>
        (await log.list(filter)).map((r) => r.jobId);
      assert.deepEqual(await jobIds({ destination: 'shop/ga4', limit: 2 }), ['j9', 'j7']);
      assert.deepEqual(await jobIds({ since: T0 + 3000, until: T0 + 6000 }), ['j5', 'j4', 'j3']);
      const first = await log.list({ limit: 4 });
      assert.deepEqual(
        first.map((r) => r.jobId),
        ['j9', 'j8', 'j7', 'j6'],
      );
      const next = await log.list({ limit: 4, beforeId: first[3]!.id });
      assert.deepEqual(
        next.map((r) => r.jobId),
        ['j5', 'j4', 'j3', 'j2'],
      );
    });

    it('filters by event and by text, and keeps the UTM source and medium', async function () {
      const log = await open();
      await log.record(record(1, { jobId: 'a', events: ['generate_lead'] }));
      await log.record(
        record(2, {
          jobId: 'b',
          dealId: 'A-4711',
          outcome: 'skipped',
          code: 'LEAD_NO_CLIENT_ID',
          reason: 'The deal has no GA client id',
          events: ['close_convert_lead', 'purchase'],
          utm: { source: 'yandex', medium: null },
        }),
      );
      await log.record(record(3, { jobId: 'c', events: ['purchase_refund'] }));
      const jobIds = async (filter: Parameters<DeliveryLog['list']>[0]): Promise<string[]> =>
        (await log.list(filter)).map((r) => r.jobId);
      // An event name matches whole: purchase is not purchase_refund.
      assert.deepEqual(await jobIds({ event: 'purchase' }), ['b']);
      assert.deepEqual(await jobIds({ event: 'generate_lead' }), ['a']);
      assert.deepEqual(await jobIds({ text: 'client ID' }), ['b']);
      assert.deepEqual(await jobIds({ text: 'a-47' }), ['b']);
      assert.deepEqual(await jobIds({ text: 'no_client' }), ['b']);
      assert.deepEqual(await jobIds({ text: 'refund' }), ['c']);
      assert.deepEqual(await jobIds({ text: 'nothing like it' }), []);
      const [b] = await log.list({ dealId: 'A-4711' });
      assert.deepEqual(b!.utm, { source: 'yandex', medium: null });
      const [c] = await log.list({ limit: 1 });
      assert.equal(c!.utm, undefined);
    });
    it('searches text and filters by deal across keyset pages, updated and pruned rows too', async function () {
      this.timeout(20_000);
      const backend = await openBackend(60);
      let log = backend.deliveryLog;
      // The log's final state, by key, in the order rows were first written.
      const rows = new Map<string, DeliveryRecord>();
      const put = async (r: DeliveryRecord): Promise<void> => {
        await log.record(r);
        rows.set(r.key!, r);
      };
      const reasons = [
        null,
        'GA4 answered 503: Service Unavailable',
        'Timeout after 10 s',
        'Сделка без client ID',
        'the\u0000deal\nhad a control character',
      ];
      for (let i = 0; i < 90; i++) {
        const reason = reasons[i % reasons.length]!;
        await put(
          record(i, {
            key: `k${i}`,
            jobId: `j${i}`,
            dealId: i % 4 === 0 ? `DEAL-${i % 12}` : String(4000 + (i % 9)),
            destination: i % 3 === 0 ? 'shop/ga4' : i % 5 === 0 ? null : 'metrica',
            outcome: reason === null ? 'sent' : i % 2 === 0 ? 'failed' : 'skipped',
            code: reason === null ? null : i % 2 === 0 ? 'GA4_REJECTED' : 'LEAD_NO_CLIENT_ID',
            reason,
            events: i % 7 === 0 ? [] : i % 2 === 0 ? ['purchase'] : ['close_convert_lead', 'x'],
          }),
        );
      }
      // Updates: a reason and an outcome change; the old text no longer finds the row.
      for (const i of [80, 81, 85]) {
        await put({
          ...rows.get(`k${i}`)!,
          at: T0 + 200_000,
          outcome: 'sent',
          reason: 'Updated later',
          code: null,
        });
      }
      // A restart prunes to the newest 60 rows (none pending).
      if (backend.reopen) log = await backend.reopen();
      else
        for (let i = 0; i < 500; i++) await put(record(1000 + i, { key: `m${i}`, jobId: `m${i}` }));
      const all = await log.list({ limit: 100_000 });
      const kept = new Set(all.map((r) => r.jobId));
      assert.ok(kept.size <= 60 + PRUNING_SLACK && !kept.has('j0'), `${kept.size} rows kept`);
      for (const r of all) assert.deepEqual(withoutId(r), rows.get(r.key!), r.jobId);
      const fold = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
      const expected = (f: Parameters<DeliveryLog['list']>[0] & object): string[] =>
        all
          .filter(
            (r) =>
              (f.dealId === undefined || r.dealId === f.dealId) &&
              (f.outcome === undefined || r.outcome === f.outcome) &&
              (f.event === undefined || r.events.includes(f.event)) &&
              (f.destination === undefined || r.destination === f.destination) &&
              (f.since === undefined || r.firstAt >= f.since) &&
              (f.until === undefined || r.firstAt < f.until) &&
              (f.text === undefined ||
                [r.dealId, r.destination ?? '', r.code ?? '', r.reason ?? '', ...r.events].some(
                  (v) => fold(v).includes(fold(f.text!)),
                )),
          )
          .map((r) => r.jobId);
      const paged = async (f: Parameters<DeliveryLog['list']>[0] & object): Promise<string[]> => {
        const out: string[] = [];
        let beforeId: number | undefined;
        for (let page = 0; page < 100; page++) {
          const rows = await log.list({ ...f, limit: 7, beforeId });
          out.push(...rows.map((r) => r.jobId));
          if (rows.length < 7) return out;
          beforeId = rows[rows.length - 1]!.id;
        }
        throw new Error('more than 100 pages');
      };
      const filters: Array<Parameters<DeliveryLog['list']>[0] & object> = [
        { text: 'timeout' },
        { text: 'TIMEOUT AFTER' },
        { text: 'deal-1' },
        { text: 'ga4' },
        { text: 'ga4', outcome: 'skipped' },
        { text: 'rejected', destination: 'metrica' },
        { text: 'Сделка' },
        { text: 'сделка' },
        { text: 'control character' },
        { text: 'deal\nhad' },
        { text: 'updated later' },
        { text: 'service unavailable', event: 'purchase' },
        { text: 'x' },
        { text: 'no such thing' },
        { dealId: 'DEAL-4' },
        { dealId: '4003' },
        { dealId: '4003', outcome: 'failed' },
        { dealId: '4003', text: 'answered' },
        { dealId: 'DEAL-0' },
        { dealId: 'deal-4' },
        { outcome: 'uncertain' },
        { since: T0 + 50_000 },
        { until: T0 + 75_000, text: 'ga4' },
        { since: T0 + 40_000, until: T0 + 62_000, outcome: 'failed' },
        { until: T0 + 10_000 },
      ];
      let nonEmpty = 0;
      for (const f of filters) {
        const want = expected(f);
        if (want.length > 7) nonEmpty++;
        assert.deepEqual(await paged(f), want, JSON.stringify(f));
      }
      assert.ok(nonEmpty >= 4, `${nonEmpty} filters span pages`);
      const far = await log.list({ text: 'ga4', beforeId: Number.MAX_SAFE_INTEGER, limit: 1000 });
      assert.deepEqual(
        far.map((r) => r.jobId),
        expected({ text: 'ga4' }),
        'a cursor above every id',
      );
      assert.deepEqual(await paged({ text: 'сделка' }), [], 'non-ASCII letters keep their case');
      assert.ok((await paged({ text: 'Сделка' })).length > 0);
      assert.deepEqual(await paged({ text: 'updated later' }).then((r) => r.sort()), [
        'j80',
        'j81',
        'j85',
      ]);
    });
  });
}
