/**
 * An amoCRM lead and something that happened to it, as the webhook parser and the API client read
 * them (amoCRM's numbers and action names), and their translation into the deal model every other
 * part of closeloop speaks (src/core/deal.ts).
 *
 * Wire names (`status_id`, `custom_fields[n][values][m][enum]`) stay in `*-types.ts`; everything
 * here is camelCase and typed. All times are Unix seconds as amoCRM gives them.
 */
import type { CustomField, DealEvent, DealOutcome, DealSnapshot } from '../../../core/deal';
import { NO_IDENTITIES } from '../../../core/deal';
import { amountOrNull } from '../../../core/amount';
import { upgradeKind } from '../../../ports/delivery-log';

export type { CustomField, CustomFieldValue } from '../../../core/deal';

/** What happened to the lead, as amoCRM names its webhook actions (`leads[<action>][i]`). */
export type LeadAction = 'add' | 'update' | 'status' | 'delete' | 'restore' | 'responsible';

export const LEAD_ACTIONS: readonly LeadAction[] = [
  'add',
  'update',
  'status',
  'delete',
  'restore',
  'responsible',
];

/** The state of a lead as far as we know it. `null` means "not known", never "zero". */
export interface LeadSnapshot {
  id: number;
  statusId: number | null;
  pipelineId: number | null;
  /**
   * Deal amount in the account's currency, exact decimal text (`"1500.50"`, core/amount.ts).
   * `null` when the source did not carry it or it could not be read as an amount. (Jobs stored
   * before issue 12 hold a number here; `toDealSnapshot` reads both.)
   */
  price: string | null;
  responsibleUserId: number | null;
  createdAt: number | null;
  updatedAt: number | null;
  /**
   * Custom (and tracking) fields with values. `null` when the source carried no field data at all
   * (Digital Pipeline hooks): the lead must then be completed from the CRM API.
   */
  customFields: CustomField[] | null;
  tags: string[];
}

/** One thing that happened to one lead: one `leads[<action>][i]` entry of a webhook. */
export interface LeadEvent {
  crm: 'amocrm';
  /** `account[id]` when the webhook has it, else `account[subdomain]`. Part of idempotency keys. */
  accountId: string;
  subdomain: string | null;
  action: LeadAction;
  /**
   * The previous status: `status` entries and Digital Pipeline hooks carry it, and so do some
   * `update` entries of a move (issue 12). Digital Pipeline hooks also carry the pipeline.
   */
  oldStatusId: number | null;
  oldPipelineId: number | null;
  /** When it happened in the CRM (Unix seconds), or null when the webhook does not say. */
  occurredAt: number | null;
  lead: LeadSnapshot;
}

/** The source name in events and idempotency keys. */
export const AMOCRM_SOURCE = 'amocrm';

/**
 * 142 "Closed - won" and 143 "Closed - lost" are the same two statuses in every pipeline of every
 * account (research amocrm.md §3.4); every other status is a stage of an open deal.
 */
export const WON_STATUS = 142;
export const LOST_STATUS = 143;

export function outcomeOf(statusId: number | null): DealOutcome | null {
  if (statusId === null) return null;
  return statusId === WON_STATUS ? 'won' : statusId === LOST_STATUS ? 'lost' : 'open';
}

const str = (n: number | null): string | null => (n === null ? null : String(n));

/**
 * The lead as a deal snapshot. The amount has no currency: amoCRM keeps one per account, and the
 * account's `currency` setting names it. Identities are read from the fields later, by the source
 * (they depend on the account's field settings).
 */
export function toDealSnapshot(lead: LeadSnapshot): DealSnapshot {
  const amount = lead.price === null ? null : amountOrNull(lead.price);
  return {
    id: String(lead.id),
    pipelineId: str(lead.pipelineId),
    stageId: str(lead.statusId),
    outcome: outcomeOf(lead.statusId),
    amount: amount === null ? null : { amount, currency: null },
    responsibleUserId: str(lead.responsibleUserId),
    createdAt: lead.createdAt,
    updatedAt: lead.updatedAt,
    identities: NO_IDENTITIES,
    fields: lead.customFields,
    tags: lead.tags,
  };
}

/** One webhook (or reconciliation) lead event as a deal event. */
export function toDealEvent(event: LeadEvent): DealEvent {
  return {
    source: AMOCRM_SOURCE,
    account: event.accountId,
    // The delivery log reads rows of before the deal model with the same table.
    kind: upgradeKind(event.action),
    previous:
      event.oldStatusId === null && event.oldPipelineId === null
        ? null
        : { pipelineId: str(event.oldPipelineId), stageId: str(event.oldStatusId) },
    occurredAt: event.occurredAt,
    deal: toDealSnapshot(event.lead),
  };
}

/**
 * One webhook lead entry as deal events: its own, and a `stage_changed` too when the entry shows
 * a stage move without being a `status` entry. Real bodies report moves as `leads[update]` with
 * `old_status_id` (issue 12), and an account whose hook is subscribed to `update_lead` only (as
 * widget code posting to /api/v4/webhooks often is, research amocrm.md §1.1) gets no other sign
 * of the move; without this, status rules would never fire for it. When the same move also
 * arrives as `leads[status]`, both produce the same idempotency keys, so it is sent once.
 */
export function toDealEvents(event: LeadEvent): DealEvent[] {
  const own = toDealEvent(event);
  return showsStageMove(event) ? [own, { ...own, kind: 'stage_changed' }] : [own];
}

/** A stage (or pipeline) before and after that differ, on an entry that is not itself a move. */
function showsStageMove(event: LeadEvent): boolean {
  if (event.action === 'status' || event.action === 'add' || event.action === 'delete') {
    return false;
  }
  const differ = (before: number | null, after: number | null): boolean =>
    before !== null && after !== null && before !== after;
  return (
    differ(event.oldStatusId, event.lead.statusId) ||
    differ(event.oldPipelineId, event.lead.pipelineId)
  );
}
