/**
 * A RateLimiter shared by every process on the same Redis and prefix, whose limit is a
 * PacingPolicy (Bitrix24's leaky bucket, per portal and per source IP: every process must share
 * it). Per key, `<prefix>pace:<key>` holds the policy's state and `<prefix>rate-pause:<key>`
 * exists while the key is paused (the same pause key RedisRateLimiter uses).
 *
 * One acquisition: READ (one script: the state, the pause and Redis's clock, so processes on
 * different machines agree on the time), the pure policy decides here, then SWAP (one script: the
 * new state is written only if the state is still the one read). A caller that lost the race reads
 * again; one that must wait sleeps and reads again. Within one process callers of a key are chained
 * in the order they asked, so races are between processes only.
 */
import type { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import type { PacingPolicy, RateLimiter } from '../../ports/rate-limiter';
import { LuaScript } from '../store/redis/lua-script';
import { KeyChain, pauseInRedis } from './redis-pacing';

/** KEYS: state, pause. Returns [state or false, pause ms left, now ms]. */
const READ = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[2]), now }
`);

/** KEYS: state. ARGV: the state read ('' for none), the new state, its ttl ms. 1 when written. */
const SWAP = new LuaScript(`
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`);

export class RedisPacedLimiter implements RateLimiter {
  private readonly chain = new KeyChain();

  constructor(
    private readonly redis: Redis,
    private readonly policy: PacingPolicy,
    private readonly prefix = 'closeloop:',
    private readonly sleep: (ms: number) => Promise<void> = (ms) => delay(ms),
  ) {}

  acquire(key: string): Promise<void> {
    return this.chain.run(key, () => this.take(key));
  }

  pause(key: string, ms: number): void {
    pauseInRedis(this.redis, this.pauseKey(key), ms);
  }

  private async take(key: string): Promise<void> {
    const stateKey = `${this.prefix}pace:${key}`;
    for (;;) {
      const [state, paused, now] = (await READ.run(
        this.redis,
        [stateKey, this.pauseKey(key)],
        [],
      )) as [string | null | false, number, number];
      if (paused > 0) {
        await this.sleep(paused);
        continue;
      }
      const read = typeof state === 'string' ? state : null;
      const step = this.policy.take(read, Number(now));
      if (!('state' in step)) {
        await this.sleep(Math.max(1, step.waitMs));
        continue;
      }
      const written = await SWAP.run(
        this.redis,
        [stateKey],
        [read ?? '', step.state, String(Math.max(1, step.ttlMs))],
      );
      if (Number(written) === 1) return;
    }
  }

  private pauseKey(key: string): string {
    return `${this.prefix}rate-pause:${key}`;
  }
}
