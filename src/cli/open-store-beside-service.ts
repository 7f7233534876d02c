/**
 * Opens the embedded store for a command, beside a service that may be running on the same data
 * folder: no lock, no recovery of jobs in flight, no pruning. SQLite (WAL) lets both work at once;
 * the service picks up what the command enqueues at its next poll.
 */
import { createSqliteStore } from '../adapters/store/sqlite';
import type { Store } from '../ports/store';

export function openStoreBesideService(env: NodeJS.ProcessEnv): Store {
  return createSqliteStore({
    dataDir: env.CLOSELOOP_DATA_DIR || './data',
    deliveryLogMaxRows: Number.MAX_SAFE_INTEGER,
    lock: false,
  });
}
