/**
 * The Ledger contract (src/ports/ledger.ts), as one suite every backend runs: what makes "never
 * twice" hold. The factory gives a fresh, empty ledger per test.
 */
import { skipBecause } from '../helpers/skip-because';
import assert from 'node:assert/strict';
import type { ClaimResult, Ledger } from '../../src/ports/ledger';

export interface LedgerBackend {
  ledger: Ledger;
  /**
   * Where runs can lose their job (Redis): makes `fence.key` hold `token`, as the job queue's lock
   * does for the run that owns the job. Absent: the backend takes no fences, the fence test skips.
   */
  holdFence?: (fenceKey: string, token: string) => Promise<void>;
  /** The fence key to use in tests, inside the backend's own keys. */
  fenceKey?: string;
  cleanup: () => Promise<void>;
}

const NOW = 1_700_000_000_000;

/** An idempotency key shaped like the real ones: account, lead, event, status. */
const key = (lead: number, event = 'purchase'): string => `29638927:${lead}:${event}:142`;

export function describeLedgerContract(name: string, factory: () => Promise<LedgerBackend>): void {
  describe(`Ledger contract: ${name}`, function () {
    let backend: LedgerBackend;
    let ledger: Ledger;

    beforeEach(async function () {
      backend = await factory();
      ledger = backend.ledger;
    });

    afterEach(async function () {
      await backend.cleanup();
    });

    async function claimOne(k: string, owner: string): Promise<ClaimResult | undefined> {
      const result = await ledger.claim([k], owner, NOW);
      assert.deepEqual([...result.keys()], [k]);
      return result.get(k);
    }

    it('refuses every key of a run that no longer holds its fence, and changes nothing', async function () {
      const { holdFence, fenceKey } = backend;
      if (!holdFence || !fenceKey)
        skipBecause(this, `${name}: a run on this backend cannot lose its job`);
      await holdFence(fenceKey, 'run-2');
      const stale = await ledger.claim([key(40), key(41)], 'job-a', NOW, {
        key: fenceKey,
        token: 'run-1',
      });
      assert.deepEqual(
        [...stale],
        [
          [key(40), 'lost_lock'],
          [key(41), 'lost_lock'],
        ],
      );
      // Nothing was claimed: the job's current run gets both.
      const current = await ledger.claim([key(40), key(41)], 'job-a', NOW, {
        key: fenceKey,
        token: 'run-2',
      });
      assert.deepEqual([...current.values()], ['claimed', 'claimed']);
      // A fence whose key is gone (the lock lapsed) holds nobody.
      await holdFence(fenceKey, '');
      const lapsed = await ledger.claim([key(42)], 'job-b', NOW, { key: fenceKey, token: 'run-2' });
      assert.deepEqual([...lapsed.values()], ['lost_lock']);
    });

    it('claims a new key', async function () {
      const result = await ledger.claim([key(1)], 'job-a', NOW);
      assert.deepEqual([...result], [[key(1), 'claimed']]);
    });

    it('gives the same owner its claim again after an attempt that surely did not send', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      await ledger.markNotSent([key(1)], 'job-a');
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      // And the claim is in flight again: a crash now is remembered.
      assert.equal(await claimOne(key(1), 'job-a'), 'uncertain');
    });

    it('answers uncertain to the owner whose send was interrupted, and keeps it in flight', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      // No markSent, no markNotSent: the process died mid-send.
      assert.equal(await claimOne(key(1), 'job-a'), 'uncertain');
      assert.equal(await claimOne(key(1), 'job-a'), 'uncertain');
      assert.equal(await claimOne(key(1), 'job-b'), 'in_progress_elsewhere');
      // Resent and accepted: sent for everyone.
      await ledger.markSent([key(1)], 'job-a', NOW + 1);
      assert.equal(await claimOne(key(1), 'job-a'), 'already_sent');
    });

    it('holds an uncertain key from everyone until it is forgotten', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      assert.equal(await claimOne(key(2), 'job-a'), 'claimed');
      await ledger.hold([key(1)], 'job-a', NOW + 1);
      // A stray hold by another owner, or of a key not in flight, changes nothing.
      await ledger.hold([key(2)], 'job-b', NOW + 1);
      await ledger.markNotSent([key(2)], 'job-a');
      await ledger.hold([key(2)], 'job-a', NOW + 1);
      assert.equal(await claimOne(key(1), 'job-a'), 'held');
      assert.equal(await claimOne(key(1), 'job-b'), 'held');
      assert.equal(await claimOne(key(2), 'job-a'), 'claimed');
      // Neither markSent, release nor markNotSent lets a held key go; only settleUncertain does.
      await ledger.markSent([key(1)], 'job-a', NOW + 2);
      await ledger.release([key(1)], 'job-a');
      await ledger.markNotSent([key(1)], 'job-a');
      assert.equal(await claimOne(key(1), 'job-b'), 'held');
      assert.equal(await ledger.settleUncertain([key(1), key(2), key(3)], 'unsent', NOW + 3), 1);
      assert.equal(await ledger.settleUncertain([key(1)], 'unsent', NOW + 3), 0);
      assert.equal(await claimOne(key(1), 'job-b'), 'claimed');
    });

    it('records a held key as sent when a person says it arrived', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      await ledger.hold([key(1)], 'job-a', NOW + 1);
      // Not held: nothing to settle, whatever the key's state.
      assert.equal(await claimOne(key(2), 'job-a'), 'claimed');
      assert.equal(await ledger.settleUncertain([key(2)], 'sent', NOW + 2), 0);
      assert.equal(await claimOne(key(2), 'job-b'), 'in_progress_elsewhere');
      assert.equal(await ledger.settleUncertain([key(1)], 'sent', NOW + 2), 1);
      assert.equal(await claimOne(key(1), 'job-a'), 'already_sent');
      assert.equal(await claimOne(key(1), 'job-b'), 'already_sent');
      assert.equal(await ledger.settleUncertain([key(1)], 'unsent', NOW + 3), 0);
      assert.equal(await claimOne(key(1), 'job-b'), 'already_sent');
    });

    it('tells another owner the key is in progress elsewhere', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      assert.equal(await claimOne(key(1), 'job-b'), 'in_progress_elsewhere');
      await ledger.markNotSent([key(1)], 'job-a');
      assert.equal(await claimOne(key(1), 'job-b'), 'in_progress_elsewhere');
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
    });

    it('answers already_sent to everyone, the owner included, after markSent', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      await ledger.markSent([key(1)], 'job-a', NOW + 1);
      assert.equal(await claimOne(key(1), 'job-a'), 'already_sent');
      assert.equal(await claimOne(key(1), 'job-b'), 'already_sent');
      // Permanent: neither a release nor a second markSent undoes it.
      await ledger.release([key(1)], 'job-a');
      await ledger.markSent([key(1)], 'job-b', NOW + 2);
      assert.equal(await claimOne(key(1), 'job-b'), 'already_sent');
      assert.equal(await claimOne(key(1), 'job-a'), 'already_sent');
    });

    it('makes a released key claimable by another owner', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      await ledger.release([key(1)], 'job-a');
      assert.equal(await claimOne(key(1), 'job-b'), 'claimed');
      assert.equal(await claimOne(key(1), 'job-a'), 'in_progress_elsewhere');
    });

    it('ignores markSent and release by an owner that does not hold the claim', async function () {
      assert.equal(await claimOne(key(1), 'job-a'), 'claimed');
      await ledger.markSent([key(1)], 'job-b', NOW + 1);
      assert.equal(await claimOne(key(1), 'job-c'), 'in_progress_elsewhere');
      await ledger.release([key(1)], 'job-b');
      await ledger.markNotSent([key(1)], 'job-b');
      assert.equal(await claimOne(key(1), 'job-c'), 'in_progress_elsewhere');
      assert.equal(await claimOne(key(1), 'job-a'), 'uncertain');
      // A key nobody claimed stays claimable after a stray markSent.
      await ledger.markSent([key(2)], 'job-b', NOW + 1);
      assert.equal(await claimOne(key(2), 'job-c'), 'claimed');
    });

    it('gives each key to exactly one of many owners claiming at once', async function () {
      const keys = Array.from({ length: 20 }, (_, i) => key(1000 + i));
      const owners = Array.from({ length: 10 }, (_, i) => `job-${i}`);
      // Each owner asks for the keys in its own order, all at the same time.
      const results = await Promise.all(
        owners.map((owner, o) =>
          ledger.claim(
            keys.map((_, i) => keys[(i * 7 + o * 3) % keys.length]!),
            owner,
            NOW,
          ),
        ),
      );
      const winners = new Map<string, string[]>();
      for (const [o, result] of results.entries()) {
        assert.deepEqual(
          [...result.keys()].sort(),
          [...keys].sort(),
          `keys answered to ${owners[o]}`,
        );
        for (const [k, r] of result) {
          assert.ok(
            r === 'claimed' || r === 'in_progress_elsewhere',
            `${owners[o]} got ${r} for ${k}`,
          );
          if (r === 'claimed') winners.set(k, [...(winners.get(k) ?? []), owners[o]!]);
        }
      }
      for (const k of keys) {
        assert.equal(winners.get(k)?.length, 1, `owners of ${k}: ${winners.get(k)?.join(', ')}`);
      }
      // And the winner is what the ledger remembers.
      for (const k of keys) {
        const winner = winners.get(k)![0]!;
        assert.equal(await claimOne(k, winner), 'uncertain');
        assert.equal(
          await claimOne(
            k,
            owners.find((o) => o !== winner)!,
          ),
          'in_progress_elsewhere',
        );
      }
    });

    it('answers for many keys in one call, each on its own', async function () {
      const keys = Array.from({ length: 500 }, (_, i) => key(i));
      const first = await ledger.claim(keys, 'job-a', NOW);
      assert.equal(first.size, 500);
      assert.deepEqual(new Set(first.values()), new Set(['claimed']));

      await ledger.markSent(keys.slice(0, 100), 'job-a', NOW + 1);
      await ledger.release(keys.slice(100, 200), 'job-a');
      const fresh = Array.from({ length: 50 }, (_, i) => key(i, 'generate_lead'));
      const second = await ledger.claim([...keys, ...fresh], 'job-b', NOW + 2);
      assert.equal(second.size, 550);
      const expected = (k: string, i: number): ClaimResult =>
        fresh.includes(k)
          ? 'claimed'
          : i < 100
            ? 'already_sent'
            : i < 200
              ? 'claimed'
              : 'in_progress_elsewhere';
      [...keys, ...fresh].forEach((k, i) => assert.equal(second.get(k), expected(k, i), k));
    });
  });
}
