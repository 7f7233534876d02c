/**
 * A Lua script run by its SHA1 (EVALSHA): Redis keeps compiled scripts in its cache, so the text
 * goes over the wire only once per server, not with every call (it is most of the bytes of a
 * ledger claim). A server that does not know the script (first use, a restart, SCRIPT FLUSH, a
 * failover) answers NOSCRIPT, and the call is made once with EVAL, which caches it again.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith('NOSCRIPT')) throw e;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
