/**
 * CrmClient (amoCRM's adapter only): the few amoCRM API calls closeloop needs, typed in the internal model.
 *
 * Contract (the amoCRM implementation; research amocrm.md §3–§6):
 * - Every call has a timeout, and goes through the account's rate limiter (at most 7 requests per
 *   second per account by default; amoCRM blocks accounts that keep exceeding it).
 * - `getLeads` takes at most 250 ids (the API's page size) and returns the leads that exist, in no
 *   particular order; ids that do not exist (or were deleted) are simply absent. An empty answer
 *   (HTTP 204) is an empty list, not an error.
 * - Errors: 429, 5xx, timeouts and network errors throw `RetryableError` (code AMOCRM_UNAVAILABLE);
 *   401 is answered by one token refresh and one retry, then `AuthError` (AMOCRM_AUTH); 403 marks the
 *   account blocked, stops every further call to it for a while and throws `AuthError`
 *   (AMOCRM_ACCOUNT_BLOCKED); other 4xx throw `AppError` (AMOCRM_REQUEST_REJECTED) with the
 *   problem+json `detail` or the first line of an HTML body.
 * - Tokens never appear in an error message or a log line.
 */
import type { LeadSnapshot } from './amocrm-lead';

export interface PipelineStatus {
  id: number;
  name: string;
  /** 1: the pipeline's "incoming leads" status; 0: a regular stage. 142 and 143 are in every pipeline. */
  type: number;
  sort: number;
}

export interface Pipeline {
  id: number;
  name: string;
  isMain: boolean;
  isArchive: boolean;
  statuses: PipelineStatus[];
}

export interface LeadPage {
  leads: LeadSnapshot[];
  /** True when the API says there is a next page. */
  hasMore: boolean;
}

export interface CrmAccount {
  /** The account id as webhooks carry it in `account[id]` (part of idempotency keys). */
  id: string;
  subdomain: string;
}

export interface CrmClient {
  /** `GET /api/v4/account`. */
  getAccount(): Promise<CrmAccount>;
  getLeads(ids: readonly number[]): Promise<LeadSnapshot[]>;
  /** Leads updated at or after `updatedFrom` (Unix seconds), oldest first, 250 a page (page from 1). */
  listLeadsUpdatedSince(updatedFrom: number, page: number): Promise<LeadPage>;
  getPipelines(): Promise<Pipeline[]>;
}
