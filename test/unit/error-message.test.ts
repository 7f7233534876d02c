/** asClause: a message, from anywhere, ready to be joined with more text. */
import assert from 'node:assert/strict';
import { asClause } from '../../src/core/error-message';

describe('asClause', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['Connection is closed.', 'Connection is closed'],
    ['The operation was aborted. ', 'The operation was aborted'],
    ['wait...', 'wait'],
    ['amoCRM answered HTTP 503; retryable', 'amoCRM answered HTTP 503; retryable'],
    ['version 1.2 of GA1.1 is fine', 'version 1.2 of GA1.1 is fine'],
    ['Stop. Then start again.', 'Stop. Then start again'],
    ['', ''],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(asClause(input), expected);
      assert.equal(`${asClause(input)}; next attempt in 2 s`.includes('.;'), false);
    });
  }
});
