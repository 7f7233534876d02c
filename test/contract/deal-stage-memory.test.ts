/**
 * The DealStageMemory contract on the embedded store (each test in a fresh data folder) and on
 * Redis (each test under a fresh prefix); and the paced limiter of each store, whose bucket
 * (Bitrix24's, leaky-bucket.ts) holds for every process sharing the store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { createRedisStore } from '../../src/adapters/store/redis';
import { bucketPolicy } from '../../src/adapters/crm/bitrix24/leaky-bucket';
import type { Store } from '../../src/ports/store';
import { describeDealStageMemoryContract } from './deal-stage-memory.contract';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

interface Opened {
  store: Store;
  open: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

async function openBackend(redisUrl: string | null): Promise<Opened> {
  const stores: Store[] = [];
  if (redisUrl === null) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-stages-'));
    const open = (): Promise<Store> => {
      const s = createSqliteStore({ dataDir, deliveryLogMaxRows: 1000, lock: stores.length === 0 });
      stores.push(s);
      return Promise.resolve(s);
    };
    return {
      store: await open(),
      open,
      cleanup: async () => {
        for (const s of stores) await s.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const prefix = uniqueRedisPrefix('stages');
  const open = async (): Promise<Store> => {
    const s = await createRedisStore({ url: redisUrl, deliveryLogMaxRows: 1000, prefix });
    stores.push(s);
    return s;
  };
  return {
    store: await open(),
    open,
    cleanup: async () => {
      for (const s of stores) await s.close();
      await deleteRedisKeys(redisUrl, prefix);
    },
  };
}

describeOnEachStore('DealStageMemory contract', (storeName, redisUrl) => {
  describeDealStageMemoryContract(storeName, async () => {
    const b = await openBackend(redisUrl);
    return {
      memory: b.store.dealStages,
      another: async () => (await b.open()).dealStages,
      reopen: async () => {
        // SQLite: another connection to the same file, as after a restart; Redis: a new client.
        return (await b.open()).dealStages;
      },
      cleanup: b.cleanup,
    };
  });
});

describeOnEachStore('paced limiter (the leaky bucket)', (storeName, redisUrl) => {
  describe(`paced limiter: ${storeName}`, function () {
    this.timeout(10_000);
    let b: Opened;
    beforeEach(async () => (b = await openBackend(redisUrl)));
    afterEach(() => b.cleanup());

    it('lets the burst through at once, then drains at the rate, one bucket for every process', async () => {
      // 10 a second, burst 10: 9 at once (the margin keeps a tenth back), then one per 100 ms.
      const policy = bucketPolicy({ perSecond: 10, burst: 10 });
      const limiters =
        storeName === 'redis'
          ? [b.store.createPacedLimiter(policy), (await b.open()).createPacedLimiter(policy)]
          : [b.store.createPacedLimiter(policy)];
      const t0 = Date.now();
      const times: number[] = [];
      await Promise.all(
        Array.from({ length: 14 }, (_, i) =>
          limiters[i % limiters.length]!.acquire('bitrix24:example.bitrix24.ru').then(() =>
            times.push(Date.now() - t0),
          ),
        ),
      );
      times.sort((x, y) => x - y);
      assert.ok(times[8]! < 300, `the burst: ${times.join(', ')}`);
      // The 14th call needs 5 drains of 100 ms after the burst.
      assert.ok(times[13]! >= 450, `the drain: ${times.join(', ')}`);
    });
  });
});
