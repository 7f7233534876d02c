/**
 * Lifting a stopped Metrica queue (`closeloop metrica resume`), once the operator fixed what the
 * refusal named (the token, its scopes, the counter id, a goal).
 *
 * For each stopped queue (of one counter, or all): the batch whose refusal stopped it, when Metrica
 * refused it for good (400, so it was never accepted, no upload id), has its conversions put back to
 * pending (ConversionOutbox.requeue: atomic, each conversion in one place, a second resume moves
 * nothing) and their delivery rows say so; a batch still waiting (401, 403, 404) is simply tried
 * again, comment lookup first as after any attempt. Then the stop is lifted; a running service
 * sees it at its next tick (about a second), on either store.
 */
import type { ConversionOutbox, QueueStop } from '../../../ports/conversion-outbox';
import type { DeliveryLog } from '../../../ports/delivery-log';
import { recordEntries } from './metrica-delivery-rows';

export interface ResumedQueue extends QueueStop {
  /** Conversions of the refused batch queued again. */
  requeued: number;
}

export async function resumeMetricaQueues(
  deps: { outbox: ConversionOutbox; deliveryLog: DeliveryLog; now: () => number },
  counterId?: string,
): Promise<ResumedQueue[]> {
  const { outbox, deliveryLog, now } = deps;
  const out: ResumedQueue[] = [];
  for (const stop of await outbox.stops()) {
    if (counterId !== undefined && stop.target !== counterId) continue;
    let requeued = 0;
    if (stop.batchId !== null) {
      const entries = await outbox.entries(stop.batchId);
      requeued = await outbox.requeue(stop.batchId, now());
      if (requeued > 0) {
        await recordEntries(
          deliveryLog,
          now(),
          entries,
          'retrying',
          null,
          `queued again by closeloop metrica resume (Metrica had refused batch ${stop.batchId}, so none of it was counted); this row shows the upload once known`,
          { batch: stop.batchId },
        );
      }
    }
    const lifted = await outbox.resume(stop.queue);
    if (lifted !== null) out.push({ ...stop, requeued });
  }
  return out;
}
