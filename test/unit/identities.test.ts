import assert from 'node:assert/strict';
import { normalizeGaClientId, parseGaSessionId } from '../../src/core/identities';

describe('normalizeGaClientId', () => {
  const accepted: Array<[string, string]> = [
    ['123.456', '123.456'],
    ['1234567890.1700000000', '1234567890.1700000000'],
    ['GA1.1.1234567890.1700000000', '1234567890.1700000000'],
    ['GA1.2.1234567890.1700000000', '1234567890.1700000000'],
    ['GA1.3-2.1234567890.1700000000', '1234567890.1700000000'],
    ['GA2.1.1234567890.1700000000', '1234567890.1700000000'],
    ['  GA1.1.123.456 \n', '123.456'],
    ['_ga=GA1.1.123.456', '123.456'],
    [
      '_ym_uid=1628529640459314054; _ga=GA1.2.987654321.1700000001; _ga_SM37QL5J42=GS2.1.s1747132561$o1',
      '987654321.1700000001',
    ],
  ];
  for (const [raw, expected] of accepted) {
    it(`reads ${JSON.stringify(raw)} as ${expected}`, () => {
      assert.equal(normalizeGaClientId(raw), expected);
    });
  }

  const rejected: Array<string | null | undefined> = [
    '',
    '   ',
    undefined,
    null,
    'undefined',
    'hello world',
    '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    '123',
    '123.456.789',
    'GA1.1.abc.456',
    'GA1.123.456',
    '_ga_SM37QL5J42=GS1.1.1746825440.14.0.1746825440.0.0.0',
  ];
  for (const raw of rejected) {
    it(`rejects ${JSON.stringify(raw) ?? 'undefined'}`, () => {
      assert.equal(normalizeGaClientId(raw), null);
    });
  }
});

describe('parseGaSessionId', () => {
  it('accepts a bare session id of 8 to 20 digits', () => {
    assert.equal(parseGaSessionId('1746825440'), '1746825440');
    assert.equal(parseGaSessionId(' 12345678 '), '12345678');
    assert.equal(parseGaSessionId('1234567'), null);
    assert.equal(parseGaSessionId('123456789012345678901'), null);
  });

  it('reads the third field of a GS1 cookie value', () => {
    assert.equal(parseGaSessionId('GS1.1.1746825440.14.0.1746825440.0.0.0'), '1746825440');
    assert.equal(parseGaSessionId('GS1.2.1746825441.3.1.1746825999.60.0.0'), '1746825441');
  });

  it('reads the s item of a GS2 cookie value, in any order', () => {
    assert.equal(parseGaSessionId('GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0'), '1747132561');
    assert.equal(parseGaSessionId('GS2.1.o1$g0$s1747132562$t1747132655$j0$l0$h0'), '1747132562');
    assert.equal(parseGaSessionId('GS2.1.o1$g0$t1747132655$dR2Yv$s1747132563'), '1747132563');
  });

  it('accepts a _ga_<stream>= cookie pair', () => {
    assert.equal(parseGaSessionId('_ga_SM37QL5J42=GS2.1.s1747132561$o1$g0'), '1747132561');
  });

  it('rejects everything else', () => {
    for (const raw of [
      '',
      null,
      undefined,
      'session',
      'GS1.1',
      'GS1.1.abc.14',
      'GS2.1.o1$g0$t1747132655',
      'GS2.1.sabc$o1',
      'GA1.1.123.456',
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
    ]) {
      assert.equal(parseGaSessionId(raw), null, String(raw));
    }
  });
});
