/**
 * The idempotency ledger in Redis, shared by every process that uses the same Redis and prefix.
 *
 * One hash per idempotency key, `<prefix>ledger:<key>` → { state: 'claimed' | 'sent', owner, at },
 * with no TTL: keys live forever, as the port says. Every call is one Lua script, and Redis runs a
 * script with nothing else interleaved, so of two processes claiming the same unsent key exactly
 * one finds it absent and takes it.
 *
 * All keys of a call are passed to one script, so on Redis Cluster they would have to share a hash
 * slot; closeloop targets a single Redis (or a primary with replicas), not a cluster.
 */
import type { Redis } from 'ioredis';
import type { Fence } from '../../../ports/job-queue';
import type { ClaimResult, Ledger } from '../../../ports/ledger';
import { LuaScript } from './lua-script';

/**
 * KEYS: the ledger keys, then the fence key when ARGV[3] (the fence token) is not empty.
 * ARGV: owner, nowMs, fence token or ''. Returns one answer per ledger key, in KEYS order.
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
    redis.call('HSET', k, 'state', 'claimed', 'owner', owner, 'at', ARGV[2])
    out[i] = 'claimed'
  elseif row[1] == 'sent' then
    out[i] = 'already_sent'
  elseif row[2] == owner then
    out[i] = 'claimed'
  else
    out[i] = 'in_progress_elsewhere'
  end
end
return out
`);

/** KEYS: the ledger keys. ARGV: owner, nowMs. Only the owner's claims become permanent. */
const MARK_SENT = new LuaScript(`
for _, k in ipairs(KEYS) do
  local row = redis.call('HMGET', k, 'state', 'owner')
  if row[1] == 'claimed' and row[2] == ARGV[1] then
    redis.call('HSET', k, 'state', 'sent', 'at', ARGV[2])
  end
end
return 0
`);

/** KEYS: the ledger keys. ARGV: owner. Drops only the owner's unsent claims. */
const RELEASE = new LuaScript(`
for _, k in ipairs(KEYS) do
  local row = redis.call('HMGET', k, 'state', 'owner')
  if row[1] == 'claimed' and row[2] == ARGV[1] then
    redis.call('DEL', k)
  end
end
return 0
`);

const ANSWERS: ReadonlySet<string> = new Set<ClaimResult>([
  'claimed',
  'already_sent',
  'in_progress_elsewhere',
  'lost_lock',
]);

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

  async markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    if (keys.length === 0) return;
    await MARK_SENT.run(
      this.redis,
      keys.map((k) => this.keyOf(k)),
      [owner, String(nowMs)],
    );
  }

  async release(keys: readonly string[], owner: string): Promise<void> {
    if (keys.length === 0) return;
    await RELEASE.run(
      this.redis,
      keys.map((k) => this.keyOf(k)),
      [owner],
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
