/**
 * Yandex Metrica's error codes, added to the core's registry (src/core/errors.ts), and documented
 * with every other code in docs/errors.md.
 */
import type { ErrorCodeInfo } from '../../../core/errors';

export const METRICA_ERROR_CODES = {
  METRICA_NO_IDENTITY: {
    who: 'site developer',
    summary:
      'The deal has no Metrica ClientID (_ym_uid) and no yclid, so Metrica cannot attribute it.',
  },
  METRICA_CONVERSION_EXPIRED: {
    who: 'marketer',
    summary:
      'The conversion is more than 21 days old (orders mode: the deal is more than 111 days old): Metrica could not link or update it, so it was not uploaded.',
  },
  METRICA_UPLOAD_REJECTED: {
    who: 'operator',
    summary:
      'Metrica refused the upload for good (400 invalid_uploading, 401, 403, 404, or an orders file FAILED); the counter’s queue is stopped until fixed.',
  },
  METRICA_UNAVAILABLE: {
    who: 'nobody (transient)',
    summary:
      'Metrica answered 429 (a quota) or 5xx, or the network failed; the batch is retried at the right time.',
  },
  METRICA_NOT_LINKED: {
    who: 'marketer',
    summary:
      'Metrica processed the upload but linked none of its rows to a visit (LINKAGE_FAILURE), or not this one.',
  },
  METRICA_UPLOAD_STUCK: {
    who: 'operator',
    summary: 'An upload has had no final status for more than 24 hours.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type MetricaErrorCodes = typeof METRICA_ERROR_CODES;

declare module '../../../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends MetricaErrorCodes {}
}
