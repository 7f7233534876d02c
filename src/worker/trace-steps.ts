/**
 * What an inbound job saw and decided, as deal-trace steps (src/ports/deal-trace.ts): the event as
 * it arrived, how the deal was read, which rules matched (or why none did), the identities found.
 * Pure. The deal's own fields stay out (they may hold a visitor's name or phone); ids, stages,
 * amounts and identities are what a person needs to see why a deal went where it went.
 */
import { describeLookup, type DealEvent } from '../core/deal';
import type { MapResult } from '../core/map-deal-event';
import type { TraceStep } from '../ports/deal-trace';
import type { InboundJobPayload } from '../ports/job-payloads';

export function traceStepsOf(
  payload: InboundJobPayload,
  event: DealEvent,
  mapped: MapResult | null,
  at: number,
): TraceStep[] {
  const raw = payload.event;
  const stage = raw.deal.stageId === null ? '' : ` → stage ${raw.deal.stageId}`;
  const steps: TraceStep[] = [
    {
      at: payload.receivedAt ?? at,
      kind: 'webhook',
      title: `${raw.source} ${raw.kind}${stage}${raw.deal.outcome ? ` (${raw.deal.outcome})` : ''}`,
      detail: {
        account: payload.account,
        source: raw.source,
        crmAccount: raw.account,
        kind: raw.kind,
        previous: raw.previous,
        occurredAt: raw.occurredAt,
        deal: {
          ...raw.deal,
          fields: raw.deal.fields === null ? null : `${raw.deal.fields.length} fields`,
        },
      },
    },
  ];
  if (event.lookup !== undefined) {
    steps.push({
      at,
      kind: 'api_read',
      title: `the deal was ${describeLookup(event.lookup)}`,
      detail: {
        lookup: event.lookup,
        pipelineId: event.deal.pipelineId,
        stageId: event.deal.stageId,
        outcome: event.deal.outcome,
        amount: event.deal.amount,
      },
    });
  }
  steps.push({
    at,
    kind: 'identities',
    title: identitiesTitle(event),
    detail: event.deal.identities,
  });
  if (mapped !== null) {
    steps.push({
      at,
      kind: 'rule',
      title:
        mapped.matchedRules.length === 0
          ? `no rule matches ${event.kind} in pipeline ${event.deal.pipelineId ?? '?'}, stage ${event.deal.stageId ?? '?'}`
          : `rule${mapped.matchedRules.length === 1 ? '' : 's'} ${mapped.matchedRules.map((r) => `"${r}"`).join(', ')} matched: ${mapped.conversions.map((c) => c.event.name).join(', ') || 'nothing to send'}`,
      detail: {
        matchedRules: mapped.matchedRules,
        conversions: mapped.conversions.map((c) => ({
          event: c.event.name,
          params: c.event.params,
        })),
        skipped: mapped.skipped,
      },
    });
  }
  // The deal counts as won in the CRM once seen in a won stage (the funnel's first number).
  if (event.deal.outcome === 'won') steps[steps.length - 1]!.won = true;
  return steps;
}

function identitiesTitle(event: DealEvent): string {
  const found = Object.entries(event.deal.identities)
    .filter(
      ([, v]) =>
        v !== null &&
        v !== undefined &&
        !(typeof v === 'object' && Object.keys(v as object).length === 0),
    )
    .map(([k]) => k);
  return found.length === 0
    ? 'no identities found on the deal'
    : `identities found: ${found.join(', ')}`;
}
