/**
 * Bitrix24's error codes, added to the core's registry (src/core/errors.ts), and documented with
 * every other code in docs/errors.md.
 */
import type { ErrorCodeInfo } from '../../../core/errors';

export const BITRIX24_ERROR_CODES = {
  WEBHOOK_NOT_BITRIX24: {
    who: 'nobody (transient)',
    summary: 'A request to the Bitrix24 webhook URL is not a Bitrix24 outgoing webhook.',
  },
  WEBHOOK_TOKEN_INVALID: {
    who: 'operator',
    summary:
      'A Bitrix24 webhook came without the application token of the outgoing webhook, or with another; nothing was stored.',
  },
  BITRIX24_UNAVAILABLE: {
    who: 'nobody (transient)',
    summary:
      'The Bitrix24 REST API answered 503 QUERY_LIMIT_EXCEEDED, 429 OPERATION_TIME_LIMIT or 5xx, timed out, or could not be reached; retried.',
  },
  BITRIX24_AUTH: {
    who: 'operator',
    summary:
      'The incoming webhook URL was refused (401 NO_AUTH_FOUND, expired, deleted) or lacks the crm scope, or REST is not available on the plan (403).',
  },
  BITRIX24_OVERLOAD_BLOCKED: {
    who: 'the CRM vendor',
    summary:
      'Bitrix24 answered 503 OVERLOAD_LIMIT: REST is blocked for the portal by hand, and only its support can lift it.',
  },
  BITRIX24_REQUEST_REJECTED: {
    who: 'closeloop',
    summary:
      'The Bitrix24 REST API refused a call (a 400 with its error code), or answered in a shape closeloop does not understand.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type Bitrix24ErrorCodes = typeof BITRIX24_ERROR_CODES;

declare module '../../../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends Bitrix24ErrorCodes {}
}
