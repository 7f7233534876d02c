/**
 * Request pacing as a sliding window. Pure: the caller passes the clock reading and the times of
 * its previous calls.
 *
 * amoCRM allows 7 requests per second per integration, answers 429 when a client goes faster, and
 * blocks the whole account (403 on every call, lifted only through support) when that keeps
 * happening (research amocrm.md §5). A fixed "reset every second" counter lets 2·N calls through
 * within a few milliseconds across a boundary; a sliding window never does: no window of
 * `windowMs` (half-open, `[t, t + windowMs)`) holds more than `perSecond` calls.
 */

/** One second: the unit of amoCRM's limit. */
export const WINDOW_MS = 1000;

/**
 * The earliest time ≥ `nowMs` at which one more call keeps at most `perSecond` calls in any
 * window of `windowMs`, given the times of previous calls (any order).
 *
 * Why it is this simple: let `k` be the `perSecond`-th latest previous call. When every previous
 * call is at or before the new one, a call at `t < k + windowMs` shares the window ending at `t`
 * with `k` and the `perSecond - 1` calls after it: one too many. From `k + windowMs` on, the new
 * call shares windows only with calls later than `k`, of which there are fewer than `perSecond`.
 * Times after `nowMs` (slots already promised) are safe to pass: the answer then comes after
 * them, which is never too early, though it may be later than strictly needed.
 */
export function nextSlot(
  sent: readonly number[],
  nowMs: number,
  perSecond: number,
  windowMs: number = WINDOW_MS,
): number {
  assertPositiveInteger(perSecond, 'perSecond');
  if (sent.length < perSecond) return nowMs;
  const latestFirst = [...sent].sort((a, b) => b - a);
  const kth = latestFirst[perSecond - 1] as number;
  return Math.max(nowMs, kth + windowMs);
}

/**
 * The previous calls that can still matter at `nowMs` or later: a call at or before
 * `nowMs - windowMs` shares no window with any future call. Returns a new array, same order.
 */
export function pruneSent(
  sent: readonly number[],
  nowMs: number,
  windowMs: number = WINDOW_MS,
): number[] {
  return sent.filter((t) => t > nowMs - windowMs);
}

function assertPositiveInteger(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`${name} must be a whole number of 1 or more, got ${n}`);
  }
}
