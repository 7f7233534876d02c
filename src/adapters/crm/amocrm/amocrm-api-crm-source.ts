/**
 * Completes lead events from the amoCRM API when the webhook is not enough: a Digital Pipeline
 * hook carries no fields, a hook may lack the client-ID field, and `price` is left out when empty
 * (research amocrm.md §1.3–§1.5). Look-ups are batched (LeadBatcher) and paced (the client's rate
 * limiter). Events no rule would act on are not looked up: API calls are a scarce resource.
 *
 * What happened stays the webhook's: the event's status and pipeline are kept (the lead may have
 * moved on since, and the idempotency key names the status the event reached). What the lead
 * holds comes from the API: fields, price, tags, responsible user.
 */
import type { FieldRef, Rule } from '../../../core/config-types';
import type { LeadEvent, LeadSnapshot } from '../../../core/lead';
import { firstValue, ruleMatches } from '../../../core/map-lead-event';
import type { CrmSource } from '../../../ports/crm-source';
import type { LeadBatcher } from './lead-batcher';

export interface CompletionPolicy {
  rules: readonly Rule[];
  clientIdField: FieldRef;
}

/** Why an event needs the API, or null when the webhook is enough. Pure. */
export function completionReason(event: LeadEvent, policy: CompletionPolicy): string | null {
  if (!policy.rules.some((rule) => ruleMatches(rule, event))) return null;
  const fields = event.lead.customFields;
  if (fields === null) return 'the webhook carried no fields';
  if (firstValue(fields, policy.clientIdField) === null) return 'the webhook has no client ID';
  if (event.lead.price === null) return 'the webhook has no price';
  return null;
}

/** The event with the lead's data from the API; what happened (status, pipeline) stays. */
export function mergeApiLead(event: LeadEvent, api: LeadSnapshot): LeadEvent {
  return {
    ...event,
    lead: {
      ...api,
      statusId: event.lead.statusId ?? api.statusId,
      pipelineId: event.lead.pipelineId ?? api.pipelineId,
    },
  };
}

export class AmocrmApiCrmSource implements CrmSource {
  readonly name = 'amocrm-api';

  constructor(
    private readonly batcher: LeadBatcher,
    private readonly policy: CompletionPolicy,
  ) {}

  async completeLead(event: LeadEvent): Promise<LeadEvent> {
    if (completionReason(event, this.policy) === null) return event;
    const api = await this.batcher.load(event.lead.id);
    // Deleted or unknown to the API: the webhook's data is all there is.
    return api === null ? event : mergeApiLead(event, api);
  }
}
