/**
 * GET /api/v1/overview: conversions and revenue per day, by event, by destination, by UTM source
 * and medium, and the funnel of deals won in the CRM against those a destination accepted, with
 * the gap by reason. Computed from the delivery log's rows of the period (read in pages, at most
 * MAX_OVERVIEW_ROWS) and the deals the trace saw won.
 *
 * Counted: a conversion is an event of a row a destination accepted (sent, or dry run); revenue
 * is the money of those rows' sales (an amount with a transaction id: a purchase, a refund
 * negative), once per deal and transaction id however many destinations got it
 * (GA4 and Metrica both taking one purchase is one sale).
 */
import type { DealTrace } from '../ports/deal-trace';
import type { DeliveryLog, StoredDelivery } from '../ports/delivery-log';
import { moneyOf } from './payload-facts';

const DAY_MS = 86_400_000;
/** The most rows an overview reads; past it, `truncated` says so. */
export const MAX_OVERVIEW_ROWS = 500_000;
const PAGE = 5000;

export interface Overview {
  currency: string | null;
  days: Array<{
    date: string;
    conversions: number;
    revenue: number;
    byEvent: Record<string, number>;
    byDestination: Record<string, number>;
  }>;
  bySource: Array<{
    utm_source: string | null;
    utm_medium: string | null;
    conversions: number;
    revenue: number;
  }>;
  funnel: {
    won: number;
    accepted: number;
    gap: {
      no_client_id: number;
      skipped_by_rule: number;
      /** Too late for the destination to count (Metrica: more than 21 days). */
      expired: number;
      failed: number;
      uncertain: number;
      pending: number;
    };
  };
  truncated: boolean;
}

type Gap = keyof Overview['funnel']['gap'];

const ACCEPTED = new Set(['sent', 'dry_run']);

export async function buildOverview(
  log: DeliveryLog,
  trace: DealTrace,
  days: number,
  now: number,
  defaultCurrency: string | null,
): Promise<Overview> {
  const firstDay = Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const dayRows = new Map<number, Overview['days'][number]>();
  for (let d = 0; d < days; d++) {
    const t = firstDay + d * DAY_MS;
    dayRows.set(t, {
      date: new Date(t).toISOString().slice(0, 10),
      conversions: 0,
      revenue: 0,
      byEvent: {},
      byDestination: {},
    });
  }
  const sources = new Map<string, Overview['bySource'][number]>();
  const counted = new Set<string>();
  const currencies = new Map<string, number>();
  const perDeal = new Map<string, Set<string>>();
  let read = 0;
  let beforeId: number | undefined;
  let truncated = false;
  for (;;) {
    const rows = await log.list({ since: firstDay, beforeId, limit: PAGE });
    for (const r of rows) {
      // A new deal's lead event says nothing of whether its win reached anyone.
      if (r.kind !== 'created') note(perDeal, r);
      if (!ACCEPTED.has(r.outcome)) continue;
      const day = dayRows.get(Math.floor(r.firstAt / DAY_MS) * DAY_MS);
      if (day === undefined) continue;
      const revenue = revenueOf(r, counted, currencies);
      day.conversions += r.events.length;
      day.revenue += revenue;
      for (const e of r.events) day.byEvent[e] = (day.byEvent[e] ?? 0) + 1;
      const dest = r.destination ?? 'none';
      day.byDestination[dest] = (day.byDestination[dest] ?? 0) + r.events.length;
      const key = `${r.utm?.source ?? ''}\u0000${r.utm?.medium ?? ''}`;
      const s = sources.get(key) ?? {
        utm_source: r.utm?.source ?? null,
        utm_medium: r.utm?.medium ?? null,
        conversions: 0,
        revenue: 0,
      };
      s.conversions += r.events.length;
      s.revenue += revenue;
      sources.set(key, s);
    }
    read += rows.length;
    if (rows.length < PAGE) break;
    if (read >= MAX_OVERVIEW_ROWS) {
      truncated = true;
      break;
    }
    beforeId = rows[rows.length - 1]!.id;
  }
  const won = await trace.wonDeals(firstDay, now + 1, 100_000);
  const funnel: Overview['funnel'] = {
    won: won.length,
    accepted: 0,
    gap: { no_client_id: 0, skipped_by_rule: 0, expired: 0, failed: 0, uncertain: 0, pending: 0 },
  };
  for (const deal of won) {
    const verdict = verdictOf(perDeal.get(deal));
    if (verdict === 'accepted') funnel.accepted++;
    else funnel.gap[verdict]++;
  }
  const currency = [...currencies.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? defaultCurrency;
  return {
    currency,
    days: [...dayRows.values()].map((d) => ({ ...d, revenue: round(d.revenue) })),
    bySource: [...sources.values()]
      .map((s) => ({ ...s, revenue: round(s.revenue) }))
      .sort((a, b) => b.conversions - a.conversions),
    funnel,
    truncated,
  };
}

/** What happened to a deal, by its rows' outcomes and codes. */
function note(perDeal: Map<string, Set<string>>, r: StoredDelivery): void {
  const seen = perDeal.get(r.dealId) ?? new Set<string>();
  if (ACCEPTED.has(r.outcome)) seen.add('accepted');
  else if (r.outcome === 'skipped' && /NO_CLIENT_ID|CLIENT_ID_INVALID|IDENTITY/.test(r.code ?? ''))
    seen.add('no_client_id');
  else if (r.outcome === 'skipped' || r.outcome === 'duplicate') seen.add('skipped_by_rule');
  else if (r.outcome === 'retrying') seen.add('pending');
  else seen.add(r.outcome);
  perDeal.set(r.dealId, seen);
}

/** The best a won deal got: accepted anywhere, else the gap reason nearest to accepted. */
function verdictOf(seen: Set<string> | undefined): 'accepted' | Gap {
  if (seen === undefined) return 'pending'; // won, not yet processed
  for (const v of [
    'accepted',
    'pending',
    'uncertain',
    'failed',
    'expired',
    'no_client_id',
    'skipped_by_rule',
  ] as const) {
    if (seen.has(v)) return v;
  }
  return 'skipped_by_rule';
}

function revenueOf(
  r: StoredDelivery,
  counted: Set<string>,
  currencies: Map<string, number>,
): number {
  let sum = 0;
  for (const m of moneyOf(r.payload)) {
    // A sale has a transaction id; a lead event's value (close_convert_lead) is not revenue.
    if (m.transactionId === null) continue;
    const key = `${r.dealId}\u0000${m.transactionId}\u0000${m.refund ? 'refund' : 'sale'}`;
    if (counted.has(key)) continue;
    counted.add(key);
    currencies.set(m.currency, (currencies.get(m.currency) ?? 0) + 1);
    sum += m.refund ? -Math.abs(m.value) : m.value;
  }
  return sum;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
