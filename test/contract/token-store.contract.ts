/**
 * The TokenStore contract (src/ports/token-store.ts), as one suite every backend runs: a durable
 * pair per account, and a refresh lock with at most one holder, because sending a spent amoCRM
 * refresh token revokes the integration (research amocrm.md §4). The factory gives a fresh, empty
 * store per test.
 *
 * The few fixed `sleep`s only give something that must NOT happen (a second holder inside) the
 * chance to happen.
 */
import assert from 'node:assert/strict';
import type { StoredTokens, TokenStore } from '../../src/ports/token-store';

export interface TokenStoreBackend {
  tokens: TokenStore;
  /** Closes everything opened and removes the data. */
  cleanup: () => Promise<void>;
}

const ACCOUNT = 'example.amocrm.ru';
const NOW = 1_700_000_000_000;

const pair = (n: number): StoredTokens => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresAt: NOW + 86_400_000 + n,
  updatedAt: NOW + n,
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}

function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Fails with `what` when `promise` has not settled within `ms` (instead of a mocha timeout). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function describeTokenStoreContract(
  name: string,
  factory: () => Promise<TokenStoreBackend>,
): void {
  describe(`TokenStore contract: ${name}`, function () {
    this.timeout(10_000);
    let backend: TokenStoreBackend;
    let tokens: TokenStore;

    beforeEach(async function () {
      backend = await factory();
      tokens = backend.tokens;
    });

    afterEach(async function () {
      await backend.cleanup();
    });

    describe('pairs', function () {
      it('has none for an account never saved', async function () {
        assert.equal(await tokens.get(ACCOUNT), null);
      });

      it('gives back exactly what was saved', async function () {
        await tokens.save(ACCOUNT, pair(1));
        assert.deepEqual(await tokens.get(ACCOUNT), pair(1));
      });

      it('replaces the pair on a second save (the rotated pair wins)', async function () {
        await tokens.save(ACCOUNT, pair(1));
        await tokens.save(ACCOUNT, pair(2));
        assert.deepEqual(await tokens.get(ACCOUNT), pair(2));
      });

      it('keeps accounts apart', async function () {
        await tokens.save(ACCOUNT, pair(1));
        await tokens.save('other.kommo.com', pair(2));
        await tokens.save(ACCOUNT, pair(3));
        assert.deepEqual(await tokens.get(ACCOUNT), pair(3));
        assert.deepEqual(await tokens.get('other.kommo.com'), pair(2));
        assert.equal(await tokens.get('third.amocrm.ru'), null);
      });
    });

    describe('refresh lock', function () {
      it('lets one holder in at a time among ten concurrent callers', async function () {
        let inside = 0;
        let most = 0;
        const entered: number[] = [];
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            tokens.withRefreshLock(ACCOUNT, 5000, async () => {
              inside++;
              most = Math.max(most, inside);
              entered.push(i);
              await sleep(5); // a refresh awaits the network: give another holder the chance
              inside--;
              return i;
            }),
          ),
        );
        assert.equal(most, 1, 'two holders were inside at once');
        assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(
          [...entered].sort((a, b) => a - b),
          results,
        );
      });

      it('passes the result through and releases the lock', async function () {
        assert.equal(await tokens.withRefreshLock(ACCOUNT, 60_000, () => Promise.resolve(42)), 42);
        // Not released, the next caller would wait out the 60 s lease.
        const next = tokens.withRefreshLock(ACCOUNT, 60_000, () => Promise.resolve('next'));
        assert.equal(await within(next, 2000, 'the lock was not released'), 'next');
      });

      it('passes a throw through and releases the lock', async function () {
        const boom = new Error('refresh failed');
        await assert.rejects(
          tokens.withRefreshLock(ACCOUNT, 60_000, () => Promise.reject(boom)),
          (e) => e === boom,
        );
        const next = tokens.withRefreshLock(ACCOUNT, 60_000, () => Promise.resolve('next'));
        assert.equal(await within(next, 2000, 'the lock was not released'), 'next');
      });

      it('does not make one account wait for another', async function () {
        const held = gate();
        const holding = tokens.withRefreshLock(ACCOUNT, 60_000, () => held.promise);
        await sleep(20);
        const other = tokens.withRefreshLock('other.kommo.com', 60_000, () =>
          Promise.resolve('other'),
        );
        assert.equal(await within(other, 2000, 'another account was blocked'), 'other');
        held.open();
        await holding;
      });

      it("frees a crashed holder's lock after ttl, and its late release frees nothing", async function () {
        const ttlMs = 200;
        // The "crashed" holder never finishes on its own, as if its process had died.
        const crashed = gate();
        let crashedAt = 0;
        const dead = tokens.withRefreshLock(ACCOUNT, ttlMs, async () => {
          crashedAt = Date.now();
          await crashed.promise;
        });
        await sleep(20);

        const successor = gate();
        let successorAt = 0;
        const next = tokens.withRefreshLock(ACCOUNT, 60_000, async () => {
          successorAt = Date.now();
          await successor.promise;
        });
        await within(
          (async () => {
            while (successorAt === 0) await sleep(10);
          })(),
          5000,
          'a waiter never got the lapsed lock',
        );
        assert.ok(crashedAt > 0);
        // Leases are whole milliseconds; allow the clocks' rounding, never an early take-over.
        assert.ok(
          successorAt - crashedAt >= ttlMs - 2,
          `taken over after ${successorAt - crashedAt} ms, before the ${ttlMs} ms lease ran out`,
        );

        // The old holder wakes up and releases: that must not free its successor's lease.
        crashed.open();
        await dead;
        let thirdInside = false;
        const third = tokens.withRefreshLock(ACCOUNT, 60_000, () => {
          thirdInside = true;
          return Promise.resolve();
        });
        await sleep(150);
        assert.equal(thirdInside, false, "a lapsed holder's release freed its successor's lock");
        successor.open();
        await next;
        await within(third, 2000, 'the successor did not release');
        assert.equal(thirdInside, true);
      });
    });
  });
}
