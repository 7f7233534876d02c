/**
 * The commands' value parsers: a bad value is named, with what would be right, in a sentence that
 * reads alone (commander's own "option … argument … is invalid." is not printed).
 */
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { parseLeadId, parseOutcome, parseRowCount } from '../../src/cli/cli-values';
import { parseAuthorizationCode } from '../../src/cli/auth';

function refusal(parse: (value: string) => unknown, value: string): string {
  try {
    parse(value);
  } catch (e) {
    assert.ok(
      e instanceof InvalidArgumentError,
      `not commander's InvalidArgumentError: ${String(e)}`,
    );
    return e.message;
  }
  assert.fail(`${JSON.stringify(value)} was accepted`);
}

describe('CLI values', () => {
  it('takes every outcome of the delivery log and names a wrong one with the list', () => {
    for (const o of [
      'sent',
      'dry_run',
      'skipped',
      'duplicate',
      'retrying',
      'failed',
      'uncertain',
    ]) {
      assert.equal(parseOutcome(o), o);
    }
    assert.equal(
      refusal(parseOutcome, 'nope'),
      'nope is not an outcome; one of sent, dry_run, skipped, duplicate, retrying, failed, uncertain, expired',
    );
    assert.match(refusal(parseOutcome, 'SENT'), /^SENT is not an outcome/);
    assert.match(refusal(parseOutcome, ''), /^"" is not an outcome/);
  });

  it('takes a number of rows from 1', () => {
    assert.equal(parseRowCount('1'), 1);
    assert.equal(parseRowCount('500'), 500);
    for (const bad of ['abc', '0', '-5', '1.5', '1e3', ' 7', '99999999999999999999']) {
      assert.match(
        refusal(parseRowCount, bad),
        /is not a number of rows; give a whole number from 1/,
      );
    }
    assert.equal(
      refusal(parseRowCount, 'abc'),
      'abc is not a number of rows; give a whole number from 1, e.g. 100',
    );
  });

  it('takes an amoCRM lead id and says where to find one', () => {
    assert.equal(parseLeadId('4242'), 4242);
    assert.equal(
      refusal(parseLeadId, 'x'),
      "x is not a lead id; a lead id is a whole number, the one in the deal's address in amoCRM (…/leads/detail/4242)",
    );
    assert.match(refusal(parseLeadId, '0'), /^0 is not a lead id/);
  });

  it('takes an authorization code, or the code= of a pasted redirect address', () => {
    assert.equal(parseAuthorizationCode(' def502abc '), 'def502abc');
    assert.equal(
      parseAuthorizationCode('https://example.com/amocrm/oauth?code=def502abc&state=x'),
      'def502abc',
    );
    assert.match(refusal(parseAuthorizationCode, '  '), /^the authorization code is empty/);
    assert.match(
      refusal(parseAuthorizationCode, 'https://example.com/amocrm/oauth?state=x'),
      /^the address has no code= parameter/,
    );
  });
});
