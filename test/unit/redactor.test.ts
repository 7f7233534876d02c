/**
 * The redactor replaces a secret and nothing else: the characters around it (brackets, commas,
 * quotes, the end of a sentence) survive exactly as written.
 */
import assert from 'node:assert/strict';
import { Redactor } from '../../src/adapters/log/redactor';

describe('Redactor', () => {
  const cases: ReadonlyArray<[string, string]> = [
    // api_secret in a query
    ['(api_secret=abc123xyz)', '(api_secret=[REDACTED])'],
    ['[api_secret=abc123xyz], next', '[api_secret=[REDACTED]], next'],
    [
      'POST https://www.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=Ab_c-D12&x=1',
      'POST https://www.google-analytics.com/mp/collect?measurement_id=G-1&api_secret=[REDACTED]&x=1',
    ],
    ['<api_secret=ab%2Bcd>;', '<api_secret=[REDACTED]>;'],
    ['see api_secret=abc123xyz.', 'see api_secret=[REDACTED].'],
    // Bearer tokens (RFC 6750 b64token)
    ['"Bearer abc.def";', '"Bearer [REDACTED]";'],
    [
      'Authorization: Bearer eyJ0eXAi.eyJzdWIi.Zq8x-W_~+/==, next',
      'Authorization: Bearer [REDACTED], next',
    ],
    ['<bearer abc123>', '<bearer [REDACTED]>'],
    ['(Bearer abc=def)', '(Bearer [REDACTED])'],
    // webhook path segments, of every CRM route
    ['url=/webhooks/amocrm/SECRETSECRET1234, next', 'url=/webhooks/amocrm/[REDACTED], next'],
    ['POST /webhooks/amocrm/SECRET_secret-1234?x=1', 'POST /webhooks/amocrm/[REDACTED]?x=1'],
    ['(/webhooks/bitrix24/SECRETSECRET1234)', '(/webhooks/bitrix24/[REDACTED])'],
    ['[/webhooks/generic/SECRETSECRET1234];', '[/webhooks/generic/[REDACTED]];'],
    ['hook at /webhooks/amocrm/SECRETSECRET1234.', 'hook at /webhooks/amocrm/[REDACTED].'],
    ['"/webhooks/amocrm/SECRETSECRET1234"', '"/webhooks/amocrm/[REDACTED]"'],
    ['route /webhooks/amocrm/:secret', 'route /webhooks/amocrm/:secret'],
    // Bitrix24's incoming webhook URL and the outgoing webhook's application token
    [
      'POST https://example.bitrix24.ru/rest/1/abc123def456/batch.json failed',
      'POST https://example.bitrix24.ru/rest/1/[REDACTED]/batch.json failed',
    ],
    ['(http://127.0.0.1:8080/rest/17/s3cr3t_x-1)', '(http://127.0.0.1:8080/rest/17/[REDACTED])'],
    [
      'event=ONCRMDEALUPDATE&auth[application_token]=tok3n_Abc123&ts=1',
      'event=ONCRMDEALUPDATE&auth[application_token]=[REDACTED]&ts=1',
    ],
    ['auth%5Bapplication_token%5D=tok3nAbc123&x=1', 'auth%5Bapplication_token%5D=[REDACTED]&x=1'],
    ['{"application_token":"tok3nAbc123"}', '{"application_token":"[REDACTED]"}'],
    // token-named keys
    ['{"access_token":"tok123456"}', '{"access_token":"[REDACTED]"}'],
    [
      '{"refresh_token": "def.456", "expires_in": 86400}',
      '{"refresh_token": "[REDACTED]", "expires_in": 86400}',
    ],
    ['{"client_secret":"a b,c}d\\"e"}', '{"client_secret":"[REDACTED]"}'],
    ["{ access_token: 'tok123456' }", "{ access_token: '[REDACTED]' }"],
    ['access_token: tok123456;', 'access_token: [REDACTED];'],
    ['(refresh_token=abc123)&x=1', '(refresh_token=[REDACTED])&x=1'],
    ['"access_token":"tok12345', '"access_token":"[REDACTED]'],
    // Redis URL passwords
    ['redis://:hunter22@127.0.0.1:6379/0, next', 'redis://:[REDACTED]@127.0.0.1:6379/0, next'],
    // nothing secret
    ['nothing to see here (really), ok.', 'nothing to see here (really), ok.'],
  ];
  for (const [input, expected] of cases) {
    it(`${input}  →  ${expected}`, () => {
      assert.equal(new Redactor().redactString(input), expected);
    });
  }

  it('replaces registered secrets wherever they appear, and ignores short ones', () => {
    const r = new Redactor();
    r.add('s3cr3t-value');
    r.add('abc');
    r.add(null);
    assert.equal(r.redactString('x=s3cr3t-value; abc'), 'x=[REDACTED]; abc');
  });

  it('redacts every string of a value, errors and winston symbols included', () => {
    const r = new Redactor();
    const level = Symbol.for('level');
    const out = r.redact({
      message: 'request rejected: /webhooks/amocrm/SECRETSECRET1234, next',
      list: ['(api_secret=abc123xyz)'],
      error: new Error('Bearer abc.def;'),
      [level]: 'warn',
    });
    assert.equal(out.message, 'request rejected: /webhooks/amocrm/[REDACTED], next');
    assert.deepEqual(out.list, ['(api_secret=[REDACTED])']);
    assert.equal((out.error as unknown as { message: string }).message, 'Bearer [REDACTED];');
    assert.equal(out[level], 'warn');
  });
});
