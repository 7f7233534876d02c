/**
 * Ledger: the durable record of which conversions were sent, keyed by idempotency key
 * (account, lead, event, status). It is what makes "never twice" hold across repeated webhooks,
 * replays, retries and crashes.
 *
 * Contract:
 * - `claim` is atomic per key across every process sharing the store: of two owners claiming the
 *   same unsent key, exactly one gets `claimed`. A key already claimed by the same owner is
 *   `claimed` again (a retried job resumes its own claim); a key sent by anyone is `already_sent`;
 *   a key claimed and not yet sent or released by another owner is `in_progress_elsewhere`.
 * - `markSent` makes the claim permanent: the key is never claimable again.
 * - `release` drops an unsent claim (permanent failure, dry run), so a later trigger or a replay
 *   may send it.
 * - With a `fence` (the job run's hold on its job, see Fence in job-queue.ts), `claim` first checks
 *   that the run still holds its job, in the same atomic step: when it does not, every key answers
 *   `lost_lock` and nothing changes. A run that lost its job to another worker (a Redis outage
 *   longer than the lock) must not send: the job's new run sends instead.
 *
 * Out of scope: what was sent (the delivery log records payloads), expiry (keys live forever; one
 * short row per conversion).
 */
import type { Fence } from './job-queue';

export type ClaimResult = 'claimed' | 'already_sent' | 'in_progress_elsewhere' | 'lost_lock';

export interface Ledger {
  claim(
    keys: readonly string[],
    owner: string,
    nowMs: number,
    fence?: Fence,
  ): Promise<Map<string, ClaimResult>>;
  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void>;
  release(keys: readonly string[], owner: string): Promise<void>;
}
