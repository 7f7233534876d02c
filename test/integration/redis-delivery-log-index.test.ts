/**
 * The Redis delivery log's filter indexes (redis-delivery-search.ts) on a real Redis: they say
 * exactly what the rows say after records, updates and pruning, and rows written before them (an
 * earlier version's) are indexed once at start, also when several processes start together while
 * others record.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisDeliveryLog } from '../../src/adapters/store/redis/redis-delivery-log';
import { searchBody } from '../../src/adapters/store/redis/redis-delivery-search';
import type { DeliveryRecord, StoredDelivery } from '../../src/ports/delivery-log';
import {
  deleteRedisKeys,
  itNeedsRedis,
  REDIS_URL,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const T0 = 1_700_000_000_000;

function row(i: number, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
  const failed = i % 3 === 0;
  return {
    at: T0 + i * 1000,
    account: i % 5 === 0 ? 'shop' : 'default',
    source: 'amocrm',
    crmAccount: '29638927',
    dealId: `D-${i % 17}`,
    kind: 'stage_changed',
    stageId: '142',
    jobId: `j${i}`,
    destination: i % 2 === 0 ? 'ga4' : 'metrica',
    outcome: failed ? 'failed' : i % 11 === 0 ? 'retrying' : 'sent',
    code: failed ? 'GA4_REJECTED' : null,
    reason: failed ? `rejected for reason ${i % 7}` : null,
    events: ['purchase'],
    payload: null,
    attempts: 1,
    key: `k${i}`,
    ...overrides,
  };
}

describe('Redis delivery log indexes', function () {
  if (!REDIS_URL) {
    itNeedsRedis();
    return;
  }
  let prefix: string;
  let clients: Redis[];
  const client = (): Redis => {
    const c = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 });
    clients.push(c);
    return c;
  };
  const open = (maxRows = 10_000): Promise<RedisDeliveryLog> =>
    new RedisDeliveryLog(
      client(),
      { maxRows, maxAgeMs: Number.POSITIVE_INFINITY },
      `${prefix}:`,
      Date.now,
      3,
    ).open();

  beforeEach(function () {
    prefix = uniqueRedisPrefix('dl-index');
    clients = [];
  });
  afterEach(async function () {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await deleteRedisKeys(REDIS_URL!, prefix);
  });

  async function keysLike(redis: Redis, pattern: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      out.push(...keys);
      cursor = next;
    } while (cursor !== '0');
    return out;
  }

  /** Every row in both indexes once, as it is now; nothing else in them. */
  async function assertIndexesMatchRows(redis: Redis): Promise<void> {
    const base = `${prefix}:dl:`;
    const ids = await redis.zrange(`${base}ids`, 0, -1);
    const texts = ids.length === 0 ? [] : await redis.mget(ids.map((id) => `${base}r:${id}`));
    // Blocks of 64 ids, each the rows' segments ("\0<id>\x01<firstAt>\x01…"), and their times.
    const ranges = await redis.hgetall(`${base}st`);
    const blockKeys = await keysLike(redis, `${base}sb:*`);
    assert.deepEqual(
      Object.keys(ranges).sort(),
      blockKeys.map((k) => k.slice(`${base}sb:`.length)).sort(),
      'a time range per block',
    );
    const segments = new Map<string, string>();
    for (const key of blockKeys) {
      const field = key.slice(`${base}sb:`.length);
      const block = (await redis.get(key))!;
      const [lo, hi] = ranges[field]!.split(' ').map(Number);
      assert.ok(block.startsWith('\0') && block.length > 1, `block ${field}`);
      for (const seg of block.slice(1).split('\0')) {
        const id = seg.slice(0, seg.indexOf('\x01'));
        const firstAt = Number(seg.split('\x01')[1]);
        assert.ok(
          lo! <= firstAt && firstAt <= hi!,
          `block ${field}: ${lo}..${hi} holds ${firstAt}`,
        );
        assert.ok(!segments.has(id), `id ${id} is in two segments`);
        assert.equal(String(Math.floor(Number(id) / 64)), field, `id ${id} in block ${field}`);
        segments.set(id, seg);
      }
    }
    assert.equal(segments.size, ids.length, 'one segment per row');
    const byDeal = new Map<string, string[]>();
    ids.forEach((id, k) => {
      const r = JSON.parse(texts[k]!) as StoredDelivery;
      assert.equal(
        segments.get(id),
        `${r.id}\x01${r.firstAt}\x01${searchBody(r)}`,
        `segment ${id}`,
      );
      byDeal.set(r.dealId, [...(byDeal.get(r.dealId) ?? []), id]);
    });
    const dealKeys = (await keysLike(redis, `${base}d:*`)).sort();
    assert.deepEqual(dealKeys, [...byDeal.keys()].map((d) => `${base}d:${d}`).sort());
    for (const [deal, dealIds] of byDeal) {
      assert.deepEqual(await redis.zrange(`${base}d:${deal}`, 0, -1), dealIds, `deal ${deal}`);
    }
  }

  it('say what the rows say after records, updates (a deal id changed too) and pruning', async function () {
    this.timeout(20_000);
    const log = await open(60);
    for (let i = 0; i < 700; i++) {
      // Every fourth record updates an earlier row: a new outcome, reason and sometimes deal.
      const update = i % 4 === 3;
      const target = update ? i - 3 : i;
      await log.record(
        row(target, {
          at: T0 + i * 1000,
          ...(update ? { outcome: 'skipped', reason: `later ${i}`, dealId: `D-${i % 5}` } : {}),
        }),
      );
    }
    await open(60); // a restart prunes to 60 rows, keeping the pending ones
    const redis = client();
    assert.ok((await redis.zcard(`${prefix}:dl:ids`)) <= 60 + 500);
    await assertIndexesMatchRows(redis);
  });

  it('index rows written before them once, with several processes starting while one records', async function () {
    this.timeout(20_000);
    const first = await open();
    for (let i = 0; i < 300; i++) await first.record(row(i));
    const before = {
      deal: await first.list({ dealId: 'D-3', limit: 1000 }),
      text: await first.list({ text: 'REASON 4', limit: 1000 }),
    };
    assert.ok(before.deal.length > 10 && before.text.length > 10);
    const cut = (await first.list({ limit: 1 }))[0]!.id;
    // The keys of a version before the indexes: rows and ids only.
    const redis = client();
    const stale = [
      `${prefix}:dl:indexed-to`,
      `${prefix}:dl:st`,
      ...(await keysLike(redis, `${prefix}:dl:sb:*`)),
      `${prefix}:dl:indexed`,
      ...(await keysLike(redis, `${prefix}:dl:d:*`)),
    ];
    await redis.del(...stale);
    assert.deepEqual(await first.list({ dealId: 'D-3' }), [], 'the filter reads the index');
    // A start cut short had indexed up to the 100th row: the next one goes on from there.
    const hundredth = (await first.list({ limit: 1000 })).reverse()[99]!.id;
    await redis.set(`${prefix}:dl:indexed-to`, String(hundredth));
    await open();
    assert.deepEqual(
      (await first.list({ dealId: 'D-3', limit: 1000 })).map((r) => r.id),
      before.deal.filter((r) => r.id > hundredth).map((r) => r.id),
      'a start goes on from indexed-to',
    );
    await redis.del(...stale, `${prefix}:dl:indexed`);

    const recorded: Promise<void>[] = [];
    const opened = Promise.all([open(), open(), open()]);
    for (let i = 300; i < 340; i++) recorded.push(first.record(row(i)));
    const [a, b, c] = await opened;
    await Promise.all(recorded);
    assert.equal(await redis.get(`${prefix}:dl:indexed`), '1');
    await assertIndexesMatchRows(redis);

    const all = await a.list({ limit: 1000 });
    const newer = all.filter((r) => r.id > cut);
    assert.equal(newer.length, 40);
    assert.deepEqual(await b.list({ dealId: 'D-3', limit: 1000 }), [
      ...newer.filter((r) => r.dealId === 'D-3'),
      ...before.deal,
    ]);
    assert.deepEqual(await c.list({ text: 'REASON 4', limit: 1000 }), [
      ...newer.filter((r) => r.reason?.includes('reason 4')),
      ...before.text,
    ]);
    // Once indexed, a start does not read the rows again (MONITOR sees every client's commands:
    // only this prefix's row reads count).
    const reads: string[] = [];
    let seen = 0;
    const monitor = await client().monitor();
    clients.push(monitor);
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(`${prefix}:dl:`))) seen++;
      if (args[0]?.toLowerCase() === 'mget' && args[1]?.startsWith(`${prefix}:dl:r:`))
        reads.push(args.slice(0, 3).join(' '));
    });
    await open();
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(seen > 0, 'the monitor saw the start');
    assert.deepEqual(reads, []);
  });
});
