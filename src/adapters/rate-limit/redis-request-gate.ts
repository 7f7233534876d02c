/**
 * RequestGate shared by every process on the same Redis and prefix: "at most N in flight per
 * token" and the daily budget hold for the whole deployment, not per worker.
 *
 * - Slots: a sorted set `<prefix>gate:<name>:slots`, one member per request in flight, scored by
 *   when its lease ends (the Redis server's clock, `TIME`, so machines with different clocks
 *   agree). Taking a slot first drops lapsed leases, so a killed process holds its slot at most
 *   `leaseMs`; a live one renews its lease every third of it while its request runs. A process
 *   that finds no free slot looks again every `pollMs`.
 * - The day: a counter `<prefix>gate:<name>:day:<yyyy-mm-dd>` (the UTC day of the caller's clock),
 *   counted before a request waits for its slot, as the in-process gate does; it expires two days
 *   after its last count.
 * `name` must not be a secret (the caller passes a digest of the token, never the token).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { utcDayOf, type RequestGate } from '../../ports/request-gate';
import { LuaScript } from '../store/redis/lua-script';

const TWO_DAYS_MS = 2 * 86_400_000;

/** KEYS: the day's counter. ARGV: budget, ttl. -1 when spent, else the count with this one. */
const COUNT = new LuaScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then return -1 end
n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
`);

/** KEYS: the slots. ARGV: max, leaseMs, member. 1 when taken. */
const TAKE = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1
`);

/** KEYS: the slots. ARGV: leaseMs, member. Moves the member's lease end on, if it still holds. */
const RENEW = new LuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local r = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return r
`);

export interface RedisRequestGateOptions {
  /** How long a slot is held without renewal (default 60 s). */
  leaseMs?: number;
  /** How often a waiting request looks for a free slot (default 100 ms). */
  pollMs?: number;
}

export class RedisRequestGate implements RequestGate {
  private readonly instanceId = randomUUID();
  private seq = 0;
  private readonly leaseMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    readonly maxInFlight: number,
    readonly dailyRequests: number,
    /** Key prefix with its colon (default `closeloop:`). */
    private readonly prefix = 'closeloop:',
    options: RedisRequestGateOptions = {},
  ) {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
      throw new RangeError(`maxInFlight must be a whole number of 1 or more, got ${maxInFlight}`);
    }
    this.leaseMs = options.leaseMs ?? 60_000;
    this.pollMs = options.pollMs ?? 100;
  }

  async run<T>(nowMs: number, work: () => Promise<T>): Promise<T | null> {
    const counted = Number(
      await COUNT.run(
        this.redis,
        [this.dayKey(nowMs)],
        [String(this.dailyRequests), String(TWO_DAYS_MS)],
      ),
    );
    if (counted < 0) return null;
    const member = `${this.instanceId}:${++this.seq}`;
    const slots = this.slotsKey();
    const lease = [String(this.maxInFlight), String(this.leaseMs), member];
    while (Number(await TAKE.run(this.redis, [slots], lease)) !== 1) {
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    const renew = setInterval(
      () => {
        RENEW.run(this.redis, [slots], [String(this.leaseMs), member]).catch(() => undefined);
      },
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.redis.zrem(slots, member).catch(() => undefined);
    }
  }

  async used(nowMs: number): Promise<number> {
    return Number((await this.redis.get(this.dayKey(nowMs))) ?? 0);
  }

  private slotsKey(): string {
    return `${this.prefix}gate:${this.name}:slots`;
  }
  private dayKey(nowMs: number): string {
    return `${this.prefix}gate:${this.name}:day:${utcDayOf(nowMs)}`;
  }
}
