/**
 * The job queue on Redis through BullMQ: one BullMQ `Queue` per QueueName (`<prefix>` + name, e.g.
 * `closeloop-deliver`), one `Worker` per `process()` call, so any number of processes share the
 * work.
 *
 * How the port maps onto BullMQ:
 * - Dedupe: our id is BullMQ's `jobId`, and BullMQ ignores an add whose job already exists (waiting,
 *   delayed, active or failed; completed jobs are removed, so their id is free again). BullMQ
 *   refuses ids containing ':', so ids are encoded reversibly ('%' → '%25', ':' → '%3A').
 * - Retries are ours, not BullMQ's: every job has `attempts: 1`, and our own `attempts`,
 *   `firstAttemptAt` and `createdAt` live in the job data envelope. `retry` moves the job to delayed
 *   (same id) and throws `DelayedError`, BullMQ's documented manual-delay pattern; `failed` throws
 *   `UnrecoverableError`, so it lands in the failed set and is never retried by BullMQ.
 * - A job whose worker died (its lock expired) is handed out again by the stalled-job checker of
 *   any live worker (at-least-once). Each run carries a fence (its lock key and token), so a run
 *   that lost its job while still alive cannot claim conversions beside the job's new run. A
 *   finished run clears BullMQ's stall count: `maxStalledCount` counts stalls in a row.
 * - Adds of one event-loop turn go to Redis as one `addBulk` (group commit).
 * - Durability: `add` resolves when Redis has the jobs. A crash of the Redis server itself loses
 *   them unless Redis runs with AOF (`appendonly yes`, `appendfsync everysec` or `always`).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DelayedError, Job as BullJob, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import { AppError } from '../../../core/errors';
import { asClause, errorMessage } from '../../../core/error-message';
import { withTimeout } from '../../with-timeout';
import {
  QUEUE_NAMES,
  type FailedJob,
  type JobHandler,
  type JobOutcome,
  type JobQueue,
  type NewJob,
  type QueueCounts,
  type QueueName,
} from '../../../ports/job-queue';

/** What a BullMQ job carries: the payload and our own bookkeeping (BullMQ's retries are unused). */
interface Envelope {
  payload: unknown;
  attempts: number;
  /** null until the first attempt (then the job's `processedOn` stands for it). */
  firstAttemptAt: number | null;
  createdAt: number;
}

export interface BullmqJobQueueOptions {
  /**
   * Opens a Redis connection (`worker` connections must have `maxRetriesPerRequest: null`, as
   * BullMQ requires). The queue owns what this returns and quits it on `close()`.
   */
  createConnection: (role: 'queue' | 'worker') => Redis;
  /**
   * Whether the queue owns the connections `createConnection` gives (default true): it reports
   * their errors and quits them on `close()`. False when the caller shares them, reports their
   * errors (ioredis needs an 'error' listener) and quits them itself.
   */
  ownsConnections?: boolean;
  /** Prefix of the BullMQ queue names (default `closeloop-`); tests use a unique one each. */
  prefix?: string;
  /** BullMQ key prefix (default `bull`). */
  keyPrefix?: string;
  /**
   * Give up on an add after this long (the caller answers 503 and is asked again). The jobs may
   * still land later; ids dedupe repeats, and the ledger repeated lead events. Default: no limit.
   */
  addTimeoutMs?: number;
  /** How long a worker's lock on a job lasts without renewal (BullMQ default 30 s). */
  lockDuration?: number;
  /** How often workers look for jobs whose lock expired (BullMQ default 30 s). */
  stalledInterval?: number;
  /**
   * How many times a job may be found stalled (its worker died or froze past its lock) and be
   * handed out again before it is failed (visible, replayable). Default 5: a crash or two must not
   * fail a job; a job that kills every worker it touches must not do so forever.
   */
  maxStalledCount?: number;
  onError?: (error: unknown, context: string) => void;
}

type BulkJob = { name: string; data: Envelope; opts: JobsOptions };

interface PendingAdd {
  jobs: BulkJob[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** A handler that throws is retried after this long (the port's rule). */
const THROWN_RETRY_MS = 1000;

/** Reversible: BullMQ refuses ':' in custom job ids. */
export function encodeJobId(id: string): string {
  return id.replace(/%/g, '%25').replace(/:/g, '%3A');
}

export function decodeJobId(id: string): string {
  return id.replace(/%3A/g, ':').replace(/%25/g, '%');
}

export class BullmqJobQueue implements JobQueue {
  private readonly prefix: string;
  private readonly keyPrefix: string | undefined;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly connections: Redis[] = [];
  private readonly queueConnection: Redis;
  private readonly queues = new Map<QueueName, Queue>();
  private readonly workers = new Map<QueueName, Worker>();
  private readonly adding = new Set<Promise<unknown>>();
  private readonly pendingAdds = new Map<QueueName, PendingAdd[]>();
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly options: BullmqJobQueueOptions) {
    this.prefix = options.prefix ?? 'closeloop-';
    this.keyPrefix = options.keyPrefix;
    this.onError = options.onError ?? (() => undefined);
    this.queueConnection = this.connect('queue');
  }

  private connect(role: 'queue' | 'worker'): Redis {
    const connection = this.options.createConnection(role);
    if (this.options.ownsConnections !== false) {
      connection.on('error', (e) => this.onError(e, `redis ${role} connection`));
      this.connections.push(connection);
    }
    return connection;
  }

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(this.prefix + name, {
        connection: this.queueConnection,
        ...(this.keyPrefix === undefined ? {} : { prefix: this.keyPrefix }),
      });
      q.on('error', (e) => this.onError(e, `queue ${name}`));
      this.queues.set(name, q);
      const created = q;
      // BullMQ sets a queue up once (it checks the server) and keeps a failed set-up for good, so
      // one Redis stall at the wrong moment would refuse every later add: start again instead.
      created.waitUntilReady().catch((e: unknown) => {
        if (this.queues.get(name) === created) this.queues.delete(name);
        this.onError(e, `setting up queue ${name}`);
        created.close().catch(() => undefined);
      });
    }
    return q;
  }

  /** Sets up every queue now (start-up), so the first webhook does not pay for it. */
  async ready(): Promise<void> {
    await Promise.all(QUEUE_NAMES.map((name) => this.queue(name).waitUntilReady()));
  }

  add<T>(queue: QueueName, jobs: readonly NewJob<T>[]): Promise<void> {
    if (this.closed)
      return Promise.reject(new AppError('STORE_UNAVAILABLE', 'the job queue is closed'));
    if (jobs.length === 0) return Promise.resolve();
    const now = Date.now();
    let bulk: BulkJob[];
    try {
      bulk = jobs.map((j) => {
        // Checked here so a payload that is not JSON fails its own caller with a TypeError.
        if ((JSON.stringify(j.payload) as string | undefined) === undefined)
          throw new TypeError('a job payload must be JSON (got undefined)');
        const data: Envelope = {
          payload: j.payload,
          attempts: 0,
          firstAttemptAt: null,
          createdAt: now,
        };
        return {
          name: queue,
          data,
          opts: {
            jobId: encodeJobId(j.id ?? randomUUID()),
            timestamp: now,
            delay: Math.max(0, (j.runAt ?? now) - now),
            attempts: 1,
            removeOnComplete: true,
            removeOnFail: false,
          },
        };
      });
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    // Group commit, as in the embedded queue: adds of one event-loop turn go as one addBulk (one
    // round trip), and all resolve when Redis has them.
    const adding = new Promise<void>((resolve, reject) => {
      let batch = this.pendingAdds.get(queue);
      if (!batch) {
        batch = [];
        this.pendingAdds.set(queue, batch);
        setImmediate(() => this.flushAdds(queue));
      }
      batch.push({ jobs: bulk, resolve, reject });
    });
    // close() waits for adds already promised to callers.
    this.adding.add(adding);
    void adding.catch(() => undefined).finally(() => this.adding.delete(adding));
    return adding;
  }

  private flushAdds(queue: QueueName): void {
    const batch = this.pendingAdds.get(queue) ?? [];
    this.pendingAdds.delete(queue);
    if (batch.length === 0) return;
    const limit = this.options.addTimeoutMs;
    const adding = this.queue(queue).addBulk(batch.flatMap((p) => p.jobs));
    void (
      limit === undefined
        ? adding
        : withTimeout(adding, limit, () => new Error(`no answer within ${limit} ms`))
    ).then(
      () => {
        for (const p of batch) p.resolve();
      },
      (e: unknown) => {
        const err = new AppError(
          'STORE_UNAVAILABLE',
          `Redis could not take the jobs: ${asClause(errorMessage(e))}`,
          { cause: e, retryable: true },
        );
        for (const p of batch) p.reject(err);
      },
    );
  }

  process<T>(queue: QueueName, handler: JobHandler<T>, options: { concurrency: number }): void {
    if (this.closed) throw new AppError('STORE_UNAVAILABLE', 'the job queue is closed');
    if (this.workers.has(queue)) throw new Error(`queue ${queue} already has a consumer`);
    const worker = new Worker<Envelope>(
      this.prefix + queue,
      (job, token) => this.run(queue, handler as JobHandler<unknown>, job, token),
      {
        connection: this.connect('worker'),
        concurrency: Math.max(1, options.concurrency),
        ...(this.keyPrefix === undefined ? {} : { prefix: this.keyPrefix }),
        ...(this.options.lockDuration === undefined
          ? {}
          : { lockDuration: this.options.lockDuration }),
        ...(this.options.stalledInterval === undefined
          ? {}
          : { stalledInterval: this.options.stalledInterval }),
        maxStalledCount: this.options.maxStalledCount ?? 5,
      },
    );
    worker.on('error', (e) => this.onError(e, `worker ${queue}`));
    this.workers.set(queue, worker);
  }

  private async run(
    queue: QueueName,
    handler: JobHandler<unknown>,
    job: BullJob<Envelope>,
    token: string | undefined,
  ): Promise<void> {
    const data = job.data;
    const firstAttemptAt = data.firstAttemptAt ?? job.processedOn ?? Date.now();
    const id = decodeJobId(job.id ?? '');
    let outcome: JobOutcome;
    try {
      outcome = await handler({
        id,
        queue,
        payload: data.payload,
        attempts: data.attempts,
        firstAttemptAt,
        createdAt: data.createdAt,
        // BullMQ's lock on this run (`<job key>:lock` holds the token while the run owns the job).
        ...(token === undefined
          ? {}
          : { fence: { key: this.lockKey(queue, job.id ?? ''), token } }),
      });
    } catch (e) {
      this.onError(e, `${queue} job ${id}`);
      outcome = { status: 'retry', delayMs: THROWN_RETRY_MS, error: errorMessage(e) };
    }
    if (outcome.status === 'done') return; // completed, and removed (removeOnComplete)
    const next: Envelope = { ...data, attempts: data.attempts + 1, firstAttemptAt };
    await job.updateData(next);
    if (outcome.status === 'failed') throw new UnrecoverableError(outcome.error);
    // This run finished: stalls count in a row, not over the job's life of retries and deploys.
    await this.resetStalls(queue, job.id ?? '');
    await job.moveToDelayed(Date.now() + Math.max(0, outcome.delayMs), token);
    throw new DelayedError(outcome.error);
  }

  /** BullMQ's key of a job: `<prefix>:<queue name>:<job id>` (its lock: that + `:lock`). */
  private jobKey(queue: QueueName, bullId: string): string {
    return `${this.keyPrefix ?? 'bull'}:${this.prefix}${queue}:${bullId}`;
  }

  private lockKey(queue: QueueName, bullId: string): string {
    return `${this.jobKey(queue, bullId)}:lock`;
  }

  /** Zeroes BullMQ's count of the job's stalls (`stc`), which maxStalledCount is checked against. */
  private async resetStalls(queue: QueueName, bullId: string): Promise<void> {
    await this.queueConnection.hdel(this.jobKey(queue, bullId), 'stc');
  }

  async counts(queue: QueueName): Promise<QueueCounts> {
    const c = await this.queue(queue).getJobCounts(
      'waiting',
      'prioritized',
      'delayed',
      'active',
      'failed',
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      delayed: c.delayed ?? 0,
      active: c.active ?? 0,
      failed: c.failed ?? 0,
    };
  }

  async listFailed<T = unknown>(queue: QueueName, limit: number): Promise<FailedJob<T>[]> {
    if (limit <= 0) return [];
    const jobs = (await this.queue(queue).getFailed(0, limit - 1)) as Array<BullJob<Envelope>>;
    return jobs
      .filter((j) => j !== undefined && j !== null)
      .slice(0, limit)
      .map((j) => ({
        id: decodeJobId(j.id ?? ''),
        queue,
        payload: j.data.payload as T,
        attempts: j.data.attempts,
        error: j.failedReason ?? null,
        failedAt: j.finishedOn ?? j.timestamp,
      }));
  }

  private async failedJob(queue: QueueName, id: string): Promise<BullJob<Envelope> | undefined> {
    const job = await BullJob.fromId<Envelope>(this.queue(queue), id);
    if (!job || !(await job.isFailed())) return undefined;
    return job;
  }

  async removeFailed(queue: QueueName, ids: readonly string[]): Promise<number> {
    let removed = 0;
    for (const id of ids) {
      const job = await this.failedJob(queue, encodeJobId(id));
      if (!job) continue;
      // A replay may race with another process retrying the same job; removing a job that left
      // the failed set in between is refused by BullMQ (it is locked or gone).
      try {
        await job.remove();
        removed++;
      } catch (e) {
        this.onError(e, `removing failed ${queue} job ${id}`);
      }
    }
    return removed;
  }

  async retryFailed(queue: QueueName, ids?: readonly string[]): Promise<number> {
    const jobs: Array<BullJob<Envelope>> = [];
    if (ids === undefined) {
      const all = (await this.queue(queue).getFailed(0, -1)) as Array<BullJob<Envelope>>;
      jobs.push(...all.filter((j) => j !== undefined && j !== null));
    } else {
      for (const id of ids) {
        const job = await this.failedJob(queue, encodeJobId(id));
        if (job) jobs.push(job);
      }
    }
    let retried = 0;
    for (const job of jobs) {
      try {
        await job.updateData({ ...job.data, attempts: 0, firstAttemptAt: null });
        await this.resetStalls(queue, job.id ?? '');
        await job.retry('failed'); // refuses a job that is no longer failed
        retried++;
      } catch (e) {
        this.onError(e, `retrying failed ${queue} job ${job.id ?? ''}`);
      }
    }
    return retried;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // Worker.close() stops taking jobs and waits for the ones in flight, which may still add
      // their follow-up jobs (a created lead's add event, a delivery); adds are refused after.
      await Promise.allSettled([...this.workers.values()].map((w) => w.close()));
      this.closed = true;
      await Promise.allSettled([...this.adding]);
      await Promise.allSettled(
        QUEUE_NAMES.flatMap((n) => {
          const q = this.queues.get(n);
          return q ? [q.close()] : [];
        }),
      );
      await Promise.allSettled(
        this.connections.filter((c) => c.status !== 'end').map((c) => c.quit()),
      );
    })();
    return this.closing;
  }
}
