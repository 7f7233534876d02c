/**
 * A visitor's name and phone leave the store: with the job once the lead is in the CRM, and after
 * `lead_intake.keep_personal_data_days` when its creation failed for good. Real stores.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { createRedisStore } from '../../src/adapters/store/redis';
import type { Store } from '../../src/ports/store';
import { forgetOldLeads } from '../../src/worker/personal-data-janitor';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';
import { waitFor } from '../helpers/wait-for';

const DAY = 86_400_000;
const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

describeOnEachStore('personal data of failed lead creations', (storeName, redisUrl) => {
  describe(`personal data of failed lead creations (${storeName})`, function () {
    this.timeout(20_000);
    let store: Store;
    let cleanup: () => Promise<void>;
    let clock = Date.UTC(2026, 11, 3);

    beforeEach(async () => {
      clock = Date.UTC(2026, 11, 3);
      if (redisUrl) {
        const prefix = uniqueRedisPrefix('pii');
        store = await createRedisStore({ url: redisUrl, prefix, deliveryLogMaxRows: 1000 });
        cleanup = async () => {
          await store.close();
          await deleteRedisKeys(redisUrl, prefix);
        };
      } else {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-pii-'));
        store = createSqliteStore({
          dataDir: dir,
          deliveryLogMaxRows: 1000,
          now: () => clock,
          pollIntervalMs: 20,
        });
        cleanup = async () => {
          await store.close();
          fs.rmSync(dir, { recursive: true, force: true });
        };
      }
    });
    afterEach(() => cleanup());

    it('deletes a failed lead creation, phone and all, once it is older than the keeping time', async () => {
      store.queue.process(
        'create_lead',
        () => Promise.resolve({ status: 'failed' as const, error: 'LEAD_CREATE_FAILED: test' }),
        { concurrency: 1 },
      );
      const failOne = async (id: string, phone: string): Promise<number> => {
        await store.queue.add('create_lead', [{ id, payload: { phone, name: 'Анна' } }]);
        await waitFor(async () =>
          (await store.queue.listFailed('create_lead', 10)).some((f) => f.id === id),
        );
        return (await store.queue.listFailed('create_lead', 10)).find((f) => f.id === id)!.failedAt;
      };
      const oldAt = await failOne('old', '+7 916 123-45-67');
      clock += DAY; // the embedded store's clock; Redis keeps the wall clock's, a moment later
      await new Promise((r) => setTimeout(r, 20));
      const newAt = await failOne('new', '+7 916 000-00-00');
      assert.ok(newAt > oldAt + 1);
      const keepMs = 30 * DAY;
      const pass = (now: number) =>
        forgetOldLeads({ queue: store.queue, keepMs, logger: silent, now: () => now });
      assert.equal(await pass(oldAt + keepMs), 0, 'not older than the keeping time yet');
      assert.equal(await pass(newAt + keepMs - 1), 1);
      assert.deepEqual(
        (await store.queue.listFailed('create_lead', 10)).map((f) => f.id),
        ['new'],
      );
      assert.equal(await pass(newAt + keepMs + 1), 1);
      assert.deepEqual(await store.queue.listFailed('create_lead', 10), []);
    });
  });
});
