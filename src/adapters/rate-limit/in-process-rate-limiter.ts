/**
 * RateLimiter for one process (the embedded store): a sliding window per key, callers served in
 * the order they asked.
 *
 * amoCRM allows 7 requests per second per integration, answers 429 above it, and blocks the
 * account (403 on every call, lifted only by its support) when that keeps happening (research
 * amocrm.md §5). So the window is strict (see core/sliding-window.ts) and a little wider than a
 * second by default: amoCRM counts requests when they arrive, and the time between our
 * `acquire()` and the request reaching amoCRM varies (token lookup, connection reuse, network),
 * which can bring two requests that left 1000 ms apart closer than that at the other end.
 *
 * One pump per key takes waiters from the head of its queue: it computes the next free slot,
 * sleeps until then (or until a pause ends) and hands the slot to the first waiter. A `pause()`
 * that arrives while the pump sleeps is seen when it wakes: it re-checks before handing out a slot.
 * Nothing is shared between processes: with several processes, use a limiter backed by Redis.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { nextSlot, pruneSent, WINDOW_MS } from '../../core/sliding-window';
import type { RateLimiter } from '../../ports/rate-limiter';

export interface InProcessRateLimiterOptions {
  /**
   * Milliseconds, monotonic. Defaults to `performance.now()`: a wall clock set back by an hour
   * would otherwise hold every call for an hour, and one set forward would let a burst through.
   */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Added to the one-second window (default 50 ms); see the file comment. */
  marginMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface KeyState {
  /** Times of the slots handed out that may still count (pruned as the pump runs). */
  sent: number[];
  pausedUntil: number;
  waiters: Waiter[];
  pumping: boolean;
}

const DEFAULT_MARGIN_MS = 50;

export class InProcessRateLimiter implements RateLimiter {
  private readonly states = new Map<string, KeyState>();
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly windowMs: number;

  constructor(
    private readonly perSecond: number,
    options: InProcessRateLimiterOptions = {},
  ) {
    if (!Number.isInteger(perSecond) || perSecond < 1) {
      throw new RangeError(`perSecond must be a whole number of 1 or more, got ${perSecond}`);
    }
    const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    if (!Number.isFinite(marginMs) || marginMs < 0) {
      throw new RangeError(`marginMs must be 0 or more, got ${marginMs}`);
    }
    this.now = options.now ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.windowMs = WINDOW_MS + marginMs;
  }

  acquire(key: string): Promise<void> {
    const state = this.stateOf(key);
    return new Promise<void>((resolve, reject) => {
      state.waiters.push({ resolve, reject });
      if (!state.pumping) void this.pump(state);
    });
  }

  pause(key: string, ms: number): void {
    if (!(ms > 0)) return;
    const state = this.stateOf(key);
    // Pauses never shorten each other: a 10-minute block is not undone by a 1 s 429 backoff.
    state.pausedUntil = Math.max(state.pausedUntil, this.now() + ms);
  }

  private stateOf(key: string): KeyState {
    let state = this.states.get(key);
    if (!state) {
      state = { sent: [], pausedUntil: -Infinity, waiters: [], pumping: false };
      this.states.set(key, state);
    }
    return state;
  }

  private async pump(state: KeyState): Promise<void> {
    state.pumping = true;
    try {
      for (let waiter = state.waiters[0]; waiter; waiter = state.waiters[0]) {
        const now = this.now();
        state.sent = pruneSent(state.sent, now, this.windowMs);
        const at = Math.max(
          nextSlot(state.sent, now, this.perSecond, this.windowMs),
          state.pausedUntil,
        );
        if (at > now) {
          // Timers may fire a little early; the loop re-checks instead of trusting the wake-up.
          await this.sleep(at - now);
          continue;
        }
        state.sent.push(now);
        state.waiters.shift();
        waiter.resolve();
      }
    } catch (error) {
      // Only an injected sleep can throw; fail the waiters rather than leave them hanging.
      for (const waiter of state.waiters.splice(0)) waiter.reject(error);
    } finally {
      state.pumping = false;
    }
  }
}
