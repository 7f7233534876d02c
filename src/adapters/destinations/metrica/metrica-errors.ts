/**
 * Metrica's error answers in closeloop's words (research yandex-metrica.md §4): what happened, what
 * to do, and when to try again. Pure: the caller passes `nowMs`.
 *
 * Body: `{"errors":[{"error_type","message","location"}],"code","message"}`, messages often in
 * Russian. 403 `invalid_token` and 401 mean "authorise again"; 403 `access_denied` a missing scope
 * or no access to the counter; 404 a wrong counter id; 400 `invalid_uploading` a file Metrica could
 * not read. Each of these stops the counter's queue: retrying cannot help until a person acts.
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
}

const TOKEN_HELP =
  'get a new token at https://oauth.yandex.ru (an app with the scopes metrika:offline_data and metrika:read; docs/metrica.md) and set METRICA_TOKEN, then restart';

export function explainMetricaError(status: number, body: MetricaErrorBody): ExplainedError {
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
      message: `${prefix}: there is no such counter, or not for this token; check METRICA_COUNTER_ID (metrica.counter_id), then restart`,
    };
  }
  if (errorType === 'invalid_uploading' || status === 400) {
    return {
      errorType,
      stopsQueue: true,
      message: `${prefix}: Metrica could not read the file; the batch is not sent again. Report it as a closeloop bug with this message; the queue stays stopped until a restart`,
    };
  }
  return {
    errorType,
    stopsQueue: true,
    message: `${prefix}: refused; the queue stays stopped until a restart`,
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
