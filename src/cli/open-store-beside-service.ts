/**
 * Opens the store for a command, beside a service that may be running on it.
 *
 * The embedded store: no lock, no recovery of jobs in flight, no pruning. SQLite (WAL) lets both
 * work at once; the service picks up what the command enqueues at its next poll. Redis (REDIS_URL
 * set, as for the service): the same keys the service uses (CLOSELOOP_REDIS_PREFIX), and workers
 * pick up what the command enqueues at once.
 */
import { createSqliteStore } from '../adapters/store/sqlite';
import { createRedisStore } from '../adapters/store/redis';
import type { Store } from '../ports/store';

export async function openStoreBesideService(env: NodeJS.ProcessEnv): Promise<Store> {
  if (env.REDIS_URL) {
    return createRedisStore({
      url: env.REDIS_URL,
      prefix: env.CLOSELOOP_REDIS_PREFIX || undefined,
      deliveryLogMaxRows: Number.MAX_SAFE_INTEGER,
      connectTimeoutMs: 5000,
    });
  }
  return createSqliteStore({
    dataDir: env.CLOSELOOP_DATA_DIR || './data',
    deliveryLogMaxRows: Number.MAX_SAFE_INTEGER,
    lock: false,
  });
}
