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
 * - Never drops the event. What happened (the kind, the stage before, when) stays the event's
 *   own. With API access, the deal of an event a rule could act on is the CRM's as read through
 *   the API (the stage it is in, amount, identities): a webhook is a trigger anyone holding its URL
 *   can write (issue 12). A deal the API does not have, or of another account, keeps only its id;
 *   without API access the event's deal is used as it came. `lookup` says which happened, so
 *   skip reasons can say what was tried. A change the source's own feed read from the CRM's
 *   history (Bitrix24's stage history) keeps the stage that history names: it came from the API,
 *   not from a webhook, and the deal may have moved on since.
 * - The event's `account` is the CRM's canonical account id where the source can know it, so that
 *   every path to one conversion gives one idempotency key.
 * - Transient failures (the CRM down, a rate limit) throw `RetryableError`, so the job is retried;
 *   refusals for good (a revoked token) throw `AuthError`.
 * - Idempotent: completing an event twice gives the same deal (modulo changes in the CRM).
 * - A source whose triggers do not say what happened (Bitrix24's "the deal changed") decides the
 *   kind from what it remembers (a `stage_changed` only when the stage really moved); a job's
 *   re-run, named by `context.jobId`, gets the same answer as its first run.
 */
import type { DealEvent } from '../core/deal';

/** Where the event is being completed: the inbound job, stable across its re-runs. */
export interface CompletionContext {
  jobId: string;
}

export interface CrmSource {
  /** The source name events carry (`amocrm`). */
  readonly name: string;
  complete(event: DealEvent, context?: CompletionContext): Promise<DealEvent>;
}
