/**
 * The delivery log in Redis, bounded to the newest `maxRows` records.
 *
 * One list, `<prefix>delivery-log`, newest first: each record is the JSON text `[id, record]`, the
 * id from the counter `<prefix>delivery-log:id`. Recording is one Lua script (INCR, LPUSH, LTRIM),
 * so ids follow list order across processes and the list never holds more than `maxRows` records
 * (no pruning slack, unlike the SQLite log).
 *
 * `list` filters in this process, not in Redis: a filtered list reads the whole list, so it scans at
 * most `maxRows` records (the bound) and answers from those; an unfiltered one reads only `limit`.
 *
 * Durability is Redis's: a record is acknowledged once in Redis memory, and survives a Redis
 * restart as far as its persistence (AOF `appendfsync`) is configured to.
 */
import type { Redis } from 'ioredis';
import {
  upgradeDeliveryRow,
  type DeliveryLog,
  type DeliveryLogFilter,
  type DeliveryRecord,
} from '../../../ports/delivery-log';
import { LuaScript } from './lua-script';

/** KEYS: the list, the id counter. ARGV: the record's JSON, maxRows. Returns the new id. */
const RECORD = new LuaScript(`
local id = redis.call('INCR', KEYS[2])
redis.call('LPUSH', KEYS[1], '[' .. id .. ',' .. ARGV[1] .. ']')
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return id
`);

const DEFAULT_LIMIT = 100;

export class RedisDeliveryLog implements DeliveryLog {
  private readonly listKey: string;
  private readonly idKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly maxRows: number,
    prefix = 'closeloop:',
  ) {
    if (!Number.isInteger(maxRows) || maxRows < 1) {
      throw new RangeError(`maxRows must be a whole number of 1 or more, got ${maxRows}`);
    }
    this.listKey = `${prefix}delivery-log`;
    this.idKey = `${prefix}delivery-log:id`;
  }

  async record(entry: DeliveryRecord): Promise<void> {
    // Every field spelled out: what the SQLite log keeps, nothing more (undefined payload → null).
    const stored: DeliveryRecord = {
      at: entry.at,
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
    };
    await RECORD.run(
      this.redis,
      [this.listKey, this.idKey],
      [JSON.stringify(stored), String(this.maxRows)],
    );
  }

  async list(filter: DeliveryLogFilter = {}): Promise<Array<DeliveryRecord & { id: number }>> {
    const limit = Math.floor(filter.limit ?? DEFAULT_LIMIT);
    if (limit <= 0) return [];
    const filtered =
      filter.outcome !== undefined || filter.dealId !== undefined || filter.account !== undefined;
    // Unfiltered: the newest `limit`. Filtered: everything kept, at most maxRows (see above).
    const texts = await this.redis.lrange(this.listKey, 0, filtered ? -1 : limit - 1);
    const rows: Array<DeliveryRecord & { id: number }> = [];
    for (const text of texts) {
      const [id, stored] = JSON.parse(text) as [number, Record<string, unknown>];
      const record = upgradeDeliveryRow(stored);
      if (filter.outcome !== undefined && record.outcome !== filter.outcome) continue;
      if (filter.dealId !== undefined && record.dealId !== filter.dealId) continue;
      if (filter.account !== undefined && record.account !== filter.account) continue;
      rows.push({ id, ...record });
      if (rows.length >= limit) break;
    }
    return rows;
  }
}
