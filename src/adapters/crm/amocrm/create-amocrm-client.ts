/**
 * Builds the amoCRM client from the config: the token source (long-lived or OAuth) and the
 * account's rate limiter. One limiter per process serves every caller (worker, reconciliation,
 * commands), which is what keeps the account under amoCRM's limit.
 */
import type { AmocrmApiSettings } from '../../../core/config-types';
import type { AccessTokenSource } from '../../../ports/access-token-source';
import type { RateLimiter } from '../../../ports/rate-limiter';
import type { TokenStore } from '../../../ports/token-store';
import { InProcessRateLimiter } from '../../rate-limit/in-process-rate-limiter';
import { AmocrmClient } from './amocrm-client';
import { LongLivedTokenSource } from './long-lived-token-source';
import { OAuthTokenSource, oauthTokenAccount } from './oauth-token-source';

export interface AmocrmClientFactoryDeps {
  /** With `createRateLimiter`, the store's limiter (shared by every process on Redis). */
  store: { tokens: TokenStore; createRateLimiter?: (perSecond: number) => RateLimiter };
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
    limiter:
      deps.limiter ??
      deps.store.createRateLimiter?.(api.requestsPerSecond) ??
      new InProcessRateLimiter(api.requestsPerSecond),
    accountKey: new URL(api.baseUrl).host,
    logger: deps.logger,
    fetchImpl: deps.fetchImpl,
  });
}
