/**
 * The upload loop of one Metrica counter: outbox → CSV batches → upload → status until final.
 *
 * Each tick (never two at once in a process):
 * 1. pending entries past the 21-day window become `expired`, recorded, never sent;
 * 2. a batch cut earlier and not known to be uploaded (a crash, a timeout, a 5xx) is sent again,
 *    but first, when an attempt had begun, the counter's uploads are searched for its `comment`
 *    (the batch id): found, it is taken as uploaded. An upload that got an id is never repeated.
 *    Each attempt first claims the batch in the outbox (a compare-and-set with a lease, renewed
 *    just before the upload is written), so of several workers on one Redis only one attempts a
 *    batch at a time; a worker that died lets its claim lapse and another takes over;
 * 3. when 1,000 rows wait (batch_rows), or the oldest has waited flush_seconds, batches are cut
 *    (one identifier type per file, never an empty one) and uploaded;
 * 4. uploads not final are read every poll_seconds until PROCESSED or LINKAGE_FAILURE; their counts
 *    are kept with the batch and each conversion's delivery-log row shows its upload and status. One
 *    with no final status after 24 h is reported (log, /metrics).
 * A 429 or 5xx waits as long as the quota says (the daily one until 00:00 GMT); a 400 "not open
 * yet" (VISIT_JOIN_THRESHOLD_UNMET) parks the batch until the date Metrica names; a permanent
 * refusal (400, 401, 403, 404) stops the counter's queue, durably (the outbox keeps the stop, so a
 * restart does not lift it), with what to do in the log, until `closeloop metrica resume`.
 * Requests per token go through a RequestGate: at most 2 in flight and a daily budget, for the
 * whole deployment on Redis.
 *
 * Orders mode (`metrica.mode: orders`): the batches are CRM orders (build-orders-csv.ts) sent to
 * simple_orders with `merge_mode=SAVE`. SAVE replaces each order by its id, so a batch whose answer
 * was lost is simply sent again (no search by comment), an accepted one is final at once (nothing
 * to poll), and entries expire 111 days after the deal was created instead of 21.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { isAppError, RetryableError } from '../../../core/errors';
import { errorMessage } from '../../../core/error-message';
import type { ConversionOutbox, OutboxBatch, OutboxEntry } from '../../../ports/conversion-outbox';
import { OUTBOX_ID_TYPES } from '../../../ports/conversion-outbox';
import type { DeliveryLog } from '../../../ports/delivery-log';
import type { RequestGate } from '../../../ports/request-gate';
import { buildCsv } from './build-csv';
import { buildOrdersCsv } from './build-orders-csv';
import { recordEntries, type EntriesRecord } from './metrica-delivery-rows';
import type { MetricaUploadClient, MetricaUploading } from './metrica-upload-client';
import { nextMidnightGmt } from './metrica-errors';
import {
  METRICA_ORDER_UPDATE_MS,
  METRICA_STUCK_MS,
  METRICA_WINDOW_MS,
  type MetricaSettings,
} from './metrica-settings';

export interface UploaderLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface MetricaUploaderDeps {
  /** The destination's id: the outbox queue. */
  queue: string;
  settings: MetricaSettings;
  outbox: ConversionOutbox;
  client: Pick<MetricaUploadClient, 'upload' | 'uploadOrders' | 'uploading' | 'uploadings'>;
  deliveryLog: DeliveryLog;
  logger: UploaderLogger;
  now: () => number;
  /** How often the loop looks (default 1 s). */
  tickMs?: number;
  /** Shared by every counter of the same token (store.createRequestGate). */
  gate: RequestGate;
  /** Who this loop is in batch claims (default host:pid:random). */
  owner?: string;
}

/** Another worker holds the batch: this one lets it be. */
class ClaimLost extends Error {}

const FINAL = new Set(['PROCESSED', 'LINKAGE_FAILURE']);

export class MetricaUploader {
  /** Why the queue is stopped (a permanent refusal, kept in the outbox), until resumed. */
  stopped: string | null = null;
  /** Uploads reported stuck (no final status after 24 h), for /metrics. */
  readonly stuck = new Set<string>();
  requests = 0;
  readonly queue: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly gate: RequestGate;
  private readonly owner: string;
  private readonly claimMs: number;
  /** `mode: orders`: the batches are CRM orders. */
  private readonly orders: boolean;

  constructor(private readonly deps: MetricaUploaderDeps) {
    this.queue = deps.queue;
    this.gate = deps.gate;
    this.owner = deps.owner ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    // Long enough for one request and its answer; renewed before the upload is written.
    this.claimMs = 2 * deps.settings.timeoutMs + 30_000;
    this.orders = deps.settings.mode === 'orders';
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.tickMs ?? 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; a pass already running is joined, not doubled. */
  tick(): Promise<void> {
    if (this.running === null) {
      this.running = this.pass()
        .catch((e: unknown) => {
          this.deps.logger.error('Metrica upload loop failed', {
            queue: this.deps.queue,
            error: errorMessage(e),
          });
        })
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }

  private async pass(): Promise<void> {
    const { outbox, queue, settings, now } = this.deps;
    const orders = this.orders;
    const window = orders ? METRICA_ORDER_UPDATE_MS : METRICA_WINDOW_MS;
    const expired = await outbox.expire(queue, Math.floor((now() - window) / 1000), now());
    for (const e of expired) {
      await this.record(
        [e],
        'expired',
        'METRICA_CONVERSION_EXPIRED',
        orders
          ? 'expired: the deal was created more than 111 days before its order could be uploaded, and Metrica no longer updates it; not uploaded'
          : 'expired: more than 21 days passed before it could be uploaded, so Metrica could not link it to a visit; not uploaded',
        null,
      );
    }
    if (await this.isStopped()) return;
    for (const b of await outbox.batches(queue, ['sending'])) {
      if (b.nextAt > now()) return; // waiting for a quota or Metrica: nothing new either
      const claimed = await this.claim(b.id);
      if (claimed === null) continue; // another worker is on it
      if (!(await this.send(claimed))) return;
    }
    for (;;) {
      const { count, oldestAt } = await outbox.pending(queue);
      if (
        count === 0 ||
        (count < settings.batchRows && now() - (oldestAt ?? now()) < settings.flushMs)
      )
        break;
      let cut = false;
      for (const t of OUTBOX_ID_TYPES) {
        const b = await outbox.cut(
          queue,
          t,
          `closeloop-${randomUUID()}`,
          settings.batchRows,
          now(),
        );
        if (b === null) continue;
        cut = true;
        const claimed = await this.claim(b.id);
        if (claimed !== null && !(await this.send(claimed))) return;
      }
      if (!cut) break;
    }
    await this.poll();
  }

  /** Takes (or extends) this loop's claim on the batch: the batch as it stands, or null. */
  private claim(batchId: string): Promise<OutboxBatch | null> {
    const now = this.deps.now();
    return this.deps.outbox.claim(batchId, this.owner, now + this.claimMs, now);
  }

  /** The stop kept in the outbox (set here, or lifted by `closeloop metrica resume`). */
  private async isStopped(): Promise<boolean> {
    const stop = (await this.deps.outbox.stops()).find((q) => q.queue === this.queue) ?? null;
    if (stop !== null && this.stopped === null) {
      this.deps.logger.error(
        `Metrica: the upload queue of counter ${stop.target} is stopped: ${stop.reason}`,
        {
          queue: this.queue,
          code: 'METRICA_QUEUE_STOPPED',
          since: new Date(stop.at).toISOString(),
        },
      );
    } else if (stop === null && this.stopped !== null) {
      this.deps.logger.info('Metrica: the upload queue is resumed', { queue: this.queue });
    }
    this.stopped = stop?.reason ?? null;
    return stop !== null;
  }

  /** Uploads the batch, claimed; false when the queue must wait (a quota, an outage, a stop). */
  private async send(batch: OutboxBatch): Promise<boolean> {
    const { outbox, client, now, settings } = this.deps;
    const orders = this.orders;
    try {
      if (batch.attempts > 0 && !orders) {
        // An attempt began before: Metrica may have it. Look for the batch id first.
        const list = await this.request(() => client.uploadings());
        if (list === null) return this.overBudget(batch);
        const found = list.find((u) => u.comment === batch.id);
        if (found !== undefined) {
          await this.uploaded(batch, found, 'found by its comment after an interrupted attempt');
          return true;
        }
      }
      const entries = await outbox.entries(batch.id);
      const csv = orders
        ? buildOrdersCsv(entries, settings.timeZone)
        : buildCsv(batch.idType, entries, Math.floor(now() / 1000));
      const up = await this.request(async () => {
        // Still ours? Renewed right before the request, so no other worker can attempt it now.
        const held = await this.claim(batch.id);
        if (held === null || held.attempts !== batch.attempts) throw new ClaimLost();
        // Durable before the request is written: a crash from here on is resolved by the comment.
        await outbox.update(
          batch.id,
          { attempts: batch.attempts + 1, nextAt: now() + 2 * settings.timeoutMs },
          now(),
        );
        return orders ? client.uploadOrders(csv) : client.upload(csv, batch.idType, batch.id);
      });
      if (up === null) return this.overBudget(batch);
      await this.uploaded({ ...batch, attempts: batch.attempts + 1 }, up, null, entries);
      return true;
    } catch (e) {
      if (e instanceof ClaimLost) return true;
      return this.failed(batch, e);
    } finally {
      await outbox.release(batch.id, this.owner);
    }
  }

  private async request<T>(work: () => Promise<T>): Promise<T | null> {
    this.requests++;
    return this.gate.run(this.deps.now(), work);
  }

  private async overBudget(batch: OutboxBatch): Promise<boolean> {
    const { now } = this.deps;
    await this.deps.outbox.update(
      batch.id,
      {
        nextAt: nextMidnightGmt(now()),
        error: `the day’s budget of ${this.gate.dailyRequests} requests is spent; resumes after 00:00 GMT`,
      },
      now(),
    );
    this.deps.logger.warn(
      'Metrica: the daily request budget is spent; uploads resume after 00:00 GMT',
      { queue: this.deps.queue },
    );
    return false;
  }

  private async uploaded(
    batch: OutboxBatch,
    up: MetricaUploading,
    how: string | null,
    known?: OutboxEntry[],
  ): Promise<void> {
    const { outbox, now, settings } = this.deps;
    const final = FINAL.has(up.status) || this.orders;
    await outbox.update(
      batch.id,
      {
        state: final ? 'done' : 'uploaded',
        uploadId: up.id,
        status: up.status,
        counts: up.counts,
        nextAt: now() + settings.pollMs,
        error: null,
      },
      now(),
    );
    this.deps.logger.info('Metrica upload accepted', {
      queue: this.deps.queue,
      batch: batch.id,
      upload: up.id,
      rows: batch.keys.length,
      status: up.status,
    });
    await this.report(
      { ...batch, uploadId: up.id, status: up.status, counts: up.counts },
      how,
      known,
    );
  }

  private async failed(batch: OutboxBatch, e: unknown): Promise<boolean> {
    const { outbox, now, logger, queue } = this.deps;
    const message = errorMessage(e);
    if (e instanceof RetryableError || !isAppError(e)) {
      // Unsaid: at the next flush, at most 30 s away.
      const wait =
        e instanceof RetryableError && e.retryAfterMs !== null
          ? e.retryAfterMs
          : Math.min(30_000, this.deps.settings.flushMs);
      await outbox.update(batch.id, { nextAt: now() + wait, error: message }, now());
      logger.warn('Metrica upload failed, will retry', {
        queue,
        batch: batch.id,
        error: message,
        delayMs: wait,
      });
      return false;
    }
    const details = e.details as { status?: number } | undefined;
    // A file Metrica cannot read is not sent again (resume queues its conversions anew); for a
    // token or counter problem the batch waits.
    const entries = await outbox.entries(batch.id);
    if (details?.status === 400) {
      await outbox.update(batch.id, { state: 'rejected', error: message }, now());
      await this.record(entries, 'failed', 'METRICA_UPLOAD_REJECTED', message, {
        batch: batch.id,
      });
    } else {
      await outbox.update(batch.id, { error: message }, now());
      await this.record(
        entries,
        'retrying',
        'METRICA_QUEUE_STOPPED',
        `waiting: the upload queue is stopped: ${message}`,
        { batch: batch.id },
      );
    }
    const counterId = this.deps.settings.counterId;
    await outbox.stop({ queue, target: counterId, reason: message, batchId: batch.id, at: now() });
    this.stopped = message;
    logger.error(
      `Metrica: the upload queue of counter ${counterId} is stopped until closeloop metrica resume: ${message}`,
      { queue, code: e.code },
    );
    return false;
  }

  /**
   * Reads the statuses of the uploads due: one upload by its own id, several with one list of
   * the counter's uploads (one request however many are open).
   */
  private async poll(): Promise<void> {
    const { outbox, client, now, settings, logger, queue } = this.deps;
    const due = (await outbox.batches(queue, ['uploaded'])).filter(
      (b) => b.nextAt <= now() && b.uploadId !== null,
    );
    if (due.length === 0) return;
    let answers: MetricaUploading[] | null;
    try {
      answers =
        due.length === 1
          ? await this.request(async () => [await client.uploading(due[0]!.uploadId!)])
          : await this.request(() => client.uploadings());
    } catch (e) {
      logger.warn('Metrica: upload statuses could not be read', { queue, error: errorMessage(e) });
      for (const b of due) await outbox.update(b.id, { nextAt: now() + settings.pollMs }, now());
      return;
    }
    if (answers === null) return;
    for (const b of due) {
      const up = answers.find((u) => u.id === b.uploadId);
      if (up === undefined) {
        await outbox.update(b.id, { nextAt: now() + settings.pollMs }, now());
        continue;
      }
      await this.followed(b, up);
    }
  }

  private async followed(b: OutboxBatch, up: MetricaUploading): Promise<void> {
    const { outbox, now, settings, logger, queue } = this.deps;
    const final = FINAL.has(up.status);
    await outbox.update(
      b.id,
      {
        state: final ? 'done' : 'uploaded',
        status: up.status,
        counts: up.counts,
        nextAt: now() + settings.pollMs,
      },
      now(),
    );
    if (final || up.status !== b.status)
      await this.report({ ...b, status: up.status, counts: up.counts }, null);
    if (!final && now() - b.createdAt > METRICA_STUCK_MS && !this.stuck.has(b.id)) {
      this.stuck.add(b.id);
      logger.error(
        'METRICA_UPLOAD_STUCK: an upload has had no final status for more than 24 hours',
        { queue, upload: b.uploadId, status: up.status },
      );
    }
    if (final) this.stuck.delete(b.id);
  }

  /** Each conversion's row: its upload, the upload's status and counts. */
  private async report(b: OutboxBatch, how: string | null, known?: OutboxEntry[]): Promise<void> {
    const c = b.counts;
    const counts =
      c === null
        ? ''
        : `: ${c.line} of ${c.source} rows valid, ${c.linked} linked, ${c.userNotFound} visitor not found, ${c.goalNotFound} goal not found`;
    const reason = `uploaded to Metrica as upload ${b.uploadId} (batch ${b.id}, ${b.keys.length} rows), status ${b.status}${counts}${how ? `; ${how}` : ''}`;
    const failedLink = b.status === 'LINKAGE_FAILURE';
    const payload = { upload: b.uploadId, batch: b.id, status: b.status, counts: b.counts };
    await this.record(
      known ?? (await this.deps.outbox.entries(b.id)),
      failedLink ? 'failed' : 'sent',
      failedLink ? 'METRICA_NOT_LINKED' : null,
      failedLink
        ? `${reason}; Metrica linked none of the rows to a visit (ClientIDs of another site, the window not open yet, or too old)`
        : reason,
      payload,
    );
  }

  private record(...what: EntriesRecord): Promise<void> {
    return recordEntries(this.deps.deliveryLog, this.deps.now(), ...what);
  }
}
