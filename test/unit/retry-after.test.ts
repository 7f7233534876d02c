import assert from 'node:assert/strict';
import { parseRetryAfter } from '../../src/core/retry-after';

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-05-10T12:00:00Z');

  it('reads delay-seconds as milliseconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });

  it('reads an IMF-fixdate relative to now', () => {
    assert.equal(parseRetryAfter('Sat, 10 May 2025 12:00:30 GMT', now), 30_000);
  });

  it('reads the obsolete RFC 850 and asctime forms as GMT', () => {
    assert.equal(parseRetryAfter('Saturday, 10-May-25 12:01:00 GMT', now), 60_000);
    assert.equal(parseRetryAfter('Sat May 10 12:00:05 2025', now), 5_000);
  });

  it('gives 0 for a date already past', () => {
    assert.equal(parseRetryAfter('Sat, 10 May 2025 11:00:00 GMT', now), 0);
  });

  it('gives null when absent or unreadable', () => {
    for (const header of [
      null,
      undefined,
      '',
      'soon',
      '-5',
      '1.5',
      '1e3',
      'Sat, 99 Foo 2025 GMT',
    ]) {
      assert.equal(parseRetryAfter(header, now), null, String(header));
    }
  });
});
