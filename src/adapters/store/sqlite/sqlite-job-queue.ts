/**
 * The embedded job queue: rows in the `jobs` table of the SQLite store.
 *
 * Group commit: every write (adds, takes, outcomes) goes through the store's CommitGroup, so the
 * writes of one turn of the event loop, this queue's and the ledger's and delivery log's alike,
 * share one transaction (one fsync) and each resolves after it commits. Acknowledging a webhook
 * only after it is durable thus costs little more than not doing so. Consumers are woken at once
 * by a local `add` and otherwise poll for delayed jobs. One process owns the file (see
 * openSqliteDatabase), so jobs found `active` at start-up were in flight when the previous process
 * died: they go back to waiting.
 */
import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../../../core/errors';
import type {
  FailedJob,
  Job,
  JobHandler,
  JobOutcome,
  JobQueue,
  NewJob,
  QueueCounts,
  QueueName,
} from '../../../ports/job-queue';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';
import { asClause, errorMessage } from '../../../core/error-message';

/** Serialised up front, so a payload that is not JSON fails its own caller, not the group. */
type SerialisedJobs = ReadonlyArray<{
  id: string | undefined;
  payload: string;
  runAt: number | undefined;
}>;

interface JobRow {
  seq: number;
  id: string;
  queue: QueueName;
  payload: string;
  attempts: number;
  run_at: number;
  first_attempt_at: number;
  created_at: number;
}

interface Consumer {
  queue: QueueName;
  handler: JobHandler<unknown>;
  concurrency: number;
  inFlight: Set<Promise<void>>;
  timer: NodeJS.Timeout | null;
  scheduled: boolean;
  /** A take waiting for its commit; `again`: asked to take meanwhile, so take again after it. */
  taking: Promise<void> | null;
  again: boolean;
}

export interface SqliteJobQueueOptions {
  now?: () => number;
  /** How often to look for delayed jobs coming due. */
  pollIntervalMs?: number;
  /**
   * Put jobs left `active` back to waiting (default true). Only the process that owns the data
   * folder may: a command opening the store beside a running service (replay) must not.
   */
  recoverActive?: boolean;
  onError?: (error: unknown, context: string) => void;
}

export class SqliteJobQueue implements JobQueue {
  private readonly now: () => number;
  private readonly pollIntervalMs: number;
  private readonly onError: (error: unknown, context: string) => void;
  private closed = false;
  /** close() was called: no more jobs are handed out (adds still are taken until `closed`). */
  private stopping = false;
  private closing: Promise<void> | null = null;
  private readonly consumers = new Map<QueueName, Consumer>();
  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly group: CommitGroup,
    options: SqliteJobQueueOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.onError = options.onError ?? (() => undefined);
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO jobs (id, queue, state, payload, run_at, created_at, updated_at)
         VALUES (?, ?, 'waiting', ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING`,
      ),
      claim: db.prepare(
        `UPDATE jobs SET state = 'active', updated_at = @now,
           first_attempt_at = COALESCE(first_attempt_at, @now)
         WHERE seq IN (SELECT seq FROM jobs WHERE queue = @queue AND state = 'waiting'
                       AND run_at <= @now ORDER BY run_at, seq LIMIT @limit)
         RETURNING seq, id, queue, payload, attempts, run_at, first_attempt_at, created_at`,
      ),
      done: db.prepare(`DELETE FROM jobs WHERE id = ?`),
      retry: db.prepare(
        `UPDATE jobs SET state = 'waiting', attempts = attempts + 1, run_at = ?, last_error = ?,
           updated_at = ? WHERE id = ?`,
      ),
      fail: db.prepare(
        `UPDATE jobs SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?
         WHERE id = ?`,
      ),
      counts: db.prepare(
        `SELECT state, run_at > @now AS later, COUNT(*) AS n FROM jobs WHERE queue = @queue
         GROUP BY state, later`,
      ),
      listFailed: db.prepare(
        `SELECT id, queue, payload, attempts, last_error, updated_at FROM jobs
         WHERE queue = ? AND state = 'failed' ORDER BY updated_at DESC LIMIT ?`,
      ),
      removeFailed: db.prepare(`DELETE FROM jobs WHERE queue = ? AND state = 'failed' AND id = ?`),
      retryAllFailed: db.prepare(
        `UPDATE jobs SET state = 'waiting', run_at = ?, attempts = 0, first_attempt_at = NULL,
           updated_at = ? WHERE queue = ? AND state = 'failed'`,
      ),
      retryOneFailed: db.prepare(
        `UPDATE jobs SET state = 'waiting', run_at = ?, attempts = 0, first_attempt_at = NULL,
           updated_at = ? WHERE queue = ? AND state = 'failed' AND id = ?`,
      ),
    };
    if (options.recoverActive !== false) {
      db.prepare(`UPDATE jobs SET state = 'waiting' WHERE state = 'active'`).run();
    }
  }

  add<T>(queue: QueueName, jobs: readonly NewJob<T>[]): Promise<void> {
    if (this.closed)
      return Promise.reject(new AppError('STORE_UNAVAILABLE', 'the job queue is closed'));
    if (jobs.length === 0) return Promise.resolve();
    let serialised: SerialisedJobs;
    try {
      serialised = jobs.map((j) => ({ id: j.id, payload: serialise(j.payload), runAt: j.runAt }));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return this.group
      .run(() => this.insert(queue, serialised, this.now()))
      .then(
        () => this.wake(queue),
        (e: unknown) => {
          throw isAppError(e)
            ? e
            : new AppError(
                'STORE_UNAVAILABLE',
                `the embedded store could not take the jobs: ${asClause(errorMessage(e))}`,
                { cause: e, retryable: true },
              );
        },
      );
  }

  private insert(queue: QueueName, jobs: SerialisedJobs, now: number): void {
    for (const job of jobs) {
      this.stmt.insert.run(
        job.id ?? randomUUID(),
        queue,
        job.payload,
        Math.max(job.runAt ?? now, now), // a past runAt is "now" (the port's ordering rule)
        now,
        now,
      );
    }
  }

  process<T>(queue: QueueName, handler: JobHandler<T>, options: { concurrency: number }): void {
    if (this.consumers.has(queue)) throw new Error(`queue ${queue} already has a consumer`);
    const consumer: Consumer = {
      queue,
      handler: handler as JobHandler<unknown>,
      concurrency: Math.max(1, options.concurrency),
      inFlight: new Set(),
      timer: null,
      scheduled: false,
      taking: null,
      again: false,
    };
    this.consumers.set(queue, consumer);
    const poll = (): void => {
      this.wake(queue);
      if (!this.stopping) consumer.timer = setTimeout(poll, this.pollIntervalMs);
    };
    consumer.timer = setTimeout(poll, 0);
  }

  private wake(queue: QueueName): void {
    const c = this.consumers.get(queue);
    if (!c || c.scheduled || this.stopping) return;
    c.scheduled = true;
    setImmediate(() => {
      c.scheduled = false;
      this.take(c);
    });
  }

  private take(c: Consumer): void {
    if (this.stopping) return;
    if (c.taking) {
      c.again = true;
      return;
    }
    const free = c.concurrency - c.inFlight.size;
    if (free <= 0) return;
    c.taking = this.group
      .run(() => this.stmt.claim.all({ queue: c.queue, now: this.now(), limit: free }) as JobRow[])
      .then(
        (rows) => this.start(c, rows),
        (e: unknown) => this.onError(e, `claiming ${c.queue} jobs`),
      )
      .finally(() => {
        c.taking = null;
        if (c.again) {
          c.again = false;
          this.wake(c.queue);
        }
      });
  }

  /** Runs the jobs a take claimed (also while closing: they are in flight, close waits for them). */
  private start(c: Consumer, rows: JobRow[]): void {
    rows.sort((a, b) => a.run_at - b.run_at || a.seq - b.seq);
    for (const row of rows) {
      let payload: unknown;
      try {
        payload = JSON.parse(row.payload);
      } catch (e) {
        // Only a damaged file can hold this (payloads are written as JSON). Say so and leave the
        // row for a person (it stays active until the next start) rather than throw out of the
        // event loop.
        this.onError(e, `${c.queue} job ${row.id}: the stored payload is not JSON`);
        continue;
      }
      const job: Job<unknown> = {
        id: row.id,
        queue: row.queue,
        payload,
        attempts: row.attempts,
        firstAttemptAt: row.first_attempt_at,
        createdAt: row.created_at,
      };
      const run = this.run(c, job).finally(() => {
        c.inFlight.delete(run);
        this.wake(c.queue);
      });
      c.inFlight.add(run);
    }
  }

  private async run(c: Consumer, job: Job<unknown>): Promise<void> {
    let outcome: JobOutcome;
    try {
      outcome = await c.handler(job);
    } catch (e) {
      this.onError(e, `${c.queue} job ${job.id}`);
      outcome = { status: 'retry', delayMs: 1000, error: errorMessage(e) };
    }
    await this.record(c, job, outcome);
  }

  /**
   * Writes a job's outcome, trying again while the store cannot write (a full disk, a lock held
   * too long), so that a passing failure does not leave the job `active` until a restart runs it
   * again. Closing stops the trying: the job is then handed out again at the next start, and the
   * ledger keeps what it sent from going twice.
   */
  private async record(c: Consumer, job: Job<unknown>, outcome: JobOutcome): Promise<void> {
    for (let wait = 100; ; wait = Math.min(wait * 2, 5000)) {
      try {
        await this.group.run(() => {
          const now = this.now();
          if (outcome.status === 'done') this.stmt.done.run(job.id);
          else if (outcome.status === 'retry')
            this.stmt.retry.run(now + Math.max(0, outcome.delayMs), outcome.error, now, job.id);
          else this.stmt.fail.run(outcome.error, now, job.id);
        });
        return;
      } catch (e) {
        this.onError(e, `recording the outcome of ${c.queue} job ${job.id}`);
        if (this.stopping || this.closed) return;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  counts(queue: QueueName): Promise<QueueCounts> {
    const counts: QueueCounts = { waiting: 0, delayed: 0, active: 0, failed: 0 };
    const rows = this.stmt.counts.all({ queue, now: this.now() }) as Array<{
      state: string;
      later: number;
      n: number;
    }>;
    for (const r of rows) {
      if (r.state === 'waiting') counts[r.later ? 'delayed' : 'waiting'] += r.n;
      else if (r.state === 'active') counts.active += r.n;
      else if (r.state === 'failed') counts.failed += r.n;
    }
    return Promise.resolve(counts);
  }

  listFailed<T = unknown>(queue: QueueName, limit: number): Promise<FailedJob<T>[]> {
    const rows = this.stmt.listFailed.all(queue, limit) as Array<{
      id: string;
      queue: QueueName;
      payload: string;
      attempts: number;
      last_error: string | null;
      updated_at: number;
    }>;
    return Promise.resolve(
      rows.map((r) => ({
        id: r.id,
        queue: r.queue,
        payload: JSON.parse(r.payload) as T,
        attempts: r.attempts,
        error: r.last_error,
        failedAt: r.updated_at,
      })),
    );
  }

  removeFailed(queue: QueueName, ids: readonly string[]): Promise<number> {
    let removed = 0;
    this.db.transaction(() => {
      for (const id of ids) removed += this.stmt.removeFailed.run(queue, id).changes;
    })();
    return Promise.resolve(removed);
  }

  retryFailed(queue: QueueName, ids?: readonly string[]): Promise<number> {
    const now = this.now();
    let changed = 0;
    this.db.transaction(() => {
      if (ids === undefined) changed = this.stmt.retryAllFailed.run(now, now, queue).changes;
      else
        for (const id of ids) changed += this.stmt.retryOneFailed.run(now, now, queue, id).changes;
    })();
    if (changed > 0) this.wake(queue);
    return Promise.resolve(changed);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Stop handing out jobs; handlers in flight may still add their follow-up jobs (a created
      // lead's add event, a delivery), which are written before the queue refuses adds.
      this.stopping = true;
      for (const c of this.consumers.values()) if (c.timer) clearTimeout(c.timer);
      // Takes waiting for their commit start their jobs, which then are in flight too.
      for (;;) {
        const busy = [...this.consumers.values()].flatMap((c) => [
          ...(c.taking ? [c.taking] : []),
          ...c.inFlight,
        ]);
        if (busy.length === 0) break;
        await Promise.all(busy);
      }
      this.group.flush(); // adds already promised to callers are written before closing
      this.closed = true;
    })();
    return this.closing;
  }
}

function serialise(payload: unknown): string {
  const text = JSON.stringify(payload) as string | undefined;
  if (text === undefined) throw new TypeError('a job payload must be JSON (got undefined)');
  return text;
}
