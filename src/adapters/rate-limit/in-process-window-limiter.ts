/**
 * WindowLimiter for one process (the embedded store): the sliding window of
 * core/sliding-window.ts per key, over `windowMs` instead of a second. Keys quiet for a window are
 * forgotten, swept once per window, so memory stays bounded by the traffic of the last window.
 */
import { nextSlot, pruneSent } from '../../core/sliding-window';
import type { WindowLimiter } from '../../ports/window-limiter';

export class InProcessWindowLimiter implements WindowLimiter {
  private readonly seen = new Map<string, number[]>();
  private sweptAt = -Infinity;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a whole number of 1 or more, got ${limit}`);
    }
  }

  take(key: string): Promise<{ retryAfterMs: number | null }> {
    return Promise.resolve(this.takeNow(key));
  }

  /** The same, synchronously. */
  takeNow(key: string): { retryAfterMs: number | null } {
    const t = this.now();
    if (t - this.sweptAt >= this.windowMs) {
      for (const [k, times] of this.seen) {
        if (pruneSent(times, t, this.windowMs).length === 0) this.seen.delete(k);
      }
      this.sweptAt = t;
    }
    const times = pruneSent(this.seen.get(key) ?? [], t, this.windowMs);
    const slot = nextSlot(times, t, this.limit, this.windowMs);
    this.seen.set(key, times);
    if (slot > t) return { retryAfterMs: slot - t };
    times.push(t);
    return { retryAfterMs: null };
  }
}
