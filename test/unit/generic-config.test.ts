/**
 * The `generic:` section's own checks, through the real config loader: a mapping whose fixed
 * account the intake's `accounts` would refuse stops the start with its line, instead of every
 * request being a 400 later.
 */
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';

function config(accounts: string, account: string): string {
  return [
    'currency: RUB',
    'generic:',
    '  secret: abcdefghijklmnop1234',
    ...(accounts === '' ? [] : [`  accounts: ${accounts}`]),
    '  mappings:',
    '    calls:',
    '      signed: false',
    '      fields: { deal_id: callId }',
    `      fixed: { account: ${account}, currency: RUB }`,
    'rules: []',
    '',
  ].join('\n');
}

describe('generic: config section', () => {
  it('refuses a mapping whose fixed account is not one of generic.accounts, with its line', () => {
    assert.throws(
      () => parseConfig(config('[shop, other]', 'calls'), 't.yaml', {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.deepEqual(
          e.problems.map((p) => [p.key, p.line, p.message, p.fix]),
          [
            [
              'generic.mappings.calls.fixed.account',
              9,
              'the mapping\'s account "calls" is not one of generic.accounts (shop, other), so every event it maps would be refused',
              'add calls to accounts:, or write one of them here',
            ],
          ],
        );
        return true;
      },
    );
  });

  it('takes a listed account, a single account written without brackets, and no list at all', () => {
    for (const [accounts, account] of [
      ['[shop, calls]', 'calls'],
      ['calls', 'calls'],
      ['', 'anything'],
    ] as const) {
      const c = parseConfig(config(accounts, account), 't.yaml', {});
      assert.deepEqual(c.generic?.mappings.calls?.fixed, { account, currency: 'RUB' });
    }
  });
});
