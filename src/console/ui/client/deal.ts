/**
 * The deal trace page: GET /api/v1/deals/:id as a timeline, oldest first (each webhook, API read,
 * rule decision, identities, payload sent and answer), and the deal's rows of the delivery log.
 * A skip or a failure shows its detail open, since the reason is what the reader came for.
 */

interface TraceStep {
  at: string | number;
  kind: string;
  title: string;
  detail?: unknown;
}

const OPEN_KINDS = ['skipped', 'failed', 'rule'];

function stepItem(step: TraceStep): HTMLElement {
  const item = h(
    'li',
    { class: `step step-${step.kind}`, 'data-kind': step.kind },
    h('time', {}, formatTime(step.at)),
    h('span', { class: `badge kind-${step.kind}` }, t(`step.${step.kind}`)),
    h('span', { class: 'step-title' }, step.title),
  );
  if (step.detail !== undefined && step.detail !== null && step.detail !== '') {
    const details = h(
      'details',
      {},
      h('summary', {}, t('deal.detail')),
      h('pre', { class: 'code' }, showDetail(step.detail)),
    );
    if (OPEN_KINDS.includes(step.kind)) details.setAttribute('open', '');
    item.append(details);
  }
  return item;
}

function startDealPage(dealId: string): void {
  const timeline = byId('timeline');
  setStatus(t('common.loading'));
  callApi<{ dealId: string; steps: TraceStep[] }>(
    'GET',
    `/api/v1/deals/${encodeURIComponent(dealId)}`,
  ).then(
    (trace) => {
      setStatus(trace.steps.length === 0 ? t('deal.empty') : '');
      for (const step of trace.steps) timeline?.append(stepItem(step));
    },
    (e: unknown) => setStatus(describeFailure(e), 'error'),
  );
  const table = byId<HTMLTableElement>('table-deliveries');
  if (table) {
    showDeliveries(table, { deal: dealId }, null, 'deliveries-status').catch((e: unknown) =>
      setStatus(describeFailure(e), 'error', 'deliveries-status'),
    );
  }
}
