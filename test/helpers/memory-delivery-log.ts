/** A delivery log in memory, for handler tests (the stores have contract tests of their own). */
import {
  zeroCounts,
  type DeliveryLog,
  type DeliveryRecord,
  type StoredDelivery,
} from '../../src/ports/delivery-log';

export function memoryDeliveryLog(): DeliveryLog & { rows: DeliveryRecord[] } {
  const rows: DeliveryRecord[] = [];
  return {
    rows,
    record: (r) => {
      rows.push(r);
      return Promise.resolve();
    },
    list: () =>
      Promise.resolve(
        rows.map((r, i): StoredDelivery => ({ ...r, id: i + 1, firstAt: r.at })).reverse(),
      ),
    counts: () => {
      const counts = zeroCounts();
      for (const r of rows) counts[r.outcome]++;
      return Promise.resolve(counts);
    },
  };
}
