/**
 * The console's replay: delivery-log rows (by id, or all rows a filter matches) mapped to their
 * failed delivery jobs, replayed by the CLI's own code (src/cli/replay.ts: held conversions
 * released, events back through today's rules, the ledger keeping anything sent from going twice).
 * A row whose job is not a failed delivery is skipped, saying why.
 */
import type { DeliveryLogFilter, StoredDelivery } from '../ports/delivery-log';
import type { Store } from '../ports/store';
import { listFailedDeliveries, replayFailed, type FailedDelivery } from '../replay-failed';

/** Rows a filtered replay takes at most; the answer says when more matched. */
export const MAX_REPLAY_ROWS = 1000;

export interface ReplayAnswer {
  /** How many rows' deliveries were put back. */
  replayed: number;
  /** Their delivery-log row ids. */
  replayedIds: number[];
  skipped: Array<{ id: number; reason: string }>;
  /** Conversions held as uncertain that now go. */
  released: number;
  /** More rows matched the filter than one replay takes. */
  more: boolean;
}

export async function replayDeliveries(
  store: Store,
  what: { ids: number[] } | { filter: DeliveryLogFilter },
  now: number,
): Promise<ReplayAnswer> {
  let rows: StoredDelivery[];
  let more = false;
  const skipped: ReplayAnswer['skipped'] = [];
  if ('ids' in what) {
    // The log pages by id: each wanted id is the newest row below id + 1.
    rows = [];
    for (const id of new Set(what.ids)) {
      const [row] = await store.deliveryLog.list({ beforeId: id + 1, limit: 1 });
      if (row?.id === id) rows.push(row);
      else skipped.push({ id, reason: 'no delivery with this id (pruned, or never written)' });
    }
  } else {
    rows = await store.deliveryLog.list({ ...what.filter, limit: MAX_REPLAY_ROWS + 1 });
    more = rows.length > MAX_REPLAY_ROWS;
    rows = rows.slice(0, MAX_REPLAY_ROWS);
  }
  const failed = new Map((await listFailedDeliveries(store)).map((f) => [f.id, f]));
  const wanted = new Map<string, FailedDelivery>();
  const replayed: number[] = [];
  for (const row of rows) {
    const job = failed.get(row.jobId);
    if (job === undefined) {
      skipped.push({ id: row.id, reason: whyNotReplayable(row) });
      continue;
    }
    wanted.set(job.id, job);
    replayed.push(row.id);
  }
  const { released } =
    wanted.size === 0 ? { released: 0 } : await replayFailed(store, [...wanted.values()], [], now);
  return { replayed: replayed.length, replayedIds: replayed, skipped, released, more };
}

function whyNotReplayable(row: StoredDelivery): string {
  if (row.outcome === 'sent' || row.outcome === 'dry_run' || row.outcome === 'duplicate') {
    return `it was ${row.outcome === 'dry_run' ? 'recorded in dry-run mode' : row.outcome}; only failed deliveries are replayed`;
  }
  if (row.outcome === 'skipped') {
    return 'it was skipped, not failed: fix the cause (the reason says it) and the next change of the deal sends it';
  }
  if (row.outcome === 'retrying') return 'it is still being retried';
  return 'its delivery job is no longer failed (replayed already, or pruned from the queue)';
}
