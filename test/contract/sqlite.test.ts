/** The port contracts against the embedded SQLite store, each test in a fresh data folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import type { Store } from '../../src/ports/store';
import { describeDeliveryLogContract, type LogOptions } from './delivery-log.contract';
import { describeJobQueueContract } from './job-queue.contract';
import { describeLedgerContract } from './ledger.contract';
import { describeRevenueLedgerContract } from './revenue-ledger.contract';
import { describeTokenStoreContract } from './token-store.contract';
import { describeStoreContract } from './store.contract';
import { describeOutboxContract } from './outbox.contract';
import { describeDealTraceContract } from './deal-trace.contract';
import { SqliteDealTrace } from '../../src/adapters/store/sqlite/sqlite-deal-trace';
import { openSqliteDatabase } from '../../src/adapters/store/sqlite/open-sqlite-database';
import { CommitGroup } from '../../src/adapters/store/sqlite/commit-group';

function sqliteBackend(deliveryLogMaxRows = 10_000, log: Partial<LogOptions> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-contract-'));
  const open = (lock = true): Store =>
    createSqliteStore({
      dataDir,
      deliveryLogMaxRows,
      deliveryLogMaxAgeMs: log.maxAgeMs,
      onDeliveryLogPruned: log.onPruned,
      ...(log.now === undefined ? {} : { now: log.now }),
      pollIntervalMs: 20,
      lock,
      recoverActive: true,
    });
  const closing: Promise<void>[] = [];
  let store = open();
  return {
    dataDir,
    store,
    reopen: async (): Promise<Store> => {
      await store.close();
      return (store = open());
    },
    // The "dead" process takes no more jobs; a second connection, as after a restart, opens the
    // file while its handler is stuck (lock: false, since the lock holder is this very process).
    restartAfterCrash: (): Promise<Store> => {
      closing.push(store.close());
      return Promise.resolve((store = open(false)));
    },
    cleanup: async (): Promise<void> => {
      const results = await Promise.allSettled([...closing, store.close()]);
      fs.rmSync(dataDir, { recursive: true, force: true });
      for (const r of results) if (r.status === 'rejected') throw r.reason;
    },
  };
}

describeJobQueueContract('sqlite', () => {
  const b = sqliteBackend();
  return Promise.resolve({
    queue: b.store.queue,
    reopen: async () => (await b.reopen()).queue,
    restartAfterCrash: async () => (await b.restartAfterCrash()).queue,
    cleanup: b.cleanup,
  });
});
describeLedgerContract('sqlite', () => {
  const b = sqliteBackend();
  return Promise.resolve({ ledger: b.store.ledger, cleanup: b.cleanup });
});
describeRevenueLedgerContract('sqlite', () => {
  const b = sqliteBackend();
  return Promise.resolve({
    revenue: b.store.revenue,
    reopen: async () => (await b.reopen()).revenue,
    cleanup: b.cleanup,
  });
});
describeDeliveryLogContract('sqlite', ({ maxRows, ...log }) => {
  const b = sqliteBackend(maxRows, log);
  return Promise.resolve({
    deliveryLog: b.store.deliveryLog,
    reopen: async () => (await b.reopen()).deliveryLog,
    cleanup: b.cleanup,
  });
});
describeDealTraceContract('sqlite', (limits, now) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-trace-'));
  const opened = openSqliteDatabase(dataDir);
  const group = new CommitGroup(opened.db, () => undefined);
  const trace = new SqliteDealTrace(opened.db, group, limits, now);
  return Promise.resolve({
    trace,
    prune: () => trace.prune(),
    cleanup: () => {
      group.close();
      opened.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  });
});
describeTokenStoreContract('sqlite', () => {
  const b = sqliteBackend();
  return Promise.resolve({ tokens: b.store.tokens, cleanup: b.cleanup });
});
describeStoreContract('sqlite', () => {
  const b = sqliteBackend();
  return Promise.resolve({
    store: b.store,
    // A command beside the service opens the file without the lock.
    openAnother: () =>
      Promise.resolve(
        createSqliteStore({ dataDir: b.dataDir, deliveryLogMaxRows: 10_000, lock: false }),
      ),
    cleanup: b.cleanup,
  });
});
describeOutboxContract('sqlite', () => {
  const b = sqliteBackend();
  const beside: Store[] = [];
  return Promise.resolve({
    outbox: b.store.outbox,
    reopen: async () => (await b.reopen()).outbox,
    // A command beside the service: the same file, another connection, no lock.
    another: () => {
      const s = createSqliteStore({ dataDir: b.dataDir, deliveryLogMaxRows: 10_000, lock: false });
      beside.push(s);
      return Promise.resolve(s.outbox);
    },
    cleanup: async () => {
      await Promise.all(beside.map((s) => s.close()));
      await b.cleanup();
    },
  });
});
