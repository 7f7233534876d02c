/**
 * What became of outbox entries, written into their delivery-log rows: one record per row (the
 * conversions of one delivery job share a row, and its events list their goals). Used by the
 * upload loop and by `closeloop metrica resume`.
 */
import type { ErrorCode } from '../../../core/errors';
import type { OutboxEntry } from '../../../ports/conversion-outbox';
import type { DeliveryLog, DeliveryOutcome } from '../../../ports/delivery-log';
import type { DeliveryTrace } from '../../../ports/destination';

/** What to write: the entries, their outcome, code, reason and payload. */
export type EntriesRecord = [
  entries: readonly OutboxEntry[],
  outcome: DeliveryOutcome,
  code: ErrorCode | null,
  reason: string,
  payload: unknown,
];

export async function recordEntries(
  deliveryLog: DeliveryLog,
  at: number,
  ...[entries, outcome, code, reason, payload]: EntriesRecord
): Promise<void> {
  const rows = new Map<string, { trace: DeliveryTrace; events: string[] }>();
  for (const e of entries) {
    const trace = e.trace as DeliveryTrace | null;
    if (trace === null) continue;
    const key = trace.key ?? trace.jobId;
    const row = rows.get(key) ?? { trace, events: [] };
    row.events.push(e.target);
    rows.set(key, row);
  }
  for (const { trace, events } of rows.values()) {
    await deliveryLog.record({ ...trace, at, outcome, code, reason, events, payload });
  }
}
