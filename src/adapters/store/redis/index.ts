/**
 * The store at scale: every port on one Redis, shared by any number of web and worker processes on
 * any number of machines.
 *
 * Keys live under one prefix (`closeloop` by default, `CLOSELOOP_REDIS_PREFIX`), so several
 * deployments can share a Redis: `<prefix>:q:<queue>:…` (BullMQ), `<prefix>:ledger:<key>`,
 * `<prefix>:revenue:<destination>:<source>:<account>:<deal>`, `<prefix>:dl:…` (the delivery log
 * and its filters' indexes, redis-delivery-log.ts), `<prefix>:tokens:<account>`,
 * `<prefix>:rate:<account>`, `<prefix>:settings`, `<prefix>:lease:<name>`,
 * `<prefix>:window:<name>:<key>` (the `/leads` limit), `<prefix>:outbox:…` (conversions waiting
 * for a batch upload, redis-outbox.ts), `<prefix>:gate:<name>:…` (an API token's requests in
 * flight and a day, redis-request-gate.ts).
 *
 * Two kinds of connection, because the two sides want opposite things while Redis is away:
 * - intake (the BullMQ queue's adds, counts, the health ping) fails fast: no offline queue, one
 *   second per command. A webhook that cannot be stored is answered 503 well inside amoCRM's
 *   two-second wait, and amoCRM retries it later; nothing is acknowledged that Redis does not have.
 * - work (ledger, revenue records, delivery log, tokens, rate limiter, settings, and BullMQ's
 *   workers) waits: a command issued while Redis is away is held and sent once it is back, so a
 *   job in flight marks its conversion sent instead of failing and sending it again.
 * ioredis reconnects by itself with a growing delay (50 ms per attempt, at most 2 s).
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../../../core/errors';
import { asClause, errorMessage } from '../../../core/error-message';
import { withTimeout } from '../../with-timeout';
import type { Store } from '../../../ports/store';
import { RedisRateLimiter } from '../../rate-limit/redis-rate-limiter';
import { RedisPacedLimiter } from '../../rate-limit/redis-paced-limiter';
import { RedisWindowLimiter } from '../../rate-limit/redis-window-limiter';
import { RedisRequestGate } from '../../rate-limit/redis-request-gate';
import { BullmqJobQueue } from './bullmq-job-queue';
import { RedisDeliveryLog } from './redis-delivery-log';
import type { DeliveryLogLimits } from '../../../ports/delivery-log';
import { migrateLegacyLedgerKeys, RedisLedger } from './redis-ledger';
import { RedisTokenStore } from './redis-token-store';
import { RedisDealStages } from './redis-deal-stages';
import { RedisRevenueLedger } from './redis-revenue-ledger';
import { RedisOutbox } from './redis-outbox';
import { RedisDealTrace } from './redis-deal-trace';
import { DEFAULT_TRACE_LIMITS } from '../../../ports/deal-trace';

export interface RedisStoreOptions {
  url: string;
  deliveryLogMaxRows: number;
  /** Settled delivery-log rows older than this are pruned (default: none by age). */
  deliveryLogMaxAgeMs?: number;
  onDeliveryLogPruned?: DeliveryLogLimits['onPruned'];
  /** Key prefix without the trailing colon (default `closeloop`). */
  prefix?: string;
  /** How long a worker's lock on a job lasts (default 15 s); a dead worker's jobs return after it. */
  lockMs?: number;
  /** How long start-up waits for Redis before giving up (default 10 s). */
  connectTimeoutMs?: number;
  /** Connection trouble and recoveries, once per outage and connection kind. */
  onConnection?: (event: 'lost' | 'back', kind: 'intake' | 'work', detail: string) => void;
  onError?: (error: unknown, context: string) => void;
}

/** Key prefix when CLOSELOOP_REDIS_PREFIX is not set. */
export const DEFAULT_REDIS_PREFIX = 'closeloop';

/** Fail fast: an intake command that cannot run now is refused at once. */
const INTAKE: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
};
/** Wait: commands are held while Redis is away (BullMQ's workers require this too). */
const WORK: RedisOptions = { maxRetriesPerRequest: null };

/** The URL without its password, for logs and messages. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.length > 1 ? u.pathname : '';
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}${db}`;
  } catch {
    return 'REDIS_URL (not a URL)';
  }
}

export async function createRedisStore(options: RedisStoreOptions): Promise<Store> {
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const where = describeRedisUrl(options.url);
  const onError = options.onError ?? (() => undefined);
  const lockMs = options.lockMs ?? 15_000;
  const connections: Redis[] = [];

  const open = (kind: 'intake' | 'work', extra: RedisOptions = {}): Redis => {
    const redis = new Redis(options.url, {
      ...(kind === 'intake' ? INTAKE : WORK),
      connectionName: `closeloop-${kind}`,
      ...extra,
    });
    let down = false;
    redis.on('error', (e: unknown) => {
      if (down) return;
      down = true;
      options.onConnection?.('lost', kind, `${where}: ${errorMessage(e)}`);
    });
    redis.on('ready', () => {
      if (!down) return;
      down = false;
      options.onConnection?.('back', kind, where);
    });
    connections.push(redis);
    return redis;
  };
  const quitAll = async (): Promise<void> => {
    await Promise.allSettled(
      connections
        .filter((c) => c.status !== 'end')
        .map((c) => c.quit().catch(() => c.disconnect())),
    );
  };

  const intake = open('intake');
  // Ledger, log and limiter calls of many jobs in flight go out together, one write per tick.
  const work = open('work', { enableAutoPipelining: true });
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const queue = new BullmqJobQueue({
    prefix: '',
    keyPrefix: `${prefix}:q`,
    lockDuration: lockMs,
    stalledInterval: Math.max(100, Math.round(lockMs / 3)),
    createConnection: (role) => (role === 'queue' ? intake : open('work')),
    ownsConnections: false,
    // Inside amoCRM's two-second wait: a webhook is refused with a 503 rather than left hanging.
    addTimeoutMs: 1500,
    onError,
  });
  const keys = `${prefix}:`;
  const settingsKey = `${prefix}:settings`;
  let deliveryLog: RedisDeliveryLog;
  try {
    await waitUntilReady([intake, work], connectTimeoutMs, where);
    await within(queue.ready(), connectTimeoutMs, `setting up the queues at ${where}`);
    await within(
      migrateLegacyLedgerKeys(work, keys, settingsKey),
      60_000,
      'renaming the ledger keys of an earlier version',
    );
    deliveryLog = await within(
      new RedisDeliveryLog(
        work,
        {
          maxRows: options.deliveryLogMaxRows,
          maxAgeMs: options.deliveryLogMaxAgeMs ?? Number.POSITIVE_INFINITY,
          onPruned: options.onDeliveryLogPruned,
        },
        keys,
      ).open(),
      60_000,
      'opening the delivery log',
    );
  } catch (e) {
    await queue.close().catch(() => undefined);
    for (const c of connections) c.disconnect();
    throw e;
  }

  return {
    kind: 'redis',
    queue,
    ledger: new RedisLedger(work, keys),
    revenue: new RedisRevenueLedger(work, keys),
    deliveryLog,
    tokens: new RedisTokenStore(work, { prefix: keys }),
    dealStages: new RedisDealStages(work, keys),
    outbox: new RedisOutbox(work, keys),
    // Trails live as long as the delivery log's rows (delivery_log.max_age_days).
    dealTrace: new RedisDealTrace(
      work,
      {
        ...DEFAULT_TRACE_LIMITS,
        maxAgeMs: options.deliveryLogMaxAgeMs ?? Number.POSITIVE_INFINITY,
      },
      keys,
    ),
    createRateLimiter: (perSecond) => new RedisRateLimiter(work, perSecond, { prefix: keys }),
    createPacedLimiter: (policy) => new RedisPacedLimiter(work, policy, keys),
    // On the fail-fast connection: a request it limits must not wait for Redis to come back.
    createWindowLimiter: (name, limit, windowMs) =>
      new RedisWindowLimiter(intake, name, limit, windowMs, keys),
    // On the waiting connection: an upload waits for Redis rather than going out ungated.
    createRequestGate: (name, maxInFlight, daily) =>
      new RedisRequestGate(work, name, maxInFlight, daily, keys),
    getSetting: async (key) => (await work.hget(settingsKey, key)) ?? null,
    setSetting: async (key, value) => {
      await work.hset(settingsKey, key, value);
    },
    initSetting: async (key, value) => {
      await work.hsetnx(settingsKey, key, value);
      return (await work.hget(settingsKey, key)) ?? value;
    },
    acquireLease: async (name, ttlMs) =>
      (await intake.set(
        `${prefix}:lease:${name}`,
        randomUUID(),
        'PX',
        Math.max(1, Math.ceil(ttlMs)),
        'NX',
      )) === 'OK',
    ping: async () => {
      await intake.ping();
    },
    describe: () => `redis (${where}, prefix ${prefix})`,
    close: async () => {
      try {
        await queue.close();
      } finally {
        await quitAll();
      }
    },
  };
}

async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await withTimeout(
      work,
      ms,
      () =>
        new AppError(
          'STORE_UNAVAILABLE',
          `Redis did not answer while ${what} within ${Math.round(ms / 1000)} s. Fix: check that Redis runs and answers (redis-cli -u "$REDIS_URL" ping)`,
        ),
    );
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('STORE_UNAVAILABLE', `Redis refused ${what}: ${asClause(errorMessage(e))}`, {
      cause: e,
    });
  }
}

async function waitUntilReady(conns: Redis[], timeoutMs: number, where: string): Promise<void> {
  let lastError = 'no answer';
  const listeners: Array<() => void> = [];
  const ready = Promise.all(
    conns.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.status === 'ready') return resolve();
          const onError = (e: unknown): void => void (lastError = asClause(errorMessage(e)));
          c.once('ready', () => resolve());
          c.on('error', onError);
          listeners.push(() => c.off('error', onError));
        }),
    ),
  );
  try {
    await withTimeout(
      ready,
      timeoutMs,
      () =>
        new AppError(
          'STORE_UNAVAILABLE',
          `cannot reach Redis at ${where} within ${Math.round(timeoutMs / 1000)} s (${lastError}). Fix: start Redis, or correct REDIS_URL (redis://[:password@]host:port[/db]); unset it to use the embedded store`,
        ),
    );
  } finally {
    for (const off of listeners) off();
  }
}
