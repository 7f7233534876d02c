/**
 * The conversion outbox in Redis, shared by every process on the same Redis and prefix:
 * `<prefix>outbox:e:<key>` (hash: the entry as JSON, its state, its batch),
 * `<prefix>outbox:p:<queue>:<idType>` (sorted set of pending keys by when added),
 * `<prefix>outbox:b:<batch>` (hash: the batch) and `<prefix>outbox:bs:<queue>` (sorted set of the
 * queue's batches by when cut), `<prefix>outbox:stops` (hash: queue → its stop, as JSON). No
 * TTL. Each change is one Lua script, so a cut never shares an entry between batches, an upload
 * id, once written, stays, and a claim (fields `claimOwner`, `claimUntil` of the batch) is a
 * compare-and-set: of several workers that try to take one batch at once, one gets it.
 */
import type { Redis } from 'ioredis';
import {
  OUTBOX_ID_TYPES,
  type BatchChange,
  type BatchState,
  type ConversionOutbox,
  type OutboxBatch,
  type OutboxEntry,
  type OutboxIdType,
  type QueueStop,
} from '../../../ports/conversion-outbox';
import { LuaScript } from './lua-script';

/** KEYS: entry, pending set. ARGV: json, addedAt, key. */
const ADD = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'state', 'pending')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
`);

/** KEYS: the pending sets. ARGV: entry prefix, beforeSec. Returns the expired entries' JSON. */
const EXPIRE = new LuaScript(`
local out = {}
for _, set in ipairs(KEYS) do
  for _, key in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    local json = redis.call('HGET', ARGV[1] .. key, 'json')
    if json and cjson.decode(json).dateTime < tonumber(ARGV[2]) then
      redis.call('ZREM', set, key)
      redis.call('HSET', ARGV[1] .. key, 'state', 'expired')
      out[#out + 1] = json
    end
  end
end
return out
`);

/** KEYS: pending set, batch, queue's batches. ARGV: max, id, queue, idType, now, entry prefix. */
const CUT = new LuaScript(`
local keys = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #keys == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(keys))
for _, key in ipairs(keys) do
  redis.call('HSET', ARGV[6] .. key, 'state', 'batched', 'batch', ARGV[2])
end
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'queue', ARGV[3], 'idType', ARGV[4], 'state', 'sending',
  'createdAt', ARGV[5], 'attempts', '0', 'nextAt', ARGV[5], 'updatedAt', ARGV[5], 'keys', cjson.encode(keys))
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
return 1
`);

/**
 * KEYS: batch. ARGV: state, attempts, uploadId, status, counts, nextAt, setError, error, now
 * ('' for no change). An upload id is kept once set, and then the batch never goes back to sending.
 */
const UPDATE = new LuaScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local has = redis.call('HGET', KEYS[1], 'uploadId')
if ARGV[1] ~= '' and not (has and ARGV[1] == 'sending') then redis.call('HSET', KEYS[1], 'state', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'attempts', ARGV[2]) end
if ARGV[3] ~= '' and not has then redis.call('HSET', KEYS[1], 'uploadId', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'counts', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'nextAt', ARGV[6]) end
if ARGV[7] == '1' then
  if ARGV[8] == '' then redis.call('HDEL', KEYS[1], 'error') else redis.call('HSET', KEYS[1], 'error', ARGV[8]) end
end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[9])
return 1
`);

/** KEYS: batch. ARGV: owner, until, now. 1 when taken (or extended) for the owner. */
const CLAIM = new LuaScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'sending' then return 0 end
if redis.call('HEXISTS', KEYS[1], 'uploadId') == 1 then return 0 end
local owner = redis.call('HGET', KEYS[1], 'claimOwner')
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'claimUntil') or '0')
if owner and owner ~= ARGV[1] and untilMs > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'claimOwner', ARGV[1], 'claimUntil', ARGV[2])
return 1
`);

/** KEYS: batch. ARGV: owner. */
const RELEASE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'claimOwner') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'claimOwner', 'claimUntil')
end
return 1
`);

/**
 * KEYS: batch, the pending set of its queue and type. ARGV: entry prefix, batch id, now. Moves the
 * entries of a rejected batch without an upload id back to pending; returns how many.
 */
const REQUEUE = new LuaScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'rejected' then return 0 end
if redis.call('HEXISTS', KEYS[1], 'uploadId') == 1 then return 0 end
local raw = redis.call('HGET', KEYS[1], 'keys')
local n = 0
if raw and raw ~= '{}' then
  for _, key in ipairs(cjson.decode(raw)) do
    local e = ARGV[1] .. key
    if redis.call('HGET', e, 'batch') == ARGV[2] and redis.call('HGET', e, 'state') == 'batched' then
      local json = redis.call('HGET', e, 'json')
      redis.call('HSET', e, 'state', 'pending')
      redis.call('HDEL', e, 'batch')
      redis.call('ZADD', KEYS[2], string.format('%d', cjson.decode(json).addedAt), key)
      n = n + 1
    end
  end
end
redis.call('HSET', KEYS[1], 'state', 'requeued', 'keys', '[]', 'updatedAt', ARGV[3])
return n
`);

export class RedisOutbox implements ConversionOutbox {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'closeloop:',
  ) {}

  async add(entries: readonly OutboxEntry[]): Promise<number> {
    let added = 0;
    for (const e of entries) {
      const keys = [this.entryKey(e.key), this.pendingKey(e.queue, e.idType)];
      added += Number(
        await ADD.run(this.redis, keys, [JSON.stringify(e), String(e.addedAt), e.key]),
      );
    }
    return added;
  }

  async pending(queue: string): Promise<{ count: number; oldestAt: number | null }> {
    let count = 0;
    let oldestAt: number | null = null;
    for (const t of OUTBOX_ID_TYPES) {
      const set = this.pendingKey(queue, t);
      count += await this.redis.zcard(set);
      const first = await this.redis.zrange(set, 0, 0, 'WITHSCORES');
      if (first[1] !== undefined) oldestAt = Math.min(oldestAt ?? Infinity, Number(first[1]));
    }
    return { count, oldestAt };
  }

  async expire(queue: string, beforeSec: number): Promise<OutboxEntry[]> {
    const sets = OUTBOX_ID_TYPES.map((t) => this.pendingKey(queue, t));
    const out = (await EXPIRE.run(this.redis, sets, [
      `${this.prefix}outbox:e:`,
      String(beforeSec),
    ])) as string[];
    return out.map((json) => JSON.parse(json) as OutboxEntry);
  }

  async cut(
    queue: string,
    idType: OutboxIdType,
    batchId: string,
    max: number,
    nowMs: number,
  ): Promise<OutboxBatch | null> {
    const done = await CUT.run(
      this.redis,
      [this.pendingKey(queue, idType), this.batchKey(batchId), this.batchesKey(queue)],
      [String(max), batchId, queue, idType, String(nowMs), `${this.prefix}outbox:e:`],
    );
    return Number(done) === 1 ? this.batch(batchId) : null;
  }

  async batches(queue: string, states: readonly BatchState[]): Promise<OutboxBatch[]> {
    const ids = await this.redis.zrange(this.batchesKey(queue), 0, -1);
    const out: OutboxBatch[] = [];
    for (const id of ids) {
      const b = await this.batch(id);
      if (b !== null && states.includes(b.state)) out.push(b);
    }
    return out;
  }

  async batch(batchId: string): Promise<OutboxBatch | null> {
    const h = await this.redis.hgetall(this.batchKey(batchId));
    if (h.id === undefined) return null;
    return {
      id: h.id,
      queue: h.queue!,
      idType: h.idType as OutboxIdType,
      state: h.state as BatchState,
      // cjson writes an empty table as {}: no keys.
      keys: h.keys === '{}' ? [] : (JSON.parse(h.keys!) as string[]),
      createdAt: Number(h.createdAt),
      attempts: Number(h.attempts),
      uploadId: h.uploadId ?? null,
      status: h.status ?? null,
      counts: h.counts === undefined ? null : (JSON.parse(h.counts) as OutboxBatch['counts']),
      nextAt: Number(h.nextAt),
      error: h.error ?? null,
      updatedAt: Number(h.updatedAt),
      claim:
        h.claimOwner === undefined ? null : { owner: h.claimOwner, until: Number(h.claimUntil) },
    };
  }

  async entries(batchId: string): Promise<OutboxEntry[]> {
    const b = await this.batch(batchId);
    if (b === null) return [];
    const out: OutboxEntry[] = [];
    for (const key of b.keys) {
      const json = await this.redis.hget(this.entryKey(key), 'json');
      if (json !== null) out.push(JSON.parse(json) as OutboxEntry);
    }
    return out;
  }

  async update(batchId: string, change: BatchChange, nowMs: number): Promise<void> {
    const s = (v: string | number | null | undefined): string =>
      v === undefined || v === null ? '' : String(v);
    await UPDATE.run(
      this.redis,
      [this.batchKey(batchId)],
      [
        s(change.state),
        s(change.attempts),
        s(change.uploadId),
        s(change.status),
        change.counts ? JSON.stringify(change.counts) : '',
        s(change.nextAt),
        change.error === undefined ? '0' : '1',
        s(change.error),
        String(nowMs),
      ],
    );
  }

  async claim(
    batchId: string,
    owner: string,
    untilMs: number,
    nowMs: number,
  ): Promise<OutboxBatch | null> {
    const taken = await CLAIM.run(
      this.redis,
      [this.batchKey(batchId)],
      [owner, String(untilMs), String(nowMs)],
    );
    return Number(taken) === 1 ? this.batch(batchId) : null;
  }

  async release(batchId: string, owner: string): Promise<void> {
    await RELEASE.run(this.redis, [this.batchKey(batchId)], [owner]);
  }

  async requeue(batchId: string, nowMs: number): Promise<number> {
    const b = await this.batch(batchId);
    if (b === null) return 0;
    return Number(
      await REQUEUE.run(
        this.redis,
        [this.batchKey(batchId), this.pendingKey(b.queue, b.idType)],
        [`${this.prefix}outbox:e:`, batchId, String(nowMs)],
      ),
    );
  }

  async stop(stop: QueueStop): Promise<void> {
    await this.redis.hsetnx(this.stopsKey(), stop.queue, JSON.stringify(stop));
  }

  async stops(): Promise<QueueStop[]> {
    const all = Object.values(await this.redis.hgetall(this.stopsKey()));
    return all.map((json) => JSON.parse(json) as QueueStop).sort((a, b) => a.at - b.at);
  }

  async resume(queue: string): Promise<QueueStop | null> {
    const [[, json], [, removed]] = (await this.redis
      .multi()
      .hget(this.stopsKey(), queue)
      .hdel(this.stopsKey(), queue)
      .exec()) as [[unknown, string | null], [unknown, number]];
    return json === null || removed === 0 ? null : (JSON.parse(json) as QueueStop);
  }

  private stopsKey(): string {
    return `${this.prefix}outbox:stops`;
  }
  private entryKey(key: string): string {
    return `${this.prefix}outbox:e:${key}`;
  }
  private pendingKey(queue: string, idType: OutboxIdType): string {
    return `${this.prefix}outbox:p:${encodeURIComponent(queue)}:${idType}`;
  }
  private batchKey(id: string): string {
    return `${this.prefix}outbox:b:${id}`;
  }
  private batchesKey(queue: string): string {
    return `${this.prefix}outbox:bs:${encodeURIComponent(queue)}`;
  }
}
