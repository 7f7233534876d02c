/**
 * RequestGate (src/ports/request-gate.ts): at most N requests in flight and a daily budget per
 * token. In one process (the embedded store), and through Redis, where two gates on two
 * connections stand for two worker processes: together they never have a third request in flight,
 * they spend one daily budget, and a slot held by a process that died is free after its lease.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { InProcessRequestGate } from '../../src/adapters/rate-limit/in-process-request-gate';
import { RedisRequestGate } from '../../src/adapters/rate-limit/redis-request-gate';
import type { RequestGate } from '../../src/ports/request-gate';
import {
  deleteRedisKeys,
  itNeedsRedis,
  REDIS_URL,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 11, 4, 23, 59, 0);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `n` requests of `ms` each through the gates in turn; the most in flight at once. */
async function mostInFlight(gates: RequestGate[], n: number, ms: number): Promise<number> {
  let now = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      gates[i % gates.length]!.run(T0, async () => {
        most = Math.max(most, ++now);
        await sleep(ms);
        now--;
      }),
    ),
  );
  return most;
}

describe('RequestGate: in one process', () => {
  it('never has more than maxInFlight at once, and counts a budget per UTC day', async () => {
    const gate = new InProcessRequestGate(2, 5);
    assert.equal(await mostInFlight([gate], 5, 20), 2);
    assert.equal(await gate.used(T0), 5);
    assert.equal(await gate.run(T0, () => Promise.resolve('x')), null, 'the budget is spent');
    assert.equal(await gate.run(T0 + 2 * 60_000, () => Promise.resolve('x')), 'x', 'a new UTC day');
  });
});

if (!REDIS_URL) {
  describe('RequestGate: Redis', () => itNeedsRedis());
} else {
  describe('RequestGate: Redis, shared by two processes', function () {
    this.timeout(15_000);
    let prefix: string;
    const clients: Redis[] = [];
    const client = (): Redis => {
      const c = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 });
      clients.push(c);
      return c;
    };
    const gate = (daily = 1000, leaseMs = 60_000): RedisRequestGate =>
      new RedisRequestGate(client(), 'metrica:abc', 2, daily, `${prefix}:`, {
        leaseMs,
        pollMs: 10,
      });
    beforeEach(() => {
      prefix = uniqueRedisPrefix('gate');
    });
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
      await deleteRedisKeys(REDIS_URL!, prefix);
    });

    it('two gates on one Redis never allow a third request in flight', async () => {
      const most = await mostInFlight([gate(), gate()], 12, 40);
      assert.equal(most, 2);
      // Each on its own would allow two: the limit is the deployment's.
      const alone = await mostInFlight([gate(), new InProcessRequestGate(2, 1000)], 8, 40);
      assert.ok(alone > 2, `${alone}`);
    });

    it('the daily budget is shared, and a new UTC day starts a new one', async () => {
      const [a, b] = [gate(3), gate(3)];
      assert.equal(await a.run(T0, () => Promise.resolve(1)), 1);
      assert.equal(await b.run(T0, () => Promise.resolve(2)), 2);
      assert.equal(await a.run(T0, () => Promise.resolve(3)), 3);
      let ran = false;
      assert.equal(await b.run(T0, () => Promise.resolve((ran = true))), null);
      assert.equal(ran, false, 'a request over the budget is not made');
      assert.equal(await a.used(T0), 3);
      assert.equal(await b.run(T0 + 60_000, () => Promise.resolve(4)), 4, '00:00 UTC passed');
      const ttl = await client().pttl(`${prefix}:gate:metrica:abc:day:2026-12-04`);
      assert.ok(ttl > DAY && ttl <= 2 * DAY, `the day's count expires (${ttl} ms)`);
    });

    it('a slot held by a process that died is free after its lease; a live one renews it', async () => {
      const dying = client();
      const dead = new RedisRequestGate(dying, 'metrica:abc', 2, 1000, `${prefix}:`, {
        leaseMs: 300,
        pollMs: 10,
      });
      const live = gate(1000, 300);
      // The live process holds a slot for three leases; the dying one takes the other and dies.
      const long = live.run(T0, () => sleep(1000));
      void dead.run(T0, () => new Promise(() => undefined));
      await sleep(50);
      dying.disconnect();
      const other = gate(1000, 300);
      const started = Date.now();
      let waited = -1;
      await other.run(T0, () => Promise.resolve((waited = Date.now() - started)));
      assert.ok(
        waited >= 150 && waited < 900,
        `the dead slot lapsed after its lease (${waited} ms)`,
      );
      // The live request still holds its slot (renewed): one more must wait for it or the other.
      assert.equal(await client().zcard(`${prefix}:gate:metrica:abc:slots`), 1);
      await long;
    });
  });
}
