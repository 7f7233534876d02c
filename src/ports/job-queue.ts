/**
 * JobQueue: durable work between the webhook and the destinations.
 *
 * Contract (every backend; the contract suite in test/contract checks it):
 * - `add` resolves only once the jobs are durable: after a crash and restart they are processed.
 *   A job whose `id` is already in the queue (waiting, delayed, active or failed) is ignored, so a
 *   retried producer cannot enqueue the same work twice.
 * - Each job is handed to exactly one handler at a time. A job whose handler was running when the
 *   process died is handed out again after restart (at-least-once); handlers are idempotent
 *   (the ledger makes delivery so).
 * - The handler decides the outcome: `done` removes the job, `retry` brings it back after
 *   `delayMs` with `attempts` increased, `failed` keeps it as failed (visible, replayable with
 *   `retryFailed`), never run again on its own. A handler that throws is treated as `retry` after
 *   one second: handlers are expected to return outcomes, a throw is a bug, not a policy.
 * - Jobs of one queue are started in the order they became ready: a job is ready when it is added,
 *   or at its `runAt` when that lies in the future (a `runAt` in the past means "now", not "before
 *   the jobs already waiting"); a delayed or retried job is ready once its time has come and the
 *   queue has seen it (within a poll interval). With concurrency > 1 they may finish in any
 *   order. No ordering across queues. (One process: across several worker processes only "first
 *   ready, first handed out" holds.)
 * - `close()` stops taking new jobs and resolves once every handler in flight has finished.
 *
 * Out of scope: retry policy (src/core/retry-policy.ts decides, the handler returns it), priorities.
 */

export const QUEUE_NAMES = ['inbound', 'deliver', 'create_lead'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export interface NewJob<T> {
  /** Deduplication id; a random one when absent. */
  id?: string;
  payload: T;
  /** Unix ms; now when absent or in the past. */
  runAt?: number;
}

/**
 * The run's hold on its job, where the queue can lose it while the handler still runs (Redis: the
 * job lock lapses during an outage longer than the lock, and another worker takes the job). A
 * write that must come from the job's current run only (the ledger claim) passes it, and the store
 * refuses the write unless `key` still holds `token`. Absent where a run cannot lose its job (the
 * embedded queue: one process owns it).
 */
export interface Fence {
  key: string;
  token: string;
}

export interface Job<T> {
  id: string;
  /** See Fence. */
  fence?: Fence;
  queue: QueueName;
  payload: T;
  /** Attempts before this one (0 on the first run). */
  attempts: number;
  /** Unix ms of the first attempt (this one, when `attempts` is 0). */
  firstAttemptAt: number;
  createdAt: number;
}

export type JobOutcome =
  | { status: 'done' }
  | { status: 'retry'; delayMs: number; error: string }
  | { status: 'failed'; error: string };

export type JobHandler<T> = (job: Job<T>) => Promise<JobOutcome>;

export interface QueueCounts {
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
}

export interface FailedJob<T = unknown> {
  id: string;
  queue: QueueName;
  payload: T;
  attempts: number;
  error: string | null;
  failedAt: number;
}

export interface JobQueue {
  add<T>(queue: QueueName, jobs: readonly NewJob<T>[]): Promise<void>;
  process<T>(queue: QueueName, handler: JobHandler<T>, options: { concurrency: number }): void;
  counts(queue: QueueName): Promise<QueueCounts>;
  /** Failed jobs, most recently failed first. */
  listFailed<T = unknown>(queue: QueueName, limit: number): Promise<FailedJob<T>[]>;
  /** Deletes failed jobs (after a replay re-enqueued their work); returns how many. */
  removeFailed(queue: QueueName, ids: readonly string[]): Promise<number>;
  /** Puts failed jobs back to waiting (all of the queue when `ids` is absent); returns how many. */
  retryFailed(queue: QueueName, ids?: readonly string[]): Promise<number>;
  close(): Promise<void>;
}
