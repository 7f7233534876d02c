/**
 * A RateLimiter for one process (the embedded store) whose limit is a PacingPolicy (Bitrix24's
 * leaky bucket): the policy's state per key lives in memory, callers are served in the order they
 * asked, one pump per key, as in InProcessRateLimiter. One process owns the embedded store's data
 * folder, so its limiter is the whole deployment's.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { PacingPolicy, RateLimiter } from '../../ports/rate-limiter';

interface KeyState {
  state: string | null;
  expiresAt: number;
  pausedUntil: number;
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
  pumping: boolean;
}

export class InProcessPacedLimiter implements RateLimiter {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly policy: PacingPolicy,
    /** Milliseconds, monotonic: a wall clock set back would hold every call. */
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => delay(ms),
  ) {}

  acquire(key: string): Promise<void> {
    const k = this.stateOf(key);
    return new Promise<void>((resolve, reject) => {
      k.waiters.push({ resolve, reject });
      if (!k.pumping) void this.pump(k);
    });
  }

  pause(key: string, ms: number): void {
    if (!(ms > 0)) return;
    const k = this.stateOf(key);
    k.pausedUntil = Math.max(k.pausedUntil, this.now() + ms);
  }

  private stateOf(key: string): KeyState {
    let k = this.keys.get(key);
    if (k === undefined) {
      k = { state: null, expiresAt: 0, pausedUntil: -Infinity, waiters: [], pumping: false };
      this.keys.set(key, k);
    }
    return k;
  }

  private async pump(k: KeyState): Promise<void> {
    k.pumping = true;
    try {
      for (let waiter = k.waiters[0]; waiter; waiter = k.waiters[0]) {
        const now = this.now();
        if (k.pausedUntil > now) {
          await this.sleep(k.pausedUntil - now);
          continue;
        }
        const step = this.policy.take(now < k.expiresAt ? k.state : null, now);
        if (!('state' in step)) {
          await this.sleep(Math.max(1, step.waitMs));
          continue;
        }
        k.state = step.state;
        k.expiresAt = now + step.ttlMs;
        k.waiters.shift();
        waiter.resolve();
      }
    } catch (error) {
      for (const w of k.waiters.splice(0)) w.reject(error);
    } finally {
      k.pumping = false;
    }
  }
}
