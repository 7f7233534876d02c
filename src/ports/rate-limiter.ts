/**
 * RateLimiter: at most N calls per second per key (an amoCRM account), for every caller.
 *
 * Contract: `acquire(key)` resolves when the caller may make one call; across all callers sharing
 * the limiter (in one process for the embedded store; across processes once a Redis store exists),
 * no more than `perSecond` acquisitions resolve within any one-second window for the same key.
 * Waiting callers are served in the order they asked. `pause(key, ms)` makes every acquisition for
 * the key wait at least that long (a 429 or a blocked account).
 *
 * A limiter made from a PacingPolicy (`Store.createPacedLimiter`) keeps the same contract with the
 * policy's limit instead of N per second.
 */
export interface RateLimiter {
  acquire(key: string): Promise<void>;
  pause(key: string, ms: number): void;
}

/** What a policy answers: go now and store `state` for `ttlMs`, or wait `waitMs` and ask again. */
export type PacingStep = { waitMs: 0; state: string; ttlMs: number } | { waitMs: number };

/**
 * PacingPolicy: a vendor's limit that "N per second" cannot say (Bitrix24's leaky bucket, its
 * burst and drain), as a pure function over one small state per key. The store keeps the state
 * where every process sharing it sees it, reads it with the store's clock, and writes the new state
 * only if no other caller wrote in between (compare and set), so the limit holds across processes.
 *
 * Contract: `take` is pure; `state` is what the last successful take stored for the key, or null
 * when there is none or it expired (`ttlMs`). `waitMs` > 0 means "not yet": nothing is stored.
 */
export interface PacingPolicy {
  take(state: string | null, nowMs: number): PacingStep;
}
