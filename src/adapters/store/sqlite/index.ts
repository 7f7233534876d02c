/**
 * The embedded store: job queue, ledger, revenue records, delivery log, settings and tokens in one
 * SQLite file.
 */
import path from 'node:path';
import type { Store } from '../../../ports/store';
import type { DeliveryLogLimits } from '../../../ports/delivery-log';
import { InProcessRateLimiter } from '../../rate-limit/in-process-rate-limiter';
import { InProcessPacedLimiter } from '../../rate-limit/in-process-paced-limiter';
import { InProcessWindowLimiter } from '../../rate-limit/in-process-window-limiter';
import { openSqliteDatabase } from './open-sqlite-database';
import { CommitGroup } from './commit-group';
import { SqliteDeliveryLog } from './sqlite-delivery-log';
import { SqliteJobQueue, type SqliteJobQueueOptions } from './sqlite-job-queue';
import { SqliteLedger } from './sqlite-ledger';
import { SqliteRevenueLedger } from './sqlite-revenue-ledger';
import { SqliteTokenStore } from './sqlite-token-store';
import { DEFAULT_MIN_FREE_BYTES, StorageHealth } from './storage-health';
import { SqliteDealStages } from './sqlite-deal-stages';
import { SqliteOutbox } from './sqlite-outbox';
import { InProcessRequestGate } from '../../rate-limit/in-process-request-gate';
import { SqliteDealTrace } from './sqlite-deal-trace';
import { DEFAULT_TRACE_LIMITS } from '../../../ports/deal-trace';

export interface SqliteStoreOptions extends SqliteJobQueueOptions {
  dataDir: string;
  deliveryLogMaxRows: number;
  /** Settled delivery-log rows older than this are pruned (default: none by age). */
  deliveryLogMaxAgeMs?: number;
  onDeliveryLogPruned?: DeliveryLogLimits['onPruned'];
  /** Take the one-process lock on the data folder (default true). */
  lock?: boolean;
  /** How long a write waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** `ping` (so /healthz) fails below this much free disk space (default 64 MB). */
  minFreeBytes?: number;
}

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const opened = openSqliteDatabase(options.dataDir, {
    lock: options.lock,
    busyTimeoutMs: options.busyTimeoutMs,
  });
  const { db } = opened;
  let health: StorageHealth | null = null;
  // One group for the queue, the ledger and the delivery log: a turn's writes share one commit.
  const group = new CommitGroup(db, (error) => health?.noteCommit(error));
  health = new StorageHealth(db, group, {
    dataDir: options.dataDir,
    file: opened.file,
    minFreeBytes: options.minFreeBytes ?? DEFAULT_MIN_FREE_BYTES,
    probeEveryMs: 5000,
    now: Date.now,
  });
  const storageHealth = health;
  const queue = new SqliteJobQueue(db, group, {
    ...options,
    recoverActive: options.recoverActive ?? options.lock !== false,
  });
  const getSetting = db.prepare(`SELECT value FROM kv WHERE key = ?`);
  const setSetting = db.prepare(
    `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
  );
  const initSetting = db.prepare(
    `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING`,
  );
  return {
    kind: 'sqlite',
    queue,
    ledger: new SqliteLedger(db, group),
    revenue: new SqliteRevenueLedger(db, group),
    deliveryLog: new SqliteDeliveryLog(
      db,
      group,
      {
        maxRows: options.deliveryLogMaxRows,
        maxAgeMs: options.deliveryLogMaxAgeMs ?? Number.POSITIVE_INFINITY,
        onPruned: options.onDeliveryLogPruned,
      },
      options.now,
    ),
    // Wall clock, not options.now: refresh leases are compared with other processes' clocks.
    tokens: new SqliteTokenStore(db),
    dealStages: new SqliteDealStages(db, group),
    outbox: new SqliteOutbox(db, group),
    // Trails live as long as the delivery log's rows (delivery_log.max_age_days).
    dealTrace: new SqliteDealTrace(
      db,
      group,
      {
        ...DEFAULT_TRACE_LIMITS,
        maxAgeMs: options.deliveryLogMaxAgeMs ?? Number.POSITIVE_INFINITY,
      },
      options.now,
    ),
    getSetting: (key) =>
      Promise.resolve((getSetting.get(key) as { value: string } | undefined)?.value ?? null),
    setSetting: (key, value) => {
      setSetting.run(key, value);
      return Promise.resolve();
    },
    initSetting: (key, value) => {
      initSetting.run(key, value);
      return Promise.resolve((getSetting.get(key) as { value: string }).value);
    },
    // One process owns the data folder (the lock file): its limiter and leases are everyone's.
    createRateLimiter: (perSecond) => new InProcessRateLimiter(perSecond),
    createPacedLimiter: (policy) => new InProcessPacedLimiter(policy),
    createWindowLimiter: (_name, limit, windowMs) => new InProcessWindowLimiter(limit, windowMs),
    createRequestGate: (_name, maxInFlight, daily) => new InProcessRequestGate(maxInFlight, daily),
    acquireLease: () => Promise.resolve(true),
    // Healthy only when the store can write: disk space, the last commit, a probe write.
    ping: () => storageHealth.check(),
    describe: () => `sqlite (${path.resolve(options.dataDir)})`,
    close: async () => {
      await queue.close();
      group.close();
      opened.close();
    },
  };
}
