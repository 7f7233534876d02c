/**
 * The amoCRM API v4 client: the handful of calls closeloop needs, on Node's fetch. Facts behind
 * every rule below: research/amocrm.md §3–§6.
 *
 * Every HTTP attempt, retries included, first takes a slot from the account's rate limiter
 * (7 requests per second per integration, §5), carries `Authorization: Bearer <token>` and has a
 * timeout. What an answer means:
 * - 2xx: JSON (`application/hal+json`); an empty body (204: "nothing matches", §3.1) is `null`.
 * - 401: the token was refused. The token source gets one chance to refresh it, the call is
 *   retried once, and then it is `AuthError('AMOCRM_AUTH')`.
 * - 429: too fast. No `Retry-After` is documented (§5), so every call to the account pauses for
 *   1 s, doubling with each consecutive 429 up to 60 s, back to 1 s after a success; the call is
 *   retried 3 times, then `RetryableError('AMOCRM_UNAVAILABLE')`.
 * - 403: amoCRM blocked API access for the account after repeated violations (or the server's IP
 *   is not allowed, §5). Every further call would keep it blocked, so none is sent for 10 minutes:
 *   they throw `AuthError('AMOCRM_ACCOUNT_BLOCKED')` at once. One error line is logged per block.
 * - 5xx, timeouts, network errors: `RetryableError('AMOCRM_UNAVAILABLE')`; the job queue retries.
 * - Anything else: `AppError('AMOCRM_REQUEST_REJECTED')` with what amoCRM said: the problem+json
 *   `title`, `detail` and `validation-errors` (§6), or the page title of an HTML body (429 and
 *   403 may come as nginx pages, §5).
 *
 * The token never appears in an error message, `details`, `cause` or log line: texts from the
 * other side (bodies, fetch errors) are scrubbed of it before they are kept.
 */
import { AppError, AuthError, RetryableError } from '../../../core/errors';
import { asClause } from '../../../core/error-message';
import type { AmocrmApiSettings } from './config';
import type { LeadSnapshot } from './amocrm-lead';
import type { AccessTokenSource } from '../../../ports/access-token-source';
import type { CrmAccount, CrmClient, LeadPage, Pipeline } from './crm-client';
import type { RateLimiter } from '../../../ports/rate-limiter';
import type { AmoApiAccount, AmoApiLeadList, AmoComplexLeadResult } from './api-types';
import {
  describeErrorBody,
  errorDetails,
  isApiLead,
  isComplexResult,
  isPipeline,
  isRecord,
  mapPipeline,
  parseSuccessBody,
  unexpectedBody,
  type RawAnswer,
} from './amocrm-answers';
import { mapApiLead } from './map-api-lead';
import { scrubbedErrorCopy, type Scrub } from '../../../core/scrubbed-error-copy';
import { MAX_ERROR_BODY_BYTES, readLimitedText } from '../../read-limited-response';

export interface AmocrmClientLogger {
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface AmocrmClientDeps {
  tokens: AccessTokenSource;
  limiter: RateLimiter;
  /** The limiter key and the name used in messages: one budget per amoCRM account. */
  accountKey: string;
  logger: AmocrmClientLogger;
  /** Injected in tests; global fetch by default. */
  fetchImpl?: typeof fetch;
  /** Wall clock (ms) for the account block; Date.now by default. */
  now?: () => number;
  /** Waits out a 429 backoff; a timer by default. */
  sleep?: (ms: number) => Promise<void>;
}

export type AmocrmClientSettings = Pick<
  AmocrmApiSettings,
  'baseUrl' | 'requestsPerSecond' | 'timeoutMs'
>;

/** "The number of entities returned per request (limit – 250)" (§3.1). */
export const MAX_PAGE_SIZE = 250;
/** "You can add no more than 50 leads per request" (§3.3). */
export const MAX_COMPLEX_LEADS = 50;
/** How long an account stays blocked after a 403 before closeloop tries again. */
export const ACCOUNT_BLOCK_MS = 10 * 60_000;

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
const MAX_RETRIES_AFTER_429 = 3;

const LEADS_PATH = '/api/v4/leads';

type Method = 'GET' | 'POST';
type Query = ReadonlyArray<readonly [string, string]>;

export class AmocrmClient implements CrmClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The pause the next 429 gets; doubles per consecutive 429, reset by any success. */
  private next429PauseMs = BACKOFF_FIRST_MS;
  /** Until when (wall clock, ms) a 403 keeps every call from being sent. */
  private blockedUntil = -Infinity;
  private blockedAt = -Infinity;

  constructor(
    private readonly settings: AmocrmClientSettings,
    private readonly deps: AmocrmClientDeps,
  ) {
    // A proxy may serve the API under a path (`https://proxy.example/amocrm`): keep it, drop the
    // trailing slash.
    this.baseUrl = settings.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = deps.fetchImpl ?? ((input, init) => fetch(input, init));
    this.now = deps.now ?? (() => Date.now());
    this.sleep = deps.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * The leads with these ids, in one `filter[id][]` call; deleted and missing ids are absent.
   * The API documents no cap on `filter[id][]` (§3.1, UNCONFIRMED), so the page size caps it:
   * more than 250 distinct ids is the caller's bug.
   */
  async getLeads(ids: readonly number[]): Promise<LeadSnapshot[]> {
    const unique = [...new Set(ids)];
    for (const id of unique) assertWholeNumber(id, 1, 'lead id');
    if (unique.length > MAX_PAGE_SIZE) {
      throw new RangeError(
        `getLeads takes at most ${MAX_PAGE_SIZE} distinct ids (the API's page size), got ${unique.length}; split the batch`,
      );
    }
    if (unique.length === 0) return [];
    const query: Array<[string, string]> = unique.map((id) => ['filter[id][]', String(id)]);
    query.push(['limit', String(MAX_PAGE_SIZE)]);
    const body = await this.request('GET', LEADS_PATH, query);
    return this.readLeadList(body, `GET ${LEADS_PATH}`).leads;
  }

  /** For reconciliation: leads updated at or after `updatedFrom`, oldest first (§2, §5). */
  async listLeadsUpdatedSince(updatedFrom: number, page: number): Promise<LeadPage> {
    assertWholeNumber(updatedFrom, 0, 'updatedFrom');
    assertWholeNumber(page, 1, 'page');
    const body = await this.request('GET', LEADS_PATH, [
      ['filter[updated_at][from]', String(updatedFrom)],
      ['order[updated_at]', 'asc'],
      ['limit', String(MAX_PAGE_SIZE)],
      ['page', String(page)],
    ]);
    return this.readLeadList(body, `GET ${LEADS_PATH}`);
  }

  /** Every pipeline with its statuses. At most 50 pipelines per account (§3.4): one page. */
  async getPipelines(): Promise<Pipeline[]> {
    const path = `${LEADS_PATH}/pipelines`;
    const body = await this.request('GET', path, []);
    if (body === null) return [];
    const pipelines = isRecord(body) && isRecord(body._embedded) ? body._embedded.pipelines : null;
    if (!Array.isArray(pipelines)) throw unexpectedBody(`GET ${path}`, '_embedded.pipelines');
    return (pipelines as unknown[]).filter(isPipeline).map(mapPipeline);
  }

  async getAccount(): Promise<CrmAccount> {
    const path = '/api/v4/account';
    const body = (await this.request('GET', path, [])) as Partial<AmoApiAccount> | null;
    if (
      !isRecord(body) ||
      typeof body.id !== 'number' ||
      typeof body.subdomain !== 'string' ||
      body.subdomain === ''
    ) {
      throw unexpectedBody(`GET ${path}`, 'id and subdomain');
    }
    return { id: String(body.id), subdomain: body.subdomain };
  }

  /**
   * `POST /api/v4/leads/complex`: leads with their contact and company in one call (§3.3). The
   * body is built by the caller; the answer lists the created ids in request order.
   *
   * Not idempotent: after a timeout or a 5xx the leads may exist already. 401 and 429 are retried
   * here because amoCRM refused those before doing anything.
   */
  async createLeadComplex(leads: readonly unknown[]): Promise<AmoComplexLeadResult[]> {
    if (leads.length > MAX_COMPLEX_LEADS) {
      throw new RangeError(
        `createLeadComplex takes at most ${MAX_COMPLEX_LEADS} leads per call, got ${leads.length}`,
      );
    }
    if (leads.length === 0) return [];
    const path = `${LEADS_PATH}/complex`;
    const body = await this.request('POST', path, [], leads);
    if (!Array.isArray(body) || !body.every(isComplexResult)) {
      throw unexpectedBody(`POST ${path}`, 'a list of {id, contact_id, company_id, request_id}', {
        note: 'the leads may have been created',
      });
    }
    return body.map((r) => ({
      id: r.id,
      contact_id: typeof r.contact_id === 'number' ? r.contact_id : null,
      company_id: typeof r.company_id === 'number' ? r.company_id : null,
      request_id: Array.isArray(r.request_id) ? r.request_id.map(String) : [],
      merged: r.merged === true,
    }));
  }

  private readLeadList(body: unknown, target: string): LeadPage {
    // 204 No Content: nothing matches (§3.1).
    if (body === null) return { leads: [], hasMore: false };
    const list = body as Partial<AmoApiLeadList>;
    const raw: unknown = isRecord(list) && isRecord(list._embedded) ? list._embedded.leads : null;
    if (!Array.isArray(raw)) throw unexpectedBody(target, '_embedded.leads');
    const usable = raw.filter(isApiLead);
    if (usable.length < raw.length) {
      this.deps.logger.warn('amoCRM returned leads without a numeric id; they were skipped', {
        account: this.deps.accountKey,
        target,
        skipped: raw.length - usable.length,
      });
    }
    const next = list._links?.next?.href;
    return {
      // The list endpoint leaves deleted leads out unless asked; the check is cheap insurance.
      leads: usable.filter((lead) => lead.is_deleted !== true).map(mapApiLead),
      hasMore: typeof next === 'string' && next !== '',
    };
  }

  /**
   * One API call with everything the file comment promises: limiter, token, timeout, and the
   * meaning of each answer. Returns the parsed JSON body, or null for an empty one.
   */
  private async request(
    method: Method,
    path: string,
    query: Query,
    body?: unknown,
  ): Promise<unknown> {
    const target = `${method} ${path}`;
    const url = this.buildUrl(path, query);
    let refreshedToken: string | null = null;
    let refreshTried = false;
    let refreshed = false;
    let answers429 = 0;

    for (;;) {
      this.assertNotBlocked(target);
      await this.deps.limiter.acquire(this.deps.accountKey);
      // Another call may have hit the block while this one waited for its slot.
      this.assertNotBlocked(target);
      const token = refreshedToken ?? (await this.deps.tokens.get());
      refreshedToken = null;
      const answer = await this.send(method, url, target, token, body);
      const { status } = answer;
      const scrub = scrubberFor(token);

      if (status >= 200 && status < 300) {
        this.next429PauseMs = BACKOFF_FIRST_MS;
        return parseSuccessBody(answer, target, scrub);
      }

      if (status === 401) {
        if (!refreshTried) {
          refreshTried = true;
          refreshedToken = await this.deps.tokens.refreshAfterUnauthorized(token);
          if (refreshedToken !== null) {
            refreshed = true;
            continue;
          }
        }
        throw this.unauthorized(answer, target, scrub, refreshed);
      }

      if (status === 429) {
        answers429 += 1;
        const pauseMs = this.next429PauseMs;
        this.next429PauseMs = Math.min(pauseMs * 2, BACKOFF_MAX_MS);
        // The pause holds every caller of this account, here and (with a shared limiter) in
        // other processes: hammering on after a 429 is what gets accounts blocked (§5).
        this.deps.limiter.pause(this.deps.accountKey, pauseMs);
        if (answers429 > MAX_RETRIES_AFTER_429) {
          throw new RetryableError(
            'AMOCRM_UNAVAILABLE',
            `amoCRM answered HTTP 429 (too many requests) to ${target} ${answers429} times in a row; retryable after ${pauseMs} ms. closeloop sends at most ${this.settings.requestsPerSecond} requests per second to the account: another integration may be using the same budget`,
            { retryAfterMs: pauseMs, details: errorDetails(answer, target, scrub) },
          );
        }
        this.deps.logger.warn(
          'amoCRM answered 429 (too many requests); calls to the account wait',
          {
            account: this.deps.accountKey,
            target,
            pauseMs,
            attempt: answers429,
          },
        );
        // The limiter's pause already holds this call's next slot; sleeping here too makes the
        // backoff hold even with a limiter that applies pauses late (one shared across processes).
        // Both end together, so the wait is not doubled.
        await this.sleep(pauseMs);
        continue;
      }

      if (status === 403) throw this.block(answer, target, scrub);

      if (status >= 500) {
        const described = describeErrorBody(answer, scrub);
        throw new RetryableError(
          'AMOCRM_UNAVAILABLE',
          `amoCRM answered HTTP ${status} to ${target}${described.summary ? ` (${asClause(described.summary)})` : ''}; retryable`,
          { details: errorDetails(answer, target, scrub, described) },
        );
      }

      throw this.rejected(answer, target, scrub);
    }
  }

  private async send(
    method: Method,
    url: string,
    target: string,
    token: string,
    body: unknown,
  ): Promise<RawAnswer> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Bearer ${token}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const response = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // A redirect would carry the token to wherever it points; the API does not redirect its
        // own endpoints, so a 3xx is reported (wrong domain or base URL) instead of followed.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      // Read within the same timeout; reading also frees the connection for reuse. An error body
      // is read up to 64 kB: a page of megabytes from a proxy must not fill the memory.
      const text = response.ok
        ? await response.text()
        : await readLimitedText(response, MAX_ERROR_BODY_BYTES);
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      throw this.transportError(error, target, scrubberFor(token));
    }
  }

  private buildUrl(path: string, query: Query): string {
    const search = new URLSearchParams(query.map(([k, v]): [string, string] => [k, v])).toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  private assertNotBlocked(target: string): void {
    if (this.now() < this.blockedUntil) {
      throw new AuthError(
        'AMOCRM_ACCOUNT_BLOCKED',
        `amoCRM blocked API access for account ${this.deps.accountKey} (HTTP 403 at ${iso(this.blockedAt)}); ${target} was not sent. closeloop tries again after ${iso(this.blockedUntil)}`,
        {
          details: {
            account: this.deps.accountKey,
            target,
            blockedAt: iso(this.blockedAt),
            blockedUntil: iso(this.blockedUntil),
          },
        },
      );
    }
  }

  private block(answer: RawAnswer, target: string, scrub: Scrub): AuthError {
    const now = this.now();
    const alreadyBlocked = now < this.blockedUntil;
    if (!alreadyBlocked) this.blockedAt = now;
    this.blockedUntil = Math.max(this.blockedUntil, now + ACCOUNT_BLOCK_MS);
    this.deps.limiter.pause(this.deps.accountKey, ACCOUNT_BLOCK_MS);
    const described = describeErrorBody(answer, scrub);
    const details = errorDetails(answer, target, scrub, described);
    const said = described.summary ? ` ("${described.summary}")` : '';
    const message =
      `amoCRM blocked API access for this account (${this.deps.accountKey}): HTTP 403 to ${target}${said}. ` +
      `closeloop sends nothing to it until ${iso(this.blockedUntil)}. ` +
      'amoCRM blocks accounts that keep exceeding its request limits; its support can unblock them. ' +
      "A 403 also comes when the server's IP is not on the account's allowed list";
    // Loud, but once per block: calls in flight when it began would repeat the same news.
    if (!alreadyBlocked) {
      this.deps.logger.error(message, {
        code: 'AMOCRM_ACCOUNT_BLOCKED',
        account: this.deps.accountKey,
        requestsPerSecond: this.settings.requestsPerSecond,
        ...details,
        blockedUntil: iso(this.blockedUntil),
      });
    }
    return new AuthError('AMOCRM_ACCOUNT_BLOCKED', message, { details });
  }

  private unauthorized(
    answer: RawAnswer,
    target: string,
    scrub: Scrub,
    refreshed: boolean,
  ): AuthError {
    const described = describeErrorBody(answer, scrub);
    const said = described.summary ? ` ("${described.summary}")` : '';
    const fix =
      this.deps.tokens.kind === 'long-lived'
        ? 'The long-lived token expired or was revoked: generate a new one in amoCRM (the integration\'s "Keys and scopes" tab) and set AMOCRM_TOKEN'
        : 'The OAuth tokens were revoked or could not be refreshed: authorize the integration again';
    const after = refreshed ? ' even after a token refresh' : '';
    return new AuthError(
      'AMOCRM_AUTH',
      `amoCRM refused the access token (HTTP 401) for ${target}${after}${said}. ${fix}`,
      { details: errorDetails(answer, target, scrub, described) },
    );
  }

  private rejected(answer: RawAnswer, target: string, scrub: Scrub): AppError {
    const described = describeErrorBody(answer, scrub);
    const details = errorDetails(answer, target, scrub, described);
    if (answer.status >= 300 && answer.status < 400) {
      const location = scrub(answer.headers.get('location') ?? '');
      return new AppError(
        'AMOCRM_REQUEST_REJECTED',
        `amoCRM redirected ${target} (HTTP ${answer.status}${location ? ` to ${location}` : ''}); not followed, so the token stays with amoCRM. Check the account's domain (AMOCRM_SUBDOMAIN) or AMOCRM_BASE_URL`,
        { httpStatus: answer.status, details: { ...details, location } },
      );
    }
    return new AppError(
      'AMOCRM_REQUEST_REJECTED',
      `amoCRM refused ${target} with HTTP ${answer.status}${described.summary ? `: ${asClause(described.summary)}` : ''}`,
      { httpStatus: answer.status, details },
    );
  }

  private transportError(error: unknown, target: string, scrub: Scrub): RetryableError {
    const cause = scrubbedErrorCopy(error, scrub);
    if (cause.name === 'TimeoutError') {
      return new RetryableError(
        'AMOCRM_UNAVAILABLE',
        `amoCRM did not answer ${target} within ${this.settings.timeoutMs} ms; retryable`,
        { cause, details: { target, timeoutMs: this.settings.timeoutMs } },
      );
    }
    // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return new RetryableError(
      'AMOCRM_UNAVAILABLE',
      `Could not reach amoCRM (${target}): ${asClause(`${cause.message}${inner}`)}; retryable`,
      { cause, details: { target } },
    );
  }
}

function scrubberFor(token: string): Scrub {
  return (text) => (token === '' ? text : text.split(token).join('[REDACTED]'));
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function assertWholeNumber(n: number, min: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new RangeError(`${name} must be a whole number of ${min} or more, got ${n}`);
  }
}
