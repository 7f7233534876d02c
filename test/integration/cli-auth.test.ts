/**
 * `closeloop auth <code>` end to end: a YAML config with an oauth section, a temporary data folder,
 * and amoCRM's token endpoint in nock (exact origin, path and JSON body).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nock from 'nock';
import { oauthTokenAccount } from '../../src/adapters/crm/amocrm/oauth-token-source';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import { runCli } from '../../src/cli';

const ORIGIN = 'https://example.amocrm.ru';
const CLIENT_ID = '4b6f2a1e-9c3d-4e5f-8a7b-1c2d3e4f5a6b';
const CLIENT_SECRET = 'cs-Qm9vQmFyU2VjcmV0LTEyMzQ1Njc4OTA';
const REDIRECT_URI = 'https://example.com/amocrm/oauth';
const CODE = 'def50200auth-code-0a9b8c7d';
const ACCESS = 'eyJ0eXAiOiJKV1Qi.cli-access.c2lnbmF0dXJl';
const REFRESH = 'def50200cli-refresh-1a2b3c4d';

const OAUTH_CONFIG = `# An amoCRM OAuth integration: what \`closeloop auth\` needs.
currency: RUB
amocrm:
  subdomain: example
  oauth:
    client_id: ${CLIENT_ID}
    client_secret: \${AMOCRM_CLIENT_SECRET}
    redirect_uri: ${REDIRECT_URI}
rules: []
`;

const TOKEN_CONFIG = `# A long-lived token: nothing to authorize.
currency: RUB
amocrm:
  subdomain: example
  token: long-lived-token-value
rules: []
`;

describe('CLI: closeloop auth', function () {
  this.timeout(10_000);
  let dir: string;
  let dataDir: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cli-auth-'));
    dataDir = path.join(dir, 'data');
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function envWith(config: string): NodeJS.ProcessEnv {
    const file = path.join(dir, 'closeloop.yaml');
    fs.writeFileSync(file, config);
    return {
      CLOSELOOP_CONFIG: file,
      CLOSELOOP_DATA_DIR: dataDir,
      AMOCRM_CLIENT_SECRET: CLIENT_SECRET,
    };
  }

  async function auth(args: string[], env: NodeJS.ProcessEnv) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      ['auth', ...args],
      { out: (l) => out.push(l), err: (l) => err.push(l) },
      env,
    );
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  async function storedTokens() {
    const store = createSqliteStore({ dataDir, deliveryLogMaxRows: 10, lock: false });
    try {
      return await store.tokens.get(oauthTokenAccount(ORIGIN));
    } finally {
      await store.close();
    }
  }

  function codeGrant() {
    return nock(ORIGIN)
      .matchHeader('content-type', 'application/json')
      .post('/oauth2/access_token', {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_type: 'authorization_code',
        code: CODE,
        redirect_uri: REDIRECT_URI,
      });
  }

  it('exchanges the code, stores the pair and prints no secret', async function () {
    codeGrant().reply(200, {
      token_type: 'Bearer',
      expires_in: 86400,
      access_token: ACCESS,
      refresh_token: REFRESH,
    });
    const before = Date.now();
    const result = await auth([CODE], envWith(OAUTH_CONFIG));
    assert.equal(result.code, 0, result.err);
    assert.equal(
      result.out,
      `Created the data folder ${dataDir} (set by CLOSELOOP_DATA_DIR); closeloop start finds the tokens there when it runs with the same CLOSELOOP_DATA_DIR.\n` +
        `amoCRM authorized: tokens stored in ${dataDir}; they refresh themselves.`,
    );
    assert.equal(result.err, '');
    const stored = await storedTokens();
    assert.ok(stored);
    assert.equal(stored.accessToken, ACCESS);
    assert.equal(stored.refreshToken, REFRESH);
    assert.ok(
      stored.expiresAt >= before + 86_400_000 && stored.expiresAt <= Date.now() + 86_400_000,
    );
    for (const secret of [ACCESS, REFRESH, CLIENT_SECRET, CODE]) {
      assert.ok(!result.out.includes(secret) && !result.err.includes(secret));
    }
  });

  it('takes the whole redirect address amoCRM sent the browser to', async function () {
    codeGrant().reply(200, {
      token_type: 'Bearer',
      expires_in: 86400,
      access_token: ACCESS,
      refresh_token: REFRESH,
    });
    const pasted = `${REDIRECT_URI}?code=${CODE}&state=x&referer=example.amocrm.ru&from_widget=1`;
    const result = await auth([pasted], envWith(OAUTH_CONFIG));
    assert.equal(result.code, 0, result.err);
    assert.equal((await storedTokens())?.accessToken, ACCESS);
  });

  it('explains a refused code (20 minutes, once) and exits 1', async function () {
    codeGrant().reply(
      400,
      {
        hint: 'Authorization code has been revoked',
        title: 'Bad Request',
        type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson',
        status: 400,
        detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
      },
      { 'content-type': 'application/problem+json' },
    );
    const result = await auth([CODE], envWith(OAUTH_CONFIG));
    assert.equal(result.code, 1);
    assert.equal(result.out, '');
    assert.match(
      result.err,
      /amoCRM refused the authorization code \(HTTP 400: Authorization code has been revoked\)/,
    );
    assert.match(result.err, /A code lasts 20 minutes and works once/);
    assert.ok(!result.err.includes(CLIENT_SECRET) && !result.err.includes(CODE));
    assert.equal(await storedTokens(), null);
  });

  it('says how to configure OAuth when the config has none', async function () {
    const result = await auth([CODE], envWith('currency: RUB\nrules: []\n'));
    assert.equal(result.code, 1);
    assert.match(result.err, /amoCRM OAuth is not configured in .*closeloop\.yaml/);
    assert.match(result.err, /client_secret: \$\{AMOCRM_CLIENT_SECRET\}/);
  });

  it('says a long-lived token needs no authorization', async function () {
    const result = await auth([CODE], envWith(TOKEN_CONFIG));
    assert.equal(result.code, 1);
    assert.match(result.err, /long-lived token \(amocrm\.token\), which needs no authorization/);
    assert.ok(!result.err.includes('long-lived-token-value'));
  });

  it('says the code is missing, and where the help is, with exit 2', async function () {
    const result = await auth([], envWith(OAUTH_CONFIG));
    assert.equal(result.code, 2);
    assert.equal(
      result.err,
      "closeloop auth: missing required argument 'authorization-code'\nSee `closeloop auth --help`.",
    );
    const noCode = await auth(['https://example.com/amocrm/oauth?state=x'], envWith(OAUTH_CONFIG));
    assert.equal(noCode.code, 2);
    assert.match(noCode.err, /^closeloop auth: the address has no code= parameter; paste the code/);
    assert.equal(fs.existsSync(dataDir), false, 'nothing stored, no data folder made');
  });

  it('says once it created the data folder, beside the config when CLOSELOOP_DATA_DIR is unset', async function () {
    codeGrant().reply(200, {
      token_type: 'Bearer',
      expires_in: 86400,
      access_token: ACCESS,
      refresh_token: REFRESH,
    });
    const { CLOSELOOP_DATA_DIR: _, ...env } = envWith(OAUTH_CONFIG);
    const result = await auth([CODE], env);
    assert.equal(result.code, 0, result.err);
    // The config is dir/closeloop.yaml, so the data folder is dir/data (dataDir).
    assert.match(
      result.out,
      new RegExp(
        `^Created the data folder ${dataDir} \\(the data folder beside ${dir}/closeloop\\.yaml\\)`,
      ),
    );
    assert.equal((await storedTokens())?.refreshToken, REFRESH);
  });
});
