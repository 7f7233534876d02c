/**
 * The idempotency ledger in Redis, shared by every process that uses the same Redis and prefix.
 *
 * One hash per idempotency key, `<prefix>ledger:<key>` → { state, owner, at }, the state one of the
 * port's (`sending`, `claimed`, `sent`, `uncertain`),
 * with no TTL: keys live forever, as the port says. Every call is one Lua script, and Redis runs a
 * script with nothing else interleaved, so of two processes claiming the same unsent key exactly
 * one finds it absent and takes it.
 *
 * All keys of a call are passed to one script, so on Redis Cluster they would have to share a hash
 * slot; closeloop targets a single Redis (or a primary with replicas), not a cluster.
 */
import type { Redis } from 'ioredis';
import type { Fence } from '../../../ports/job-queue';
import { CLAIM_RESULTS, type ClaimResult, type Ledger } from '../../../ports/ledger';
import { LuaScript } from './lua-script';

/**
 * KEYS: the ledger keys, then the fence key when ARGV[3] (the fence token) is not empty.
 * ARGV: owner, nowMs, fence token or ''. Returns one answer per ledger key, in KEYS order; a key
 * claimed is left `sending` (the port's states).
 */
const CLAIM = new LuaScript(`
local owner = ARGV[1]
local out = {}
local n = #KEYS
if ARGV[3] ~= '' then
  n = n - 1
  if redis.call('GET', KEYS[#KEYS]) ~= ARGV[3] then
    for i = 1, n do out[i] = 'lost_lock' end
    return out
  end
end
for i = 1, n do
  local k = KEYS[i]
  local row = redis.call('HMGET', k, 'state', 'owner')
  if not row[1] then
    redis.call('HSET', k, 'state', 'sending', 'owner', owner, 'at', ARGV[2])
    out[i] = 'claimed'
  elseif row[1] == 'sent' then
    out[i] = 'already_sent'
  elseif row[1] == 'uncertain' then
    out[i] = 'held'
  elseif row[2] ~= owner then
    out[i] = 'in_progress_elsewhere'
  elseif row[1] == 'sending' then
    out[i] = 'uncertain'
  else
    redis.call('HSET', k, 'state', 'sending', 'at', ARGV[2])
    out[i] = 'claimed'
  end
end
return out
`);

/**
 * KEYS: the ledger keys. ARGV: owner, the new state, nowMs, then the states it may move from.
 * Only the owner's rows move; a new state of '' deletes the row.
 */
const MOVE = new LuaScript(`
local from = {}
for i = 4, #ARGV do from[ARGV[i]] = true end
for _, k in ipairs(KEYS) do
  local row = redis.call('HMGET', k, 'state', 'owner')
  if row[1] and from[row[1]] and row[2] == ARGV[1] then
    if ARGV[2] == '' then
      redis.call('DEL', k)
    else
      redis.call('HSET', k, 'state', ARGV[2], 'at', ARGV[3])
    end
  end
end
return 0
`);

/**
 * KEYS: the ledger keys. ARGV: 'sent' or 'unsent', nowMs. Settles those held uncertain, whoever
 * held them: sent for good, or dropped. Returns how many were held.
 */
const SETTLE_UNCERTAIN = new LuaScript(`
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('HGET', k, 'state') == 'uncertain' then
    if ARGV[1] == 'sent' then
      redis.call('HSET', k, 'state', 'sent', 'at', ARGV[2])
    else
      redis.call('DEL', k)
    end
    n = n + 1
  end
end
return n
`);

const ANSWERS: ReadonlySet<string> = new Set<string>(CLAIM_RESULTS);

export class RedisLedger implements Ledger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'closeloop:',
  ) {}

  async claim(
    keys: readonly string[],
    owner: string,
    nowMs: number,
    fence?: Fence,
  ): Promise<Map<string, ClaimResult>> {
    const result = new Map<string, ClaimResult>();
    if (keys.length === 0) return result;
    const redisKeys = keys.map((k) => this.keyOf(k));
    if (fence) redisKeys.push(fence.key);
    const answers = await CLAIM.run(this.redis, redisKeys, [
      owner,
      String(nowMs),
      fence?.token ?? '',
    ]);
    if (!Array.isArray(answers) || answers.length !== keys.length) {
      throw new Error(`Redis ledger: unexpected claim answer for ${keys.length} keys`);
    }
    keys.forEach((k, i) => {
      const answer: unknown = answers[i];
      if (typeof answer !== 'string' || !ANSWERS.has(answer)) {
        throw new Error(`Redis ledger: unexpected claim answer ${String(answer)}`);
      }
      result.set(k, answer as ClaimResult);
    });
    return result;
  }

  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    return this.move(keys, owner, 'sent', nowMs, ['claimed', 'sending']);
  }

  markNotSent(keys: readonly string[], owner: string): Promise<void> {
    return this.move(keys, owner, 'claimed', Date.now(), ['sending']);
  }

  hold(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    return this.move(keys, owner, 'uncertain', nowMs, ['sending']);
  }

  release(keys: readonly string[], owner: string): Promise<void> {
    return this.move(keys, owner, '', Date.now(), ['claimed', 'sending']);
  }

  async settleUncertain(
    keys: readonly string[],
    arrived: 'sent' | 'unsent',
    nowMs: number,
  ): Promise<number> {
    if (keys.length === 0) return 0;
    return Number(
      await SETTLE_UNCERTAIN.run(
        this.redis,
        keys.map((k) => this.keyOf(k)),
        [arrived, String(nowMs)],
      ),
    );
  }

  private async move(
    keys: readonly string[],
    owner: string,
    to: string,
    nowMs: number,
    from: string[],
  ): Promise<void> {
    if (keys.length === 0) return;
    await MOVE.run(
      this.redis,
      keys.map((k) => this.keyOf(k)),
      [owner, to, String(nowMs), ...from],
    );
  }

  private keyOf(key: string): string {
    return `${this.prefix}ledger:${key}`;
  }
}

/** KEYS: a legacy key and its new name. Renames unless already done (by another process). */
const RENAME_LEGACY = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  return 1
end
return 0
`);

/**
 * Ledger keys written before the deal model (`account:lead:event:status`, all amoCRM → GA4) take
 * the destination and source in front (`ga4:amocrm:…`), as every key has now, so nothing already
 * sent is sent again. Runs once per Redis (a settings flag), safely beside other processes doing
 * the same. Returns how many keys were renamed.
 */
export async function migrateLegacyLedgerKeys(
  redis: Redis,
  prefix: string,
  settingsKey: string,
): Promise<number> {
  const FLAG = 'ledger.keys';
  if ((await redis.hget(settingsKey, FLAG)) === 'v2') return 0;
  const head = `${prefix}ledger:`;
  let renamed = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${head}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const suffix = key.slice(head.length);
      if (suffix.split(':').length !== 4) continue;
      renamed += Number(await RENAME_LEGACY.run(redis, [key, `${head}ga4:amocrm:${suffix}`], []));
    }
  } while (cursor !== '0');
  await redis.hset(settingsKey, FLAG, 'v2');
  return renamed;
}
