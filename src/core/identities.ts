/**
 * The visitor's analytics identities as the site's form put them into the CRM, checked. Pure.
 *
 * GA identity from what the site's form put into the CRM: the client ID from the `_ga` cookie and
 * the session ID from the `_ga_<stream>` cookie. Pure.
 *
 * Both must be exactly what the GA tag on the site generated: an invented or reformatted client ID
 * creates a new "user" with no web history, and an invented session ID creates a new session
 * (research ga4-mp.md A2, A4, A6 items 4–5). So anything we do not recognise is rejected (null),
 * never guessed.
 */

/**
 * `_ga` cookie value: `GA<version>.<domain depth>.<random>.<first seen, Unix seconds>`, where the
 * domain depth can be `N-M` with a custom cookie path, and the client ID is the last two fields
 * (research A2, "client_id from the `_ga` cookie"; `GA2.` variants seen in the wild). The bare form
 * `<random>.<timestamp>` is what `gtag('get', …, 'client_id')` returns.
 */
const CLIENT_ID = /^(?:GA\d+\.\d+(?:-\d+)?\.)?(\d{1,20}\.\d{1,20})$/i;

/** A whole `Cookie` header pasted into the field: keep only the `_ga` value. */
const GA_COOKIE_IN_HEADER = /(?:^|;)\s*_ga=([^;]*)/;

/** A session ID is a Unix-seconds timestamp in practice; accept a generous range of digits. */
const SESSION_ID = /^\d{8,20}$/;

/** `_ga_<stream>=` prefix when a cookie pair rather than a value was stored. */
const STREAM_COOKIE_PREFIX = /^_ga_[A-Za-z0-9]+=/;

/**
 * Normalises a GA client ID to `<random>.<timestamp>`, or returns null when the value is not a GA
 * client ID (empty, a UUID, a CRM id, free text).
 */
export function normalizeGaClientId(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  let value = raw.trim();
  const inHeader = GA_COOKIE_IN_HEADER.exec(value);
  if (inHeader?.[1] !== undefined) value = inHeader[1].trim();
  const match = CLIENT_ID.exec(value);
  return match?.[1] ?? null;
}

/**
 * Reads the GA session ID from a bare ID or from the `_ga_<stream>` cookie value in either format:
 * - GS1 (until 2025): `GS1.1.<session_id>.<session_number>.…`: the third dot field;
 * - GS2 (rolled out from May 2025): `GS2.1.s<session_id>$o<n>$g<0|1>$t<ts>…`: the `$`-item that
 *   starts with `s`; "order is not guaranteed" (research A2, [P1], [P2]).
 * Returns null for anything else: a wrong session ID would start a new session (research A4).
 */
export function parseGaSessionId(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const value = raw.trim().replace(STREAM_COOKIE_PREFIX, '');
  if (SESSION_ID.test(value)) return value;

  const fields = value.split('.');
  const format = fields[0]?.toUpperCase();
  if (format === 'GS1') {
    const candidate = fields[2] ?? '';
    return SESSION_ID.test(candidate) ? candidate : null;
  }
  if (format === 'GS2') {
    const items = fields.slice(2).join('.').split('$');
    for (const item of items) {
      if (item.startsWith('s')) {
        const candidate = item.slice(1);
        if (SESSION_ID.test(candidate)) return candidate;
      }
    }
  }
  return null;
}

/**
 * Yandex Metrica's ClientID (`_ym_uid`): 17 to 20 digits, always kept as a string (it does not
 * fit a double). Anything else (empty, a cookie pair, an id with letters) is null.
 */
export function normalizeYmClientId(raw: string | null | undefined): string | null {
  if (typeof raw !== 'string') return null;
  const value = raw.trim().replace(/^_ym_uid=/, '');
  return /^\d{17,20}$/.test(value) ? value : null;
}
