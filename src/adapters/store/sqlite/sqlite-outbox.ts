/**
 * The conversion outbox in the embedded store (tables `outbox` and `outbox_batches`). Each change
 * is one statement, or one transaction through the store's CommitGroup, so a cut never shares an
 * entry between batches and an upload id, once written, stays.
 */
import type {
  BatchChange,
  BatchState,
  ConversionOutbox,
  OutboxBatch,
  OutboxEntry,
  OutboxIdType,
} from '../../../ports/conversion-outbox';
import type { CommitGroup } from './commit-group';
import type { SqliteDatabase } from './open-sqlite-database';

interface EntryRow {
  key: string;
  queue: string;
  id_type: string;
  visitor: string;
  target: string;
  date_time: number;
  price: string | null;
  currency: string | null;
  added_at: number;
  trace: string;
  order_id: string | null;
}

interface BatchRow {
  id: string;
  queue: string;
  id_type: string;
  state: string;
  created_at: number;
  attempts: number;
  upload_id: string | null;
  status: string | null;
  counts: string | null;
  next_at: number;
  error: string | null;
  updated_at: number;
}

export class SqliteOutbox implements ConversionOutbox {
  private readonly insert;
  private readonly countPending;
  private readonly selectExpired;
  private readonly markExpired;
  private readonly selectCut;
  private readonly markBatched;
  private readonly insertBatch;
  private readonly selectBatch;
  private readonly selectKeys;
  private readonly selectEntries;
  private readonly updateBatch;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly group: CommitGroup,
  ) {
    this.insert = db.prepare(
      `INSERT INTO outbox (key, queue, id_type, visitor, target, date_time, price, currency,
         added_at, trace, order_id, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
       ON CONFLICT (key) DO NOTHING`,
    );
    this.countPending = db.prepare(
      `SELECT COUNT(*) AS n, MIN(added_at) AS oldest FROM outbox WHERE queue = ? AND state = 'pending'`,
    );
    this.selectExpired = db.prepare(
      `SELECT * FROM outbox WHERE queue = ? AND state = 'pending' AND date_time < ? ORDER BY added_at, key`,
    );
    this.markExpired = db.prepare(`UPDATE outbox SET state = 'expired' WHERE key = ?`);
    this.selectCut = db.prepare(
      `SELECT key FROM outbox WHERE queue = ? AND state = 'pending' AND id_type = ?
       ORDER BY added_at, key LIMIT ?`,
    );
    this.markBatched = db.prepare(
      `UPDATE outbox SET state = 'batched', batch_id = ? WHERE key = ? AND state = 'pending'`,
    );
    this.insertBatch = db.prepare(
      `INSERT INTO outbox_batches (id, queue, id_type, state, created_at, attempts, next_at, updated_at)
       VALUES (?, ?, ?, 'sending', ?, 0, ?, ?)`,
    );
    this.selectBatch = db.prepare(`SELECT * FROM outbox_batches WHERE id = ?`);
    this.selectKeys = db.prepare(
      `SELECT key FROM outbox WHERE batch_id = ? ORDER BY added_at, key`,
    );
    this.selectEntries = db.prepare(
      `SELECT * FROM outbox WHERE batch_id = ? ORDER BY added_at, key`,
    );
    // An upload id, once there, is kept, and the batch never goes back to sending.
    this.updateBatch = db.prepare(
      `UPDATE outbox_batches SET
         state = CASE WHEN upload_id IS NOT NULL AND @state = 'sending' THEN state ELSE COALESCE(@state, state) END,
         attempts = COALESCE(@attempts, attempts),
         upload_id = COALESCE(upload_id, @upload_id),
         status = COALESCE(@status, status),
         counts = COALESCE(@counts, counts),
         next_at = COALESCE(@next_at, next_at),
         error = CASE WHEN @set_error = 1 THEN @error ELSE error END,
         updated_at = @now
       WHERE id = @id`,
    );
  }

  add(entries: readonly OutboxEntry[]): Promise<number> {
    return this.group.run(() => {
      let added = 0;
      for (const e of entries) {
        added += this.insert.run(
          e.key,
          e.queue,
          e.idType,
          e.visitor,
          e.target,
          e.dateTime,
          e.price,
          e.currency,
          e.addedAt,
          JSON.stringify(e.trace ?? null),
          e.orderId ?? null,
        ).changes;
      }
      return added;
    });
  }

  pending(queue: string): Promise<{ count: number; oldestAt: number | null }> {
    const row = this.countPending.get(queue) as { n: number; oldest: number | null };
    return Promise.resolve({ count: row.n, oldestAt: row.oldest });
  }

  expire(queue: string, beforeSec: number): Promise<OutboxEntry[]> {
    return this.group.run(() => {
      const rows = this.selectExpired.all(queue, beforeSec) as EntryRow[];
      for (const r of rows) this.markExpired.run(r.key);
      return rows.map(entryOf);
    });
  }

  cut(
    queue: string,
    idType: OutboxIdType,
    batchId: string,
    max: number,
    nowMs: number,
  ): Promise<OutboxBatch | null> {
    return this.group.run(() => {
      const keys = (this.selectCut.all(queue, idType, max) as Array<{ key: string }>).map(
        (r) => r.key,
      );
      if (keys.length === 0) return null;
      this.insertBatch.run(batchId, queue, idType, nowMs, nowMs, nowMs);
      for (const key of keys) this.markBatched.run(batchId, key);
      return this.read(batchId);
    });
  }

  batches(queue: string, states: readonly BatchState[]): Promise<OutboxBatch[]> {
    if (states.length === 0) return Promise.resolve([]);
    const rows = this.db
      .prepare(
        `SELECT * FROM outbox_batches WHERE queue = ? AND state IN (${states.map(() => '?').join(', ')})
         ORDER BY created_at, id`,
      )
      .all(queue, ...states) as BatchRow[];
    return Promise.resolve(rows.map((r) => this.batchOf(r)));
  }

  batch(batchId: string): Promise<OutboxBatch | null> {
    return Promise.resolve(this.read(batchId));
  }

  entries(batchId: string): Promise<OutboxEntry[]> {
    return Promise.resolve((this.selectEntries.all(batchId) as EntryRow[]).map(entryOf));
  }

  update(batchId: string, change: BatchChange, nowMs: number): Promise<void> {
    return this.group.run(() => {
      this.updateBatch.run({
        id: batchId,
        state: change.state ?? null,
        attempts: change.attempts ?? null,
        upload_id: change.uploadId ?? null,
        status: change.status ?? null,
        counts: change.counts ? JSON.stringify(change.counts) : null,
        next_at: change.nextAt ?? null,
        set_error: change.error === undefined ? 0 : 1,
        error: change.error ?? null,
        now: nowMs,
      });
    });
  }

  private read(batchId: string): OutboxBatch | null {
    const row = this.selectBatch.get(batchId) as BatchRow | undefined;
    return row === undefined ? null : this.batchOf(row);
  }

  private batchOf(r: BatchRow): OutboxBatch {
    return {
      id: r.id,
      queue: r.queue,
      idType: r.id_type as OutboxIdType,
      state: r.state as BatchState,
      keys: (this.selectKeys.all(r.id) as Array<{ key: string }>).map((k) => k.key),
      createdAt: r.created_at,
      attempts: r.attempts,
      uploadId: r.upload_id,
      status: r.status,
      counts: r.counts === null ? null : (JSON.parse(r.counts) as OutboxBatch['counts']),
      nextAt: r.next_at,
      error: r.error,
      updatedAt: r.updated_at,
    };
  }
}

function entryOf(r: EntryRow): OutboxEntry {
  return {
    key: r.key,
    queue: r.queue,
    idType: r.id_type as OutboxIdType,
    visitor: r.visitor,
    target: r.target,
    dateTime: r.date_time,
    price: r.price,
    currency: r.currency,
    addedAt: r.added_at,
    trace: JSON.parse(r.trace) as unknown,
    ...(r.order_id === null ? {} : { orderId: r.order_id }),
  };
}
