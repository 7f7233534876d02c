/**
 * The overview page: GET /api/v1/overview?days=30 drawn as two uPlot charts (conversions as bars,
 * revenue as a line, per day), totals, the won-versus-accepted gap by reason and the breakdowns by
 * event, destination and utm_source / utm_medium. Every total shown carries its exact number in
 * `data-value`, so a test compares it with the log without parsing formatted text.
 */

interface OverviewDay {
  date: string;
  conversions: number;
  revenue: number;
  byEvent: Record<string, number>;
  byDestination: Record<string, number>;
}

interface Overview {
  currency: string | null;
  days: OverviewDay[];
  bySource: Array<{
    utm_source: string | null;
    utm_medium: string | null;
    conversions: number;
    revenue: number;
  }>;
  funnel: { won: number; accepted: number; gap: Record<string, number> };
}

const GAP_REASONS = [
  'no_client_id',
  'skipped_by_rule',
  'expired',
  'failed',
  'uncertain',
  'pending',
];

function setKpi(id: string, value: number, text: string): void {
  const node = byId(id);
  if (!node) return;
  node.textContent = text;
  node.setAttribute('data-value', String(value));
}

/** Sums one of the per-day breakdowns over the period, largest first. */
function sumBy(
  days: OverviewDay[],
  pick: (day: OverviewDay) => Record<string, number>,
): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const day of days) {
    for (const [name, n] of Object.entries(pick(day)))
      totals.set(name, (totals.get(name) ?? 0) + n);
  }
  return Array.from(totals.entries()).sort((a, b) => b[1] - a[1]);
}

function fillCounts(id: string, entries: Array<[string, number]>): void {
  const table = byId<HTMLTableElement>(id);
  if (!table) return;
  clearRows(table);
  for (const [name, n] of entries) {
    addRow(table, [name, formatNumber(n)]).setAttribute('data-value', String(n));
  }
  if (entries.length === 0) addRow(table, [t('common.empty'), '']);
}

const charts: uPlotTypes.Chart[] = [];

function drawChart(
  id: string,
  days: OverviewDay[],
  values: number[],
  label: string,
  bars: boolean,
  format: (n: number) => string,
): void {
  const target = byId(id);
  if (!target || typeof uPlot === 'undefined') return;
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const width = () => Math.max(280, target.clientWidth);
  const chart = new uPlot(
    {
      width: width(),
      height: 200,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{}, { size: 72, values: (_u, ticks) => ticks.map((v) => format(v)) }],
      series: [
        {},
        {
          label,
          stroke: '#1f6feb',
          fill: 'rgba(31, 111, 235, 0.25)',
          width: bars ? 0 : 2,
          paths: bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
          points: { show: !bars },
          value: (_u, v) => (v === null ? '' : format(v)),
        },
      ],
    },
    [xs, values],
    target,
  );
  charts.push(chart);
  window.addEventListener('resize', () => chart.setSize({ width: width(), height: 200 }));
}

function showOverview(o: Overview): void {
  const currency = o.currency ?? undefined;
  const conversions = o.days.reduce((sum, d) => sum + d.conversions, 0);
  const revenue = o.days.reduce((sum, d) => sum + d.revenue, 0);
  setKpi('kpi-conversions', conversions, formatNumber(conversions));
  setKpi('kpi-revenue', revenue, formatMoney(revenue, currency));
  setKpi('kpi-won', o.funnel.won, formatNumber(o.funnel.won));
  setKpi('kpi-accepted', o.funnel.accepted, formatNumber(o.funnel.accepted));

  drawChart(
    'chart-conversions',
    o.days,
    o.days.map((d) => d.conversions),
    t('overview.conversions'),
    true,
    formatNumber,
  );
  drawChart(
    'chart-revenue',
    o.days,
    o.days.map((d) => d.revenue),
    t('overview.revenue'),
    false,
    (n) => new Intl.NumberFormat(pageLang, { notation: 'compact' }).format(n),
  );

  const gap = byId<HTMLTableElement>('table-gap');
  if (gap) {
    clearRows(gap);
    for (const reason of GAP_REASONS) {
      const n = o.funnel.gap[reason] ?? 0;
      const row = addRow(gap, [t(`gap.${reason}`), formatNumber(n)]);
      row.setAttribute('data-reason', reason);
      row.setAttribute('data-value', String(n));
    }
  }
  fillCounts(
    'table-event',
    sumBy(o.days, (d) => d.byEvent),
  );
  fillCounts(
    'table-destination',
    sumBy(o.days, (d) => d.byDestination),
  );

  const sources = byId<HTMLTableElement>('table-source');
  if (sources) {
    clearRows(sources);
    for (const s of o.bySource) {
      addRow(sources, [
        s.utm_source ?? t('overview.noSource'),
        s.utm_medium ?? t('overview.noSource'),
        formatNumber(s.conversions),
        formatMoney(s.revenue, currency),
      ]);
    }
    if (o.bySource.length === 0) addRow(sources, [t('common.empty'), '', '', '']);
  }
}

function startOverviewPage(): void {
  setStatus(t('common.loading'));
  callApi<Overview>('GET', '/api/v1/overview?days=30').then(
    (o) => {
      setStatus('');
      showOverview(o);
    },
    (e: unknown) => setStatus(describeFailure(e), 'error'),
  );
}
