/**
 * Opens the embedded store: one SQLite file in the data folder, in WAL mode.
 *
 * `synchronous = FULL` makes every commit durable across power loss, not just across a process
 * crash; its cost (one fsync per commit) is shared, because the store commits the writes of each
 * event-loop turn together (see CommitGroup). The file is owned by one process at a time: a lock
 * (data-folder-lock.ts) refuses a second closeloop on the same folder, which would otherwise hand
 * out the same jobs twice. Use Redis to run several processes.
 *
 * The files hold visitors' names and phone numbers until their lead is in the CRM: they are
 * created 0600 (the WAL and shared-memory files take the database file's mode), and
 * `secure_delete` overwrites deleted rows instead of leaving them in free pages. At the start,
 * `quick_check` reads the whole file once, so a damaged store stops the start with the fix rather
 * than failing one job at a time.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../core/errors';
import { acquireDataFolderLock, createPrivate } from './data-folder-lock';
import { explainStorageError } from './storage-problems';

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
  // What each destination counts for each deal once its purchase was sent (SqliteRevenueLedger):
  // a deal reopened, lost, or with its amount changed can then be refunded and sent anew.
  `CREATE TABLE revenue (
     destination TEXT NOT NULL,
     source TEXT NOT NULL,
     crm_account TEXT NOT NULL,
     deal_id TEXT NOT NULL,
     revision INTEGER NOT NULL,
     state TEXT NOT NULL,
     conversion_key TEXT NOT NULL,
     transaction_id TEXT NOT NULL,
     amount TEXT NOT NULL,
     currency TEXT NOT NULL,
     sent_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (destination, source, crm_account, deal_id)
   ) WITHOUT ROWID;
   CREATE INDEX revenue_deal ON revenue(deal_id);`,
  // Conversions waiting for a batch upload (Yandex Metrica), and the batches (SqliteOutbox).
  `CREATE TABLE outbox (
     key TEXT PRIMARY KEY,
     queue TEXT NOT NULL,
     id_type TEXT NOT NULL,
     visitor TEXT NOT NULL,
     target TEXT NOT NULL,
     date_time INTEGER NOT NULL,
     price TEXT,
     currency TEXT,
     added_at INTEGER NOT NULL,
     trace TEXT NOT NULL,
     state TEXT NOT NULL,
     batch_id TEXT
   ) WITHOUT ROWID;
   CREATE INDEX outbox_pending ON outbox(queue, state, id_type, added_at);
   CREATE INDEX outbox_batch ON outbox(batch_id);
   CREATE TABLE outbox_batches (
     id TEXT PRIMARY KEY,
     queue TEXT NOT NULL,
     id_type TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     upload_id TEXT,
     status TEXT,
     counts TEXT,
     next_at INTEGER NOT NULL,
     error TEXT,
     updated_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX outbox_batches_queue ON outbox_batches(queue, state, created_at);`,
  // The console's filters page by id (keyset): each filter column with id, so a filtered page
  // walks an index in order and stops at its limit (bench/console.ts). The deal's UTM source and
  // medium for the console's overview; deal traces (SqliteDealTrace).
  `ALTER TABLE delivery_log ADD COLUMN utm_source TEXT;
   ALTER TABLE delivery_log ADD COLUMN utm_medium TEXT;
   CREATE INDEX delivery_log_destination ON delivery_log(destination, id);
   CREATE INDEX delivery_log_deal ON delivery_log(lead_id, id);
   DROP INDEX delivery_log_lead;
   CREATE TABLE deal_trace (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     deal TEXT NOT NULL,
     at INTEGER NOT NULL,
     kind TEXT NOT NULL,
     title TEXT NOT NULL,
     detail TEXT,
     won INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX deal_trace_deal ON deal_trace(deal, seq);
   CREATE INDEX deal_trace_won ON deal_trace(at) WHERE won = 1;`,
  // A CRM order's id for an outbox entry of Metrica's orders mode (SqliteOutbox); null: a conversion.
  `ALTER TABLE outbox ADD COLUMN order_id TEXT;`,
  // Metrica with several workers: who holds a batch for an upload attempt (SqliteOutbox.claim),
  // and the queues stopped by a refusal until `closeloop metrica resume`.
  `ALTER TABLE outbox_batches ADD COLUMN claim_owner TEXT;
   ALTER TABLE outbox_batches ADD COLUMN claim_until INTEGER;
   CREATE TABLE outbox_stops (
     queue TEXT PRIMARY KEY,
     target TEXT NOT NULL,
     reason TEXT NOT NULL,
     batch_id TEXT,
     at INTEGER NOT NULL
   ) WITHOUT ROWID;`,
  // The deal id as text (lead_id's INTEGER affinity turned 1C's "000123" into 123): rows before
  // keep what lead_id kept, as text.
  `ALTER TABLE delivery_log ADD COLUMN deal_id TEXT;
   UPDATE delivery_log SET deal_id = CAST(lead_id AS TEXT);
   CREATE INDEX delivery_log_deal_text ON delivery_log(deal_id, id);
   DROP INDEX delivery_log_deal;`,
];

export interface OpenedDatabase {
  db: SqliteDatabase;
  file: string;
  close(): void;
}

export interface OpenOptions {
  /** Take the data folder's lock (default true); commands beside a running service do not. */
  lock?: boolean;
  /** How long a write waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Run `quick_check` (default: when taking the lock, i.e. for the service). */
  check?: boolean;
}

export function openSqliteDatabase(dataDir: string, options: OpenOptions = {}): OpenedDatabase {
  const file = path.join(dataDir, 'closeloop.db');
  const lock = options.lock !== false;
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const why = whyNoFolder(dataDir) ?? e;
    throw new AppError('STORE_UNAVAILABLE', explainStorageError(why, file), { cause: e });
  }
  const releaseLock = lock ? acquireDataFolderLock(dataDir) : () => undefined;
  let db: SqliteDatabase;
  try {
    if (lock) {
      createPrivate(file);
      for (const f of [`${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    }
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('foreign_keys = ON');
    db.pragma('secure_delete = ON');
    if (options.check ?? lock) quickCheck(db);
    migrate(db);
  } catch (e) {
    releaseLock();
    if (e instanceof AppError) throw e;
    throw new AppError(
      'STORE_UNAVAILABLE',
      `cannot open the embedded store: ${explainStorageError(e, file)}`,
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

/** Reads every page once; a damaged file stops the start, naming what SQLite found. */
function quickCheck(db: SqliteDatabase): void {
  const rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  if (problems.length === 0) return;
  const e = Object.assign(new Error(`quick_check found: ${problems.join('; ')}`), {
    code: 'SQLITE_CORRUPT',
  });
  throw new AppError('STORE_UNAVAILABLE', explainStorageError(e, db.name), { cause: e });
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

/**
 * Why a folder could not be made: a recursive mkdir on a read-only disk says ENOENT; the nearest
 * folder that exists tells the real cause (EROFS, EACCES). Null when it does not.
 */
function whyNoFolder(dir: string): unknown {
  let parent = path.dirname(path.resolve(dir));
  while (!fs.existsSync(parent) && parent !== path.dirname(parent)) parent = path.dirname(parent);
  try {
    fs.accessSync(parent, fs.constants.W_OK);
    return null;
  } catch (e) {
    return e;
  }
}
