/**
 * What a Store gives beside its ports (src/ports/store.ts): settings, leases, the shared rate
 * limiter, ping and describe. One suite for every backend, like the port contracts.
 */
import assert from 'node:assert/strict';
import type { Store } from '../../src/ports/store';

export interface StoreBackend {
  store: Store;
  /** A second store on the same data, as another process would open it. */
  openAnother(): Promise<Store>;
  cleanup(): Promise<void>;
}

export function describeStoreContract(name: string, factory: () => Promise<StoreBackend>): void {
  describe(`Store contract: ${name}`, function () {
    let backend: StoreBackend;
    let others: Store[];
    beforeEach(async () => {
      backend = await factory();
      others = [];
    });
    afterEach(async () => {
      for (const s of others) await s.close();
      await backend.cleanup();
    });
    const another = async (): Promise<Store> => {
      const s = await backend.openAnother();
      others.push(s);
      return s;
    };

    it('keeps settings, seen by another process at once', async () => {
      const { store } = backend;
      assert.equal(await store.getSetting('amocrm.reconcile.cursor.1'), null);
      await store.setSetting('amocrm.reconcile.cursor.1', '1700000000');
      assert.equal(await (await another()).getSetting('amocrm.reconcile.cursor.1'), '1700000000');
      await store.setSetting('amocrm.reconcile.cursor.1', 'Ёж 1700000001');
      assert.equal(await store.getSetting('amocrm.reconcile.cursor.1'), 'Ёж 1700000001');
    });

    it('initSetting keeps the first value, however many processes race', async () => {
      const stores = [backend.store, await another(), await another()];
      const answers = await Promise.all(
        stores.flatMap((s, i) => [
          s.initSetting('webhook.secret', `secret-${i}-a`),
          s.initSetting('webhook.secret', `secret-${i}-b`),
        ]),
      );
      assert.equal(new Set(answers).size, 1, `answers: ${answers.join(', ')}`);
      assert.equal(await backend.store.getSetting('webhook.secret'), answers[0]);
      assert.equal(await backend.store.initSetting('webhook.secret', 'later'), answers[0]);
    });

    it('describes itself and answers ping', async () => {
      await backend.store.ping();
      assert.match(backend.store.describe(), new RegExp(`^${backend.store.kind} \\(`));
      assert.equal(backend.store.describe().includes('@'), false, 'no credentials in describe()');
    });

    it('gives a rate limiter that lets perSecond calls through at once, then waits', async () => {
      const limiter = backend.store.createRateLimiter(3);
      const t0 = Date.now();
      await Promise.all([1, 2, 3].map(() => limiter.acquire('contract.example.amocrm.ru')));
      assert.ok(Date.now() - t0 < 500, `three calls took ${Date.now() - t0} ms`);
      await limiter.acquire('contract.example.amocrm.ru');
      assert.ok(Date.now() - t0 >= 900, `the fourth call came after ${Date.now() - t0} ms`);
    });
  });
}

/** Leases: only where more than one process can share the store. */
export function describeLeaseContract(name: string, factory: () => Promise<StoreBackend>): void {
  describe(`Store leases: ${name}`, () => {
    let backend: StoreBackend;
    let other: Store | null = null;
    beforeEach(async () => (backend = await factory()));
    afterEach(async () => {
      await other?.close();
      other = null;
      await backend.cleanup();
    });

    it('lets one process of several take a lease, and anyone again once it lapsed', async () => {
      other = await backend.openAnother();
      const results = await Promise.all([
        backend.store.acquireLease('amocrm-reconcile', 300),
        other.acquireLease('amocrm-reconcile', 300),
        backend.store.acquireLease('amocrm-reconcile', 300),
      ]);
      assert.deepEqual(results.filter(Boolean).length, 1, `results: ${results.join(', ')}`);
      assert.equal(await other.acquireLease('another-lease', 300), true, 'leases are per name');
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(await other.acquireLease('amocrm-reconcile', 300), true);
    });
  });
}
