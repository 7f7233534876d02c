/**
 * GA4's error codes, added to the core's registry (src/core/errors.ts), and documented with
 * every other code in docs/errors.md.
 */
import type { ErrorCodeInfo } from '../../../core/errors';

export const GA4_ERROR_CODES = {
  LEAD_NO_CLIENT_ID: {
    who: 'site developer',
    summary: 'The lead has no GA client ID, so GA4 cannot attribute it.',
  },
  LEAD_CLIENT_ID_INVALID: {
    who: 'site developer',
    summary: 'The client-ID field holds something that is not a GA client ID.',
  },
  GA4_PAYLOAD_INVALID: {
    who: 'marketer',
    summary: 'The GA4 payload breaks a documented Measurement Protocol limit; it was not sent.',
  },
  GA4_REJECTED: {
    who: 'operator',
    summary: 'GA4 answered with a 4xx status; the request was not retried.',
  },
  GA4_UNAVAILABLE: {
    who: 'nobody (transient)',
    summary: 'GA4 answered 429 or 5xx, or the network failed; retried with backoff.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type Ga4ErrorCodes = typeof GA4_ERROR_CODES;

declare module '../../../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends Ga4ErrorCodes {}
}
