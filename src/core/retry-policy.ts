/**
 * When to try a failed delivery again. Pure: the caller passes `now` and a random source.
 *
 * Exponential backoff with jitter: the n-th retry waits base·2^(n-1), capped at `maxDelayMs`, scaled
 * by a random factor in [0.5, 1) so that many jobs failing together do not come back together.
 * A `Retry-After` from the server is honoured when longer. Retries stop at the end of the retry
 * window counted from the first attempt (72 hours by default: GA4 cannot backdate an event
 * further, research ga4-mp.md A2).
 *
 * A wait that would reach past the window's end (a long `Retry-After`, a backoff near the end) is
 * shortened to end with the window: one last attempt is made then, rather than giving up while
 * time is left. Otherwise a GA4 429 with `Retry-After: 86400` and a 12-hour window would count as
 * exhausted after one attempt. That last attempt comes sooner than the server asked, which is the
 * price of trying at all; a failure then is final (the window is over).
 */
export interface RetryPolicy {
  retryWindowMs: number;
  retryBaseMs: number;
  retryMaxDelayMs: number;
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

export interface RetryInput {
  /** Failed attempts so far, including the one that just failed (1 after the first failure). */
  failures: number;
  firstAttemptAtMs: number;
  nowMs: number;
  retryAfterMs?: number | null;
  /** Returns a number in [0, 1); Math.random in production, fixed in tests. */
  random: () => number;
}

export function decideRetry(policy: RetryPolicy, input: RetryInput): RetryDecision {
  const exp = Math.min(
    policy.retryMaxDelayMs,
    policy.retryBaseMs * 2 ** Math.min(input.failures - 1, 40),
  );
  const jittered = Math.round(exp * (0.5 + input.random() * 0.5));
  const wanted = Math.max(jittered, input.retryAfterMs ?? 0, 1);
  const left = input.firstAttemptAtMs + policy.retryWindowMs - input.nowMs;
  if (left < 1) {
    const hours = Math.round((policy.retryWindowMs / 3_600_000) * 10) / 10;
    return {
      retry: false,
      reason: `gave up after ${input.failures} attempts: the retry window of ${hours} h is over`,
    };
  }
  return { retry: true, delayMs: Math.min(wanted, left) };
}
