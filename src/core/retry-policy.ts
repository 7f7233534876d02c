/**
 * When to try a failed delivery again. Pure: the caller passes `now` and a random source.
 *
 * Exponential backoff with jitter: the n-th retry waits base·2^(n-1), capped at `maxDelayMs`, scaled
 * by a random factor in [0.5, 1) so that many jobs failing together do not come back together.
 * A `Retry-After` from the server is honoured when longer. Retries stop once the next attempt would
 * fall outside the retry window counted from the first attempt (72 hours by default: GA4 cannot
 * backdate an event further, research ga4-mp.md A2).
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
  const delayMs = Math.max(jittered, input.retryAfterMs ?? 0, 1);
  const deadline = input.firstAttemptAtMs + policy.retryWindowMs;
  if (input.nowMs + delayMs > deadline) {
    const hours = Math.round((policy.retryWindowMs / 3_600_000) * 10) / 10;
    return {
      retry: false,
      reason: `gave up after ${input.failures} attempts: the retry window of ${hours} h is over`,
    };
  }
  return { retry: true, delayMs };
}
