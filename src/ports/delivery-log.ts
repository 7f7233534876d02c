/**
 * DeliveryLog: what happened to every deal event, for the person asking "why is this deal not in
 * GA4?". One row per delivery: sent, dry run, skipped (and why), duplicate, retrying (and why),
 * failed (and why), uncertain (a crash interrupted the send), expired (too late for the
 * destination to count it), with its attempts, its last error
 * and the payload as sent or as it would have been sent, minus secrets.
 *
 * Contract:
 * - `record` is durable when it resolves. A record with a `key` updates the row of that key (its
 *   outcome, reason, attempts, payload; `firstAt` stays), so a delivery retried a hundred times
 *   is one row, and retries never push history out; without a key it adds a row of its own.
 * - The log is bounded by count and by age; pruning never removes a row still pending (`retrying`,
 *   `uncertain`), and says what it removed (`onPruned`). `counts()` stays exact whatever was
 *   pruned: every delivery counts once, in its latest outcome.
 * - `list` returns newest first (by id: the order rows were first written), filtered; `beforeId`
 *   pages (keyset: a page costs the same however deep).
 */
import type { ErrorCode } from '../core/errors';
import type { DealEventKind } from '../core/deal';

export const DELIVERY_OUTCOMES = [
  'sent',
  'dry_run',
  'skipped',
  'duplicate',
  'retrying',
  'failed',
  'uncertain',
  'expired',
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** Outcomes a delivery can still leave (a retry, a person's replay): never pruned. */
export const PENDING_OUTCOMES: readonly DeliveryOutcome[] = ['retrying', 'uncertain'];

export interface DeliveryRecord {
  at: number;
  /** The closeloop account (`default` unless the config names several). */
  account: string;
  /** The CRM adapter (`amocrm`, `generic`). */
  source: string;
  /** The account in that CRM (amoCRM's account id). */
  crmAccount: string;
  dealId: string;
  kind: DealEventKind;
  stageId: string | null;
  jobId: string;
  /** The destination's id (`ga4`, `shop/ga4`); null for a row about no destination in particular. */
  destination: string | null;
  outcome: DeliveryOutcome;
  code: ErrorCode | null;
  reason: string | null;
  events: string[];
  /** The request(s) as sent or as they would have been sent; never contains secrets. */
  payload: unknown;
  attempts: number;
  /** The delivery the row tells of; a later record with the same key updates the row. */
  key?: string;
  /** The deal's utm_source / utm_medium, when it has either (the console groups by them). */
  utm?: { source: string | null; medium: string | null };
}

/** A row as the log keeps it. */
export interface StoredDelivery extends DeliveryRecord {
  id: number;
  /** When the row was first written; `at` is its latest update. */
  firstAt: number;
}

export interface DeliveryLogFilter {
  outcome?: DeliveryOutcome;
  dealId?: string;
  account?: string;
  destination?: string;
  /** Rows first written at or after / before these Unix ms. */
  since?: number;
  until?: number;
  /** Rows whose events include this event name. */
  event?: string;
  /**
   * Rows where this text appears (case-insensitive for ASCII letters) in the deal id, the
   * destination, the code, the reason or an event name: the console's search box.
   */
  text?: string;
  /** Paging: rows older than this id. */
  beforeId?: number;
  limit?: number;
}

export type OutcomeCounts = Record<DeliveryOutcome, number>;

export interface PruneReport {
  /** Rows removed, by outcome. */
  removed: Partial<OutcomeCounts>;
  reason: 'count' | 'age';
}

export interface DeliveryLogLimits {
  maxRows: number;
  /** Rows older than this (by their latest update) are removed; Infinity: none by age. */
  maxAgeMs: number;
  onPruned?: (report: PruneReport) => void;
}

/** The text search's case folding: ASCII letters lowered, every other character as it is. */
export function foldSearchText(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export function zeroCounts(): OutcomeCounts {
  return Object.fromEntries(DELIVERY_OUTCOMES.map((o) => [o, 0])) as OutcomeCounts;
}

/**
 * A row written before the deal model (amoCRM only: `accountId`, numeric `leadId`, amoCRM's
 * `action` names), read as a row of today. Stores call it on every row they read.
 */
export function upgradeDeliveryRow(row: Record<string, unknown>): DeliveryRecord {
  if (typeof row.dealId === 'string') return row as unknown as DeliveryRecord;
  const stage = row.statusId as number | string | null | undefined;
  return {
    at: Number(row.at),
    account: 'default',
    source: 'amocrm',
    crmAccount: String(row.accountId),
    dealId: String(row.leadId),
    kind: upgradeKind(String(row.action)),
    stageId: stage === null || stage === undefined ? null : String(stage),
    jobId: String(row.jobId),
    destination: (row.destination as string | null) ?? null,
    outcome: row.outcome as DeliveryOutcome,
    code: (row.code as ErrorCode | null) ?? null,
    reason: (row.reason as string | null) ?? null,
    events: (row.events as string[]) ?? [],
    payload: row.payload ?? null,
    attempts: Number(row.attempts),
  };
}

/** A kind as stored: today's name, or the amoCRM action a row before the deal model has. */
export function upgradeKind(stored: string): DealEventKind {
  return LEGACY_KINDS[stored] ?? (stored as DealEventKind);
}

/** amoCRM's webhook actions, as rows before the deal model named them. */
const LEGACY_KINDS: Readonly<Record<string, DealEventKind>> = {
  add: 'created',
  status: 'stage_changed',
  update: 'updated',
  delete: 'deleted',
  restore: 'restored',
  responsible: 'reassigned',
};

export interface DeliveryLog {
  record(entry: DeliveryRecord): Promise<void>;
  list(filter?: DeliveryLogFilter): Promise<StoredDelivery[]>;
  /** Deliveries by their latest outcome, exact: pruned rows still count. */
  counts(): Promise<OutcomeCounts>;
}
