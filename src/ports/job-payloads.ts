/** What the queues carry. Plain JSON: it round-trips through SQLite or Redis unchanged. */
import type { DealEvent, DealEventKind } from '../core/deal';
import type { LeadForm } from '../core/lead-form';
import type { Conversion } from '../core/map-deal-event';
import type { DestinationIdentity } from './destination';

/** One deal event from a webhook, stored before the webhook is acknowledged. */
export interface InboundJobPayload {
  v: 2;
  /** The closeloop account whose rules and destinations apply. */
  account: string;
  event: DealEvent;
  /** Unix ms when closeloop received the webhook. */
  receivedAt: number;
}

/** Which deal a delivery is about, for the delivery log. */
export interface DeliveryDeal {
  source: string;
  crmAccount: string;
  dealId: string;
  kind: DealEventKind;
  stageId: string | null;
  /** When the deal was created, Unix ms, when the CRM said (absent in jobs of older versions). */
  createdAtMs?: number;
  /** The deal's utm_source and utm_medium, when it has either: the delivery log keeps them. */
  utm?: DeliveryUtm;
}

/** The campaign tags the console's overview groups by (`utm_source`, `utm_medium`). */
export interface DeliveryUtm {
  source: string | null;
  medium: string | null;
}

/** The deal's utm_source and utm_medium, or undefined when it has neither. */
export function deliveryUtmOf(event: DealEvent): DeliveryUtm | undefined {
  const { source, medium } = event.deal.identities.utm;
  return source === null && medium === null ? undefined : { source, medium };
}

/** The conversions of one deal event for one destination (one identity). */
export interface DeliveryJobPayload {
  v: 2;
  account: string;
  /** The destination's id (`ga4`, `shop/ga4`). */
  destination: string;
  deal: DeliveryDeal;
  identity: DestinationIdentity;
  occurredAtMs: number | null;
  conversions: Conversion[];
  /** The deal event it came from: a replay re-runs it through the (possibly fixed) rules. */
  origin: InboundJobPayload;
}

/**
 * Jobs stored by a closeloop before the deal model have other shapes (amoCRM lead events). The
 * adapter that wrote them reads them as today's (src/adapters/crm/amocrm/legacy-payloads.ts), so
 * an upgrade with jobs in the queue loses nothing and sends nothing twice.
 */
export interface PayloadUpgrades {
  inbound(raw: unknown): InboundJobPayload;
  delivery(raw: unknown): DeliveryJobPayload;
}

/** Payloads that are today's already: nothing to upgrade. */
export const CURRENT_PAYLOADS: PayloadUpgrades = {
  inbound: (raw) => raw as InboundJobPayload,
  delivery: (raw) => raw as DeliveryJobPayload,
};

export function isCurrent(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { v?: unknown }).v === 2;
}

/** The deal a delivery is about, from its event. */
export function deliveryDealOf(event: DealEvent): DeliveryDeal {
  return {
    source: event.source,
    crmAccount: event.account,
    dealId: event.deal.id,
    kind: event.kind,
    stageId: event.deal.stageId,
    ...(event.deal.createdAt === null ? {} : { createdAtMs: event.deal.createdAt * 1000 }),
    ...(deliveryUtmOf(event) === undefined ? {} : { utm: deliveryUtmOf(event) }),
  };
}

/** What a `create_lead` job carries: the validated form and when closeloop received it. */
export interface CreateLeadJobPayload {
  form: LeadForm;
  /** Unix ms. */
  receivedAt: number;
  /** The closeloop account whose CRM gets the lead; absent in jobs of earlier versions: `default`. */
  account?: string;
}
