/**
 * The deliveries page: filters from the address bar (the filter form is a plain GET form, so a
 * filtered view is a link to share), keyset pages of /api/v1/deliveries ("Load more" follows
 * nextCursor), the same filters on the CSV link, and replay of one row or of all matching rows
 * (POST /api/v1/replay, through the same ledger checks as `closeloop replay`).
 */

interface DeliveryRow {
  id: string | number;
  at: string;
  firstAt?: string;
  dealId: string;
  event: string;
  destination: string;
  outcome: string;
  attempts: number;
  reason?: string | null;
  value?: number | string | null;
  currency?: string | null;
  transactionId?: string | null;
}

interface DeliveryPage {
  rows: DeliveryRow[];
  nextCursor: string | null;
}

interface ReplayAnswer {
  /** The ids replayed (docs/api.md); a bare count is taken too. */
  replayed: Array<string | number> | number;
  skipped: Array<{ id: string | number; reason: string }>;
}

/** Outcomes `closeloop replay` takes (a failed or an interrupted send). */
const REPLAYABLE = ['failed', 'uncertain'];

const FILTERS = ['outcome', 'event', 'destination', 'since', 'until', 'deal', 'q'] as const;

function currentFilters(): Record<string, string> {
  const params = new URLSearchParams(window.location.search);
  const filters: Record<string, string> = {};
  for (const name of FILTERS) {
    const value = params.get(name)?.trim();
    if (value) filters[name] = value;
  }
  return filters;
}

function outcomeBadge(outcome: string): HTMLElement {
  return h('span', { class: `badge outcome-${outcome}` }, t(`outcome.${outcome}`));
}

function replayRowButton(row: DeliveryRow): HTMLElement {
  const button = h(
    'button',
    { type: 'button', class: 'secondary small replay' },
    t('deliveries.replay'),
  );
  button.setAttribute('data-id', String(row.id));
  button.addEventListener('click', () => void replay({ id: row.id }, button));
  return button;
}

function addDeliveryRow(table: HTMLTableElement, row: DeliveryRow): void {
  const tr = addRow(table, [
    formatTime(row.at),
    dealLink(row.dealId),
    row.event,
    row.destination,
    outcomeBadge(row.outcome),
    String(row.attempts),
    formatMoney(row.value, row.currency),
    row.reason ?? '',
    REPLAYABLE.includes(row.outcome) ? replayRowButton(row) : '',
  ]);
  tr.setAttribute('data-id', String(row.id));
  tr.setAttribute('data-outcome', row.outcome);
}

async function replay(
  body: { id: string | number } | { filter: Record<string, string> },
  button: HTMLElement,
): Promise<void> {
  button.setAttribute('disabled', '');
  try {
    const answer = await callApi<ReplayAnswer>('POST', '/api/v1/replay', body);
    const skipped = answer.skipped.map((s) => `${s.id}: ${s.reason}`).join('; ');
    setStatus(
      t('deliveries.replayed', {
        n: Array.isArray(answer.replayed) ? answer.replayed.length : answer.replayed,
      }) + (skipped ? ' ' + t('deliveries.replaySkipped', { list: skipped }) : ''),
    );
  } catch (e) {
    setStatus(describeFailure(e), 'error');
  } finally {
    button.removeAttribute('disabled');
  }
}

/** Loads pages of deliveries matching `filters` into `table`; returns when the first is shown. */
async function showDeliveries(
  table: HTMLTableElement,
  filters: Record<string, string>,
  more: HTMLElement | null,
  statusId = 'status',
): Promise<void> {
  let cursor: string | null = null;
  const report = (text: string, kind: 'info' | 'error' = 'info') => setStatus(text, kind, statusId);
  const load = async () => {
    const query = new URLSearchParams(filters);
    if (cursor) query.set('cursor', cursor);
    query.set('limit', '50');
    const page = await callApi<DeliveryPage>('GET', `/api/v1/deliveries?${query.toString()}`);
    for (const row of page.rows) addDeliveryRow(table, row);
    cursor = page.nextCursor;
    if (more) more.hidden = !cursor;
    if (!table.tBodies[0]?.rows.length) report(t('common.empty'));
  };
  more?.addEventListener('click', () => {
    more.setAttribute('disabled', '');
    load().then(
      () => more.removeAttribute('disabled'),
      (e: unknown) => report(describeFailure(e), 'error'),
    );
  });
  clearRows(table);
  report(t('common.loading'));
  await load();
  if (table.tBodies[0]?.rows.length) report('');
}

function startDeliveriesPage(): void {
  const filters = currentFilters();
  const form = byId<HTMLFormElement>('filters');
  for (const [name, value] of Object.entries(filters)) {
    const input = form?.elements.namedItem(name);
    if (input instanceof HTMLInputElement || input instanceof HTMLSelectElement)
      input.value = value;
  }
  const csv = byId<HTMLAnchorElement>('csv');
  if (csv) csv.href = `/api/v1/deliveries.csv?${new URLSearchParams(filters).toString()}`;
  const replayAll = byId('replay-all');
  replayAll?.addEventListener('click', () => {
    if (window.confirm(t('deliveries.replayAllConfirm')))
      void replay({ filter: filters }, replayAll);
  });
  const table = byId<HTMLTableElement>('table-deliveries');
  if (table) {
    showDeliveries(table, filters, byId('more')).catch((e: unknown) =>
      setStatus(describeFailure(e), 'error'),
    );
  }
}
