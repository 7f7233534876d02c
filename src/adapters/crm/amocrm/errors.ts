/**
 * amoCRM's error codes, added to the core's registry (src/core/errors.ts), and documented with
 * every other code in docs/errors.md.
 */
import type { ErrorCodeInfo } from '../../../core/errors';

export const AMOCRM_ERROR_CODES = {
  WEBHOOK_NOT_AMOCRM: {
    who: 'nobody (transient)',
    summary: 'A request to the webhook URL is not an amoCRM webhook.',
  },
  WEBHOOK_ACCOUNT_MISMATCH: {
    who: 'operator',
    summary:
      'A webhook names another amoCRM account than the one its URL is for; not stored (or, found by the worker, not read).',
  },
  AMOCRM_UNAVAILABLE: {
    who: 'nobody (transient)',
    summary: 'The amoCRM API answered 429 or 5xx, timed out, or could not be reached; retried.',
  },
  AMOCRM_AUTH: {
    who: 'operator',
    summary: 'The amoCRM access token is missing, expired or revoked.',
  },
  AMOCRM_ACCOUNT_BLOCKED: {
    who: 'the CRM vendor',
    summary:
      'amoCRM answered 403: the API is blocked for the account (limits exceeded) or the IP is not allowed; calls stop for a while.',
  },
  AMOCRM_REQUEST_REJECTED: {
    who: 'closeloop',
    summary:
      'The amoCRM API refused a request (a 4xx other than 401, 403, 429), or answered in a shape closeloop does not understand.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type AmocrmErrorCodes = typeof AMOCRM_ERROR_CODES;

declare module '../../../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends AmocrmErrorCodes {}
}
