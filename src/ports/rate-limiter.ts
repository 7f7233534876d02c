/**
 * RateLimiter: at most N calls per second per key (an amoCRM account), for every caller.
 *
 * Contract: `acquire(key)` resolves when the caller may make one call; across all callers sharing
 * the limiter (in one process for the embedded store; across processes once a Redis store exists),
 * no more than `perSecond` acquisitions resolve within any one-second window for the same key.
 * Waiting callers are served in the order they asked. `pause(key, ms)` makes every acquisition for
 * the key wait at least that long (a 429 or a blocked account).
 */
export interface RateLimiter {
  acquire(key: string): Promise<void>;
  pause(key: string, ms: number): void;
}
