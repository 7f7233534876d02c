import assert from 'node:assert/strict';
import { nextSlot, pruneSent, WINDOW_MS } from '../../src/core/sliding-window';

/** The most calls found in any half-open window `[t, t + windowMs)`. */
function busiestWindow(times: readonly number[], windowMs = WINDOW_MS): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('nextSlot', () => {
  it('answers now while fewer than perSecond calls were made', () => {
    assert.equal(nextSlot([], 5000, 7), 5000);
    assert.equal(nextSlot([4990, 4995, 4999], 5000, 7), 5000);
  });

  it('waits for the oldest of the last perSecond calls to leave the window', () => {
    const sent = [1000, 1100, 1200, 1300, 1400, 1500, 1600];
    assert.equal(nextSlot(sent, 1650, 7), 2000);
    // Exactly one window later the oldest no longer shares a window with the new call.
    assert.equal(nextSlot(sent, 2000, 7), 2000);
    assert.equal(nextSlot(sent, 2500, 7), 2500);
  });

  it('counts only the latest perSecond calls, in any order', () => {
    const sent = [1600, 100, 1300, 1000, 1500, 1200, 1400, 1100, 200];
    // Latest seven: 1000…1600; the seventh latest is 1000.
    assert.equal(nextSlot(sent, 1700, 7), 2000);
  });

  it('handles calls made at the same millisecond', () => {
    assert.equal(nextSlot([0, 0, 0], 0, 3), 1000);
    assert.equal(nextSlot([0, 0, 500], 600, 3), 1000);
  });

  it('with a limit of one, spaces calls a whole window apart', () => {
    assert.equal(nextSlot([1234], 1300, 1), 2234);
  });

  it('takes a wider window when asked (a safety margin)', () => {
    assert.equal(nextSlot([0, 10], 20, 2, 1050), 1050);
  });

  it('never answers a slot that shares a window with a promised future slot too many', () => {
    assert.equal(nextSlot([3000], 0, 1), 4000);
  });

  it('refuses a limit that is not a whole number of 1 or more', () => {
    assert.throws(() => nextSlot([], 0, 0), RangeError);
    assert.throws(() => nextSlot([], 0, 2.5), RangeError);
    assert.throws(() => nextSlot([], 0, Number.NaN), RangeError);
  });

  it('keeps any number of calls, each taken at its slot, within the limit in every window', () => {
    for (const perSecond of [1, 3, 7]) {
      const sent: number[] = [];
      let previous = 0;
      // Callers arrive every 37 ms, faster than the limit, and are served in order.
      for (let i = 0; i < 60; i++) {
        const now = Math.max(i * 37, previous);
        const at = nextSlot(sent, now, perSecond);
        assert.ok(at >= now);
        sent.push(at);
        previous = at;
      }
      assert.equal(busiestWindow(sent), perSecond, `perSecond ${perSecond}`);
      // And no slower than needed: n calls fit in about n / perSecond windows.
      const last = sent[sent.length - 1] as number;
      assert.ok(last <= (60 / perSecond) * WINDOW_MS + 37, `perSecond ${perSecond}: ${last}`);
    }
  });
});

describe('pruneSent', () => {
  it('drops calls that can no longer share a window with a call from now on', () => {
    assert.deepEqual(pruneSent([0, 999, 1000, 1500, 2000], 2000), [1500, 2000]);
    assert.deepEqual(pruneSent([0, 999, 1000, 1500], 2000, 1050), [999, 1000, 1500]);
  });

  it('returns a new array, same order, and leaves the input alone', () => {
    const sent = [1900, 1500, 1950];
    const pruned = pruneSent(sent, 2000);
    assert.deepEqual(pruned, [1900, 1500, 1950]);
    assert.notEqual(pruned, sent);
  });

  it('never changes the answer of nextSlot', () => {
    const sent = [0, 100, 700, 1200, 1300, 1900, 2100, 2150];
    for (const now of [1000, 2000, 2200, 3000]) {
      for (const perSecond of [1, 2, 3, 5]) {
        assert.equal(
          nextSlot(pruneSent(sent, now), now, perSecond),
          nextSlot(sent, now, perSecond),
          `now ${now}, perSecond ${perSecond}`,
        );
      }
    }
  });
});
