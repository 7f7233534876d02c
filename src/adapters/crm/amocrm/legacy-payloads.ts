/**
 * Jobs stored before the deal model, when closeloop spoke of amoCRM leads only, read as today's
 * (see PayloadUpgrades in src/worker/job-payloads.ts). They all belong to the one account of that
 * time (`default`) and went to GA4 only; their idempotency keys (`account:lead:event:status`) gain
 * the source in front, as the ledger's keys did when the store was opened.
 */
import { DEAL_EVENT_KINDS, type DealEventKind } from '../../../core/deal';
import type { Conversion } from '../../../core/map-deal-event';
import {
  CURRENT_PAYLOADS,
  isCurrent,
  type DeliveryJobPayload,
  type InboundJobPayload,
  type PayloadUpgrades,
} from '../../../ports/job-payloads';
import { AMOCRM_SOURCE, toDealEvent, type LeadAction, type LeadEvent } from './amocrm-lead';

interface LegacyInbound {
  event: LeadEvent;
  receivedAt: number;
}

interface LegacyDelivery {
  destination: string;
  accountId: string;
  leadId: number;
  action: LeadAction;
  statusId: number | null;
  clientId: string;
  sessionId: string | null;
  occurredAtMs: number | null;
  conversions: Conversion[];
  source: LegacyInbound;
}

function upgradeInbound(raw: unknown): InboundJobPayload {
  if (isCurrent(raw)) return CURRENT_PAYLOADS.inbound(raw);
  const legacy = raw as LegacyInbound;
  return {
    v: 2,
    account: 'default',
    event: toDealEvent(legacy.event),
    receivedAt: legacy.receivedAt,
  };
}

function upgradeDelivery(raw: unknown): DeliveryJobPayload {
  if (isCurrent(raw)) return CURRENT_PAYLOADS.delivery(raw);
  const legacy = raw as LegacyDelivery;
  const origin = upgradeInbound(legacy.source);
  const kind: DealEventKind = DEAL_EVENT_KINDS.includes(origin.event.kind)
    ? origin.event.kind
    : 'updated';
  return {
    v: 2,
    account: 'default',
    destination: legacy.destination,
    deal: {
      source: AMOCRM_SOURCE,
      crmAccount: legacy.accountId,
      dealId: String(legacy.leadId),
      kind,
      stageId: legacy.statusId === null ? null : String(legacy.statusId),
    },
    identity: {
      clientId: legacy.clientId,
      ...(legacy.sessionId === null ? {} : { sessionId: legacy.sessionId }),
    },
    occurredAtMs: legacy.occurredAtMs,
    conversions: legacy.conversions.map((c) => ({ ...c, key: `${AMOCRM_SOURCE}:${c.key}` })),
    origin,
  };
}

export const AMOCRM_LEGACY_PAYLOADS: PayloadUpgrades = {
  inbound: upgradeInbound,
  delivery: upgradeDelivery,
};
