/**
 * CrmLeadWriter: creates the lead of a site form (`POST /leads`) in the account's CRM, with the
 * visitor's analytics identities in the CRM's own fields, so that the deal carries them to the end.
 *
 * Contract:
 * - `createLead` creates the lead (and its contact) once per call, and returns the event the new
 *   deal is: a `created` event whose idempotency key equals the one the CRM's own "deal added"
 *   webhook produces, so `generate_lead` goes once whichever arrives first. The deal may be
 *   incomplete (the CRM chose its stage): the inbound job completes it.
 * - Creating is not idempotent. Transient failures before anything was created throw
 *   `RetryableError`; an answer that may hide a created lead (a 5xx, a timeout after the body was
 *   sent) is retryable too, and the CRM's duplicate control is what merges the two. Refusals for
 *   good (a stage or field that does not exist, a revoked token) throw an `AppError`.
 * - The visitor's name, phone, email and comment go to the CRM and nowhere else: never into an
 *   error message or a log line.
 */
import type { DealEvent } from '../core/deal';
import type { LeadForm } from '../core/lead-form';

export interface CrmLeadWriter {
  readonly name: string;
  /** `receivedAtMs`: when closeloop took the form (the new deal's time, as the CRM has no other). */
  createLead(form: LeadForm, receivedAtMs: number): Promise<DealEvent>;
}
