/**
 * OAuth for amoCRM against nock (exact origin, path and JSON body) and a real SQLite store.
 *
 * amoCRM refresh tokens are single-use: a second refresh with the same token revokes the
 * integration (research amocrm.md §4). So every refresh interceptor here answers once; a second
 * refresh request would find no interceptor, fail, and fail the test.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import nock from 'nock';
import {
  OAuthTokenSource,
  oauthTokenAccount,
  type OAuthLogger,
  type OAuthSettings,
} from '../../src/adapters/crm/amocrm/oauth-token-source';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { AppError, AuthError, RetryableError } from '../../src/core/errors';
import type { Store } from '../../src/ports/store';
import type { StoredTokens, TokenStore } from '../../src/ports/token-store';
import { captureLogger } from '../helpers/capture-logger';

const ORIGIN = 'https://example.amocrm.ru';
const PATH = '/oauth2/access_token';
const ACCOUNT = oauthTokenAccount(ORIGIN);
const NOW = 1_700_000_000_000;
const DAY_MS = 86_400_000;

const SETTINGS: OAuthSettings = {
  baseUrl: ORIGIN,
  clientId: '4b6f2a1e-9c3d-4e5f-8a7b-1c2d3e4f5a6b',
  clientSecret: 'cs-Qm9vQmFyU2VjcmV0LTEyMzQ1Njc4OTA',
  redirectUri: 'https://example.com/amocrm/oauth',
  timeoutMs: 2000,
};

// Real access tokens are JWTs; these only need to be unmistakable in a log line.
const OLD: StoredTokens = {
  accessToken: 'eyJ0eXAiOiJKV1Qi.old-access.c2lnbmF0dXJlLW9sZA',
  refreshToken: 'def50200old-refresh-9f8e7d6c5b4a',
  // Expires in 2 minutes: inside the 5-minute refresh margin.
  expiresAt: NOW + 2 * 60_000,
  updatedAt: NOW - DAY_MS,
};
const NEW_ACCESS = 'eyJ0eXAiOiJKV1Qi.new-access.c2lnbmF0dXJlLW5ldw';
const NEW_REFRESH = 'def50200new-refresh-1a2b3c4d5e6f';
const SECRETS = [
  SETTINGS.clientSecret,
  OLD.accessToken,
  OLD.refreshToken,
  NEW_ACCESS,
  NEW_REFRESH,
  'def50200auth-code-0a9b8c7d',
];

const refreshBody = (refreshToken = OLD.refreshToken) => ({
  client_id: SETTINGS.clientId,
  client_secret: SETTINGS.clientSecret,
  grant_type: 'refresh_token',
  refresh_token: refreshToken,
  redirect_uri: SETTINGS.redirectUri,
});

/** The answer amoCRM gives a good grant (research §4: expires_in 86400). */
const tokenAnswer = {
  token_type: 'Bearer',
  expires_in: 86400,
  server_time: NOW / 1000,
  access_token: NEW_ACCESS,
  refresh_token: NEW_REFRESH,
};

/** amoCRM's answer to a spent refresh token, verbatim from amocrm-api-php issue #123 (§6). */
const REVOKED = {
  hint: 'Token has been revoked',
  title: 'Некорректный запрос',
  type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson',
  status: 401,
  detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
};

function tokenEndpoint() {
  return nock(ORIGIN).matchHeader('content-type', 'application/json');
}

/** A logger keeping exactly what it was given: nothing redacted, so a leak shows. */
function recordingLogger() {
  const lines: { level: string; message: string; meta?: Record<string, unknown> }[] = [];
  const logger: OAuthLogger = {
    info: (message, meta) => lines.push({ level: 'info', message, meta }),
    error: (message, meta) => lines.push({ level: 'error', message, meta }),
  };
  return { logger, lines, text: () => JSON.stringify(lines) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** Every way an error could carry a secret to a log line. */
function assertNoSecrets(error: unknown): void {
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    texts.push(current.message, current.stack ?? '', util.inspect(current));
    if (current instanceof AppError) texts.push(JSON.stringify(current.details) ?? '');
    current = current.cause;
  }
  for (const text of texts)
    for (const secret of SECRETS) assert.ok(!text.includes(secret), `secret leaked: ${text}`);
}

describe('amoCRM OAuth token source (nock + SQLite)', function () {
  this.timeout(10_000);
  let dataDir: string;
  let store: Store;
  const opened: Store[] = [];

  function openStore(lock: boolean): Store {
    const s = createSqliteStore({ dataDir, deliveryLogMaxRows: 1000, lock });
    opened.push(s);
    return s;
  }

  function source(
    options: { tokens?: TokenStore; logger?: OAuthLogger; settings?: Partial<OAuthSettings> } = {},
  ): OAuthTokenSource {
    return new OAuthTokenSource(
      { ...SETTINGS, ...options.settings },
      {
        store: options.tokens ?? store.tokens,
        account: ACCOUNT,
        logger: options.logger ?? recordingLogger().logger,
        now: () => NOW,
      },
    );
  }

  beforeEach(function () {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-oauth-'));
    store = openStore(true);
  });

  afterEach(async function () {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('exchangeCode', function () {
    it('trades the authorization code for a pair and stores it', async function () {
      tokenEndpoint()
        .post(PATH, {
          client_id: SETTINGS.clientId,
          client_secret: SETTINGS.clientSecret,
          grant_type: 'authorization_code',
          code: 'def50200auth-code-0a9b8c7d',
          redirect_uri: SETTINGS.redirectUri,
        })
        .reply(200, tokenAnswer);
      const oauth = source();
      await oauth.exchangeCode('  def50200auth-code-0a9b8c7d\n');
      assert.deepEqual(await store.tokens.get(ACCOUNT), {
        accessToken: NEW_ACCESS,
        refreshToken: NEW_REFRESH,
        expiresAt: NOW + DAY_MS,
        updatedAt: NOW,
      });
      assert.equal(await oauth.get(), NEW_ACCESS); // fresh: no further request
    });

    it('says a refused code lasts 20 minutes and works once', async function () {
      tokenEndpoint()
        .post(PATH, (body: Record<string, unknown>) => body.grant_type === 'authorization_code')
        .reply(400, { hint: 'Authorization code has expired', title: 'Bad Request', status: 400 });
      const error = await rejection(source().exchangeCode('def50200auth-code-0a9b8c7d'));
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'AMOCRM_AUTH');
      assert.match(error.message, /HTTP 400: Authorization code has expired/);
      assert.match(error.message, /20 minutes and works once/);
      assert.equal(await store.tokens.get(ACCOUNT), null);
      assertNoSecrets(error);
    });
  });

  describe('get', function () {
    it('asks the operator to run `closeloop auth` when nothing is stored', async function () {
      const error = await rejection(source().get());
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'AMOCRM_AUTH');
      assert.match(error.message, /no amoCRM OAuth tokens yet: run `closeloop auth <code>`/);
    });

    it('hands out a stored token that is not near expiry without any request', async function () {
      await store.tokens.save(ACCOUNT, { ...OLD, expiresAt: NOW + 6 * 60_000 });
      const oauth = source();
      assert.equal(await oauth.get(), OLD.accessToken);
      assert.equal(await oauth.get(), OLD.accessToken);
    });

    it('refreshes once near expiry and stores the rotated pair before returning it', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().reply(200, tokenAnswer);
      const order: string[] = [];
      const watched: TokenStore = {
        get: (a) => store.tokens.get(a),
        save: async (a, t) => {
          await store.tokens.save(a, t);
          order.push(`saved ${t.accessToken === NEW_ACCESS ? 'new' : 'other'} pair`);
        },
        withRefreshLock: (a, ttl, fn) => store.tokens.withRefreshLock(a, ttl, fn),
      };
      const log = captureLogger();
      const token = await source({ tokens: watched, logger: log.logger })
        .get()
        .then((t) => {
          order.push('returned');
          return t;
        });
      assert.equal(token, NEW_ACCESS);
      assert.deepEqual(order, ['saved new pair', 'returned']);
      assert.deepEqual(await store.tokens.get(ACCOUNT), {
        accessToken: NEW_ACCESS,
        refreshToken: NEW_REFRESH,
        expiresAt: NOW + DAY_MS,
        updatedAt: NOW,
      });
      assert.deepEqual(
        log.lines().map((l) => [l.level, l.message]),
        [['info', 'amoCRM OAuth tokens refreshed']],
      );
    });

    it('does not hand out a new token that could not be stored', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().reply(200, tokenAnswer);
      const failing: TokenStore = {
        get: (a) => store.tokens.get(a),
        save: () => Promise.reject(new Error('disk full')),
        withRefreshLock: (a, ttl, fn) => store.tokens.withRefreshLock(a, ttl, fn),
      };
      await assert.rejects(source({ tokens: failing }).get(), /disk full/);
    });

    it('makes ONE refresh request for ten concurrent callers near expiry', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().delay(50).reply(200, tokenAnswer);
      let locks = 0;
      const counting: TokenStore = {
        get: (a) => store.tokens.get(a),
        save: (a, t) => store.tokens.save(a, t),
        withRefreshLock: (a, ttl, fn) => {
          locks++;
          return store.tokens.withRefreshLock(a, ttl, fn);
        },
      };
      const oauth = source({ tokens: counting });
      const tokens = await Promise.all(Array.from({ length: 10 }, () => oauth.get()));
      assert.deepEqual(tokens, Array<string>(10).fill(NEW_ACCESS));
      assert.equal(await oauth.get(), NEW_ACCESS);
      // One shared refresh in the process, not ten callers queueing on the store's lock.
      assert.equal(locks, 1);
    });

    it('makes ONE refresh request for two processes on the same SQLite file', async function () {
      // Two connections to one file, as the service and a second process would have.
      const other = openStore(false);
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().delay(100).reply(200, tokenAnswer);
      const first = source({ tokens: store.tokens });
      const second = source({ tokens: other.tokens });
      // Both have read the old pair before either refreshes.
      assert.deepEqual(await Promise.all([store.tokens.get(ACCOUNT), other.tokens.get(ACCOUNT)]), [
        OLD,
        OLD,
      ]);
      const tokens = await Promise.all([first.get(), second.get(), first.get(), second.get()]);
      assert.deepEqual(tokens, [NEW_ACCESS, NEW_ACCESS, NEW_ACCESS, NEW_ACCESS]);
      assert.equal((await other.tokens.get(ACCOUNT))?.refreshToken, NEW_REFRESH);
    });

    it('throws RetryableError when the token endpoint answers 503, keeping the pair', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint()
        .post(PATH, refreshBody())
        .reply(503, '<html><body>503 Service Temporarily Unavailable</body></html>');
      const error = await rejection(source().get());
      assert.ok(error instanceof RetryableError);
      assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
      assert.match(error.message, /HTTP 503/);
      assert.deepEqual(await store.tokens.get(ACCOUNT), OLD);
    });

    it('throws RetryableError when the token endpoint does not answer in time', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).delay(1000).reply(200, tokenAnswer);
      const error = await rejection(source({ settings: { timeoutMs: 100 } }).get());
      assert.ok(error instanceof RetryableError);
      assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
      assert.match(error.message, /within 100 ms/);
    });
  });

  describe('refreshAfterUnauthorized', function () {
    it('returns the newer stored token without a request when the rejected one is outdated', async function () {
      await store.tokens.save(ACCOUNT, { ...OLD, expiresAt: NOW + DAY_MS });
      const oauth = source();
      assert.equal(await oauth.get(), OLD.accessToken);
      // Another process refreshed meanwhile; this one still holds the old token in memory.
      const other = openStore(false);
      await other.tokens.save(ACCOUNT, {
        accessToken: NEW_ACCESS,
        refreshToken: NEW_REFRESH,
        expiresAt: NOW + DAY_MS,
        updatedAt: NOW,
      });
      assert.equal(await oauth.refreshAfterUnauthorized(OLD.accessToken), NEW_ACCESS);
      assert.equal(await oauth.get(), NEW_ACCESS);
    });

    it('refreshes once when amoCRM rejected the current token before its expiry', async function () {
      await store.tokens.save(ACCOUNT, { ...OLD, expiresAt: NOW + DAY_MS });
      tokenEndpoint().post(PATH, refreshBody()).once().delay(50).reply(200, tokenAnswer);
      const oauth = source();
      const tokens = await Promise.all(
        Array.from({ length: 5 }, () => oauth.refreshAfterUnauthorized(OLD.accessToken)),
      );
      assert.deepEqual(tokens, Array<string>(5).fill(NEW_ACCESS));
      assert.equal((await store.tokens.get(ACCOUNT))?.refreshToken, NEW_REFRESH);
    });

    it('returns null and logs ONE line for the operator when the refresh is refused', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().delay(20).reply(401, REVOKED, {
        'content-type': 'application/problem+json',
      });
      const log = captureLogger();
      const oauth = source({ logger: log.logger });
      const results = await Promise.all(
        Array.from({ length: 5 }, () => oauth.refreshAfterUnauthorized(OLD.accessToken)),
      );
      assert.deepEqual(results, [null, null, null, null, null]);
      // Later callers fail fast: no request (none is mocked), no second line.
      assert.equal(await oauth.refreshAfterUnauthorized(OLD.accessToken), null);
      const error = await rejection(oauth.get());
      assert.ok(error instanceof AuthError);
      assert.match(error.message, /closeloop auth <code>/);

      const lines = log.lines();
      assert.equal(lines.length, 1, log.text());
      assert.equal(lines[0]?.level, 'error');
      assert.equal(lines[0]?.code, 'AMOCRM_AUTH');
      assert.match(String(lines[0]?.message), /HTTP 401: Token has been revoked/);
      assert.match(String(lines[0]?.message), /run `closeloop auth <code>`/);
      assert.deepEqual(await store.tokens.get(ACCOUNT), OLD);
    });

    it('picks up a pair stored by `closeloop auth` after a refused refresh', async function () {
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).once().reply(401, REVOKED);
      const oauth = source();
      assert.equal(await oauth.refreshAfterUnauthorized(OLD.accessToken), null);
      const cli = openStore(false);
      await cli.tokens.save(ACCOUNT, {
        accessToken: NEW_ACCESS,
        refreshToken: NEW_REFRESH,
        expiresAt: NOW + DAY_MS,
        updatedAt: NOW,
      });
      assert.equal(await oauth.get(), NEW_ACCESS);
    });
  });

  describe('secrets', function () {
    it('never puts tokens or the client secret in errors or log lines', async function () {
      const log = recordingLogger();
      const errors: unknown[] = [];
      const oauth = source({ logger: log.logger });
      const echo = `refresh_token=${OLD.refreshToken} client_secret=${SETTINGS.clientSecret}`;

      // A refusal whose text quotes the secrets back.
      await store.tokens.save(ACCOUNT, OLD);
      tokenEndpoint().post(PATH, refreshBody()).reply(401, { hint: echo, status: 401 });
      assert.equal(await oauth.refreshAfterUnauthorized(OLD.accessToken), null);
      errors.push(await rejection(oauth.get()));

      // 5xx, network failure and a refused code, each with a fresh source.
      tokenEndpoint().post(PATH, refreshBody()).reply(502, { detail: echo });
      errors.push(await rejection(source({ logger: log.logger }).get()));
      tokenEndpoint().post(PATH, refreshBody()).replyWithError(`ECONNRESET ${echo}`);
      errors.push(await rejection(source({ logger: log.logger }).get()));
      tokenEndpoint()
        .post(PATH)
        .reply(400, { hint: `bad code ${SECRETS[5]!}` });
      errors.push(await rejection(oauth.exchangeCode(SECRETS[5]!)));

      assert.equal(errors.length, 4);
      for (const e of errors) {
        assert.ok(e instanceof AppError, String(e));
        assertNoSecrets(e);
      }
      assert.ok(log.lines.length > 0);
      for (const secret of SECRETS) assert.ok(!log.text().includes(secret), log.text());
      for (const secret of SECRETS) assert.ok(!util.inspect(oauth).includes(secret));
      assert.match(log.text(), /\[REDACTED\]/);
    });
  });
});
