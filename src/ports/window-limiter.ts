/**
 * WindowLimiter: at most `limit` requests per key (a client address) in any sliding window of
 * `windowMs`, for refusing requests over it at once (a 429 with `Retry-After`: the `/leads` limit
 * per address per minute). RateLimiter (rate-limiter.ts) paces calls by making them wait; this
 * one never waits.
 *
 * Contract: `take(key)` resolves `{ retryAfterMs: null }` and counts the request when fewer than
 * `limit` were counted for the key within the last `windowMs`; otherwise `{ retryAfterMs }`, how
 * long until one more would be allowed, and does not count it (a refused request costs its sender
 * nothing more). The count is shared by every process sharing the store (the embedded store: this
 * process; Redis: the whole deployment). Memory is bounded by the keys seen in the last window.
 * It rejects when the store cannot answer; the caller decides whether to let the request through.
 */
export interface WindowLimiter {
  take(key: string): Promise<{ retryAfterMs: number | null }>;
}
