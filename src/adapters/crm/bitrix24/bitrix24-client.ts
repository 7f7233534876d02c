/**
 * The Bitrix24 REST client: calls through the portal's incoming webhook
 * (`https://<portal>/rest/<user>/<secret>/<method>.json`, POST with a JSON body), on Node's fetch.
 * Facts behind every rule: research bitrix24.md §2.1, §2.5, §4.
 *
 * Every HTTP attempt first takes a slot from the portal's limiter (the leaky bucket, shared by
 * every process: leaky-bucket.ts) and has a timeout. What an answer means:
 * - 200 with `result`: the answer. A `batch` answers 200 even when its commands fail; each
 *   command's error is in `result_error` (§4.3), for the caller.
 * - 503 (or 429, as the docs said before Dec 2024) `QUERY_LIMIT_EXCEEDED`: the bucket overflowed.
 *   Every call to the portal pauses for 1 s, doubling up to 30 s, and the call is retried up to 5
 *   times, then `RetryableError('BITRIX24_UNAVAILABLE')`.
 * - 429 `OPERATION_TIME_LIMIT`: the method used up its execution time for this webhook; calls of
 *   that method wait until `operating_reset_at` (§4.2): `RetryableError` with that delay.
 * - 503 `OVERLOAD_LIMIT`: REST was blocked for the portal by hand; only Bitrix24's support lifts
 *   it, so it is not retried in a loop: `RetryableError('BITRIX24_OVERLOAD_BLOCKED')` after 15 min.
 * - 401, 403 (`NO_AUTH_FOUND`, `expired_token`, `insufficient_scope`, `ACCESS_DENIED` "REST API
 *   is available only on commercial plans"): `AuthError('BITRIX24_AUTH')`.
 * - 3xx: the portal moved (a renamed portal redirects, and a client that follows turns the POST
 *   into a GET that drops its parameters, §2.5): never followed, `BITRIX24_REQUEST_REJECTED`.
 * - other 4xx: `AppError('BITRIX24_REQUEST_REJECTED')` with Bitrix24's `error` and
 *   `error_description` (the code may be empty: `crm.deal.get`'s "Not found", §3.6).
 * - 5xx, timeouts, network errors, HTML bodies: `RetryableError('BITRIX24_UNAVAILABLE')`.
 *
 * The webhook URL holds a secret: no message, detail or log line carries it, only method names.
 */
import { AppError, AuthError, RetryableError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import type { RateLimiter } from '../../../ports/rate-limiter';
import type { B24BatchResult, B24Envelope } from './bitrix24-types';

/** "batch: up to 50 sub-requests in cmd" (§4.3). */
export const MAX_BATCH = 50;
/** "Page size is fixed at 50" (§4.3). */
export const PAGE_SIZE = 50;
/** The most of an answer closeloop reads: a batch of 50 deals is well under 1 MB. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30_000;
const MAX_LIMIT_RETRIES = 5;
/** OVERLOAD_LIMIT is lifted by support only (§4.1): try again much later, not in a loop. */
const OVERLOAD_PAUSE_MS = 15 * 60_000;
const SNIPPET_CHARS = 200;

export interface Bitrix24ClientLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface Bitrix24ClientDeps {
  limiter: RateLimiter;
  /** The limiter key: one bucket per portal. */
  portalKey: string;
  logger: Bitrix24ClientLogger;
  fetchImpl?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Bitrix24ClientSettings {
  webhookUrl: string;
  timeoutMs: number;
}

/** Counts for the benchmark and the logs. */
export interface Bitrix24ClientStats {
  requests: number;
  /** 503/429 QUERY_LIMIT_EXCEEDED answers: the bucket overflowed (goal: 0). */
  limitAnswers: number;
}

type Params = Readonly<Record<string, unknown>>;

/** One command of a batch as Bitrix24 takes it: `crm.deal.get?id=42` (§4.3). */
export function batchCommand(method: string, params: Params): string {
  const query = toQuery(params);
  return query === '' ? method : `${method}?${query}`;
}

/** PHP-style bracket query: `filter[>ID]=5&order[ID]=ASC&select[0]=ID`. */
export function toQuery(params: Params): string {
  const out = new URLSearchParams();
  const put = (key: string, value: unknown): void => {
    if (value === undefined) return;
    if (value === null) out.append(key, '');
    else if (Array.isArray(value)) value.forEach((v, i) => put(`${key}[${i}]`, v));
    else if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) put(`${key}[${k}]`, v);
    } else if (typeof value === 'string') out.append(key, value);
    else if (typeof value === 'number' || typeof value === 'boolean')
      out.append(key, String(value));
  };
  for (const [k, v] of Object.entries(params)) put(k, v);
  return out.toString();
}

export class Bitrix24Client {
  readonly stats: Bitrix24ClientStats = { requests: 0, limitAnswers: 0 };
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private nextLimitPauseMs = BACKOFF_FIRST_MS;
  /** Per method, until when (wall clock, ms) OPERATION_TIME_LIMIT holds it. */
  private readonly methodBlockedUntil = new Map<string, number>();

  constructor(
    private readonly settings: Bitrix24ClientSettings,
    private readonly deps: Bitrix24ClientDeps,
  ) {
    this.fetchImpl = deps.fetchImpl ?? ((input, init) => fetch(input, init));
    this.now = deps.now ?? (() => Date.now());
    this.sleep = deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  }

  /** One method call; the envelope (`result`, `next`, `total`). */
  async call(method: string, params: Params = {}): Promise<B24Envelope> {
    this.assertMethodAllowed(method);
    for (let attempt = 0; ; attempt++) {
      await this.deps.limiter.acquire(this.deps.portalKey);
      const answer = await this.send(method, params);
      if (answer.kind === 'ok') {
        this.nextLimitPauseMs = BACKOFF_FIRST_MS;
        return answer.body;
      }
      // The bucket overflowed: every caller of the portal waits, then this call goes again.
      this.stats.limitAnswers++;
      const pause = this.nextLimitPauseMs;
      this.nextLimitPauseMs = Math.min(pause * 2, BACKOFF_MAX_MS);
      this.deps.limiter.pause(this.deps.portalKey, pause);
      if (attempt >= MAX_LIMIT_RETRIES) {
        throw new RetryableError(
          'BITRIX24_UNAVAILABLE',
          `Bitrix24 answered QUERY_LIMIT_EXCEEDED to ${method} ${attempt + 1} times in a row`,
          { retryAfterMs: pause },
        );
      }
    }
  }

  /**
   * Up to 50 commands in one request (§4.3), each `method?query` by key. Resolves with each
   * command's result or error; `halt=0`, so one failing command does not stop the others.
   */
  async batch(commands: Readonly<Record<string, string>>): Promise<B24BatchResult> {
    const keys = Object.keys(commands);
    if (keys.length > MAX_BATCH) {
      throw new RangeError(`a batch takes at most ${MAX_BATCH} commands, got ${keys.length}`);
    }
    for (const command of Object.values(commands)) this.assertMethodAllowed(command.split('?')[0]!);
    const envelope = await this.call('batch', { halt: 0, cmd: commands });
    const result = envelope.result as B24BatchResult | undefined;
    if (typeof result !== 'object' || result === null || !('result' in result)) {
      throw new AppError('BITRIX24_REQUEST_REJECTED', 'Bitrix24 answered batch without result');
    }
    this.noteOperatingLimits(result, commands);
    return result;
  }

  private assertMethodAllowed(method: string): void {
    const until = this.methodBlockedUntil.get(method) ?? -Infinity;
    const left = until - this.now();
    if (left > 0) {
      throw new RetryableError(
        'BITRIX24_UNAVAILABLE',
        `Bitrix24 holds ${method} for this webhook (OPERATION_TIME_LIMIT) for ${Math.ceil(left / 1000)} s more`,
        { retryAfterMs: left },
      );
    }
  }

  /** A command refused with OPERATION_TIME_LIMIT inside a batch holds its method too (§4.2). */
  private noteOperatingLimits(
    result: B24BatchResult,
    commands: Readonly<Record<string, string>>,
  ): void {
    const errors = Array.isArray(result.result_error) ? {} : result.result_error;
    const times =
      result.result_time === undefined || Array.isArray(result.result_time)
        ? {}
        : result.result_time;
    for (const [key, error] of Object.entries(errors)) {
      if (error.error === 'OPERATION_TIME_LIMIT') {
        const method = commands[key]?.split('?')[0];
        const resetAt = times[key]?.operating_reset_at;
        const until = typeof resetAt === 'number' ? resetAt * 1000 : this.now() + 60_000;
        if (method !== undefined) this.methodBlockedUntil.set(method, until);
      }
    }
  }

  private async send(
    method: string,
    params: Params,
  ): Promise<{ kind: 'ok'; body: B24Envelope } | { kind: 'limit' }> {
    const url = `${this.settings.webhookUrl}${method}.json`;
    this.stats.requests++;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'closeloop',
        },
        body: JSON.stringify(params),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      text = await readBounded(response, MAX_ANSWER_BYTES);
    } catch (e) {
      const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
      throw new RetryableError(
        'BITRIX24_UNAVAILABLE',
        timedOut
          ? `Bitrix24 did not answer ${method} within ${this.settings.timeoutMs} ms`
          : `Bitrix24 could not be reached for ${method}: ${this.scrub(asClause(describeFetchError(e)))}`,
      );
    }
    const body = parseJson(text);
    const status = response.status;
    const code = typeof body?.error === 'string' ? body.error : '';
    const description = this.scrub(
      typeof body?.error_description === 'string' ? body.error_description : snippet(text),
    );
    const said = `${status}${code === '' ? '' : ` ${code}`}${description === '' ? '' : `: ${description}`}`;
    if (code === 'QUERY_LIMIT_EXCEEDED' && (status === 503 || status === 429))
      return { kind: 'limit' };
    if (code === 'OPERATION_TIME_LIMIT') {
      const resetAt = body?.time?.operating_reset_at;
      const waitMs =
        typeof resetAt === 'number' ? Math.max(1000, resetAt * 1000 - this.now()) : 60_000;
      this.methodBlockedUntil.set(method, this.now() + waitMs);
      throw new RetryableError('BITRIX24_UNAVAILABLE', `Bitrix24 answered ${method} ${said}`, {
        retryAfterMs: waitMs,
      });
    }
    if (code === 'OVERLOAD_LIMIT') {
      this.deps.logger.error(
        'Bitrix24 blocked REST for the portal (OVERLOAD_LIMIT); only its support can lift it',
        { method },
      );
      this.deps.limiter.pause(this.deps.portalKey, OVERLOAD_PAUSE_MS);
      throw new RetryableError('BITRIX24_OVERLOAD_BLOCKED', `Bitrix24 answered ${method} ${said}`, {
        retryAfterMs: OVERLOAD_PAUSE_MS,
      });
    }
    if (status >= 300 && status < 400) {
      throw new AppError(
        'BITRIX24_REQUEST_REJECTED',
        `Bitrix24 answered ${method} with a redirect (${status}): the portal's address changed; put its new address in BITRIX24_WEBHOOK_URL`,
      );
    }
    if (status === 401 || status === 403) {
      throw new AuthError('BITRIX24_AUTH', `Bitrix24 refused ${method}: ${said}`);
    }
    if (status >= 500 || (status === 200 && body === null)) {
      throw new RetryableError('BITRIX24_UNAVAILABLE', `Bitrix24 answered ${method} ${said}`);
    }
    if (status !== 200 || code !== '' || body === null) {
      throw new AppError('BITRIX24_REQUEST_REJECTED', `Bitrix24 refused ${method}: ${said}`, {
        httpStatus: 502,
        details: { status, error: code, description },
      });
    }
    return { kind: 'ok', body };
  }

  /** Texts from the other side never carry the webhook's secret path. */
  private scrub(text: string): string {
    return text.split(this.settings.webhookUrl).join('<BITRIX24_WEBHOOK_URL>');
  }
}

function parseJson(text: string): B24Envelope | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function snippet(text: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(text)?.[1];
  return (title ?? text).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return e instanceof Error ? e.message : String(e);
}

/** The body as text, at most `max` bytes: a larger answer is refused rather than buffered. */
async function readBounded(response: Response, max: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new Error(`the answer is over ${max} bytes`);
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new Error(`the answer is over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
