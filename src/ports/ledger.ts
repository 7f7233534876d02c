/**
 * Ledger: the durable record of which conversions were sent, keyed by idempotency key
 * (destination, source, account, deal, event, stage). It is what makes "never twice" hold across
 * repeated webhooks, replays, retries and crashes, and what says "maybe" when a crash leaves it
 * unknowable.
 *
 * A key's states: absent → `sending` (claimed: about to be sent, durably, before the request is
 * written) → `sent`; or back to `claimed` (the attempt surely did not deliver: the destination
 * answered an error) or absent (released); or `uncertain` (held: an interrupted send may have
 * reached the destination, and resending could count it twice).
 *
 * Contract:
 * - `claim` is atomic per key across every process sharing the store: of two owners claiming the
 *   same unsent key, exactly one gets `claimed`. It marks the key `sending`, so a crash from here
 *   on is remembered. A key the same owner holds `claimed` is `claimed` again (a retried job
 *   resumes its claim); a key the same owner left `sending` answers `uncertain` and stays
 *   `sending` (its last send was interrupted: it may have arrived); a key sent by anyone is
 *   `already_sent`; a key held uncertain is `held` for everyone; a key claimed or being sent by
 *   another owner is `in_progress_elsewhere`.
 * - `markSent` makes the owner's claim permanent: the key is never claimable again.
 * - `markNotSent` turns the owner's `sending` back into `claimed`: the attempt surely did not
 *   deliver, so the retry sends without doubt.
 * - `release` drops the owner's unsent claim (permanent failure, dry run), so a later trigger or a
 *   replay may send it.
 * - `hold` turns the owner's `sending` into `uncertain`: nobody sends it until `settleUncertain`
 *   (a person who looked) says it arrived (`sent`: never sent again) or did not (`unsent`: the key
 *   is dropped, so a replay sends it).
 * - With a `fence` (the job run's hold on its job, see Fence in job-queue.ts), `claim` first checks
 *   that the run still holds its job, in the same atomic step: when it does not, every key answers
 *   `lost_lock` and nothing changes. A run that lost its job to another worker (a Redis outage
 *   longer than the lock) must not send: the job's new run sends instead.
 *
 * Out of scope: what was sent (the delivery log records payloads), expiry (keys live forever; one
 * short row per conversion).
 */
import type { Fence } from './job-queue';

export const CLAIM_RESULTS = [
  'claimed',
  'uncertain',
  'already_sent',
  'held',
  'in_progress_elsewhere',
  'lost_lock',
] as const;
export type ClaimResult = (typeof CLAIM_RESULTS)[number];

export interface Ledger {
  claim(
    keys: readonly string[],
    owner: string,
    nowMs: number,
    fence?: Fence,
  ): Promise<Map<string, ClaimResult>>;
  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void>;
  markNotSent(keys: readonly string[], owner: string): Promise<void>;
  release(keys: readonly string[], owner: string): Promise<void>;
  hold(keys: readonly string[], owner: string, nowMs: number): Promise<void>;
  /** Settles these keys where they are held uncertain; returns how many were. */
  settleUncertain(
    keys: readonly string[],
    arrived: 'sent' | 'unsent',
    nowMs: number,
  ): Promise<number>;
}
