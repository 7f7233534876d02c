/**
 * DealTrace: what closeloop saw and decided for one deal, step by step, for the console's deal
 * page ("why is deal 4711 not in GA4?"): each webhook or reconciliation event as it arrived, the
 * CRM API reads, which rules matched or why none did, the identities found. What was sent and each
 * answer are the delivery log's (delivery-log.ts); the page interleaves both by time.
 *
 * Contract:
 * - `record` appends steps to the deal's trail, durable when it resolves. A trail keeps at most
 *   `maxStepsPerDeal` steps (the oldest go first), and a step's `detail` is cut to
 *   `MAX_TRACE_DETAIL_CHARS` of JSON: a deal moved back and forth all year stays small.
 * - Trails are pruned by age (a trail whose newest step is older than `maxAgeMs` goes) and by the
 *   number of deals kept (`maxDeals`, the least recently touched go first), like the delivery log.
 * - `list` returns the deal's steps oldest first; an unknown deal has none.
 * - `wonDeals(since, until)` names the deals with a step marked `won` in that time (a deal seen
 *   reaching a won stage), for the console's "won in the CRM vs accepted" funnel; at most `limit`.
 * - Detail holds no secret: the caller records the deal model (ids, stages, identities, amounts),
 *   never tokens or webhook URLs.
 * Out of scope: search across deals (the delivery log has that).
 */
export const TRACE_STEP_KINDS = [
  'webhook',
  'api_read',
  'rule',
  'identities',
  'sent',
  'answer',
  'skipped',
  'failed',
] as const;
export type TraceStepKind = (typeof TRACE_STEP_KINDS)[number];

export interface TraceStep {
  at: number;
  kind: TraceStepKind;
  /** One line for a person: `stage changed to 142 (won)`. */
  title: string;
  /** JSON-able facts behind the title; null when the title says it all. */
  detail: unknown;
  /** The deal was seen won at this step (it counts in `wonDeals`). */
  won?: boolean;
}

export interface DealTraceLimits {
  maxStepsPerDeal: number;
  maxDeals: number;
  /** Trails whose newest step is older than this are removed; Infinity: none by age. */
  maxAgeMs: number;
}

export const DEFAULT_TRACE_LIMITS: DealTraceLimits = {
  maxStepsPerDeal: 200,
  maxDeals: 100_000,
  maxAgeMs: Number.POSITIVE_INFINITY,
};

/** A step's detail is cut to this much JSON; the cut says so. */
export const MAX_TRACE_DETAIL_CHARS = 16_384;

/** The detail as stored: JSON text, or a note in its place when it is too long. */
export function traceDetailText(detail: unknown): string | null {
  if (detail === undefined || detail === null) return null;
  const text = JSON.stringify(detail);
  if (text.length <= MAX_TRACE_DETAIL_CHARS) return text;
  return JSON.stringify({
    truncated: true,
    chars: text.length,
    start: text.slice(0, MAX_TRACE_DETAIL_CHARS - 200),
  });
}

export interface DealTrace {
  record(dealId: string, steps: readonly TraceStep[]): Promise<void>;
  list(dealId: string): Promise<TraceStep[]>;
  wonDeals(since: number, until: number, limit: number): Promise<string[]>;
}
