/**
 * `closeloop auth <authorization-code>`: authorizes closeloop as an amoCRM OAuth integration.
 *
 * Trades the code for the first token pair and stores it in the data folder, beside a service that
 * may be running; from then on the service refreshes the pair itself. An authorization code lasts
 * 20 minutes and works once (research amocrm.md §4), which is why a refused code gets a message
 * saying so. The tokens and the client secret are never printed.
 */
import { Argument, InvalidArgumentError, type Command } from 'commander';
import { oauthTokenAccount, OAuthTokenSource } from '../adapters/crm/amocrm/oauth-token-source';
import { AuthError, RetryableError } from '../core/errors';
import type { CliRun } from './cli-run';
import { openStoreBesideService } from './open-store-beside-service';
import { loadConfigOrReport } from './load-config-or-report';

export function authCommand(run: CliRun): Command {
  return run
    .command('auth')
    .summary('store the first tokens of an amoCRM OAuth integration')
    .description(
      'Exchanges an amoCRM authorization code for the first token pair of an OAuth integration and ' +
        'stores it where the service keeps its data; from then on the service refreshes the pair itself. ' +
        'Copy the code from amoCRM (Settings → Integrations → your integration → Keys and scopes), or ' +
        'paste the whole address amoCRM redirected to. A code lasts 20 minutes and works once.',
    )
    .addArgument(
      new Argument('<authorization-code>', 'the code, or the whole redirect address').argParser(
        run.value(parseAuthorizationCode),
      ),
    )
    .addHelpText(
      'after',
      `
The config is CLOSELOOP_CONFIG, else config/closeloop.yaml. The tokens go to the
data folder beside it (or CLOSELOOP_DATA_DIR), which auth creates when the
service has not run yet; on Redis (REDIS_URL), to Redis.`,
    )
    .action(run.action('auth', (code: string) => authorize(code, run)));
}

const NOT_CONFIGURED = [
  'add the oauth section of your amoCRM integration to the amocrm section of the config:',
  '',
  'amocrm:',
  '  subdomain: ${AMOCRM_SUBDOMAIN:-}   # example for example.amocrm.ru',
  '  oauth:',
  '    client_id: your-integration-id',
  '    client_secret: ${AMOCRM_CLIENT_SECRET}',
  '    redirect_uri: https://example.com/amocrm/oauth   # exactly as in the integration settings',
  '',
  'then run `closeloop auth <code>` again.',
];

async function authorize(code: string, { io, env, cwd }: CliRun): Promise<number> {
  const config = loadConfigOrReport(io, env, cwd);
  if (config === null) return 1;
  const api = config.amocrm.api;
  if (api === null) {
    io.err(`amoCRM OAuth is not configured in ${config.file}: ${NOT_CONFIGURED.join('\n')}`);
    return 1;
  }
  if (api.auth.kind !== 'oauth') {
    io.err(
      `${config.file} gives amoCRM a long-lived token (amocrm.token), which needs no authorization. ` +
        '`closeloop auth` is for OAuth integrations: to use one, empty token and ' +
        NOT_CONFIGURED.join('\n'),
    );
    return 1;
  }

  const { store, dataDir, created } = await openStoreBesideService({ env, cwd, create: true });
  try {
    const source = new OAuthTokenSource(
      {
        baseUrl: api.baseUrl,
        clientId: api.auth.clientId,
        clientSecret: api.auth.clientSecret,
        redirectUri: api.auth.redirectUri,
        timeoutMs: api.timeoutMs,
      },
      {
        store: store.tokens,
        account: oauthTokenAccount(api.baseUrl),
        logger: { info: (m) => io.out(m), error: (m) => io.err(m) },
      },
    );
    await source.exchangeCode(code);
    if (dataDir !== null && created) {
      const same = dataDir.source === 'config' ? 'config' : 'CLOSELOOP_DATA_DIR';
      io.out(
        `Created the data folder ${dataDir.path} (${dataDir.foundBy}); closeloop start finds the tokens there when it runs with the same ${same}.`,
      );
    }
    const where = dataDir === null ? store.describe() : dataDir.path;
    io.out(`amoCRM authorized: tokens stored in ${where}; they refresh themselves.`);
    return 0;
  } catch (e) {
    if (e instanceof AuthError) {
      io.err(e.message);
      return 1;
    }
    if (e instanceof RetryableError) {
      io.err(
        `${e.message}\nTry again; should amoCRM then refuse the code, get a new one (a code lasts 20 minutes and works once).`,
      );
      return 1;
    }
    throw e;
  } finally {
    await store.close();
  }
}

/** The code itself, or the `code` parameter of the redirect address pasted whole. */
export function parseAuthorizationCode(given: string): string {
  const trimmed = given.trim();
  if (trimmed === '') {
    throw new InvalidArgumentError(
      'the authorization code is empty; copy it from amoCRM (your integration → Keys and scopes)',
    );
  }
  if (!/^https?:\/\//i.test(trimmed)) return trimmed;
  let code: string | null = null;
  try {
    code = new URL(trimmed).searchParams.get('code');
  } catch {
    // not an address after all: said below
  }
  if (!code) {
    throw new InvalidArgumentError(
      'the address has no code= parameter; paste the code itself, or the whole redirect address',
    );
  }
  return code;
}
