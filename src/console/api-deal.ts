/**
 * GET /api/v1/deals/:id: one deal's story in order. What was seen and decided comes from the deal
 * trace (webhooks, API reads, rules, identities); what was sent and answered from the delivery
 * log (the exact payload, each outcome and reason). Payloads and details are shown redacted.
 */
import type { DealTrace, TraceStepKind } from '../ports/deal-trace';
import type { DeliveryLog, StoredDelivery } from '../ports/delivery-log';
import { redactForDisplay } from './payload-facts';

export interface DealStep {
  at: string;
  kind: TraceStepKind;
  title: string;
  detail: unknown;
}

/** A deal's delivery rows shown at most (newest kept): the trace is bounded, and so is this. */
const MAX_DEAL_ROWS = 500;

export async function dealStory(
  dealId: string,
  trace: DealTrace,
  log: DeliveryLog,
): Promise<{ dealId: string; steps: DealStep[] }> {
  const [traced, rows] = await Promise.all([
    trace.list(dealId),
    log.list({ dealId, limit: MAX_DEAL_ROWS }),
  ]);
  const steps: Array<{ at: number; order: number; step: Omit<DealStep, 'at'> }> = [];
  traced.forEach((s, i) =>
    steps.push({ at: s.at, order: i, step: { kind: s.kind, title: s.title, detail: s.detail } }),
  );
  // Oldest first; a row's first write is when its story started, its latest update its answer.
  [...rows].reverse().forEach((r, i) => {
    for (const s of rowSteps(r)) steps.push({ at: s.at, order: traced.length + i, step: s.step });
  });
  steps.sort((a, b) => a.at - b.at || a.order - b.order);
  return {
    dealId,
    steps: steps.map(({ at, step }) => ({
      at: new Date(at).toISOString(),
      ...step,
      detail: redactForDisplay(step.detail),
    })),
  };
}

function rowSteps(r: StoredDelivery): Array<{ at: number; step: Omit<DealStep, 'at'> }> {
  const to = r.destination ?? 'no destination';
  const events = r.events.join(', ') || '-';
  const answer = { outcome: r.outcome, code: r.code, reason: r.reason, attempts: r.attempts };
  switch (r.outcome) {
    case 'skipped':
    case 'duplicate':
    case 'expired':
      return [
        {
          at: r.at,
          step: {
            kind: 'skipped',
            title: `${events} → ${to}: ${r.outcome}${r.reason ? `: ${r.reason}` : ''}`,
            detail: { ...answer, payload: r.payload },
          },
        },
      ];
    default: {
      const sent = {
        at: r.firstAt,
        step: {
          kind: 'sent' as const,
          title: `${events} → ${to}${r.outcome === 'dry_run' ? ' (dry run: not sent)' : ''}`,
          detail: r.payload,
        },
      };
      const failed = r.outcome === 'failed' || r.outcome === 'uncertain';
      return [
        sent,
        {
          at: r.at,
          step: {
            kind: failed ? 'failed' : 'answer',
            title: `${to}: ${r.outcome}${r.code ? ` [${r.code}]` : ''}${r.reason ? `: ${r.reason}` : ''}`,
            detail: answer,
          },
        },
      ];
    }
  }
}
