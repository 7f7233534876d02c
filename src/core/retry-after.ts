/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP date. Pure: the caller passes
 * `nowMs`. Model: sentry-javascript `parseRetryAfterHeader(header, now)`, but an unreadable header
 * gives null (no opinion) instead of a default: the retry policy owns defaults.
 */

/** delay-seconds = 1*DIGIT. */
const DELAY_SECONDS = /^\d+$/;

/**
 * HTTP-date in any of its three forms (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850
 * `Sunday, 06-Nov-94 08:49:37 GMT`, asctime `Sun Nov  6 08:49:37 1994`) starts with a day name.
 * Checked first because `Date.parse` reads almost anything (`Date.parse('1')` is the year 2001).
 */
const HTTP_DATE_START = /^[A-Za-z]{3,9},?\s/;

/** Milliseconds to wait, 0 for a date already past, or null when absent or unreadable. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | null {
  if (typeof header !== 'string') return null;
  const value = header.trim();
  if (DELAY_SECONDS.test(value)) {
    const ms = Number(value) * 1000;
    return Number.isSafeInteger(ms) ? ms : null;
  }
  if (!HTTP_DATE_START.test(value)) return null;
  // HTTP dates are always GMT; asctime carries no zone, and Date.parse would read it as local time.
  const dateMs = Date.parse(/\b(?:GMT|UTC)\b/i.test(value) ? value : `${value} GMT`);
  if (Number.isNaN(dateMs)) return null;
  return Math.max(0, dateMs - nowMs);
}
