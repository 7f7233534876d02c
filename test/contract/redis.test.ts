/**
 * The port contracts against Redis, each test on its own key prefix, deleted afterwards. Runs only
 * when REDIS_URL is set (CI sets it); without it, one visible skipped test says so.
 */
import { Redis } from 'ioredis';
import { RedisDeliveryLog } from '../../src/adapters/store/redis/redis-delivery-log';
import { RedisLedger } from '../../src/adapters/store/redis/redis-ledger';
import { RedisRevenueLedger } from '../../src/adapters/store/redis/redis-revenue-ledger';
import { RedisTokenStore } from '../../src/adapters/store/redis/redis-token-store';
import { RedisOutbox } from '../../src/adapters/store/redis/redis-outbox';
import { describeOutboxContract } from './outbox.contract';
import { describeDeliveryLogContract } from './delivery-log.contract';
import { describeDealTraceContract } from './deal-trace.contract';
import { RedisDealTrace } from '../../src/adapters/store/redis/redis-deal-trace';
import { describeLedgerContract } from './ledger.contract';
import { describeRevenueLedgerContract } from './revenue-ledger.contract';
import { describeTokenStoreContract } from './token-store.contract';
import { describeLeaseContract, describeStoreContract, type StoreBackend } from './store.contract';
import { createRedisStore } from '../../src/adapters/store/redis';
import { deleteRedisKeys, uniqueRedisPrefix, itNeedsRedis } from '../helpers/redis-test-prefix';

const REDIS_URL = process.env.REDIS_URL;

/** A fresh prefix and a client on it; `cleanup` deletes the prefix's keys and quits every client. */
function redisBackend(): {
  prefix: string;
  client: () => Redis;
  cleanup: () => Promise<void>;
} {
  const base = uniqueRedisPrefix('contract');
  const prefix = `${base}:`;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const redis = new Redis(REDIS_URL!, { lazyConnect: false, maxRetriesPerRequest: 1 });
    clients.push(redis);
    return redis;
  };
  return {
    prefix,
    client,
    cleanup: async (): Promise<void> => {
      await deleteRedisKeys(REDIS_URL!, base);
      await Promise.all(clients.filter((c) => c.status !== 'end').map((c) => c.quit()));
    },
  };
}

if (!REDIS_URL) {
  // No Redis here: skip visibly rather than pass silently. CI sets REDIS_URL.
  describe('Redis contracts', () => itNeedsRedis());
} else {
  describeLedgerContract('redis', () => {
    const b = redisBackend();
    const client = b.client();
    return Promise.resolve({
      ledger: new RedisLedger(client, b.prefix),
      fenceKey: `${b.prefix}q:deliver:job-a:lock`,
      holdFence: async (fenceKey, token) => {
        if (token === '') await client.del(fenceKey);
        else await client.set(fenceKey, token);
      },
      cleanup: b.cleanup,
    });
  });
  describeRevenueLedgerContract('redis', () => {
    const b = redisBackend();
    return Promise.resolve({
      revenue: new RedisRevenueLedger(b.client(), b.prefix),
      // A restart: another connection on the same keys.
      reopen: () => Promise.resolve(new RedisRevenueLedger(b.client(), b.prefix)),
      cleanup: b.cleanup,
    });
  });
  describeOutboxContract('redis', () => {
    const b = redisBackend();
    return Promise.resolve({
      outbox: new RedisOutbox(b.client(), b.prefix),
      reopen: () => Promise.resolve(new RedisOutbox(b.client(), b.prefix)),
      another: () => Promise.resolve(new RedisOutbox(b.client(), b.prefix)),
      cleanup: b.cleanup,
    });
  });
  describeDeliveryLogContract('redis', async ({ maxRows, maxAgeMs, onPruned, now }) => {
    const b = redisBackend();
    let current = b.client();
    const open = (): Promise<RedisDeliveryLog> =>
      new RedisDeliveryLog(
        current,
        { maxRows, maxAgeMs: maxAgeMs ?? Number.POSITIVE_INFINITY, onPruned },
        b.prefix,
        now,
        // A scan budget of one block (64 ids): a filtered page takes several scan calls, each going
        // on from where the last stopped.
        1,
      ).open();
    return {
      deliveryLog: await open(),
      // A restart: this client goes away, a new one opens on the same keys.
      reopen: async () => {
        await current.quit();
        current = b.client();
        return open();
      },
      cleanup: b.cleanup,
    };
  });
  describeDealTraceContract('redis', (limits, now) => {
    const b = redisBackend();
    const trace = new RedisDealTrace(b.client(), limits, b.prefix, now);
    return Promise.resolve({ trace, prune: () => trace.prune(), cleanup: b.cleanup });
  });
  describeTokenStoreContract('redis', () => {
    const b = redisBackend();
    return Promise.resolve({
      tokens: new RedisTokenStore(b.client(), { prefix: b.prefix }),
      cleanup: b.cleanup,
    });
  });
  const storeBackend = async (): Promise<StoreBackend> => {
    const prefix = uniqueRedisPrefix('store');
    const open = () => createRedisStore({ url: REDIS_URL, prefix, deliveryLogMaxRows: 100 });
    const store = await open();
    return {
      store,
      openAnother: open,
      cleanup: async () => {
        await store.close();
        await deleteRedisKeys(REDIS_URL, prefix);
      },
    };
  };
  describeStoreContract('redis', storeBackend);
  describeLeaseContract('redis', storeBackend);
}
