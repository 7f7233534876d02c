/**
 * amoCRM as a CrmSource: the deal of a webhook event, read through the amoCRM API when closeloop
 * has access, and the visitor's identities read from the lead's fields.
 *
 * The webhook is a trigger, not the truth (DESIGN.md): amoCRM's webhooks are unsigned, so anyone
 * who learns the URL can post a "won" deal (research amocrm.md §2), and real hooks lack fields,
 * the client ID or the price (Digital Pipeline hooks carry none, §1.4; `price` is left out when
 * empty, §1.3). So with API access, before any rule acts on an event, the lead is read through
 * the API, and the deal the rules see is the API's: the stage it is in, its amount, its fields and
 * identities. What happened stays the event's (the kind, the stage before, when): a forged "won"
 * for a lead that is not won in amoCRM meets no won rule, sends nothing and claims nothing in the
 * ledger. The price of that: a lead moved on past a stage before the worker read it is judged at
 * the stage it is in now (docs/decisions.md, issue 12). Look-ups are batched (LeadBatcher) and
 * paced (the client's rate limiter); events no rule could act on are not read.
 *
 * The event's account becomes amoCRM's account id (amocrm-account.ts), so a body that names its
 * account only by subdomain keys its conversions as reconciliation does; a body naming another
 * account is not read and its deal not used. Without API access the webhook's data is all there
 * is, as it came.
 *
 * Identities: the GA client ID and session ID from the fields the config names (by default the
 * tracking field `GCLIENTID`, and `ga_session_id`), the rest from amoCRM's own tracking fields
 * (`_YM_UID`, `YCLID`, `GCLID`, `UTM_*`), which the form snippet and lead intake fill.
 */
import type { FieldRef, Rule } from '../../../core/config-types';
import type { CustomField, DealEvent, DealSnapshot, Identities } from '../../../core/deal';
import { emptyDeal, NO_IDENTITIES, UTM_KEYS } from '../../../core/deal';
import { firstValue, triggerOf } from '../../../core/map-deal-event';
import type { CrmSource } from '../../../ports/crm-source';
import { canonicalAccountId, type AmocrmAccount } from './amocrm-account';
import { AMOCRM_SOURCE, toDealSnapshot } from './amocrm-lead';
import type { LeadBatcher } from './lead-batcher';

/** Where the account keeps the GA identities (`amocrm.fields`). */
export interface AmocrmFieldSettings {
  clientId: FieldRef;
  sessionId: FieldRef | null;
}

export interface CompletionPolicy {
  rules: readonly Rule[];
  fields: AmocrmFieldSettings;
}

/** API access: lead look-ups, and the account they belong to. */
export interface AmocrmApiAccess {
  batcher: LeadBatcher;
  account: AmocrmAccount;
}

/**
 * Whether the rule could act on the event once what the event does not say (the stage, the
 * pipeline, what the stage means) is read: an id-only hook may be a won deal. Pure.
 */
export function ruleMayMatch(rule: Rule, event: DealEvent): boolean {
  const { deal } = event;
  const anyOr = <T extends string>(list: readonly T[] | null, value: T | null): boolean =>
    list === null || value === null || list.includes(value);
  const exactly = <T extends string>(list: readonly T[] | null, value: T | null): boolean =>
    list === null || (value !== null && list.includes(value));
  return (
    triggerOf(event.kind) === rule.on &&
    exactly(rule.sources, event.source) &&
    anyOr(rule.pipelines, deal.pipelineId) &&
    anyOr(rule.statuses, deal.stageId) &&
    anyOr(rule.outcomes, deal.outcome) &&
    // The API knows the stage a lead is in, never the one it came from.
    exactly(rule.fromStatuses, event.previous?.stageId ?? null)
  );
}

/** Why the webhook alone is not enough for a rule that could act on it, or null. Pure. */
export function completionReason(event: DealEvent, policy: CompletionPolicy): string | null {
  if (!policy.rules.some((rule) => ruleMayMatch(rule, event))) return null;
  if (event.deal.stageId === null) return 'the webhook named no stage';
  const fields = event.deal.fields;
  if (fields === null) return 'the webhook carried no fields';
  if (firstValue(fields, policy.fields.clientId) === null) return 'the webhook has no client ID';
  if (event.deal.amount === null) return 'the webhook has no price';
  return null;
}

/** The event with the deal as the API has it; what happened (kind, stage before, when) stays. */
export function mergeApiDeal(event: DealEvent, api: DealSnapshot): DealEvent {
  return { ...event, deal: api, lookup: 'read' };
}

/** The identities amoCRM keeps in a lead's fields. Pure. */
export function readIdentities(
  fields: readonly CustomField[] | null,
  settings: AmocrmFieldSettings,
): Identities {
  if (fields === null) return NO_IDENTITIES;
  const code = (c: string): string | null => firstValue(fields, { code: c });
  return {
    gaClientId: firstValue(fields, settings.clientId),
    gaSessionId: settings.sessionId === null ? null : firstValue(fields, settings.sessionId),
    ymClientId: code('_YM_UID'),
    yclid: code('YCLID'),
    gclid: code('GCLID'),
    utm: Object.fromEntries(UTM_KEYS.map((k) => [k, code(`UTM_${k.toUpperCase()}`)])) as Record<
      (typeof UTM_KEYS)[number],
      string | null
    >,
  };
}

export class AmocrmCrmSource implements CrmSource {
  readonly name = AMOCRM_SOURCE;

  constructor(
    private readonly policy: CompletionPolicy,
    /** null: no API access; the webhook's data is all there is. */
    private readonly api: AmocrmApiAccess | null,
  ) {}

  async complete(event: DealEvent): Promise<DealEvent> {
    if (this.api === null) {
      const lacking = completionReason(event, this.policy) !== null;
      return this.withIdentities(lacking ? { ...event, lookup: 'no_access' } : event);
    }
    const account = await this.api.account.getAccount();
    const id = canonicalAccountId(event.account, account);
    if (id === null) return { ...event, deal: emptyDeal(event.deal.id), lookup: 'other_account' };
    const own: DealEvent = { ...event, account: id };
    // Reconciliation's events were read through the API a moment ago.
    if (own.lookup === 'read' || !this.policy.rules.some((rule) => ruleMayMatch(rule, own))) {
      return this.withIdentities(own);
    }
    const leadId = Number(own.deal.id);
    const lead = Number.isSafeInteger(leadId) ? await this.api.batcher.load(leadId) : null;
    if (lead !== null) return this.withIdentities(mergeApiDeal(own, toDealSnapshot(lead)));
    // A deleted lead is gone from the API by design: its delete event is taken as it came.
    if (own.kind === 'deleted') return this.withIdentities({ ...own, lookup: 'not_found' });
    return { ...own, deal: emptyDeal(own.deal.id), lookup: 'not_found' };
  }

  private withIdentities(event: DealEvent): DealEvent {
    return {
      ...event,
      deal: { ...event.deal, identities: readIdentities(event.deal.fields, this.policy.fields) },
    };
  }
}
