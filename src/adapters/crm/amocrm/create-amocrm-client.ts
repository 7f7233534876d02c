/**
 * Builds the amoCRM client from the config: the token source (long-lived or OAuth) and the
 * account's rate limiter, from the store: in one process on the embedded store, for the whole
 * deployment on Redis. One client serves every caller of a process (worker, reconciliation), which
 * is what keeps the account under amoCRM's limit.
 */
import type { AmocrmApiSettings } from './config';
import type { AccessTokenSource } from '../../../ports/access-token-source';
import type { RateLimiter } from '../../../ports/rate-limiter';
import type { Store } from '../../../ports/store';
import { AmocrmClient } from './amocrm-client';
import { LongLivedTokenSource } from './long-lived-token-source';
import { OAuthTokenSource, oauthTokenAccount } from './oauth-token-source';

export interface AmocrmClientFactoryDeps {
  /** Tokens, and the rate limiter (shared by every process sharing the store). */
  store: Pick<Store, 'tokens' | 'createRateLimiter'>;
  logger: {
    info(message: string, meta?: Record<string, unknown>): unknown;
    warn(message: string, meta?: Record<string, unknown>): unknown;
    error(message: string, meta?: Record<string, unknown>): unknown;
  };
  limiter?: RateLimiter;
  fetchImpl?: typeof fetch;
}

export function createAccessTokenSource(
  api: AmocrmApiSettings,
  deps: Pick<AmocrmClientFactoryDeps, 'store' | 'logger' | 'fetchImpl'>,
): AccessTokenSource {
  if (api.auth.kind === 'long-lived') return new LongLivedTokenSource(api.auth.token);
  return new OAuthTokenSource(
    {
      baseUrl: api.baseUrl,
      clientId: api.auth.clientId,
      clientSecret: api.auth.clientSecret,
      redirectUri: api.auth.redirectUri,
      timeoutMs: api.timeoutMs,
    },
    {
      store: deps.store.tokens,
      account: oauthTokenAccount(api.baseUrl),
      logger: deps.logger,
      fetchImpl: deps.fetchImpl,
    },
  );
}

export function createAmocrmClient(
  api: AmocrmApiSettings,
  deps: AmocrmClientFactoryDeps,
): AmocrmClient {
  return new AmocrmClient(api, {
    tokens: createAccessTokenSource(api, deps),
    limiter: deps.limiter ?? deps.store.createRateLimiter(api.requestsPerSecond),
    accountKey: new URL(api.baseUrl).host,
    logger: deps.logger,
    fetchImpl: deps.fetchImpl,
  });
}
