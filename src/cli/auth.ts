/**
 * `closeloop auth <authorization-code>`: authorizes closeloop as an amoCRM OAuth integration.
 *
 * Trades the code for the first token pair and stores it in the data folder, beside a service that
 * may be running; from then on the service refreshes the pair itself. An authorization code lasts
 * 20 minutes and works once (research amocrm.md §4), which is why a refused code gets a message
 * saying so. The tokens and the client secret are never printed.
 */
import path from 'node:path';
import { oauthTokenAccount, OAuthTokenSource } from '../adapters/crm/amocrm/oauth-token-source';
import { AuthError, RetryableError } from '../core/errors';
import type { CliIo } from './cli-io';
import { openStoreBesideService } from './open-store-beside-service';
import { loadConfigOrReport } from './load-config-or-report';

const USAGE = [
  'usage: closeloop auth <authorization-code>',
  '',
  'Stores the tokens of an amoCRM OAuth integration; the service refreshes them itself.',
  'Copy the code from amoCRM (Settings → Integrations → your integration → Keys and scopes), or',
  'paste the whole address amoCRM redirected to. A code lasts 20 minutes and works once.',
  'The config is CLOSELOOP_CONFIG, else config/closeloop.yaml; the data folder CLOSELOOP_DATA_DIR.',
];

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

export async function runAuth(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    USAGE.forEach((line) => io.out(line));
    return 0;
  }
  const [given] = args;
  if (args.length !== 1 || given === undefined || given.startsWith('-') || given.trim() === '') {
    USAGE.forEach((line) => io.err(line));
    return 1;
  }
  const code = readCode(given);
  if (code === null) {
    io.err(
      'the address has no code= parameter: paste the code itself, or the whole redirect address',
    );
    return 1;
  }

  const config = loadConfigOrReport(io, env, undefined);
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

  const dataDir = path.resolve(env.CLOSELOOP_DATA_DIR || './data');
  const store = await openStoreBesideService(env);
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
    io.out(`amoCRM authorized: tokens stored in ${dataDir}; they refresh themselves.`);
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
function readCode(given: string): string | null {
  const trimmed = given.trim();
  if (!/^https?:\/\//i.test(trimmed)) return trimmed;
  try {
    return new URL(trimmed).searchParams.get('code') || null;
  } catch {
    return null;
  }
}
