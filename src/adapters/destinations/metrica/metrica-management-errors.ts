/**
 * The error codes of Metrica's setup commands (`closeloop metrica check`, `create-goal`), added to
 * the core's registry and documented in docs/errors.md. The upload path has its own codes.
 */
import type { ErrorCodeInfo } from '../../../core/errors';

export const METRICA_MANAGEMENT_ERROR_CODES = {
  METRICA_SETUP_REFUSED: {
    who: 'operator',
    summary: "Metrica's Management API refused a setup request (token, scope, counter or goal).",
  },
  METRICA_SETUP_UNAVAILABLE: {
    who: 'nobody (transient)',
    summary: "Metrica's Management API answered 429 or 5xx, timed out or could not be reached.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type MetricaManagementErrorCodes = typeof METRICA_MANAGEMENT_ERROR_CODES;

declare module '../../../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends MetricaManagementErrorCodes {}
}
