/**
 * The Redis delivery log's filters without reading rows into the process (issue 15: a page under
 * 200 ms at 100,000 rows).
 *
 * - The deal-id filter walks `<prefix>dl:d:<deal id>`, a sorted set of that deal's row ids.
 * - Every other filter (outcome, account, destination, event, time, text) is a scan inside Redis
 *   over `<prefix>dl:sx`, a sorted set by id whose members hold what the filters look at, newest
 *   first, in slices of at most `budget` members per call (Redis does nothing else meanwhile, so a
 *   slice stays a few milliseconds) until the page is full or the log ends.
 *
 * A member is `<id>\x01<firstAt>\x01<outcome>\x01<account>\x01<destination>\x01\x02<event>\x02…\x02`
 * `\x03<deal id>\x01<destination>\x01<code>\x01<reason>\x01<event>…`: the facets, then after the
 * one `\x03` the searched text, ASCII letters lowered as the SQLite log's search lowers them.
 * Control characters in values become spaces, so no value holds a separator; that can only make
 * the scan answer a row too many, never one too few, and the log checks every row it returns
 * against the filter itself (`matchesFilter`).
 *
 * Both indexes are written by the log's RECORD script and removed by its PRUNE script, so they
 * never drift from the rows. Rows written before them are indexed once at start (`backfill`):
 * idempotent, and safe while other processes record, prune or backfill too.
 */
import type { Redis } from 'ioredis';
import {
  foldSearchText,
  type DeliveryLogFilter,
  type DeliveryRecord,
  type StoredDelivery,
} from '../../../ports/delivery-log';
import { LuaScript } from './lua-script';

/** Members one scan call reads at most (about 5 ms of Redis's time; see docs/decisions.md). */
export const SCAN_BUDGET = 10_000;

function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x1f]/g, ' ');
}

/** The searched fields of a row, as the SQLite log's search reads them. */
function searched(row: DeliveryRecord): string[] {
  return [row.dealId, row.destination ?? '', row.code ?? '', row.reason ?? '', ...row.events];
}

/** A row's member of `sx` after `<id>\x01<firstAt>\x01` (the record script knows those two). */
export function searchBody(row: DeliveryRecord): string {
  const facets = [row.outcome, row.account, row.destination ?? ''].map(clean).join('\x01');
  const events = `\x02${row.events.map(clean).join('\x02')}\x02`;
  return `${facets}\x01${events}\x03${searched(row)
    .map((v) => clean(foldSearchText(v)))
    .join('\x01')}`;
}

/** Whether a row passes the filter: the final word on every row the indexes suggest. */
export function matchesFilter(row: StoredDelivery, f: DeliveryLogFilter): boolean {
  return (
    (f.outcome === undefined || row.outcome === f.outcome) &&
    (f.dealId === undefined || row.dealId === f.dealId) &&
    (f.account === undefined || row.account === f.account) &&
    (f.destination === undefined || row.destination === f.destination) &&
    (f.since === undefined || row.firstAt >= f.since) &&
    (f.until === undefined || row.firstAt < f.until) &&
    (f.event === undefined || f.event === '' || row.events.includes(f.event)) &&
    (f.text === undefined ||
      f.text === '' ||
      searched(row).some((v) => foldSearchText(v).includes(foldSearchText(f.text!))))
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
 * ARGV: key prefix, the highest score to read ('+inf' or '(<id>'), how many ids to find, the
 * budget, then outcome, account, destination, event, text (lowered), since, until ('' for none).
 * Returns the last id read ('0' when the log has no more) followed by the ids that passed.
 */
const SCAN = new LuaScript(`
local p = ARGV[1]
local max = ARGV[2]
local want = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local facets = {}
for i = 5, 7 do
  if ARGV[i] ~= '' then facets[#facets + 1] = '\\1' .. ARGV[i] .. '\\1' end
end
if ARGV[8] ~= '' then facets[#facets + 1] = '\\2' .. ARGV[8] .. '\\2' end
local text = ARGV[9]
local since = tonumber(ARGV[10])
local before = tonumber(ARGV[11])
local out = { '0' }
local read = 0
while read < budget do
  -- Members only, no scores: scores would double what Redis hands the script. A member starts
  -- with its id.
  local batch = redis.call('ZREVRANGEBYSCORE', p .. 'sx', max, '-inf', 'LIMIT', 0, math.min(1000, budget - read))
  if #batch == 0 then out[1] = '0' return out end
  for i = 1, #batch do
    local m = batch[i]
    local h = string.find(m, '\\3', 1, true)
    local ok = h ~= nil
    for _, f in ipairs(facets) do
      if not ok then break end
      local at = string.find(m, f, 1, true)
      ok = at ~= nil and at < h
    end
    if ok and text ~= '' then ok = string.find(m, text, h + 1, true) ~= nil end
    local a = string.find(m, '\\1', 1, true)
    if ok and (since or before) then
      local firstAt = tonumber(string.sub(m, a + 1, string.find(m, '\\1', a + 1, true) - 1))
      ok = (since == nil or firstAt >= since) and (before == nil or firstAt < before)
    end
    if ok then
      out[#out + 1] = string.sub(m, 1, a - 1)
      if #out > want then
        out[1] = out[#out]
        return out
      end
    end
  end
  read = read + #batch
  out[1] = string.match(batch[#batch], '^%d+')
  max = '(' .. out[1]
end
return out
`);

/**
 * Ids of rows that may pass the filter, newest first, below `max` ('+inf' or '(<id>'): at most
 * `want`, reading at most `budget` members. `next` is the score to go on from, null at the end.
 */
export async function scanIds(
  redis: Redis,
  base: string,
  max: string,
  want: number,
  budget: number,
  f: DeliveryLogFilter,
): Promise<{ ids: string[]; next: string | null }> {
  const opt = (v: string | number | undefined): string => (v === undefined ? '' : String(v));
  const [last, ...ids] = (await SCAN.run(
    redis,
    [],
    [
      base,
      max,
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
  return { ids, next: last === undefined || last === '0' ? null : `(${last}` };
}

/**
 * ARGV: key prefix, then per row: its id, its deal id, its member of `sx`. Indexes a row that
 * still exists and is not indexed yet (a row the record script wrote since is indexed already, and
 * newer than what the caller read). Returns how many it indexed.
 */
const INDEX = new LuaScript(`
local p = ARGV[1]
local n = 0
for i = 2, #ARGV, 3 do
  local id = ARGV[i]
  if redis.call('EXISTS', p .. 'r:' .. id) == 1 and redis.call('ZCOUNT', p .. 'sx', id, id) == 0 then
    redis.call('ZADD', p .. 'd:' .. ARGV[i + 1], id, id)
    redis.call('ZADD', p .. 'sx', id, ARGV[i + 2])
    n = n + 1
  end
end
return n
`);

const BACKFILL_CHUNK = 500;

/**
 * Indexes every row not indexed yet, oldest first, then marks the log indexed (`<prefix>dl:
 * indexed`), so later starts skip it. Returns how many rows it indexed.
 */
export async function backfill(redis: Redis, base: string): Promise<number> {
  if ((await redis.get(`${base}indexed`)) === '1') return 0;
  let indexed = 0;
  let min = '-inf';
  for (;;) {
    const ids = await redis.zrangebyscore(`${base}ids`, min, '+inf', 'LIMIT', 0, BACKFILL_CHUNK);
    if (ids.length === 0) break;
    const texts = await redis.mget(ids.map((id) => `${base}r:${id}`));
    const args: string[] = [];
    for (const text of texts) {
      if (text === null) continue;
      const row = JSON.parse(text) as StoredDelivery;
      args.push(String(row.id), row.dealId, `${row.id}\x01${row.firstAt}\x01${searchBody(row)}`);
    }
    if (args.length > 0) indexed += Number(await INDEX.run(redis, [], [base, ...args]));
    min = `(${ids[ids.length - 1]}`;
  }
  await redis.set(`${base}indexed`, '1');
  return indexed;
}
