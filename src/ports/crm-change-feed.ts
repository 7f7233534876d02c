/**
 * CrmChangeFeed: deals that changed in the CRM since a cursor, as deal events, for the
 * reconciliation that catches what webhooks missed (amoCRM loses some; Bitrix24 never retries one,
 * and fires none for some moves).
 *
 * Contract:
 * - `cursorKey()` names where the reconciler stores this feed's cursor (one per CRM account).
 * - `changesSince(cursor)` returns the changes after `cursor` (null: the first run, which looks
 *   back `lookBackMs` from `nowMs`, not through the account's history), oldest first, and the
 *   cursor to store for the next call. A change may be returned again after a crash; each comes
 *   with a job id that names the change, so one change is queued once, and the ledger makes a
 *   repeated conversion a duplicate anyway. At most `maxPages` API pages per call: the next call
 *   goes on from the returned cursor.
 * - Transient failures throw `RetryableError`; the reconciler tries again at its next interval.
 */
import type { DealEvent } from '../core/deal';

export interface FeedChange {
  /** Names the change, so queuing it twice stores one job. */
  jobId: string;
  event: DealEvent;
}

export interface FeedPage {
  changes: FeedChange[];
  cursor: string;
  /** Deals read (some changes need no job: a deal without a stage). */
  read: number;
}

export interface CrmChangeFeed {
  readonly name: string;
  cursorKey(): Promise<string>;
  changesSince(
    cursor: string | null,
    options: { nowMs: number; lookBackMs: number; maxPages: number },
  ): Promise<FeedPage>;
}
