/**
 * Redis for a test: REDIS_URL (CI sets it) and a fresh key prefix per use, whose keys are deleted
 * afterwards, so tests never see each other's data or a developer's.
 */
import { skipBecause } from './skip-because';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL || undefined;

/** A prefix no other test uses (letters, digits and "-", as CLOSELOOP_REDIS_PREFIX allows). */
export function uniqueRedisPrefix(name = 'test'): string {
  return `closeloop-${name}-${randomUUID().slice(0, 8)}`;
}

/**
 * Deletes every key under `<prefix>:` (SCAN, not KEYS: it never blocks the server); returns how
 * many.
 */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}

/**
 * Defines a suite for the embedded store and, when REDIS_URL is set, again for Redis; without it,
 * a visible skip says so (CI sets it).
 */
export function describeOnEachStore(
  title: string,
  suite: (storeName: 'sqlite' | 'redis', redisUrl: string | null) => void,
): void {
  suite('sqlite', null);
  if (REDIS_URL) suite('redis', REDIS_URL);
  else describe(`${title} (redis)`, () => itNeedsRedis());
}

/**
 * Stands for a suite that needs a Redis server when REDIS_URL is not set: a visible skipped test,
 * so a missing Redis is noticed rather than passed silently (CI sets REDIS_URL).
 */
export function itNeedsRedis(): void {
  it('needs REDIS_URL', function () {
    skipBecause(
      this,
      'REDIS_URL is not set; CI sets it: REDIS_URL=redis://127.0.0.1:6379 npm test',
    );
  });
}
