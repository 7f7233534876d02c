/** Accept-Encoding negotiation for /snippet.js (RFC 9110 §12.5.3), as a pure function. */
import assert from 'node:assert/strict';
import { chooseEncoding } from '../../src/http/serve-snippet';

describe('chooseEncoding', () => {
  const cases: ReadonlyArray<[string | undefined, string]> = [
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['br', 'br'],
    ['gzip;q=0', 'identity'],
    ['gzip; q=0, br;q=0', 'identity'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0.5, gzip;q=0.8', 'gzip'],
    ['br;q=0.8, gzip;q=0.8', 'br'],
    ['gzip;q=0.5', 'gzip'],
    ['*', 'br'],
    ['*;q=0', 'identity'],
    ['gzip, *;q=0', 'gzip'],
    ['br;q=0, *;q=0.3', 'gzip'],
    ['identity', 'identity'],
    ['gzip, identity', 'gzip'],
    ['gzip;q=0.5, identity', 'identity'],
    ['deflate', 'identity'],
    ['gzip;q=2, br;q=abc', 'identity'],
    ['gzip;q=1.000, br;q=0.999', 'gzip'],
  ];
  for (const [header, expected] of cases) {
    it(`${JSON.stringify(header)} → ${expected}`, () => {
      assert.equal(chooseEncoding(header), expected);
    });
  }

  it('offers only the codings that exist', () => {
    assert.equal(chooseEncoding('br, gzip', ['gzip', 'identity']), 'gzip');
    assert.equal(chooseEncoding('br', ['identity']), 'identity');
  });
});
