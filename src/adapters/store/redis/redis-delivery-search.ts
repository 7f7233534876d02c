/**
 * The Redis delivery log's filters without reading rows into the process (issue 15: a page under
 * 200 ms at 100,000 rows).
 *
 * - The deal-id filter walks `<prefix>dl:d:<deal id>`, a sorted set of that deal's row ids.
 * - Every other filter (outcome, account, destination, event, time, text) is a scan inside Redis
 *   over blocks: `<prefix>dl:sb:<n>` holds the segments of the rows with ids 64n to 64n + 63, and
 *   field n of `<prefix>dl:st` their lowest and highest firstAt. A segment is
 *   `\0<id>\x01<firstAt>\x01<outcome>\x01<account>\x01<destination>\x01\x02<event>\x02…\x02`
 *   `\x03<deal id>\x01<destination>\x01<code>\x01<reason>\x01<event>…`: the facets, then after the
 *   one `\x03` the searched text, ASCII letters lowered as the SQLite log's search lowers them.
 *   A block without every term of the filter (or outside its time) is passed over with one plain
 *   `string.find` per term, so a scan costs well under a microsecond a row where nothing matches.
 *   It reads blocks newest first, at most a budget per call (Redis does nothing else meanwhile,
 *   so a call stays a few milliseconds), until the page is full or the log ends.
 *
 * Control characters in values become spaces, so no value holds a separator; that can only make
 * the scan answer a row too many, never one too few, and the log checks every row it returns
 * against the filter itself (`matchesFilter`).
 *
 * Both indexes are written by the log's RECORD script and removed by its PRUNE script (with
 * SEGMENT_LUA), so they never drift from the rows. Rows written before them are indexed once at
 * start (`backfill`): idempotent, and safe while other processes record, prune or backfill too.
 */
import type { Redis } from 'ioredis';
import {
  foldSearchText,
  type DeliveryLogFilter,
  type DeliveryRecord,
  type StoredDelivery,
} from '../../../ports/delivery-log';
import { LuaScript } from './lua-script';

/** Blocks one scan call reads at most: 16,384 rows (a few ms of Redis's time; docs/decisions.md). */
export const SCAN_BUDGET = 256;

/** Ids per block. */
const BLOCK = 64;

/**
 * Lua for the record, prune and backfill scripts: a row's segment in its block, put (in place of
 * the one before, or appended; `isNew`: the id has none yet) or dropped. `segment` starts with
 * `\0<id>\x01`. `st` holds each block's lowest and highest firstAt (after a prune it may be
 * wider than its rows: the scan then reads a block too many).
 */
export const SEGMENT_LUA = `
local function segmentAt(block, id)
  local s = string.find(block, '\\0' .. id .. '\\1', 1, true)
  if not s then return nil end
  local e = string.find(block, '\\0', s + 1, true)
  return s, (e or #block + 1) - 1
end
local function blockOf(id) return tostring(math.floor(tonumber(id) / ${BLOCK})) end
local function putSegment(p, id, firstAt, segment, isNew)
  local field = blockOf(id)
  local key = p .. 'sb:' .. field
  local t = tonumber(firstAt)
  local range = redis.call('HGET', p .. 'st', field)
  if range then
    local sep = string.find(range, ' ', 1, true)
    local lo, hi = tonumber(string.sub(range, 1, sep - 1)), tonumber(string.sub(range, sep + 1))
    if t < lo or t > hi then
      redis.call('HSET', p .. 'st', field, math.min(lo, t) .. ' ' .. math.max(hi, t))
    end
  else
    redis.call('HSET', p .. 'st', field, t .. ' ' .. t)
  end
  if not isNew then
    local block = redis.call('GET', key)
    local s, e = false, 0
    if block then s, e = segmentAt(block, id) end
    if s then
      redis.call('SET', key, string.sub(block, 1, s - 1) .. segment .. string.sub(block, e + 1))
      return
    end
  end
  redis.call('APPEND', key, segment)
end
local function dropSegment(p, id)
  local field = blockOf(id)
  local key = p .. 'sb:' .. field
  local block = redis.call('GET', key)
  if not block then return end
  local s, e = segmentAt(block, id)
  if not s then return end
  block = string.sub(block, 1, s - 1) .. string.sub(block, e + 1)
  if block == '' then
    redis.call('DEL', key)
    redis.call('HDEL', p .. 'st', field)
  else
    redis.call('SET', key, block)
  end
end
`;

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f]/g, ' ');
}

/** The searched fields of a row, as the SQLite log's search reads them. */
function searched(row: DeliveryRecord): string[] {
  return [row.dealId, row.destination ?? '', row.code ?? '', row.reason ?? '', ...row.events];
}

/** A row's segment of its block after `\0<id>\x01<firstAt>\x01` (the record script knows those two). */
export function searchBody(row: DeliveryRecord): string {
  const facets = [row.outcome, row.account, row.destination ?? ''].map(clean).join('\x01');
  const events = `\x02${row.events.map(clean).join('\x02')}\x02`;
  return `${facets}\x01${events}\x03${searched(row)
    .map((v) => clean(foldSearchText(v)))
    .join('\x01')}`;
}

/** Whether a row passes the filter: the final word on every row the indexes suggest. */
export function matchesFilter(row: StoredDelivery, f: DeliveryLogFilter): boolean {
  const text = f.text === undefined || f.text === '' ? null : foldSearchText(f.text);
  return (
    (f.outcome === undefined || row.outcome === f.outcome) &&
    (f.dealId === undefined || row.dealId === f.dealId) &&
    (f.account === undefined || row.account === f.account) &&
    (f.destination === undefined || row.destination === f.destination) &&
    (f.since === undefined || row.firstAt >= f.since) &&
    (f.until === undefined || row.firstAt < f.until) &&
    (f.event === undefined || f.event === '' || row.events.includes(f.event)) &&
    (text === null || searched(row).some((v) => foldSearchText(v).includes(text)))
  );
}

/** Whether the filter needs the scan (anything but the deal id, paging and the limit). */
export function needsScan(f: DeliveryLogFilter): boolean {
  return (
    f.outcome !== undefined ||
    f.account !== undefined ||
    f.destination !== undefined ||
    f.since !== undefined ||
    f.until !== undefined ||
    (f.event !== undefined && f.event !== '') ||
    (f.text !== undefined && f.text !== '')
  );
}

/**
 * ARGV: key prefix, the id to read below ('' for the newest), how many ids to find, the budget in
 * blocks, then outcome, account, destination, event, text (lowered), since, until ('' for none).
 * Returns the id to go on below ('0' when the log has no more) followed by the ids that passed,
 * newest first.
 */
const SCAN = new LuaScript(`
local p = ARGV[1]
local below = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
-- A facet as a segment holds it, and without its leading separator for the test of a whole
-- block (string.find looks for the first byte with memchr: a separator is everywhere).
local facets, quick = {}, {}
for i = 5, 8 do
  local sep = i == 8 and '\\2' or '\\1'
  if ARGV[i] ~= '' then
    facets[#facets + 1] = sep .. ARGV[i] .. sep
    quick[#quick + 1] = ARGV[i] .. sep
  end
end
local text = ARGV[9]
local since = tonumber(ARGV[10])
local before = tonumber(ARGV[11])
local lowest = redis.call('ZRANGE', p .. 'ids', 0, 0)[1]
if not lowest then return { '0' } end
-- Never above the newest id: a cursor from far above would read empty blocks for ever.
local top = tonumber(redis.call('GET', p .. 'id') or '0')
if below and below - 1 < top then top = below - 1 end
local b = math.floor(top / ${BLOCK})
local last = math.floor(tonumber(lowest) / ${BLOCK})
local out = { '0' }
local function passes(seg)
  local h = string.find(seg, '\\3', 1, true)
  if not h then return false end
  for _, f in ipairs(facets) do
    local at = string.find(seg, f, 1, true)
    if not at or at > h then return false end
  end
  if text ~= '' and not string.find(seg, text, h + 1, true) then return false end
  if since or before then
    local a = string.find(seg, '\\1', 1, true)
    local firstAt = tonumber(string.sub(seg, a + 1, string.find(seg, '\\1', a + 1, true) - 1))
    if (since and firstAt < since) or (before and firstAt >= before) then return false end
  end
  return true
end
local read = 0
while b >= last and read < budget do
  local fields = {}
  for f = b, math.max(last, b - math.min(31, budget - read - 1)), -1 do fields[#fields + 1] = tostring(f) end
  local keys = {}
  for i, f in ipairs(fields) do keys[i] = p .. 'sb:' .. f end
  local blocks = redis.call('MGET', unpack(keys))
  local ranges = (since or before) and redis.call('HMGET', p .. 'st', unpack(fields)) or {}
  for k, block in ipairs(blocks) do
    local ok = block ~= false
    if ok then
      for _, f in ipairs(quick) do
        if not string.find(block, f, 1, true) then ok = false break end
      end
    end
    if ok and text ~= '' then ok = string.find(block, text, 1, true) ~= nil end
    if ok and ranges[k] then
      local sep = string.find(ranges[k], ' ', 1, true)
      ok = (since == nil or tonumber(string.sub(ranges[k], sep + 1)) >= since)
        and (before == nil or tonumber(string.sub(ranges[k], 1, sep - 1)) < before)
    end
    if ok then
      local found = {}
      local pos = 1
      while pos <= #block do
        local e = string.find(block, '\\0', pos + 1, true) or #block + 1
        local seg = string.sub(block, pos + 1, e - 1)
        local id = tonumber(string.match(seg, '^%d+'))
        if (below == nil or id < below) and passes(seg) then found[#found + 1] = id end
        pos = e
      end
      table.sort(found, function(x, y) return x > y end)
      for _, id in ipairs(found) do
        out[#out + 1] = tostring(id)
        if #out > want then
          out[1] = tostring(id)
          return out
        end
      end
    end
    below = (b - k + 1) * ${BLOCK}
    read = read + 1
  end
  b = b - #fields
end
if b >= last then out[1] = tostring(below) end
return out
`);

/**
 * Ids of rows that may pass the filter, newest first, below the id `below` (null: from the
 * newest): at most `want`, reading at most `budget` blocks. `next` is where to go on, null at
 * the end.
 */
export async function scanIds(
  redis: Redis,
  base: string,
  below: number | null,
  want: number,
  budget: number,
  f: DeliveryLogFilter,
): Promise<{ ids: string[]; next: number | null }> {
  const opt = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  const [next, ...ids] = (await SCAN.run(
    redis,
    [],
    [
      base,
      below === null ? '' : String(below),
      String(want),
      String(budget),
      clean(opt(f.outcome)),
      clean(opt(f.account)),
      clean(opt(f.destination)),
      clean(opt(f.event)),
      clean(foldSearchText(opt(f.text))),
      opt(f.since),
      opt(f.until),
    ],
  )) as string[];
  return { ids, next: next === undefined || next === '0' ? null : Number(next) };
}

/**
 * ARGV: key prefix, then per row: its id, its deal id, its firstAt, its segment. Indexes a row that
 * still exists and is not indexed yet (a row the record script wrote since is indexed already, and
 * newer than what the caller read). Returns how many it indexed.
 */
const INDEX = new LuaScript(`${SEGMENT_LUA}
local p = ARGV[1]
local n = 0
-- Each block read once: the rows of a call are mostly of a few blocks.
local blocks = {}
for i = 2, #ARGV, 4 do
  local id = ARGV[i]
  local field = blockOf(id)
  if blocks[field] == nil then blocks[field] = redis.call('GET', p .. 'sb:' .. field) or '' end
  if redis.call('EXISTS', p .. 'r:' .. id) == 1 and not segmentAt(blocks[field], id) then
    putSegment(p, id, ARGV[i + 2], ARGV[i + 3], true)
    redis.call('ZADD', p .. 'd:' .. ARGV[i + 1], id, id)
    n = n + 1
  end
end
return n
`);

const BACKFILL_CHUNK = 500;

/**
 * Indexes every row not indexed yet, oldest first, then marks the log indexed (`<prefix>dl:
 * indexed`), so later starts skip it. `<prefix>dl:indexed-to` is the id up to which every row is
 * indexed: a start cut short (the open timeout, a crash) goes on from there. Returns how many rows
 * it indexed.
 */
export async function backfill(redis: Redis, base: string): Promise<number> {
  if ((await redis.get(`${base}indexed`)) === '1') return 0;
  let indexed = 0;
  const done = await redis.get(`${base}indexed-to`);
  let min = done === null ? '-inf' : `(${done}`;
  for (;;) {
    const ids = await redis.zrangebyscore(`${base}ids`, min, '+inf', 'LIMIT', 0, BACKFILL_CHUNK);
    if (ids.length === 0) break;
    const texts = await redis.mget(ids.map((id) => `${base}r:${id}`));
    const args: string[] = [];
    for (const text of texts) {
      if (text === null) continue;
      const row = JSON.parse(text) as StoredDelivery;
      args.push(
        String(row.id),
        row.dealId,
        String(row.firstAt),
        `\0${row.id}\x01${row.firstAt}\x01${searchBody(row)}`,
      );
    }
    if (args.length > 0) indexed += Number(await INDEX.run(redis, [], [base, ...args]));
    // Every row up to here is indexed (by this process, or by the record script since).
    await redis.set(`${base}indexed-to`, ids[ids.length - 1]!);
    min = `(${ids[ids.length - 1]}`;
  }
  await redis.set(`${base}indexed`, '1');
  return indexed;
}
