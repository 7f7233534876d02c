/**
 * RateLimiter shared by every process that uses the same Redis and prefix: the sliding window of
 * core/sliding-window.ts, kept in Redis so that amoCRM's 7 requests per second hold for the whole
 * deployment, not per process (research amocrm.md §5).
 *
 * Per key, a sorted set `<prefix>rate:<key>` holds the times of the acquisitions that may still
 * count, and `<prefix>rate-pause:<key>` exists while the key is paused. One Lua script, run
 * atomically by Redis, prunes times older than the window, and either records now (fewer than
 * `perSecond` left) and answers 0, or answers how long to wait: until the pause ends, or until the
 * `perSecond`-th latest time leaves the window. The caller sleeps that long and asks again. Times are
 * the Redis server's (`TIME`), never a process's clock, so processes on different machines agree.
 * They are whole milliseconds (Lua hands numbers to Redis with 14 significant digits, too few for
 * microseconds since 1970); the margin below dwarfs the rounding.
 *
 * The window is a second plus a margin (50 ms by default), as in the in-process limiter: amoCRM
 * counts requests when they arrive, and the delay between `acquire()` and arrival varies.
 *
 * Order: within one process, callers for a key are served in the order they asked (a promise chain
 * per key: the next caller asks Redis only after the previous one got its slot). Across processes
 * there is no queue: whichever process asks first after a slot frees up gets it.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { WINDOW_MS } from '../../core/sliding-window';
import type { RateLimiter } from '../../ports/rate-limiter';
import { LuaScript } from '../store/redis/lua-script';
import { KeyChain, pauseInRedis } from './redis-pacing';

export interface RedisRateLimiterOptions {
  /** Key prefix (default `closeloop:`). */
  prefix?: string;
  /** Added to the one-second window (default 50 ms); see the file comment. */
  marginMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * KEYS: the window's sorted set, the pause key. ARGV: perSecond, windowMs, a unique member.
 * Returns 0 when the slot was taken, else the milliseconds to wait before asking again.
 */
const TAKE_SLOT = new LuaScript(`
local perSecond = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return paused end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < perSecond then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
  return 0
end
local kth = redis.call('ZREVRANGE', KEYS[1], perSecond - 1, perSecond - 1, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(kth[2]) + window - now))
`);

const DEFAULT_MARGIN_MS = 50;

export class RedisRateLimiter implements RateLimiter {
  private readonly prefix: string;
  private readonly windowMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly chain = new KeyChain();
  /** Unique sorted-set members: this instance's id and a counter. */
  private readonly instanceId = randomUUID();
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly perSecond: number,
    options: RedisRateLimiterOptions = {},
  ) {
    if (!Number.isInteger(perSecond) || perSecond < 1) {
      throw new RangeError(`perSecond must be a whole number of 1 or more, got ${perSecond}`);
    }
    const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    if (!Number.isFinite(marginMs) || marginMs < 0) {
      throw new RangeError(`marginMs must be 0 or more, got ${marginMs}`);
    }
    this.prefix = options.prefix ?? 'closeloop:';
    this.windowMs = WINDOW_MS + marginMs;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  acquire(key: string): Promise<void> {
    return this.chain.run(key, () => this.takeSlot(key));
  }

  pause(key: string, ms: number): void {
    pauseInRedis(this.redis, this.pauseKey(key), ms);
  }

  private async takeSlot(key: string): Promise<void> {
    const member = `${this.instanceId}:${++this.seq}`;
    for (;;) {
      const wait = Number(
        await TAKE_SLOT.run(
          this.redis,
          [`${this.prefix}rate:${key}`, this.pauseKey(key)],
          [String(this.perSecond), String(this.windowMs), member],
        ),
      );
      if (wait === 0) return;
      await this.sleep(wait);
    }
  }

  private pauseKey(key: string): string {
    return `${this.prefix}rate-pause:${key}`;
  }
}
