/**
 * DeliveryLog: what happened to every deal event, for the person asking "why is this deal not in
 * GA4?". One row per outcome: sent, dry run, skipped (and why), duplicate, retrying (and why),
 * failed (and why), with the payload as sent or as it would have been sent, minus secrets.
 *
 * Contract: `record` is durable when it resolves; the log is bounded (oldest rows dropped past the
 * configured maximum); `list` returns newest first.
 */
import type { ErrorCode } from '../core/errors';
import type { DealEventKind } from '../core/deal';

export type DeliveryOutcome = 'sent' | 'dry_run' | 'skipped' | 'duplicate' | 'retrying' | 'failed';

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
}

export interface DeliveryLogFilter {
  outcome?: DeliveryOutcome;
  dealId?: string;
  account?: string;
  limit?: number;
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
  list(filter?: DeliveryLogFilter): Promise<Array<DeliveryRecord & { id: number }>>;
}
