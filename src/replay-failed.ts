/**
 * Replaying failed jobs, for `closeloop replay` and the console alike: failed deliveries listed
 * with their payloads read as today's, sent again through the rules as they are now, and held
 * (uncertain) conversions settled. Works on the store alone.
 */
import type { DeliveryJobPayload, InboundJobPayload } from './ports/job-payloads';
import type { Store } from './ports/store';
import { ledgerKey } from './core/map-deal-event';
import { AMOCRM_LEGACY_PAYLOADS } from './adapters/crm/amocrm/legacy-payloads';

/** The most failed jobs listed at once. */
export const FAILED_LIST_LIMIT = 10_000;

/** A failed delivery job as listed, its payload read as today's. */
export type FailedDelivery = Awaited<ReturnType<typeof listFailedDeliveries>>[number];

/** Failed delivery jobs, newest first, their payloads read as today's (legacy-payloads.ts). */
export async function listFailedDeliveries(store: Store, limit = FAILED_LIST_LIMIT) {
  return (await store.queue.listFailed('deliver', limit)).map((f) => ({
    ...f,
    payload: AMOCRM_LEGACY_PAYLOADS.delivery(f.payload),
  }));
}

/**
 * Replays failed deliveries (and lead creations): their held conversions released, their lead
 * events put back through the rules as they are now, the failed jobs removed. The one way to
 * replay, for `closeloop replay` (cli/replay.ts) and the console (console/replay-deliveries.ts).
 */
export async function replayFailed(
  store: Store,
  wanted: readonly FailedDelivery[],
  wantedLeads: ReadonlyArray<{ id: string }>,
  now: number,
): Promise<{ removed: number; released: number; leads: number }> {
  const released = await settleUncertain(store, wanted, 'unsent', now);
  // Enqueue first, remove second: a crash in between leaves a duplicate job, which the ledger
  // makes harmless, never a lost one.
  if (wanted.length > 0) {
    await store.queue.add<InboundJobPayload>(
      'inbound',
      wanted.map((f) => ({ id: `replay:${f.id}:${now}`, payload: f.payload.origin })),
    );
  }
  const removed =
    wanted.length === 0
      ? 0
      : await store.queue.removeFailed(
          'deliver',
          wanted.map((f) => f.id),
        );
  // A lead creation is tried again as it was: nothing was created when it failed for good.
  const leads =
    wantedLeads.length === 0
      ? 0
      : await store.queue.retryFailed(
          'create_lead',
          wantedLeads.map((f) => f.id),
        );
  return { removed, released, leads };
}

/**
 * Settles the held conversions of these deliveries: `unsent` lets them go (a replay sends them),
 * `sent` records them as sent for good. Their `uncertain` rows in the delivery log, which would
 * otherwise stay pending, are settled too. Returns how many conversions were held.
 */
export async function settleUncertain(
  store: Store,
  failed: ReadonlyArray<{ id: string; payload: DeliveryJobPayload }>,
  arrived: 'sent' | 'unsent',
  now: number,
): Promise<number> {
  let held = 0;
  for (const f of failed) {
    const keys = f.payload.conversions.map((c) => ledgerKey(f.payload.destination, c.key));
    held += await store.ledger.settleUncertain(keys, arrived, now);
    const rows = await store.deliveryLog.list({
      dealId: f.payload.deal.dealId,
      account: f.payload.account,
      outcome: 'uncertain',
      limit: 100,
    });
    const when = new Date(now).toISOString();
    for (const row of rows.filter((r) => r.jobId === f.id)) {
      const { id: _id, firstAt: _firstAt, ...record } = row;
      await store.deliveryLog.record({
        ...record,
        key: row.key ?? `${f.id}:uncertain`,
        at: now,
        ...(arrived === 'sent'
          ? {
              outcome: 'sent',
              reason: `${row.reason ?? ''}; found in GA4 and recorded as sent at ${when}`,
            }
          : {
              outcome: 'skipped',
              reason: `${row.reason ?? ''}; replayed at ${when} (the replay's rows say what was sent)`,
            }),
      });
    }
  }
  return held;
}
