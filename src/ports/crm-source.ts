/**
 * CrmSource: completes a lead event with what the webhook did not carry.
 *
 * amoCRM webhooks are triggers, not the truth: Digital Pipeline hooks carry no fields, and any hook
 * may lack the client-ID field. A CrmSource returns the event with the lead as complete as it can
 * make it. The webhook-only source (embedded default) returns it unchanged; the amoCRM API source
 * reads the lead from the API, batched and rate-limited.
 *
 * Contract: never drops the event; a lead it cannot complete is returned as it came. Transient
 * failures throw `RetryableError` so the job is retried.
 */
import type { LeadEvent } from '../core/lead';

export interface CrmSource {
  readonly name: string;
  completeLead(event: LeadEvent): Promise<LeadEvent>;
}
