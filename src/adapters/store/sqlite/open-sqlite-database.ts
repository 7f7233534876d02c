/**
 * Opens the embedded store: one SQLite file in the data folder, in WAL mode.
 *
 * `synchronous = FULL` makes every commit durable across power loss, not just across a process
 * crash; its cost (one fsync per commit) is shared, because the store commits the writes of each
 * event-loop turn together (see CommitGroup). The file is owned by one process at a time: a lock
 * file in the data folder refuses a second closeloop on the same folder, which would otherwise hand
 * out the same jobs twice. Use Redis to run several processes.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../core/errors';
import { asClause, errorMessage } from '../../../core/error-message';

export type SqliteDatabase = Database.Database;

/** The schema, one step per version (`PRAGMA user_version`); exported for the upgrade tests. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     queue TEXT NOT NULL,
     state TEXT NOT NULL,
     payload TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     run_at INTEGER NOT NULL,
     first_attempt_at INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX jobs_ready ON jobs(queue, state, run_at, seq);
   CREATE TABLE ledger (
     key TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     owner TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE delivery_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     account_id TEXT NOT NULL,
     lead_id INTEGER NOT NULL,
     action TEXT NOT NULL,
     status_id INTEGER,
     job_id TEXT NOT NULL,
     destination TEXT,
     outcome TEXT NOT NULL,
     code TEXT,
     reason TEXT,
     events TEXT NOT NULL,
     payload TEXT,
     attempts INTEGER NOT NULL
   );
   CREATE INDEX delivery_log_lead ON delivery_log(lead_id);
   CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`,
  // The amoCRM OAuth pair, and leases that keep two processes on this file from refreshing it at
  // once (see SqliteTokenStore).
  `CREATE TABLE amocrm_tokens (
     account TEXT PRIMARY KEY,
     access_token TEXT NOT NULL,
     refresh_token TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE locks (
     name TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // The deal model (several CRMs, several accounts). Rows before it are amoCRM's, of the one
  // account; their ledger keys (account:lead:event:status, all sent to GA4) take the destination
  // and source in front, as every key has now, so nothing already sent is sent again.
  `ALTER TABLE delivery_log ADD COLUMN source TEXT NOT NULL DEFAULT 'amocrm';
   ALTER TABLE delivery_log ADD COLUMN account TEXT NOT NULL DEFAULT 'default';
   CREATE INDEX delivery_log_account ON delivery_log(account, id);
   UPDATE ledger SET key = 'ga4:amocrm:' || key
     WHERE length(key) - length(replace(key, ':', '')) = 3;`,
  // One row per delivery (a keyed record updates its row: retries no longer add rows), with the
  // time it was first written, and exact counts by outcome that pruning does not change.
  `ALTER TABLE delivery_log ADD COLUMN row_key TEXT;
   ALTER TABLE delivery_log ADD COLUMN first_at INTEGER;
   UPDATE delivery_log SET first_at = at;
   CREATE UNIQUE INDEX delivery_log_key ON delivery_log(row_key) WHERE row_key IS NOT NULL;
   CREATE INDEX delivery_log_at ON delivery_log(at);
   CREATE INDEX delivery_log_outcome ON delivery_log(outcome, id);
   CREATE TABLE delivery_counts (outcome TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO delivery_counts SELECT outcome, count(*) FROM delivery_log GROUP BY outcome;
   CREATE TABLE delivery_pruned (outcome TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;`,
  // Each deal's last known stage (DealStageMemory), for CRMs whose webhooks say only "changed".
  `CREATE TABLE deal_stages (
     key TEXT PRIMARY KEY,
     pipeline_id TEXT,
     stage_id TEXT NOT NULL,
     previous_pipeline_id TEXT,
     previous_stage_id TEXT,
     observer TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
];

export interface OpenedDatabase {
  db: SqliteDatabase;
  file: string;
  close(): void;
}

export function openSqliteDatabase(
  dataDir: string,
  options: { lock?: boolean } = {},
): OpenedDatabase {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'closeloop.db');
  const releaseLock = options.lock === false ? () => undefined : acquireLock(dataDir);
  let db: SqliteDatabase;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (e) {
    releaseLock();
    throw new AppError(
      'STORE_UNAVAILABLE',
      `cannot open the embedded store ${file}: ${asClause(errorMessage(e))}`,
      {
        cause: e,
      },
    );
  }
  return {
    db,
    file,
    close() {
      if (db.open) db.close();
      releaseLock();
    },
  };
}

function migrate(db: SqliteDatabase): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** One closeloop per data folder: a pid file, taken over when its process is gone. */
function acquireLock(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'closeloop.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (fs.readFileSync(lockFile, 'utf8') === String(process.pid)) fs.unlinkSync(lockFile);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lockFile, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new AppError(
          'STORE_UNAVAILABLE',
          `the data folder ${dataDir} is in use by another closeloop process (pid ${pid}). ` +
            'Stop it, or give this one its own CLOSELOOP_DATA_DIR; to run several processes, set REDIS_URL',
        );
      }
      fs.rmSync(lockFile, { force: true }); // stale: its process died (SIGKILL, power loss)
    }
  }
  throw new AppError('STORE_UNAVAILABLE', `cannot take the lock ${lockFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
