/** What the queues carry. Plain JSON: it round-trips through SQLite or Redis unchanged. */
import type { LeadAction, LeadEvent } from '../core/lead';
import type { Conversion } from '../core/map-lead-event';

/** One lead event from a webhook, stored before the webhook is acknowledged. */
export interface InboundJobPayload {
  event: LeadEvent;
  /** Unix ms when closeloop received the webhook. */
  receivedAt: number;
}

/** The conversions of one lead event for one destination (one GA4 client ID). */
export interface DeliveryJobPayload {
  destination: string;
  accountId: string;
  leadId: number;
  action: LeadAction;
  statusId: number | null;
  clientId: string;
  sessionId: string | null;
  occurredAtMs: number | null;
  conversions: Conversion[];
  /** The lead event it came from: a replay re-runs it through the (possibly fixed) rules. */
  source: InboundJobPayload;
}
