/**
 * What each destination counts for each deal, in Redis, shared by every process on the same
 * Redis and prefix: one hash per record, `<prefix>revenue:<destination>:<source>:<account>:<deal>`
 * (each part URI-encoded, so no `:` inside one is mistaken for a separator), and one set per deal
 * id, `<prefix>revenue-deal:<deal>`, naming its records for `listByDeal`. No TTL, like the ledger's
 * keys. Every change is one Lua script, which Redis runs with nothing interleaved, so records only
 * move forward whatever order deliveries finish in.
 */
import type { Redis } from 'ioredis';
import type { RevenueRecord, RevenueState } from '../../../core/deal-life';
import type {
  RevenueDealRef,
  RevenueLedger,
  SentPurchase,
  StoredRevenue,
} from '../../../ports/revenue-ledger';
import { LuaScript } from './lua-script';

/**
 * KEYS: the record, the deal's set. ARGV: revision, key, transaction id, amount, currency, nowMs,
 * destination, source, crm account, deal id. Writes the purchase unless the record's revision is
 * as high already.
 */
const RECORD_PURCHASE = new LuaScript(`
local current = tonumber(redis.call('HGET', KEYS[1], 'revision'))
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'revision', ARGV[1], 'state', 'sent', 'key', ARGV[2],
  'transactionId', ARGV[3], 'amount', ARGV[4], 'currency', ARGV[5], 'sentAt', ARGV[6],
  'updatedAt', ARGV[6], 'destination', ARGV[7], 'source', ARGV[8], 'crmAccount', ARGV[9],
  'dealId', ARGV[10])
redis.call('SADD', KEYS[2], KEYS[1])
return 1
`);

/**
 * KEYS: the record. ARGV: revision, the new state, nowMs, then the states it may move from. Moves
 * the record when it is of that revision and in one of those states.
 */
const MOVE = new LuaScript(`
local row = redis.call('HMGET', KEYS[1], 'revision', 'state')
if not row[1] or tonumber(row[1]) ~= tonumber(ARGV[1]) then return 0 end
for i = 4, #ARGV do
  if row[2] == ARGV[i] then
    redis.call('HSET', KEYS[1], 'state', ARGV[2], 'updatedAt', ARGV[3])
    return 1
  end
end
return 0
`);

export class RedisRevenueLedger implements RevenueLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'closeloop:',
  ) {}

  async get(deal: RevenueDealRef): Promise<RevenueRecord | null> {
    const stored = await this.read(this.keyOf(deal));
    if (stored === null) return null;
    const { destination: _d, source: _s, crmAccount: _a, dealId: _id, ...record } = stored;
    return record;
  }

  async recordPurchase(deal: RevenueDealRef, purchase: SentPurchase, nowMs: number): Promise<void> {
    const { revision, key, transactionId, amount, currency } = purchase;
    await RECORD_PURCHASE.run(
      this.redis,
      [this.keyOf(deal), this.dealSet(deal.dealId)],
      [
        String(revision),
        key,
        transactionId,
        amount,
        currency,
        String(nowMs),
        deal.destination,
        deal.source,
        deal.crmAccount,
        deal.dealId,
      ],
    );
  }

  recordRefund(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void> {
    return this.move(deal, revision, 'refunded', ['sent', 'reopened'], nowMs);
  }

  markReopened(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void> {
    return this.move(deal, revision, 'reopened', ['sent'], nowMs);
  }

  async listByDeal(dealId: string): Promise<StoredRevenue[]> {
    const keys = await this.redis.smembers(this.dealSet(dealId));
    const found = await Promise.all(keys.map((k) => this.read(k)));
    const order = (r: StoredRevenue): string => `${r.destination}\n${r.source}\n${r.crmAccount}`;
    return found
      .filter((r): r is StoredRevenue => r !== null)
      .sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }

  private async move(
    deal: RevenueDealRef,
    revision: number,
    to: RevenueState,
    from: RevenueState[],
    nowMs: number,
  ): Promise<void> {
    await MOVE.run(this.redis, [this.keyOf(deal)], [String(revision), to, String(nowMs), ...from]);
  }

  private async read(key: string): Promise<StoredRevenue | null> {
    const h = await this.redis.hgetall(key);
    if (h.revision === undefined) return null;
    return {
      destination: h.destination ?? '',
      source: h.source ?? '',
      crmAccount: h.crmAccount ?? '',
      dealId: h.dealId ?? '',
      revision: Number(h.revision),
      state: h.state as RevenueState,
      key: h.key ?? '',
      transactionId: h.transactionId ?? '',
      amount: h.amount ?? '',
      currency: h.currency ?? '',
      sentAt: Number(h.sentAt),
      updatedAt: Number(h.updatedAt),
    };
  }

  private keyOf(deal: RevenueDealRef): string {
    const parts = [deal.destination, deal.source, deal.crmAccount, deal.dealId];
    return `${this.prefix}revenue:${parts.map(encodeURIComponent).join(':')}`;
  }

  private dealSet(dealId: string): string {
    return `${this.prefix}revenue-deal:${encodeURIComponent(dealId)}`;
  }
}
