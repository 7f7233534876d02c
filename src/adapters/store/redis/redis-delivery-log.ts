/**
 * The delivery log in Redis, shared by every process that uses the same Redis and prefix: one row
 * per delivery (a keyed record updates its row), bounded by count and age without removing a
 * pending row, with exact counts by outcome.
 *
 * Keys, under `<prefix>dl:`: `id` (the id counter), `r:<id>` (the row as JSON), `k:<row key>` (a
 * key's row id), `ids` (a sorted set of ids, for order and paging), `at` (ids by latest update,
 * for pruning by age), `pending` (the ids still pending), `counts` and `pruned` (hashes by
 * outcome). Recording and pruning are each one Lua script, so concurrent processes never count a
 * row twice. The list of the version before (`<prefix>delivery-log`) is moved in once, at start.
 *
 * `list` filters in this process: a filtered list reads rows newest first in pages until it has
 * `limit` of them or has read them all (at most the bound). Durability is Redis's own (AOF).
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

/**
 * ARGV: key prefix, the row's JSON without id and firstAt, its key or '', its outcome, its `at`,
 * '1' when pending. Returns the row's id. Every key lives under the prefix (one Redis, no cluster).
 */
const RECORD = new LuaScript(`
local p = ARGV[1]
local rowKey = ARGV[3]
local at = tonumber(ARGV[5])
local id = false
local firstAt = at
if rowKey ~= '' then id = redis.call('GET', p .. 'k:' .. rowKey) end
if id then
  local old = redis.call('GET', p .. 'r:' .. id)
  if old then
    local o = cjson.decode(old)
    redis.call('HINCRBY', p .. 'counts', o.outcome, -1)
    firstAt = o.firstAt
  end
else
  id = redis.call('INCR', p .. 'id')
  if rowKey ~= '' then redis.call('SET', p .. 'k:' .. rowKey, id) end
  redis.call('ZADD', p .. 'ids', id, id)
end
redis.call('SET', p .. 'r:' .. id, '{"id":' .. id .. ',"firstAt":' .. firstAt .. ',' .. string.sub(ARGV[2], 2))
redis.call('ZADD', p .. 'at', at, id)
if ARGV[6] == '1' then redis.call('SADD', p .. 'pending', id) else redis.call('SREM', p .. 'pending', id) end
redis.call('HINCRBY', p .. 'counts', ARGV[4], 1)
return id
`);

/**
 * ARGV: key prefix, maxRows, the oldest `at` kept or '' (no age limit). Removes the oldest settled
 * rows past the count, then settled rows past the age. Returns the removed counts as JSON, by
 * reason: {"count": {...}, "age": {...}}.
 */
const PRUNE = new LuaScript(`
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
  end
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
    let max = filter.beforeId === undefined ? '+inf' : `(${filter.beforeId}`;
    for (;;) {
      const ids = await this.redis.zrevrangebyscore(
        `${this.base}ids`,
        max,
        '-inf',
        'LIMIT',
        0,
        PAGE,
      );
      if (ids.length === 0) return rows;
      const texts = await this.redis.mget(ids.map((id) => `${this.base}r:${id}`));
      for (const text of texts) {
        if (text === null) continue;
        const row = JSON.parse(text) as StoredDelivery;
        if (matches(row, filter)) rows.push(row);
        if (rows.length >= limit) return rows;
      }
      max = `(${ids[ids.length - 1]}`;
    }
  }
}

function matches(row: StoredDelivery, f: DeliveryLogFilter): boolean {
  return (
    (f.outcome === undefined || row.outcome === f.outcome) &&
    (f.dealId === undefined || row.dealId === f.dealId) &&
    (f.account === undefined || row.account === f.account) &&
    (f.destination === undefined || row.destination === f.destination) &&
    (f.since === undefined || row.firstAt >= f.since) &&
    (f.until === undefined || row.firstAt < f.until) &&
    (f.event === undefined || f.event === '' || row.events.includes(f.event)) &&
    (f.text === undefined || f.text === '' || containsText(row, f.text.toLowerCase()))
  );
}

/** The SQLite log's search: deal id, destination, code, reason, event names. */
function containsText(row: StoredDelivery, text: string): boolean {
  return [row.dealId, row.destination ?? '', row.code ?? '', row.reason ?? '', ...row.events].some(
    (v) => v.toLowerCase().includes(text),
  );
}
