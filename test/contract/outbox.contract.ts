/**
 * The ConversionOutbox contract (src/ports/conversion-outbox.ts), as one suite every backend runs.
 * The factory gives a fresh, empty outbox per test.
 */
import assert from 'node:assert/strict';
import type { ConversionOutbox, OutboxEntry } from '../../src/ports/conversion-outbox';

export interface OutboxBackend {
  outbox: ConversionOutbox;
  /** The same data through a new connection or process (a restart). */
  reopen: () => Promise<ConversionOutbox>;
  cleanup: () => Promise<void>;
}

const NOW = 1_700_000_000_000;

export function outboxEntry(n: number, over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    key: `metrica:amocrm:29638927:${n}:close_convert_lead:142`,
    queue: 'metrica',
    idType: 'ClientId',
    visitor: `1700000000${String(n).padStart(9, '0')}`,
    target: 'deal_won',
    dateTime: NOW / 1000 - 60,
    price: '150000.5',
    currency: 'RUB',
    addedAt: NOW + n,
    trace: { jobId: `job-${n}` },
    ...over,
  };
}

export function describeOutboxContract(name: string, make: () => Promise<OutboxBackend>): void {
  describe(`ConversionOutbox contract: ${name}`, function () {
    let b: OutboxBackend;
    beforeEach(async () => {
      b = await make();
    });
    afterEach(async () => {
      await b.cleanup();
    });

    it('adds each key once, whatever a second add says', async () => {
      assert.equal(await b.outbox.add([outboxEntry(1), outboxEntry(2)]), 2);
      assert.equal(await b.outbox.add([outboxEntry(1, { price: '1' }), outboxEntry(3)]), 1);
      assert.deepEqual(await b.outbox.pending('metrica'), { count: 3, oldestAt: NOW + 1 });
      const batch = await b.outbox.cut('metrica', 'ClientId', 'b1', 10, NOW);
      const entries = await b.outbox.entries(batch!.id);
      assert.equal(entries.find((e) => e.key === outboxEntry(1).key)?.price, '150000.5');
      assert.deepEqual(entries[0], outboxEntry(1));
      // A key already batched is not pending again when added again (a retried delivery).
      assert.equal(await b.outbox.add([outboxEntry(1)]), 0);
      assert.equal((await b.outbox.pending('metrica')).count, 0);
    });

    it('cuts oldest first, per identifier type and queue, never one entry into two batches', async () => {
      await b.outbox.add([
        outboxEntry(1),
        outboxEntry(2, { idType: 'Yclid', visitor: '123123123' }),
        outboxEntry(3),
        outboxEntry(4, { queue: 'shop/metrica' }),
      ]);
      const [x, y] = await Promise.all([
        b.outbox.cut('metrica', 'ClientId', 'bx', 1, NOW),
        b.outbox.cut('metrica', 'ClientId', 'by', 1, NOW),
      ]);
      assert.deepEqual(
        [...x!.keys, ...y!.keys].sort(),
        [outboxEntry(1).key, outboxEntry(3).key].sort(),
      );
      assert.equal(await b.outbox.cut('metrica', 'ClientId', 'bz', 5, NOW), null);
      const yclid = await b.outbox.cut('metrica', 'Yclid', 'by2', 5, NOW);
      assert.deepEqual(yclid?.keys, [outboxEntry(2).key]);
      assert.equal(yclid?.state, 'sending');
      assert.equal(yclid?.attempts, 0);
      assert.equal((await b.outbox.pending('shop/metrica')).count, 1);
    });

    it('expires pending entries older than the cutoff, and does not cut them', async () => {
      await b.outbox.add([outboxEntry(1, { dateTime: 1000 }), outboxEntry(2)]);
      const expired = await b.outbox.expire('metrica', 2000, NOW);
      assert.deepEqual(
        expired.map((e) => e.key),
        [outboxEntry(1).key],
      );
      assert.deepEqual(expired[0]?.trace, { jobId: 'job-1' });
      const batch = await b.outbox.cut('metrica', 'ClientId', 'b1', 10, NOW);
      assert.deepEqual(batch?.keys, [outboxEntry(2).key]);
      assert.equal(await b.outbox.add([outboxEntry(1)]), 0);
    });

    it('keeps an upload id once set, and never moves such a batch back to sending', async () => {
      await b.outbox.add([outboxEntry(1)]);
      await b.outbox.cut('metrica', 'ClientId', 'b1', 10, NOW);
      await b.outbox.update('b1', { attempts: 1, nextAt: NOW + 5, error: 'HTTP 503' }, NOW + 1);
      let batch = await b.outbox.batch('b1');
      assert.equal(batch?.attempts, 1);
      assert.equal(batch?.error, 'HTTP 503');
      assert.equal(batch?.state, 'sending');
      const counts = { source: 1, line: 1, linked: 0, userNotFound: 0, goalNotFound: 0 };
      await b.outbox.update(
        'b1',
        { state: 'uploaded', uploadId: '77', status: 'UPLOADED', counts, error: null },
        NOW + 2,
      );
      await b.outbox.update('b1', { state: 'sending', uploadId: '78' }, NOW + 3);
      batch = await b.outbox.batch('b1');
      assert.equal(batch?.uploadId, '77');
      assert.equal(batch?.state, 'uploaded');
      assert.equal(batch?.error, null);
      assert.deepEqual(batch?.counts, counts);
      assert.equal(batch?.updatedAt, NOW + 3);
      await b.outbox.update('b1', { state: 'done', status: 'PROCESSED' }, NOW + 4);
      assert.deepEqual(
        (await b.outbox.batches('metrica', ['done'])).map((x) => [x.id, x.status]),
        [['b1', 'PROCESSED']],
      );
      assert.deepEqual(await b.outbox.batches('metrica', ['sending', 'uploaded']), []);
    });

    it('keeps a CRM order’s id with its entry, through a cut, an expiry and a restart', async () => {
      const order = (n: number, over: Partial<OutboxEntry> = {}): OutboxEntry =>
        outboxEntry(n, { queue: 'metrica-orders', target: 'PAID', orderId: `deal-${n}`, ...over });
      await b.outbox.add([
        order(1),
        order(2, { target: 'CANCELLED', price: null, currency: null }),
        order(3, { dateTime: 1000 }),
      ]);
      const expired = await b.outbox.expire('metrica-orders', 2000, NOW);
      assert.deepEqual(expired, [order(3, { dateTime: 1000 })]);
      const batch = await b.outbox.cut('metrica-orders', 'ClientId', 'ob1', 10, NOW);
      assert.deepEqual(await b.outbox.entries(batch!.id), [
        order(1),
        order(2, { target: 'CANCELLED', price: null, currency: null }),
      ]);
      // A conversion has no order id at all (not an empty one).
      await b.outbox.add([outboxEntry(9)]);
      await b.outbox.cut('metrica', 'ClientId', 'cb1', 10, NOW);
      assert.equal('orderId' in (await b.outbox.entries('cb1'))[0]!, false);
      const again = await b.reopen();
      assert.deepEqual(
        (await again.entries('ob1')).map((e) => [e.orderId, e.target]),
        [
          ['deal-1', 'PAID'],
          ['deal-2', 'CANCELLED'],
        ],
      );
    });

    it('keeps batches and entries across a restart', async () => {
      await b.outbox.add([outboxEntry(1), outboxEntry(2)]);
      await b.outbox.cut('metrica', 'ClientId', 'b1', 1, NOW);
      await b.outbox.cut('metrica', 'ClientId', 'b2', 1, NOW + 10);
      const again = await b.reopen();
      assert.deepEqual(
        (await again.batches('metrica', ['sending'])).map((x) => [x.id, x.keys.length]),
        [
          ['b1', 1],
          ['b2', 1],
        ],
      );
      assert.equal((await again.entries('b2'))[0]?.key, outboxEntry(2).key);
      assert.equal(await again.batch('nope'), null);
    });
  });
}
