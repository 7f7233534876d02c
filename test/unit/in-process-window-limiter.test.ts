import assert from 'node:assert/strict';
import { InProcessWindowLimiter } from '../../src/adapters/rate-limit/in-process-window-limiter';

describe('InProcessWindowLimiter', () => {
  it('lets `limit` through per key in any sliding window, says when the next may come', async () => {
    let t = 1_000_000;
    const limiter = new InProcessWindowLimiter(3, 60_000, () => t);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await limiter.take('a'), { retryAfterMs: null });
      t += 1000;
    }
    assert.deepEqual(await limiter.take('a'), { retryAfterMs: 57_000 });
    assert.deepEqual(await limiter.take('b'), { retryAfterMs: null });
    // Refused takes do not count: the first slot frees on time.
    t += 56_999;
    assert.deepEqual(await limiter.take('a'), { retryAfterMs: 1 });
    t += 1;
    assert.deepEqual(await limiter.take('a'), { retryAfterMs: null });
  });
});
