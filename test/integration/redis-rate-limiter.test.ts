/**
 * RedisRateLimiter as several processes use it: two limiters, each with its own Redis client (as two
 * processes would have), share one sliding window per key. Runs only when REDIS_URL is set (CI sets
 * it); without it, one visible skipped test says so.
 *
 * Times are taken with Date.now when each acquire() resolves, on the test's side, which is what
 * amoCRM would see; the limiter's 50 ms margin covers the delay between Redis and the test.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { RedisRateLimiter } from '../../src/adapters/rate-limit/redis-rate-limiter';
import { deleteRedisKeys, uniqueRedisPrefix, itNeedsRedis } from '../helpers/redis-test-prefix';

const REDIS_URL = process.env.REDIS_URL;

/** The most times found in any half-open window [t, t + windowMs). */
function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + windowMs) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

if (!REDIS_URL) {
  // No Redis here: skip visibly rather than pass silently. CI sets REDIS_URL.
  describe('RedisRateLimiter across processes', () => itNeedsRedis());
} else {
  describe('RedisRateLimiter across processes', function () {
    this.timeout(10_000);
    const PER_SECOND = 7;
    let prefix: string;
    let clients: Redis[];
    let first: RedisRateLimiter;
    let second: RedisRateLimiter;

    beforeEach(function () {
      prefix = uniqueRedisPrefix('limiter');
      clients = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
      first = new RedisRateLimiter(clients[0]!, PER_SECOND, { prefix: `${prefix}:` });
      second = new RedisRateLimiter(clients[1]!, PER_SECOND, { prefix: `${prefix}:` });
    });

    afterEach(async function () {
      await deleteRedisKeys(REDIS_URL, prefix);
      await Promise.all(clients.map((c) => c.quit()));
    });

    it('lets no more than 7 acquisitions through in any second across both', async function () {
      const times: number[] = [];
      const order: Record<'first' | 'second', number[]> = { first: [], second: [] };
      const start = Date.now();
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const name = i % 2 === 0 ? 'first' : 'second';
          const limiter = name === 'first' ? first : second;
          return limiter.acquire('29638927').then(() => {
            times.push(Date.now());
            order[name].push(i);
          });
        }),
      );
      assert.equal(times.length, 30);
      const most = busiestWindow(times, 1000);
      assert.ok(most <= PER_SECOND, `${most} acquisitions within one second`);
      // 30 at 7 per (1 s + 50 ms margin): the last four windows have to be waited out.
      assert.ok(Date.now() - start >= 4 * 1000, `all 30 within ${Date.now() - start} ms`);
      // Within one process, callers are served in the order they asked.
      for (const name of ['first', 'second'] as const) {
        assert.deepEqual(
          order[name],
          [...order[name]].sort((a, b) => a - b),
        );
      }
    });

    it('makes both wait out a pause set by one, and never shortens a pause', async function () {
      const start = Date.now();
      first.pause('29638927', 400);
      first.pause('29638927', 100); // a shorter pause does not undo the longer one
      await sleep(20); // the pause travels on the first's connection; let it land
      const resolvedAt: number[] = [];
      await Promise.all(
        [first, second].map((l) => l.acquire('29638927').then(() => resolvedAt.push(Date.now()))),
      );
      for (const at of resolvedAt) {
        // Redis expires whole milliseconds; allow the rounding, never an early pass.
        assert.ok(at - start >= 400 - 2, `acquired ${at - start} ms after a 400 ms pause`);
      }
    });

    it('keeps keys independent', async function () {
      await Promise.all(Array.from({ length: PER_SECOND }, () => first.acquire('account-a')));
      const fullAt = Date.now();

      await second.acquire('account-b');
      first.pause('account-c', 0); // a non-positive pause is ignored
      await second.acquire('account-c');
      assert.ok(Date.now() - fullAt < 300, `another key waited ${Date.now() - fullAt} ms`);

      await second.acquire('account-a');
      assert.ok(
        Date.now() - fullAt >= 1000 - 50,
        `the full key let an 8th through after ${Date.now() - fullAt} ms`,
      );
    });
  });
}
