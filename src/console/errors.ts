/**
 * The console's error codes, added to the core's registry (src/core/errors.ts), and documented
 * with every other code in docs/errors.md.
 */
import type { ErrorCodeInfo } from '../core/errors';

export const CONSOLE_ERROR_CODES = {
  CONSOLE_UNAUTHORIZED: {
    who: 'operator',
    summary: 'A console page or /api/v1 request without a session or the API token.',
  },
  CONSOLE_CSRF_REFUSED: {
    who: 'nobody (transient)',
    summary: 'A console action without the page’s CSRF token (X-CSRF-Token); refused with 403.',
  },
  CONSOLE_TOO_MANY_LOGINS: {
    who: 'nobody (transient)',
    summary: 'Too many console log-ins from one address; refused with 429 for a while.',
  },
  CONSOLE_BAD_REQUEST: {
    who: 'operator',
    summary: 'An /api/v1 request with a parameter or body the API does not take.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

type ConsoleErrorCodes = typeof CONSOLE_ERROR_CODES;

declare module '../core/errors' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodeRegistry extends ConsoleErrorCodes {}
}
