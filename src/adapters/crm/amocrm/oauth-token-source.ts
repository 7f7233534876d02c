/**
 * AccessTokenSource for an amoCRM OAuth 2.0 integration, whose refresh tokens rotate.
 *
 * amoCRM facts this follows (research amocrm.md §4):
 * - The token endpoint is `POST {baseUrl}/oauth2/access_token` with a JSON body; it answers
 *   `{token_type, expires_in, access_token, refresh_token}`, and access tokens last 24 hours.
 * - A refresh token works once. Each refresh returns a new pair and spends the old refresh token;
 *   sending a spent one revokes the integration (`"hint":"Token has been revoked"`, 401, §6) until
 *   a person authorizes it again. An authorization code lasts 20 minutes and also works once.
 *
 * Hence the order of every refresh: take the account's lock in the TokenStore (one refresh at a
 * time across every process sharing the store), read the stored pair again (another process may
 * have refreshed while this one waited: then use its pair, no HTTP), send the refresh, and save the
 * new pair durably before anyone uses it. In one process, concurrent callers share one refresh.
 *
 * Tokens, the authorization code and the client secret never appear in a log line or an error:
 * they live in #private fields, are sent only in the request body, and text from the token
 * endpoint is scrubbed of them before it is quoted.
 */
import { AuthError, RetryableError } from '../../../core/errors';
import { asClause, errorMessage } from '../../../core/error-message';
import type { AccessTokenSource } from '../../../ports/access-token-source';
import type { StoredTokens, TokenStore } from '../../../ports/token-store';

export interface OAuthSettings {
  /** `https://<subdomain>.amocrm.ru`, a Kommo domain, or a proxy/test server. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Must equal the redirect URI registered in the integration, or amoCRM refuses every grant. */
  redirectUri: string;
  /** Whole-request budget for one call to the token endpoint. */
  timeoutMs: number;
}

/** The slice of a logger this needs (winston's Logger satisfies it). */
export interface OAuthLogger {
  info(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export interface OAuthTokenSourceDeps {
  store: TokenStore;
  /** The key the pair is stored under; use `oauthTokenAccount(baseUrl)` everywhere. */
  account: string;
  logger: OAuthLogger;
  /** Injected in tests; global fetch by default. */
  fetchImpl?: typeof fetch;
  now?: () => number;
}

/**
 * Refresh this long before the access token expires, so a token handed out by `get()` does not
 * expire on its way to amoCRM, and a slow refresh still finishes before the old token stops working.
 */
export const REFRESH_MARGIN_MS = 5 * 60_000;

/** The shortest refresh lease; longer when the configured timeout needs it (see lockTtlMs). */
const MIN_LOCK_TTL_MS = 30_000;

/** When the token endpoint leaves out `expires_in`: short, so the next refresh comes early. */
const FALLBACK_EXPIRES_IN_S = 3600;

/** How much of the token endpoint's explanation to quote. */
const MAX_REASON_CHARS = 200;

/**
 * The key one amoCRM account's pair is stored under: the API host. `closeloop auth` and the service
 * must agree on it, so both derive it from the same config value with this function.
 */
export function oauthTokenAccount(baseUrl: string): string {
  return new URL(baseUrl).host;
}

/** The grants the token endpoint takes, besides client_id, client_secret and redirect_uri. */
type Grant =
  | { grant_type: 'authorization_code'; code: string }
  | { grant_type: 'refresh_token'; refresh_token: string };

/** The token endpoint's answer, as amoCRM spells it. */
interface TokenResponseWire {
  token_type?: unknown;
  expires_in?: unknown;
  access_token?: unknown;
  refresh_token?: unknown;
}

/** amoCRM's problem+json error body (research §6); only these fields are ever quoted. */
interface OAuthProblemWire {
  hint?: unknown;
  detail?: unknown;
  title?: unknown;
}

/** 400 or 401 from the token endpoint: the grant itself (code, refresh token, client) was refused. */
interface Refused {
  status: number;
  reason: string;
}

type GrantResult = { tokens: StoredTokens } | { refused: Refused };

export class OAuthTokenSource implements AccessTokenSource {
  readonly kind = 'oauth' as const;
  // #private: `util.inspect`, `console.log(source)` and JSON.stringify do not show them.
  readonly #settings: OAuthSettings;
  readonly #store: TokenStore;
  readonly #account: string;
  readonly #logger: OAuthLogger;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #tokenUrl: string;
  /** The pair last read or saved by this process. */
  #cached: StoredTokens | null = null;
  /** The refresh running in this process, shared by every caller that needs one meanwhile. */
  #flight: Promise<StoredTokens> | null = null;
  /** A refresh token amoCRM refused: sending it again cannot succeed, and the operator was told. */
  #refusedRefreshToken: string | null = null;

  constructor(settings: OAuthSettings, deps: OAuthTokenSourceDeps) {
    this.#settings = { ...settings };
    this.#store = deps.store;
    this.#account = deps.account;
    this.#logger = deps.logger;
    this.#fetch = deps.fetchImpl ?? fetch;
    this.#now = deps.now ?? Date.now;
    this.#tokenUrl = `${settings.baseUrl.replace(/\/+$/, '')}/oauth2/access_token`;
  }

  async get(): Promise<string> {
    const tokens = this.#cached ?? (await this.#readStored());
    if (tokens === null) throw noTokensError();
    if (!this.#isExpiring(tokens)) return tokens.accessToken;
    return (await this.#refreshShared(null)).accessToken;
  }

  async refreshAfterUnauthorized(rejected: string): Promise<string | null> {
    const stored = await this.#readStored();
    if (stored === null) return null;
    // Another caller or process refreshed since `rejected` was handed out.
    if (stored.accessToken !== rejected && !this.#isExpiring(stored)) return stored.accessToken;
    // Two rounds: a refresh already running here may have been started by get() and found the
    // stored token fresh, which is the very token amoCRM just rejected.
    for (let round = 0; round < 2; round++) {
      try {
        const tokens = await this.#refreshShared(rejected);
        if (tokens.accessToken !== rejected) return tokens.accessToken;
      } catch (e) {
        // Refused or missing: the operator has been told; the client reports its own AMOCRM_AUTH.
        if (e instanceof AuthError) return null;
        throw e;
      }
    }
    return null;
  }

  /**
   * Trades an authorization code (from the integration's settings or its redirect) for the first
   * pair and stores it. Throws AuthError('AMOCRM_AUTH') when amoCRM refuses the code.
   */
  async exchangeCode(code: string): Promise<void> {
    const trimmed = code.trim();
    if (trimmed === '') throw new RangeError('The amoCRM authorization code is empty');
    // Under the lock, so a service refreshing beside this command cannot overwrite the new pair
    // with one made from the old refresh token.
    await this.#store.withRefreshLock(this.#account, this.#lockTtlMs(), async () => {
      const result = await this.#sendGrant({ grant_type: 'authorization_code', code: trimmed });
      if ('refused' in result) {
        throw new AuthError(
          'AMOCRM_AUTH',
          `amoCRM refused the authorization code (HTTP ${result.refused.status}${result.refused.reason ? `: ${result.refused.reason}` : ''}). ` +
            'A code lasts 20 minutes and works once: copy a new one from the integration in amoCRM ' +
            '(Settings → Integrations → your integration → Keys and scopes) and run `closeloop auth <code>` at once. ' +
            'If it keeps failing, check client_id, client_secret and redirect_uri in the oauth section of the config',
          { details: { status: result.refused.status, account: this.#account } },
        );
      }
      await this.#store.save(this.#account, result.tokens);
      this.#cached = result.tokens;
      this.#refusedRefreshToken = null;
    });
  }

  async #readStored(): Promise<StoredTokens | null> {
    const stored = await this.#store.get(this.#account);
    if (stored !== null) this.#cached = stored;
    return stored;
  }

  #isExpiring(tokens: StoredTokens): boolean {
    return tokens.expiresAt - this.#now() <= REFRESH_MARGIN_MS;
  }

  /**
   * The lease must outlast the HTTP call and the save: if it lapsed mid-refresh, another process
   * could send the same (by then spent) refresh token and revoke the integration.
   */
  #lockTtlMs(): number {
    return Math.max(MIN_LOCK_TTL_MS, this.#settings.timeoutMs + 10_000);
  }

  /** Single flight: one refresh per process at a time, whatever the number of callers. */
  #refreshShared(rejected: string | null): Promise<StoredTokens> {
    if (this.#flight === null) {
      this.#flight = this.#refreshUnderLock(rejected).finally(() => {
        this.#flight = null;
      });
    }
    return this.#flight;
  }

  #refreshUnderLock(rejected: string | null): Promise<StoredTokens> {
    return this.#store.withRefreshLock(this.#account, this.#lockTtlMs(), async () => {
      // Read again under the lock: the pair another process saved while this one waited is the
      // only one whose refresh token is still unspent.
      const stored = await this.#store.get(this.#account);
      if (stored === null) throw noTokensError();
      this.#cached = stored;
      if (stored.accessToken !== rejected && !this.#isExpiring(stored)) return stored;
      if (stored.refreshToken === this.#refusedRefreshToken) throw refusedError();

      const result = await this.#sendGrant({
        grant_type: 'refresh_token',
        refresh_token: stored.refreshToken,
      });
      if ('refused' in result) {
        this.#refusedRefreshToken = stored.refreshToken;
        const { status, reason } = result.refused;
        // One line per refused refresh token: later callers fail fast without a request or a line.
        this.#logger.error(
          `amoCRM refused to refresh the OAuth tokens (HTTP ${status}${reason ? `: ${reason}` : ''}). ` +
            'closeloop cannot use the amoCRM API until the integration is authorized again: copy a new ' +
            'authorization code from the integration in amoCRM and run `closeloop auth <code>` within 20 minutes. ' +
            'A refresh token works once; this happens when it was already used (another copy of closeloop ' +
            'with the same integration, a restored backup of the data folder) or the integration was disabled',
          { code: 'AMOCRM_AUTH', account: this.#account, status },
        );
        throw refusedError();
      }
      // The old refresh token is spent from this moment: the new pair must be durable before it
      // is used or handed out, or a crash here would leave only a spent token behind.
      await this.#store.save(this.#account, result.tokens);
      this.#cached = result.tokens;
      this.#logger.info('amoCRM OAuth tokens refreshed', {
        account: this.#account,
        expiresAt: new Date(result.tokens.expiresAt).toISOString(),
      });
      return result.tokens;
    });
  }

  /** One call to the token endpoint. 400/401 → refused; 2xx → the pair; anything else throws. */
  async #sendGrant(grant: Grant): Promise<GrantResult> {
    const { clientId, clientSecret, redirectUri, timeoutMs } = this.#settings;
    const spent = grant.grant_type === 'refresh_token' ? grant.refresh_token : grant.code;
    const scrub = buildScrubber([clientSecret, spent]);
    const target = `POST ${this.#tokenUrl}`;
    const issuedAt = this.#now();
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.#tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          client_id: clientId,
          client_secret: clientSecret,
          ...grant,
          redirect_uri: redirectUri,
        }),
        // Following a redirect could re-send the secrets elsewhere; amoCRM does not redirect it.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (e) {
      throw transportError(e, target, timeoutMs, scrub);
    }

    const { status } = response;
    if (status >= 200 && status < 300) {
      const tokens = parseTokenResponse(text, issuedAt);
      if (tokens === null) {
        throw new RetryableError(
          'AMOCRM_UNAVAILABLE',
          `amoCRM answered HTTP ${status} to ${target} without a token pair; retryable. ` +
            'If this repeats, check base_url: a proxy may be answering instead of amoCRM',
          { details: { status, url: this.#tokenUrl } },
        );
      }
      return { tokens };
    }
    const reason = parseProblemReason(text, scrub);
    if (status === 400 || status === 401) return { refused: { status, reason } };
    const details = { status, url: this.#tokenUrl, reason };
    if (status === 429 || status >= 500) {
      throw new RetryableError(
        'AMOCRM_UNAVAILABLE',
        `amoCRM answered HTTP ${status} to ${target}; retryable`,
        { details },
      );
    }
    if (status === 403) {
      // amoCRM blocks an account that kept exceeding the rate limit, or an IP outside its
      // whitelist, with 403 (research §5); the block is lifted later or by support.
      throw new RetryableError(
        'AMOCRM_ACCOUNT_BLOCKED',
        `amoCRM answered HTTP 403 to ${target}: the API is blocked for this account or this IP; retryable`,
        { details },
      );
    }
    throw new AuthError(
      'AMOCRM_AUTH',
      `amoCRM's token endpoint answered HTTP ${status} to ${target}${reason ? ` (${reason})` : ''}. ` +
        'Check subdomain or base_url in the amocrm section of the config',
      { details },
    );
  }
}

function noTokensError(): AuthError {
  return new AuthError(
    'AMOCRM_AUTH',
    'no amoCRM OAuth tokens yet: run `closeloop auth <code>` with an authorization code from the ' +
      'integration in amoCRM (Settings → Integrations → your integration → Keys and scopes); a code ' +
      'lasts 20 minutes and works once',
  );
}

function refusedError(): AuthError {
  return new AuthError(
    'AMOCRM_AUTH',
    'amoCRM refused to refresh the OAuth tokens: authorize the integration again with ' +
      '`closeloop auth <code>` (a new authorization code from the integration in amoCRM)',
  );
}

/** The pair from a 2xx answer, or null when the answer does not hold one. */
function parseTokenResponse(text: string, issuedAt: number): StoredTokens | null {
  let body: TokenResponseWire;
  try {
    body = JSON.parse(text) as TokenResponseWire;
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { access_token: accessToken, refresh_token: refreshToken, expires_in: expiresIn } = body;
  if (typeof accessToken !== 'string' || accessToken === '') return null;
  if (typeof refreshToken !== 'string' || refreshToken === '') return null;
  // Counted from before the request was sent, so the stored expiry errs on the early side.
  const seconds =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0
      ? expiresIn
      : FALLBACK_EXPIRES_IN_S;
  return { accessToken, refreshToken, expiresAt: issuedAt + seconds * 1000, updatedAt: issuedAt };
}

/** amoCRM's own words for a refusal (`hint`, else `detail`, else `title`), scrubbed and short. */
function parseProblemReason(text: string, scrub: (s: string) => string): string {
  let body: OAuthProblemWire;
  try {
    body = JSON.parse(text) as OAuthProblemWire;
  } catch {
    return ''; // an HTML error page says nothing useful
  }
  if (typeof body !== 'object' || body === null) return '';
  const said = [body.hint, body.detail, body.title].find(
    (v): v is string => typeof v === 'string' && v.trim() !== '',
  );
  // Quoted inside parentheses or before more text: a clause, without amoCRM's final period.
  return said === undefined
    ? ''
    : asClause(scrub(said.replace(/\s+/g, ' ').trim()).slice(0, MAX_REASON_CHARS));
}

function buildScrubber(secrets: readonly string[]): (text: string) => string {
  const needles = secrets.filter((s) => s.length > 0);
  return (text) => needles.reduce((out, needle) => out.split(needle).join('[REDACTED]'), text);
}

/**
 * Network failure or timeout → retryable. The cause is rebuilt from scrubbed text, never passed
 * through: the original may carry the request (and so the secrets in its body).
 */
function transportError(
  e: unknown,
  target: string,
  timeoutMs: number,
  scrub: (s: string) => string,
): RetryableError {
  const name = e instanceof Error ? e.name : 'Error';
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RetryableError(
      'AMOCRM_UNAVAILABLE',
      `amoCRM's token endpoint did not answer ${target} within ${timeoutMs} ms; retryable. ` +
        'Should amoCRM have issued tokens before the answer was lost, the grant is spent and the next ' +
        'refresh is refused: then run `closeloop auth <code>` with a new code',
      { details: { timeoutMs } },
    );
  }
  // undici says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const inner = e instanceof Error && e.cause !== undefined ? `: ${errorMessage(e.cause)}` : '';
  const message = scrub(`${errorMessage(e)}${inner}`);
  return new RetryableError(
    'AMOCRM_UNAVAILABLE',
    `Could not reach amoCRM (${target}): ${asClause(message)}; retryable`,
    { cause: new Error(message) },
  );
}
