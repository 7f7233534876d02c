import assert from 'node:assert/strict';
import { decideRetry } from '../../src/core/retry-policy';

describe('decideRetry', () => {
  const policy = { retryWindowMs: 72 * 3600_000, retryBaseMs: 1000, retryMaxDelayMs: 3600_000 };
  const at = (failures: number, random = 0.999999, nowMs = 0, retryAfterMs: number | null = null) =>
    decideRetry(policy, {
      failures,
      firstAttemptAtMs: 0,
      nowMs,
      random: () => random,
      retryAfterMs,
    });

  it('doubles the delay on each failure, with jitter between half and all of it', () => {
    assert.deepEqual(at(1), { retry: true, delayMs: 1000 });
    assert.deepEqual(at(2), { retry: true, delayMs: 2000 });
    assert.deepEqual(at(5), { retry: true, delayMs: 16000 });
    assert.deepEqual(at(5, 0), { retry: true, delayMs: 8000 });
  });

  it('caps the delay at the maximum', () => {
    assert.deepEqual(at(30, 0), { retry: true, delayMs: 1800_000 });
    assert.deepEqual(at(30, 0.5), { retry: true, delayMs: 2700_000 });
    assert.deepEqual(at(1000, 0.5), { retry: true, delayMs: 2700_000 });
  });

  it('honours a longer Retry-After', () => {
    assert.deepEqual(at(1, 0.5, 0, 120_000), { retry: true, delayMs: 120_000 });
    assert.deepEqual(at(3, 0.999999, 0, 10), { retry: true, delayMs: 4000 });
  });

  it('gives up once the 72-hour window is over', () => {
    const d = at(80, 0.999999, 72 * 3600_000);
    assert.equal(d.retry, false);
    assert.match(
      (d as { reason: string }).reason,
      /after 80 attempts: the retry window of 72 h is over/,
    );
    assert.equal(at(80, 0.999999, 70 * 3600_000).retry, true);
  });

  it('makes one last attempt at the end of the window when the next wait would reach past it', () => {
    // A backoff of an hour, 1 s before the end: the last attempt is at the end, not never.
    assert.deepEqual(at(80, 0.999999, 72 * 3600_000 - 1000), { retry: true, delayMs: 1000 });
    // A Retry-After longer than the whole window, after the first attempt: retried once, at the
    // window's end, instead of counting as exhausted after one attempt.
    assert.deepEqual(at(1, 0.5, 10_000, 100 * 3600_000), {
      retry: true,
      delayMs: 72 * 3600_000 - 10_000,
    });
    // That last attempt failing too is final.
    assert.equal(at(2, 0.5, 72 * 3600_000, 100 * 3600_000).retry, false);
  });
});
