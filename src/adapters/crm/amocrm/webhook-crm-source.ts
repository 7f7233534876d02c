/**
 * The lead exactly as the webhook carried it. Used until the amoCRM API client completes leads
 * (field-less Digital Pipeline hooks, a missing client-ID field); then it is the fast path.
 */
import type { LeadEvent } from '../../../core/lead';
import type { CrmSource } from '../../../ports/crm-source';

export class WebhookCrmSource implements CrmSource {
  readonly name = 'webhook';
  completeLead(event: LeadEvent): Promise<LeadEvent> {
    return Promise.resolve(event);
  }
}
