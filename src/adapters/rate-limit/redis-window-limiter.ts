/**
 * WindowLimiter shared by every process on the same Redis and prefix: the `/leads` limit per
 * client address holds for the whole deployment, not per web process (with N web processes
 * behind a balancer, a per-process limit let N times as many forms through).
 *
 * Per key, a sorted set `<prefix>window:<name>:<key>` holds the times of the requests counted in
 * the last window. One Lua script, atomic in Redis, prunes times older than the window and either
 * counts now and answers 0, or answers how long until the `limit`-th latest time leaves the
 * window (the same rule as core/sliding-window.ts). Times are the Redis server's (`TIME`), so
 * processes on machines with different clocks agree. The set expires a window after its last
 * count, so a key costs memory only while it is active.
 *
 * Run on the store's fail-fast connection: while Redis is away, `take` rejects within a second
 * instead of holding a visitor's form (the route then lets it through to the store, which answers
 * 503 if it cannot take it either).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { WindowLimiter } from '../../ports/window-limiter';
import { LuaScript } from '../store/redis/lua-script';

/** KEYS: the set. ARGV: limit, windowMs, a unique member. 0 when counted, else ms to wait. */
const TAKE = new LuaScript(`
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
  return 0
end
local kth = redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')
return math.max(1, math.ceil(tonumber(kth[2]) + window - now))
`);

export class RedisWindowLimiter implements WindowLimiter {
  private readonly instanceId = randomUUID();
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    private readonly limit: number,
    private readonly windowMs: number,
    /** Key prefix with its colon (default `closeloop:`). */
    private readonly prefix = 'closeloop:',
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a whole number of 1 or more, got ${limit}`);
    }
  }

  async take(key: string): Promise<{ retryAfterMs: number | null }> {
    const wait = Number(
      await TAKE.run(
        this.redis,
        [`${this.prefix}window:${this.name}:${key}`],
        [String(this.limit), String(this.windowMs), `${this.instanceId}:${++this.seq}`],
      ),
    );
    return { retryAfterMs: wait === 0 ? null : wait };
  }
}
