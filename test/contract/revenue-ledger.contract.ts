/**
 * The RevenueLedger contract (src/ports/revenue-ledger.ts), as one suite every backend runs:
 * records only move forward, whatever order deliveries finish in. The factory gives a fresh,
 * empty ledger per test.
 */
import assert from 'node:assert/strict';
import type { RevenueLedger, RevenueDealRef, SentPurchase } from '../../src/ports/revenue-ledger';

export interface RevenueLedgerBackend {
  revenue: RevenueLedger;
  /** The same data through a new connection or process (a restart). */
  reopen: () => Promise<RevenueLedger>;
  cleanup: () => Promise<void>;
}

const NOW = 1_700_000_000_000;

const deal = (over: Partial<RevenueDealRef> = {}): RevenueDealRef => ({
  destination: 'ga4',
  source: 'amocrm',
  crmAccount: '29638927',
  dealId: '30307415',
  ...over,
});

const purchase = (revision: number, amount = '150000'): SentPurchase => ({
  revision,
  key:
    revision === 1
      ? 'amocrm:29638927:30307415:purchase:142'
      : `amocrm:29638927:30307415:purchase:revision:${revision}`,
  transactionId: revision === 1 ? '30307415' : `30307415-${revision}`,
  amount,
  currency: 'RUB',
});

export function describeRevenueLedgerContract(
  name: string,
  factory: () => Promise<RevenueLedgerBackend>,
): void {
  describe(`RevenueLedger contract: ${name}`, function () {
    let backend: RevenueLedgerBackend;
    let revenue: RevenueLedger;

    beforeEach(async function () {
      backend = await factory();
      revenue = backend.revenue;
    });

    afterEach(async function () {
      await backend.cleanup();
    });

    it('has no record of a deal whose purchase was never sent', async function () {
      assert.equal(await revenue.get(deal()), null);
      assert.deepEqual(await revenue.listByDeal('30307415'), []);
    });

    it('keeps a sent purchase, exactly, across a restart', async function () {
      await revenue.recordPurchase(deal(), purchase(1, '1500.50'), NOW);
      const reopened = await backend.reopen();
      assert.deepEqual(await reopened.get(deal()), {
        revision: 1,
        state: 'sent',
        key: 'amocrm:29638927:30307415:purchase:142',
        transactionId: '30307415',
        amount: '1500.50',
        currency: 'RUB',
        sentAt: NOW,
        updatedAt: NOW,
      });
    });

    it('keeps one record per destination, source, account and deal', async function () {
      await revenue.recordPurchase(deal(), purchase(1, '100'), NOW);
      await revenue.recordPurchase(deal({ destination: 'shop/ga4' }), purchase(1, '200'), NOW);
      await revenue.recordPurchase(deal({ source: 'generic' }), purchase(1, '300'), NOW);
      await revenue.recordPurchase(deal({ crmAccount: 'a:b' }), purchase(1, '400'), NOW);
      await revenue.recordPurchase(deal({ dealId: '1' }), purchase(1, '500'), NOW);
      assert.equal((await revenue.get(deal()))?.amount, '100');
      assert.equal((await revenue.get(deal({ destination: 'shop/ga4' })))?.amount, '200');
      assert.equal((await revenue.get(deal({ source: 'generic' })))?.amount, '300');
      assert.equal((await revenue.get(deal({ crmAccount: 'a:b' })))?.amount, '400');
      const listed = await revenue.listByDeal('30307415');
      assert.deepEqual(
        listed.map((r) => [r.destination, r.source, r.crmAccount, r.dealId, r.amount]),
        [
          ['ga4', 'amocrm', '29638927', '30307415', '100'],
          ['ga4', 'amocrm', 'a:b', '30307415', '400'],
          ['ga4', 'generic', '29638927', '30307415', '300'],
          ['shop/ga4', 'amocrm', '29638927', '30307415', '200'],
        ],
      );
    });

    it('marks a sent purchase reopened, then refunded; the same revision again changes nothing', async function () {
      await revenue.recordPurchase(deal(), purchase(1), NOW);
      await revenue.markReopened(deal(), 1, NOW + 1);
      assert.equal((await revenue.get(deal()))?.state, 'reopened');
      await revenue.markReopened(deal(), 1, NOW + 2);
      assert.equal((await revenue.get(deal()))?.updatedAt, NOW + 1, 'reopened once');
      await revenue.recordRefund(deal(), 1, NOW + 3);
      const refunded = await revenue.get(deal());
      assert.equal(refunded?.state, 'refunded');
      assert.equal(refunded?.updatedAt, NOW + 3);
      // A refunded record is not reopened, and the same purchase sent again does not revive it.
      await revenue.markReopened(deal(), 1, NOW + 4);
      await revenue.recordPurchase(deal(), purchase(1, '999'), NOW + 5);
      assert.deepEqual(await revenue.get(deal()), { ...refunded });
    });

    it('moves forward only: a newer purchase replaces an older one, never the other way', async function () {
      await revenue.recordPurchase(deal(), purchase(1), NOW);
      await revenue.recordPurchase(deal(), purchase(2, '120000'), NOW + 10);
      // Deliveries finishing late: the refund of 1 and the purchase of 1 change nothing now.
      await revenue.recordRefund(deal(), 1, NOW + 20);
      await revenue.recordPurchase(deal(), purchase(1), NOW + 30);
      await revenue.markReopened(deal(), 1, NOW + 40);
      assert.deepEqual(await revenue.get(deal()), {
        revision: 2,
        state: 'sent',
        key: 'amocrm:29638927:30307415:purchase:revision:2',
        transactionId: '30307415-2',
        amount: '120000',
        currency: 'RUB',
        sentAt: NOW + 10,
        updatedAt: NOW + 10,
      });
      assert.equal((await revenue.listByDeal('30307415')).length, 1);
    });

    it('leaves a record alone for a refund or reopening of a deal it does not have', async function () {
      await revenue.recordRefund(deal(), 1, NOW);
      await revenue.markReopened(deal(), 1, NOW);
      assert.equal(await revenue.get(deal()), null);
      assert.deepEqual(await revenue.listByDeal('30307415'), []);
    });

    it('applies concurrent writes of one record atomically: the highest revision wins', async function () {
      await Promise.all(
        [3, 1, 5, 2, 4].map((rev) =>
          revenue.recordPurchase(deal(), purchase(rev, String(rev * 1000)), NOW + rev),
        ),
      );
      const record = await revenue.get(deal());
      assert.equal(record?.revision, 5);
      assert.equal(record?.amount, '5000');
    });
  });
}
