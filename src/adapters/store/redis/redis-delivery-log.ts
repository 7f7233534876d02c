/**
 * The delivery log in Redis, shared by every process that uses the same Redis and prefix: one row
 * per delivery (a keyed record updates its row), bounded by count and age without removing a
 * pending row, with exact counts by outcome.
 *
 * Keys, under `<prefix>dl:`: `id` (the id counter), `r:<id>` (the row as JSON), `k:<row key>` (a
 * key's row id), `ids` (a sorted set of ids, for order and paging), `at` (ids by latest update,
 * for pruning by age), `pending` (the ids still pending), `counts` and `pruned` (hashes by
 * outcome), and the filters' indexes `d:<deal id>`, `sb:<block>`, `st` and `indexed`
 * (redis-delivery-search.ts). Recording and pruning are each one Lua script, so concurrent processes never count a row twice
 * and the indexes never drift from the rows. The list of the version before
 * (`<prefix>delivery-log`) is moved in once, at start, and rows written before the indexes are
 * indexed once, at start.
 *
 * `list` without a filter pages `ids`; with a deal id it pages that deal's set; with any other
 * filter it scans inside Redis (redis-delivery-search.ts). Durability is Redis's own (AOF).
 */
import type { Redis } from 'ioredis';
import {
  PENDING_OUTCOMES,
  upgradeDeliveryRow,
  zeroCounts,
  type DeliveryLog,
  type DeliveryLogFilter,
  type DeliveryLogLimits,
  type DeliveryOutcome,
  type DeliveryRecord,
  type OutcomeCounts,
  type PruneReport,
  type StoredDelivery,
} from '../../../ports/delivery-log';
import { LuaScript } from './lua-script';
import {
  backfill,
  matchesFilter,
  needsScan,
  scanIds,
  searchBody,
  SCAN_BUDGET,
  SEGMENT_LUA,
} from './redis-delivery-search';

/**
 * ARGV: key prefix, the row's JSON without id and firstAt, its key or '', its outcome, its `at`,
 * '1' when pending, its segment after id and firstAt, its deal id. Returns the row's id. Every
 * key lives under the prefix (one Redis, no cluster).
 */
const RECORD = new LuaScript(`${SEGMENT_LUA}
local p = ARGV[1]
local rowKey = ARGV[3]
local at = tonumber(ARGV[5])
local id = false
local isNew = false
local firstAt = at
if rowKey ~= '' then id = redis.call('GET', p .. 'k:' .. rowKey) end
if id then
  local old = redis.call('GET', p .. 'r:' .. id)
  if old then
    local o = cjson.decode(old)
    redis.call('HINCRBY', p .. 'counts', o.outcome, -1)
    firstAt = o.firstAt
    if o.dealId ~= ARGV[8] then redis.call('ZREM', p .. 'd:' .. tostring(o.dealId), id) end
  end
else
  isNew = true
  id = redis.call('INCR', p .. 'id')
  if rowKey ~= '' then redis.call('SET', p .. 'k:' .. rowKey, id) end
  redis.call('ZADD', p .. 'ids', id, id)
end
redis.call('SET', p .. 'r:' .. id, '{"id":' .. id .. ',"firstAt":' .. firstAt .. ',' .. string.sub(ARGV[2], 2))
redis.call('ZADD', p .. 'at', at, id)
redis.call('ZADD', p .. 'd:' .. ARGV[8], id, id)
putSegment(p, id, firstAt, '\\0' .. id .. '\\1' .. firstAt .. '\\1' .. ARGV[7], isNew)
if ARGV[6] == '1' then redis.call('SADD', p .. 'pending', id) else redis.call('SREM', p .. 'pending', id) end
redis.call('HINCRBY', p .. 'counts', ARGV[4], 1)
return id
`);

/**
 * ARGV: key prefix, maxRows, the oldest `at` kept or '' (no age limit). Removes the oldest settled
 * rows past the count, then settled rows past the age. Returns the removed counts as JSON, by
 * reason: {"count": {...}, "age": {...}}.
 */
const PRUNE = new LuaScript(`${SEGMENT_LUA}
local p = ARGV[1]
local out = { count = {}, age = {} }
local function drop(id, why)
  if redis.call('SISMEMBER', p .. 'pending', id) == 1 then return false end
  local row = redis.call('GET', p .. 'r:' .. id)
  if row then
    local o = cjson.decode(row)
    out[why][o.outcome] = (out[why][o.outcome] or 0) + 1
    redis.call('HINCRBY', p .. 'pruned', o.outcome, 1)
    if o.key then redis.call('DEL', p .. 'k:' .. o.key) end
    redis.call('ZREM', p .. 'd:' .. tostring(o.dealId), id)
  end
  dropSegment(p, id)
  redis.call('DEL', p .. 'r:' .. id)
  redis.call('ZREM', p .. 'ids', id)
  redis.call('ZREM', p .. 'at', id)
  return true
end
local over = redis.call('ZCARD', p .. 'ids') - tonumber(ARGV[2])
if over > 0 then
  local n = 0
  for _, id in ipairs(redis.call('ZRANGE', p .. 'ids', 0, over + 999)) do
    if n >= over then break end
    if drop(id, 'count') then n = n + 1 end
  end
end
if ARGV[3] ~= '' then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'at', '-inf', '(' .. ARGV[3], 'LIMIT', 0, 10000)) do
    drop(id, 'age')
  end
end
return cjson.encode(out)
`);

const DEFAULT_LIMIT = 100;
const PAGE = 500;
const PRUNE_EVERY = 500;

export class RedisDeliveryLog implements DeliveryLog {
  private readonly base: string;
  private readonly legacyKey: string;
  private sincePrune = 0;

  constructor(
    private readonly redis: Redis,
    private readonly limits: DeliveryLogLimits,
    prefix = 'closeloop:',
    private readonly now: () => number = Date.now,
    /** Members one scan call reads at most (tests make it small to page through many calls). */
    private readonly scanBudget = SCAN_BUDGET,
  ) {
    if (!Number.isInteger(limits.maxRows) || limits.maxRows < 1) {
      throw new RangeError(`maxRows must be a whole number of 1 or more, got ${limits.maxRows}`);
    }
    this.base = `${prefix}dl:`;
    this.legacyKey = `${prefix}delivery-log`;
  }

  /** Moves the rows of the version before in (oldest first), then prunes. Run once at start. */
  async open(): Promise<this> {
    for (;;) {
      // The old list is newest first: take from its tail, one at a time, so a crash loses none.
      const text = await this.redis.lindex(this.legacyKey, -1);
      if (text === null) break;
      const [, stored] = JSON.parse(text) as [number, Record<string, unknown>];
      await this.write(upgradeDeliveryRow(stored));
      await this.redis.rpop(this.legacyKey);
    }
    await backfill(this.redis, this.base);
    await this.prune();
    return this;
  }

  async record(entry: DeliveryRecord): Promise<void> {
    await this.write(entry);
    if (++this.sincePrune >= PRUNE_EVERY) {
      this.sincePrune = 0;
      await this.prune();
    }
  }

  private async write(entry: DeliveryRecord): Promise<void> {
    // Every field spelled out: what the SQLite log keeps, nothing more (undefined payload → null).
    const stored = {
      at: entry.at,
      ...(entry.key === undefined ? {} : { key: entry.key }),
      account: entry.account,
      source: entry.source,
      crmAccount: entry.crmAccount,
      dealId: entry.dealId,
      kind: entry.kind,
      stageId: entry.stageId,
      jobId: entry.jobId,
      destination: entry.destination,
      outcome: entry.outcome,
      code: entry.code,
      reason: entry.reason,
      events: entry.events,
      payload: entry.payload === undefined ? null : entry.payload,
      attempts: entry.attempts,
      ...(entry.utm === undefined ? {} : { utm: entry.utm }),
    };
    await RECORD.run(
      this.redis,
      [],
      [
        this.base,
        JSON.stringify(stored),
        entry.key ?? '',
        entry.outcome,
        String(entry.at),
        PENDING_OUTCOMES.includes(entry.outcome) ? '1' : '0',
        searchBody(entry),
        entry.dealId,
      ],
    );
  }

  private async prune(): Promise<void> {
    const oldest = Number.isFinite(this.limits.maxAgeMs)
      ? String(this.now() - this.limits.maxAgeMs)
      : '';
    const text = String(
      await PRUNE.run(this.redis, [], [this.base, String(this.limits.maxRows), oldest]),
    );
    const removed = JSON.parse(text) as Record<PruneReport['reason'], Partial<OutcomeCounts>>;
    for (const reason of ['count', 'age'] as const) {
      // cjson writes an empty table as {} or []: both mean nothing removed.
      const byOutcome = Array.isArray(removed[reason]) ? {} : removed[reason];
      if (Object.keys(byOutcome).length > 0) this.limits.onPruned?.({ removed: byOutcome, reason });
    }
  }

  async counts(): Promise<OutcomeCounts> {
    const counts = zeroCounts();
    const stored = await this.redis.hgetall(`${this.base}counts`);
    for (const [outcome, n] of Object.entries(stored)) {
      if (outcome in counts) counts[outcome as DeliveryOutcome] = Number(n);
    }
    return counts;
  }

  async list(filter: DeliveryLogFilter = {}): Promise<StoredDelivery[]> {
    const limit = Math.floor(filter.limit ?? DEFAULT_LIMIT);
    if (limit <= 0) return [];
    const rows: StoredDelivery[] = [];
    const scan = needsScan(filter) && filter.dealId === undefined;
    // Without the scan: the deal's set or every id, newest first, a page at a time.
    const set = `${this.base}${filter.dealId === undefined ? 'ids' : `d:${filter.dealId}`}`;
    let below = filter.beforeId ?? null;
    for (;;) {
      let ids: string[];
      let next: number | null;
      if (scan) {
        const want = limit - rows.length;
        const found = await scanIds(this.redis, this.base, below, want, this.scanBudget, filter);
        ({ ids, next } = found);
      } else {
        const max = below === null ? '+inf' : `(${below}`;
        ids = await this.redis.zrevrangebyscore(set, max, '-inf', 'LIMIT', 0, PAGE);
        next = ids.length < PAGE ? null : Number(ids[ids.length - 1]);
      }
      const texts =
        ids.length === 0 ? [] : await this.redis.mget(ids.map((id) => `${this.base}r:${id}`));
      for (const text of texts) {
        if (text === null) continue;
        const row = JSON.parse(text) as StoredDelivery;
        if (matchesFilter(row, filter)) rows.push(row);
        if (rows.length >= limit) return rows;
      }
      if (next === null) return rows;
      below = next;
    }
  }
}
