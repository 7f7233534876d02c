/**
 * CrmSource: makes a deal event complete enough for the rules, for one account of one CRM.
 *
 * Webhooks are triggers, not the truth: amoCRM's Digital Pipeline hooks carry no fields, any hook
 * may lack the client-ID field, and Bitrix24's carry nothing but an id. A CrmSource returns the
 * event with the deal as complete as it can make it: read through the CRM's API where the event
 * lacks what a rule needs (batched and rate-limited by the adapter), and with the visitor's
 * identities read from wherever that CRM keeps them (its field settings are the adapter's).
 *
 * Contract:
 * - Never drops the event; a deal it cannot complete (deleted, no API access) comes back with
 *   what it had. What happened (the kind, the stage the event reached) stays the event's own.
 * - Transient failures (the CRM down, a rate limit) throw `RetryableError`, so the job is retried;
 *   refusals for good (a revoked token) throw `AuthError`.
 * - Idempotent: completing an event twice gives the same deal (modulo changes in the CRM).
 */
import type { DealEvent } from '../core/deal';

export interface CrmSource {
  /** The source name events carry (`amocrm`). */
  readonly name: string;
  complete(event: DealEvent): Promise<DealEvent>;
}
