/**
 * DeliveryLog: what happened to every lead event, for the person asking "why is this deal not in
 * GA4?". One row per outcome: sent, dry run, skipped (and why), duplicate, retrying (and why),
 * failed (and why), with the payload as sent or as it would have been sent, minus secrets.
 *
 * Contract: `record` is durable when it resolves; the log is bounded (oldest rows dropped past the
 * configured maximum); `list` returns newest first.
 */
import type { ErrorCode } from '../core/errors';
import type { LeadAction } from '../core/lead';

export type DeliveryOutcome = 'sent' | 'dry_run' | 'skipped' | 'duplicate' | 'retrying' | 'failed';

export interface DeliveryRecord {
  at: number;
  accountId: string;
  leadId: number;
  action: LeadAction;
  statusId: number | null;
  jobId: string;
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
  leadId?: number;
  limit?: number;
}

export interface DeliveryLog {
  record(entry: DeliveryRecord): Promise<void>;
  list(filter?: DeliveryLogFilter): Promise<Array<DeliveryRecord & { id: number }>>;
}
