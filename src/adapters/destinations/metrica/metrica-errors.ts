/**
 * Metrica's error answers in closeloop's words (research yandex-metrica.md §4): what happened, what
 * to do, and when to try again. Pure: the caller passes `nowMs`.
 *
 * Body: `{"errors":[{"error_type","message","location"}],"code","message"}`, messages often in
 * Russian. 403 `invalid_token` and 401 mean "authorise again"; 403 `access_denied` a missing scope
 * or no access to the counter; 404 a wrong counter id; 400 `invalid_uploading` a file Metrica could
 * not read. Each of these stops the counter's queue: retrying cannot help until a person acts (and
 * runs `closeloop metrica resume`). A 400 "Загрузить данные сейчас невозможно…" is not one of them:
 * the counter's window is not open yet, and the batch waits (notOpenUntilOf).
 */

export interface MetricaErrorBody {
  errors?: Array<{ error_type?: string; message?: string; location?: string }>;
  code?: number;
  message?: string;
}

export interface ExplainedError {
  errorType: string | null;
  message: string;
  /** Retrying cannot help until a person acts: the counter's queue stops. */
  stopsQueue: boolean;
  /**
   * Metrica takes no uploads for the counter yet (VISIT_JOIN_THRESHOLD_UNMET): when to try again,
   * Unix ms, or undefined for any other answer.
   */
  notOpenUntil?: number;
}

/** The start of Metrica's 400 before the counter's window opened (research §1.5, §4). */
const NOT_OPEN_YET = 'Загрузить данные сейчас невозможно';
/** How long a batch waits when the refusal names no date it can read (docs/decisions.md). */
export const METRICA_NOT_OPEN_WAIT_MS = 3_600_000;
/** A named date further away than this is not believed; the plain wait applies. */
const NOT_OPEN_MAX_MS = 30 * 86_400_000;

/**
 * When a VISIT_JOIN_THRESHOLD_UNMET refusal ("Загрузка станет доступна <date>") says uploads open:
 * `2026-12-05 10:00[:00]`, `2026-12-05T10:00:00`, `2026-12-05`, `05.12.2026[ 10:00[:00]]`. The
 * zone is not documented: read as UTC, which is never earlier than the same clock time in any
 * Russian zone (all are east of UTC). One minute is added; a date past or more than 30 days away
 * is not believed. Null when no date is found.
 */
export function notOpenUntilOf(message: string, nowMs: number): number | null {
  const iso = /(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(message);
  const ru = /(\d{2})\.(\d{2})\.(\d{4})(?:,? (\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(message);
  const [y, mo, d, h, mi, se] = iso
    ? [iso[1], iso[2], iso[3], iso[4], iso[5], iso[6]]
    : ru
      ? [ru[3], ru[2], ru[1], ru[4], ru[5], ru[6]]
      : [];
  if (y === undefined) return null;
  const at = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(se ?? 0),
  );
  if (!Number.isFinite(at) || at <= nowMs || at - nowMs > NOT_OPEN_MAX_MS) return null;
  return at + 60_000;
}

const TOKEN_HELP =
  'get a new token at https://oauth.yandex.ru (an app with the scopes metrika:offline_data and metrika:read; docs/metrica.md) and set METRICA_TOKEN (restart closeloop if it changed), then run closeloop metrica resume';

export function explainMetricaError(
  status: number,
  body: MetricaErrorBody,
  nowMs = Date.now(),
): ExplainedError {
  const first = body.errors?.[0];
  const errorType = first?.error_type ?? null;
  const said = (first?.message ?? body.message ?? '').slice(0, 300);
  const quoted = said === '' ? '' : ` ("${said}")`;
  const prefix = `Metrica answered ${status}${errorType ? ` ${errorType}` : ''}${quoted}`;
  if (status === 429) {
    return { errorType, stopsQueue: false, message: `${prefix}: ${quotaWords(errorType)}` };
  }
  if (status >= 500) {
    return {
      errorType,
      stopsQueue: false,
      message: `${prefix}: Metrica is having trouble; the batch is retried later`,
    };
  }
  if (status === 400 && said.startsWith(NOT_OPEN_YET)) {
    const at = notOpenUntilOf(said, nowMs);
    const until = at ?? nowMs + METRICA_NOT_OPEN_WAIT_MS;
    const when = new Date(until).toISOString().replace('.000Z', 'Z');
    return {
      errorType,
      stopsQueue: false,
      notOpenUntil: until,
      message: `${prefix}: the counter takes no offline conversions yet (its attribution window is still opening after offline conversions were switched on); not an error: the batch waits and is sent at ${when}${at === null ? ' (Metrica named no date closeloop could read; it tries every hour)' : ''}`,
    };
  }
  if (status === 401 || errorType === 'invalid_token' || errorType === 'unauthorized') {
    return {
      errorType,
      stopsQueue: true,
      message: `${prefix}: the token is missing, expired or revoked (a password change or 2FA switch revokes it); ${TOKEN_HELP}`,
    };
  }
  if (status === 403) {
    return {
      errorType,
      stopsQueue: true,
      message: `${prefix}: the token cannot upload to this counter: it lacks the scope metrika:offline_data (or metrika:write), or its Yandex login has no edit access to the counter; ${TOKEN_HELP}, with a login that has edit access (closeloop metrica check tells which)`,
    };
  }
  if (status === 404) {
    return {
      errorType,
      stopsQueue: true,
      message: `${prefix}: there is no such counter, or not for this token; check METRICA_COUNTER_ID (metrica.counter_id) and restart, then run closeloop metrica resume`,
    };
  }
  if (errorType === 'invalid_uploading' || status === 400) {
    return {
      errorType,
      stopsQueue: true,
      message: `${prefix}: Metrica could not read the file; the batch is not sent again. Report it as a closeloop bug with this message; the queue stays stopped until closeloop metrica resume (which queues the batch's conversions again)`,
    };
  }
  return {
    errorType,
    stopsQueue: true,
    message: `${prefix}: refused; the queue stays stopped until closeloop metrica resume`,
  };
}

function quotaWords(errorType: string | null): string {
  switch (errorType) {
    case 'quota_requests_by_uid':
      return 'the login’s 5,000 requests a day are used up (shared with every tool on this Yandex login); uploads resume after 00:00 GMT';
    case 'quota_parallel_requests':
      return 'too many requests at once on this login (another tool is using it too); retried in a moment';
    case 'quota_requests_by_counter_id':
      return 'the counter’s request quota is used up; retried in an hour';
    default:
      return 'a request quota (per second) is exceeded; retried shortly';
  }
}

/** The next 00:00 GMT after `nowMs`. */
export function nextMidnightGmt(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** How long to wait before the next request after a 429 or 5xx, in ms. */
export function retryDelayOf(
  status: number,
  errorType: string | null,
  retryAfterMs: number | null,
  nowMs: number,
): number {
  if (errorType === 'quota_requests_by_uid') return nextMidnightGmt(nowMs) - nowMs + 60_000;
  if (errorType === 'quota_requests_by_counter_id') return 3_600_000;
  if (retryAfterMs !== null) return retryAfterMs;
  if (errorType === 'quota_parallel_requests') return 2_000;
  if (status === 429) return 1_000;
  return 30_000;
}
