/**
 * The amoCRM OAuth pair and its refresh lock in Redis, shared by every process that uses the same
 * Redis and prefix.
 *
 * The pair is one hash, `<prefix>tokens:<account>`, written by a single HSET (all four fields or
 * none). Durability is Redis's: `save` resolves once the pair is in Redis memory, and it survives a
 * Redis restart as far as its persistence (AOF `appendfsync`) is configured to; a deployment that
 * keeps tokens in Redis should run it with AOF on.
 *
 * The lock is the key `<prefix>token-refresh-lock:<account>`, taken with SET NX PX and a fresh random
 * owner per acquisition: Redis lets exactly one of several racing SETs in, and expires the key
 * `ttlMs` after it was taken, so a holder that died stops blocking the others without anyone
 * cleaning up. Expiry is measured by the Redis server's clock, so processes on different machines
 * agree. Release is a compare-and-delete script: a holder whose lease lapsed finds another owner in
 * the key and deletes nothing.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { StoredTokens, TokenStore } from '../../../ports/token-store';
import { LuaScript } from './lua-script';

export interface RedisTokenStoreOptions {
  /** Key prefix (default `closeloop:`). */
  prefix?: string;
  /** How often a waiter tries the lock again (default 50 ms). */
  lockPollMs?: number;
}

/** KEYS: the lock. ARGV: the owner. Deletes the lock only while that owner holds it. */
const UNLOCK = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

export class RedisTokenStore implements TokenStore {
  private readonly prefix: string;
  private readonly lockPollMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisTokenStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'closeloop:';
    this.lockPollMs = options.lockPollMs ?? 50;
  }

  async get(account: string): Promise<StoredTokens | null> {
    const row = await this.redis.hgetall(this.tokensKey(account));
    const { accessToken, refreshToken, expiresAt, updatedAt } = row;
    if (
      accessToken === undefined ||
      refreshToken === undefined ||
      expiresAt === undefined ||
      updatedAt === undefined
    ) {
      return null;
    }
    return {
      accessToken,
      refreshToken,
      expiresAt: Number(expiresAt),
      updatedAt: Number(updatedAt),
    };
  }

  async save(account: string, tokens: StoredTokens): Promise<void> {
    await this.redis.hset(this.tokensKey(account), {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: String(tokens.expiresAt),
      updatedAt: String(tokens.updatedAt),
    });
  }

  async withRefreshLock<T>(account: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
    const lockKey = `${this.prefix}token-refresh-lock:${account}`;
    // A fresh owner per acquisition: a holder whose lease lapsed must not free its successor's.
    const owner = randomUUID();
    const px = Math.max(1, Math.ceil(ttlMs));
    while ((await this.redis.set(lockKey, owner, 'PX', px, 'NX')) !== 'OK') {
      await delay(this.lockPollMs);
    }
    try {
      return await fn();
    } finally {
      // A failed release must not hide fn's result or error: the lease lapses after ttlMs anyway.
      await UNLOCK.run(this.redis, [lockKey], [owner]).catch(() => undefined);
    }
  }

  private tokensKey(account: string): string {
    return `${this.prefix}tokens:${account}`;
  }
}
