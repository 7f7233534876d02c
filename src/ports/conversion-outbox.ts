/**
 * ConversionOutbox: conversions waiting to be uploaded in batches (Yandex Metrica's CSV uploads),
 * and the batches themselves, durably, so that a batch destination uploads each conversion at most
 * once across retries, crashes and restarts.
 *
 * An entry's life: `add` (pending) → `cut` into a batch (batched), or `expire` (expired: too old
 * for the destination to link). A batch's life: `sending` (cut; not known to have reached the
 * destination) → `uploaded` (the destination gave it an id: it is never uploaded again) → `done`
 * (a final status); or `rejected` (refused for good). Every change of a batch is `update`.
 *
 * Contract:
 * - `add` is idempotent per key: an entry whose key is in the outbox already (pending, batched or
 *   expired) is left as it is, whatever the new entry says. Resolves when durable; returns how
 *   many were new.
 * - `cut` is atomic across every process sharing the store: it moves up to `max` pending entries
 *   of one queue and identifier type, oldest first, into a new batch in state `sending`, so no
 *   entry is in two batches; null when there are none.
 * - `update` of a batch that has an `uploadId` never sets another one nor moves it back to
 *   `sending`: an upload that got an id is never repeated.
 * - `batches` lists a queue's batches in the given states, oldest first; they survive a restart.
 *
 * - An entry's `orderId`, when set, comes back from `entries` and `expire` as it went in.
 *
 * Out of scope: the upload itself, quotas and polling (the destination's adapter), pruning (one
 * short row per conversion and per batch).
 */

export const OUTBOX_ID_TYPES = ['ClientId', 'Yclid'] as const;
export type OutboxIdType = (typeof OUTBOX_ID_TYPES)[number];

export interface OutboxEntry {
  /** The conversion's ledger key: unique in the outbox. */
  key: string;
  /** The queue it waits in: one per destination (a Metrica counter), its id. */
  queue: string;
  idType: OutboxIdType;
  /** The visitor's identifier of that type (a ClientID or a yclid), always text. */
  visitor: string;
  /** The goal it counts as. */
  target: string;
  /** When it happened, Unix seconds. */
  dateTime: number;
  /** Decimal with a dot, or null. */
  price: string | null;
  currency: string | null;
  /** Unix ms when it entered the outbox. */
  addedAt: number;
  /** The delivery-log row this entry's upload updates (plain JSON). */
  trace: unknown;
  /**
   * Set for a CRM order rather than a conversion (Metrica's orders mode): the order's id. Then
   * `target` is the order's status and `dateTime` when the order was created.
   */
  orderId?: string;
}

export const BATCH_STATES = ['sending', 'uploaded', 'done', 'rejected'] as const;
export type BatchState = (typeof BATCH_STATES)[number];

/** The destination's report on one upload (Metrica: `line_quantity`, `linked_quantity`, …). */
export interface UploadCounts {
  source: number;
  line: number;
  linked: number;
  userNotFound: number;
  goalNotFound: number;
}

export interface OutboxBatch {
  id: string;
  queue: string;
  idType: OutboxIdType;
  state: BatchState;
  /** Its entries' keys, oldest first. */
  keys: string[];
  createdAt: number;
  /** Upload attempts begun (counted before each request is written). */
  attempts: number;
  /** The destination's id of the upload; once set, never changed. */
  uploadId: string | null;
  /** The destination's status of the upload (`UPLOADED`, `PROCESSED`, …). */
  status: string | null;
  counts: UploadCounts | null;
  /** Unix ms: not to be acted on (retried, polled) before then. */
  nextAt: number;
  /** Why the last attempt failed, or why the batch was rejected. */
  error: string | null;
  updatedAt: number;
}

export type BatchChange = Partial<
  Pick<OutboxBatch, 'state' | 'attempts' | 'uploadId' | 'status' | 'counts' | 'nextAt' | 'error'>
>;

export interface ConversionOutbox {
  add(entries: readonly OutboxEntry[]): Promise<number>;
  /** How many entries of the queue are pending, and when the oldest was added (null: none). */
  pending(queue: string): Promise<{ count: number; oldestAt: number | null }>;
  /** Pending entries of the queue that happened before `beforeSec` become expired; returned. */
  expire(queue: string, beforeSec: number, nowMs: number): Promise<OutboxEntry[]>;
  cut(
    queue: string,
    idType: OutboxIdType,
    batchId: string,
    max: number,
    nowMs: number,
  ): Promise<OutboxBatch | null>;
  batches(queue: string, states: readonly BatchState[]): Promise<OutboxBatch[]>;
  batch(batchId: string): Promise<OutboxBatch | null>;
  /** The batch's entries, oldest first. */
  entries(batchId: string): Promise<OutboxEntry[]>;
  update(batchId: string, change: BatchChange, nowMs: number): Promise<void>;
}
