/**
 * The amoCRM client of a command (`statuses`, `check-config`), beside a service that may be running.
 *
 * An OAuth integration's tokens live in the store the service uses (`closeloop auth` put them
 * there), so the command opens that store, and fails, saying where it looked, when there is none.
 * A long-lived token is in the config and needs no store: on the embedded store the rate limiter is
 * per process anyway, so the command opens nothing and works before the service ever ran (a
 * marketer lists the statuses to write the first rules). On Redis the command uses the store, and
 * its shared limiter, as the service does.
 */
import type { AmocrmApiSettings } from '../config/config-types';
import type { TokenStore } from '../ports/token-store';
import type { AmocrmClient } from '../adapters/crm/amocrm/amocrm-client';
import {
  createAmocrmClient,
  type AmocrmClientFactoryDeps,
} from '../adapters/crm/amocrm/create-amocrm-client';
import { InProcessRateLimiter } from '../adapters/rate-limit/in-process-rate-limiter';
import type { CliRun } from './cli-run';
import { openStoreBesideService } from './open-store-beside-service';

export interface CommandAmocrmClient {
  client: AmocrmClient;
  close(): Promise<void>;
}

/** A long-lived token is never stored: a token store that holds nothing, and is never written. */
const NO_OAUTH_TOKENS: TokenStore = {
  get: () => Promise.resolve(null),
  save: () => Promise.reject(new Error('a long-lived amoCRM token is not stored')),
  withRefreshLock: (_account, _ttlMs, fn) => fn(),
};

/** Throws AppError DATA_NOT_FOUND for OAuth on an embedded store that is not there. */
export async function openAmocrmClientBesideService(
  api: AmocrmApiSettings,
  { env, cwd }: CliRun,
  configPath: string | undefined,
  logger: AmocrmClientFactoryDeps['logger'],
): Promise<CommandAmocrmClient> {
  if (api.auth.kind === 'long-lived' && !env.REDIS_URL) {
    const store = {
      tokens: NO_OAUTH_TOKENS,
      createRateLimiter: (perSecond: number) => new InProcessRateLimiter(perSecond),
    };
    return { client: createAmocrmClient(api, { store, logger }), close: () => Promise.resolve() };
  }
  const { store } = await openStoreBesideService({
    env,
    cwd,
    configPath,
    missingHint:
      'The amoCRM OAuth tokens are kept there; if closeloop was never authorized, run `closeloop auth <code>` first.',
  });
  return { client: createAmocrmClient(api, { store, logger }), close: () => store.close() };
}
