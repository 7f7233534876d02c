/**
 * Group commit for the embedded store: writes asked for in the same turn of the event loop run in
 * one transaction, so they share one fsync (the database runs with `synchronous = FULL`), and each
 * caller's promise settles only after that transaction has committed, as if it had committed alone.
 *
 * Each write runs in a savepoint of its own: one that throws (a constraint, a bug) is rolled back
 * and rejects its own caller only; the others commit. An error after which SQLite has rolled back
 * the whole transaction itself (disk full, I/O error, out of memory), or a commit that fails,
 * rejects every write of the group with STORE_UNAVAILABLE (retryable: a store outage, not a
 * refusal), and none of them took effect. The transaction is `BEGIN IMMEDIATE`: it holds the write
 * lock from its first statement, so a group whose first write only reads cannot find its snapshot
 * stale when another connection (a `replay` beside the service) wrote meanwhile.
 *
 * Why: a conversion on the embedded store is about seven small writes (take the job, claim the
 * ledger, mark it sent, log the delivery, finish the job, twice over for the inbound and the
 * delivery job). Committed one by one, the fsyncs, not the CPU, set the pace (see decisions.md).
 */
import { AppError } from '../../../core/errors';
import { explainStorageError } from './storage-problems';
import type { SqliteDatabase } from './open-sqlite-database';

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

export class CommitGroup {
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;
  /** Runs `work` in a savepoint when called inside `commitAll`'s transaction. */
  private readonly inSavepoint;
  private readonly commitAll;

  constructor(
    private readonly db: SqliteDatabase,
    /** Told after each commit: null when it committed, else the error (for the health check). */
    private readonly onCommit: (error: unknown) => void = () => undefined,
  ) {
    this.inSavepoint = db.transaction((work: () => unknown) => work());
    this.commitAll = db.transaction((batch: readonly Pending[]): Settled[] =>
      batch.map((p) => {
        try {
          return { ok: true, value: this.inSavepoint(p.work) };
        } catch (error) {
          // SQLite rolled the whole transaction back: the writes before this one are gone, and
          // the ones after it would each commit on their own. The group fails as one.
          if (!this.db.inTransaction) throw error;
          return { ok: false, error };
        }
      }),
    );
  }

  /**
   * Runs `work` (synchronous SQLite statements) in the next group's transaction; resolves with its
   * result once the group has committed.
   */
  run<T>(work: () => T): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new AppError('STORE_UNAVAILABLE', 'the embedded store is closed', { retryable: true }),
      );
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits what is waiting now (close calls it, so no write already asked for is dropped). */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let settled: Settled[];
    try {
      settled = this.commitAll.immediate(batch);
    } catch (e) {
      this.onCommit(e);
      const error = new AppError(
        'STORE_UNAVAILABLE',
        `the embedded store could not write: ${explainStorageError(e, this.db.name)}`,
        { cause: e, retryable: true },
      );
      for (const p of batch) p.reject(error);
      return;
    }
    this.onCommit(null);
    settled.forEach((s, i) => {
      const p = batch[i]!;
      if (s.ok) p.resolve(s.value);
      else p.reject(s.error);
    });
  }

  /** Commits what is waiting and refuses later writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
