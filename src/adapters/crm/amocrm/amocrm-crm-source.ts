/**
 * amoCRM as a CrmSource: completes deal events from the amoCRM API when the webhook is not enough,
 * and reads the visitor's identities from the lead's fields.
 *
 * A Digital Pipeline hook carries no fields, a hook may lack the client-ID field, and `price` is
 * left out when empty (research amocrm.md §1.3–§1.5). Look-ups are batched (LeadBatcher) and paced
 * (the client's rate limiter); events no rule would act on are not looked up: API calls are a
 * scarce resource. Without API access the webhook's data is all there is.
 *
 * What happened stays the webhook's: the event's stage and pipeline are kept (the lead may have
 * moved on since, and the idempotency key names the stage the event reached). What the lead holds
 * comes from the API: fields, price, tags, responsible user.
 *
 * Identities: the GA client ID and session ID from the fields the config names (by default the
 * tracking field `GCLIENTID`, and `ga_session_id`), the rest from amoCRM's own tracking fields
 * (`_YM_UID`, `YCLID`, `GCLID`, `UTM_*`), which the form snippet and lead intake fill.
 */
import type { FieldRef, Rule } from '../../../core/config-types';
import type { CustomField, DealEvent, DealSnapshot, Identities } from '../../../core/deal';
import { NO_IDENTITIES, UTM_KEYS } from '../../../core/deal';
import { firstValue, ruleMatches } from '../../../core/map-deal-event';
import type { CrmSource } from '../../../ports/crm-source';
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

/** Why an event needs the API, or null when the webhook is enough. Pure. */
export function completionReason(event: DealEvent, policy: CompletionPolicy): string | null {
  if (!policy.rules.some((rule) => ruleMatches(rule, event))) return null;
  const fields = event.deal.fields;
  if (fields === null) return 'the webhook carried no fields';
  if (firstValue(fields, policy.fields.clientId) === null) return 'the webhook has no client ID';
  if (event.deal.amount === null) return 'the webhook has no price';
  return null;
}

/** The event with the deal's data from the API; what happened (stage, pipeline) stays. */
export function mergeApiDeal(event: DealEvent, api: DealSnapshot): DealEvent {
  const stageId = event.deal.stageId ?? api.stageId;
  return {
    ...event,
    deal: {
      ...api,
      stageId,
      pipelineId: event.deal.pipelineId ?? api.pipelineId,
      outcome: event.deal.stageId === null ? api.outcome : event.deal.outcome,
    },
  };
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
    private readonly batcher: LeadBatcher | null,
  ) {}

  async complete(event: DealEvent): Promise<DealEvent> {
    let completed = event;
    if (this.batcher !== null && completionReason(event, this.policy) !== null) {
      const id = Number(event.deal.id);
      const api = Number.isSafeInteger(id) ? await this.batcher.load(id) : null;
      // Deleted or unknown to the API: the webhook's data is all there is.
      if (api !== null) completed = mergeApiDeal(event, toDealSnapshot(api));
    }
    return {
      ...completed,
      deal: {
        ...completed.deal,
        identities: readIdentities(completed.deal.fields, this.policy.fields),
      },
    };
  }
}
