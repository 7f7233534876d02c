/**
 * Bitrix24's REST limit as a pacing policy. Pure: the state is a string the store keeps, the
 * clock reading is passed in.
 *
 * The portal's limit is a leaky bucket (research bitrix24.md §4.1): every request adds one, the
 * bucket drains `perSecond` a second (2; Enterprise 5), and a request that finds it over `burst`
 * (50; Enterprise 250) gets `503 QUERY_LIMIT_EXCEEDED`. It is counted per portal and per source
 * IP, so every closeloop process (and anything else on the same machine) shares one bucket.
 *
 * The same bucket as a schedule (GCRA, the "virtual scheduling" form of a leaky bucket): the state
 * is the time the bucket will be empty (`emptyAt`); a request adds `1000 / perSecond` ms to it and
 * may go when the bucket then holds at most `capacity` requests' worth. One number per portal,
 * compared and set atomically by the store, so processes agree without talking to each other.
 *
 * `capacity` is kept below the vendor's burst (MARGIN): Bitrix24 counts a request when it arrives,
 * and the time between our decision and its arrival varies, so two of ours may land closer than
 * they left; and other integrations of the portal on the same IP fill the same bucket.
 */
import type { PacingPolicy, PacingStep } from '../../../ports/rate-limiter';

/** The share of the vendor's burst closeloop lets itself use (see the file comment). */
export const MARGIN = 0.9;

export interface BucketLimit {
  /** Drain rate: requests per second (§4.1: 2, Enterprise 5). */
  perSecond: number;
  /** Requests the bucket holds before the vendor refuses one (§4.1: 50, Enterprise 250). */
  burst: number;
}

/** The next step for a bucket whose state is `state` (`emptyAt` in ms, or null: empty). */
export function takeFromBucket(
  state: string | null,
  nowMs: number,
  limit: BucketLimit,
): PacingStep {
  const interval = 1000 / limit.perSecond;
  const capacity = Math.max(1, Math.floor(limit.burst * MARGIN));
  const stored = state === null ? NaN : Number(state);
  const emptyAt = Number.isFinite(stored) ? Math.max(stored, nowMs) : nowMs;
  const next = emptyAt + interval;
  const over = next - nowMs - capacity * interval;
  if (over > 0) return { waitMs: Math.ceil(over) };
  // Kept until the bucket is empty again, and a second more: an expired state is an empty bucket.
  return { waitMs: 0, state: String(next), ttlMs: Math.ceil(next - nowMs) + 1000 };
}

/** The bucket as the store's pacing policy. */
export function bucketPolicy(limit: BucketLimit): PacingPolicy {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
    throw new RangeError(
      `a bucket needs perSecond > 0 and burst ≥ 1, got ${JSON.stringify(limit)}`,
    );
  }
  return { take: (state, nowMs) => takeFromBucket(state, nowMs, limit) };
}
