/**
 * Reading what the GA4 stand-in received, in tests where each deal's visitor has the deal id as the
 * first part of its client id (`GA1.1.<deal>.1700000000`), so every request names its deal.
 */
import type { Ga4StandInRequest } from './ga4-stand-in';

export interface Ga4Event {
  name: string;
  params: { transaction_id?: string };
}

export function eventsOf(r: Ga4StandInRequest): Ga4Event[] {
  return (r.json as { events: Ga4Event[] }).events;
}

/** The deal a request is about: its client id's first part. */
export function dealOf(r: Ga4StandInRequest): string {
  return String((r.json as { client_id?: string }).client_id ?? '?').split('.')[0] as string;
}

/** How many times each deal's event of this name arrived. */
export function countEvents(requests: Ga4StandInRequest[], name: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    for (const e of eventsOf(r)) {
      if (e.name === name) counts.set(dealOf(r), (counts.get(dealOf(r)) ?? 0) + 1);
    }
  }
  return counts;
}
