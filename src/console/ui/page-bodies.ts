/**
 * The structure of each console page, rendered on the server so the page shows its frame at once;
 * the page script (client/console.ts) finds the elements by id and fills them from /api/v1.
 */
import { escapeHtml } from './html';
import type { LabelKey, Labels } from './labels';
import { DELIVERY_OUTCOMES } from '../../ports/delivery-log';

type Page = 'overview' | 'deliveries' | 'deal' | 'setup';

/** The delivery log's outcomes (src/ports/delivery-log.ts DELIVERY_OUTCOMES). */
const OUTCOMES = DELIVERY_OUTCOMES;

export function pageBody(page: Page, t: Labels): string {
  switch (page) {
    case 'overview':
      return overview(t);
    case 'deliveries':
      return deliveries(t);
    case 'deal':
      return deal(t);
    case 'setup':
      return setup(t);
  }
}

const e = (t: Labels, key: LabelKey) => escapeHtml(t[key]);

function status(): string {
  return `<p class="status" id="status" role="status" aria-live="polite"></p>`;
}

function table(id: string, t: Labels, columns: LabelKey[]): string {
  const head = columns.map((c) => `<th scope="col">${e(t, c)}</th>`).join('');
  return `<div class="table-wrap"><table id="${id}"><thead><tr>${head}</tr></thead><tbody></tbody></table></div>`;
}

function section(id: string, title: string, inner: string): string {
  return `<section class="card" id="${id}"><h2>${title}</h2>${inner}</section>`;
}

function overview(t: Labels): string {
  const kpi = (id: string, key: LabelKey) =>
    `<div class="kpi"><span class="kpi-label">${e(t, key)}</span><span class="kpi-value" id="${id}">–</span></div>`;
  return (
    `<p class="sub">${e(t, 'overview.period')}</p>${status()}` +
    `<div class="kpis">${kpi('kpi-conversions', 'overview.conversions')}${kpi('kpi-revenue', 'overview.revenue')}` +
    `${kpi('kpi-won', 'overview.won')}${kpi('kpi-accepted', 'overview.accepted')}</div>` +
    section(
      'per-day',
      `${e(t, 'overview.perDay')}`,
      `<h3>${e(t, 'overview.conversions')}</h3><div class="chart" id="chart-conversions"></div>` +
        `<h3>${e(t, 'overview.revenue')}</h3><div class="chart" id="chart-revenue"></div>`,
    ) +
    `<div class="grid">` +
    section(
      'gap',
      e(t, 'overview.gap'),
      table('table-gap', t, ['overview.col.reason', 'overview.col.deals']),
    ) +
    section(
      'by-event',
      e(t, 'overview.byEvent'),
      table('table-event', t, ['overview.col.event', 'overview.col.conversions']),
    ) +
    section(
      'by-destination',
      e(t, 'overview.byDestination'),
      table('table-destination', t, ['overview.col.destination', 'overview.col.conversions']),
    ) +
    section(
      'by-source',
      e(t, 'overview.bySource'),
      table('table-source', t, [
        'overview.col.source',
        'overview.col.medium',
        'overview.col.conversions',
        'overview.col.revenue',
      ]),
    ) +
    `</div>`
  );
}

function field(name: string, label: string, input: string): string {
  return `<label class="field" for="f-${name}"><span>${label}</span>${input}</label>`;
}

function text(name: string, type = 'text'): string {
  return `<input id="f-${name}" name="${name}" type="${type}" maxlength="200">`;
}

export const DELIVERY_COLUMNS: LabelKey[] = [
  'deliveries.col.at',
  'deliveries.col.deal',
  'deliveries.col.event',
  'deliveries.col.destination',
  'deliveries.col.outcome',
  'deliveries.col.attempts',
  'deliveries.col.value',
  'deliveries.col.reason',
  'deliveries.col.action',
];

function deliveries(t: Labels): string {
  const options = OUTCOMES.map(
    (o) => `<option value="${o}">${e(t, `outcome.${o}` as LabelKey)}</option>`,
  ).join('');
  const outcome = `<select id="f-outcome" name="outcome"><option value="">${e(t, 'deliveries.filter.any')}</option>${options}</select>`;
  return (
    `<form class="filters card" id="filters" method="get" action="/console/deliveries">` +
    field('outcome', e(t, 'deliveries.filter.outcome'), outcome) +
    field('event', e(t, 'deliveries.filter.event'), text('event')) +
    field('destination', e(t, 'deliveries.filter.destination'), text('destination')) +
    field('since', e(t, 'deliveries.filter.since'), text('since', 'date')) +
    field('until', e(t, 'deliveries.filter.until'), text('until', 'date')) +
    field('deal', e(t, 'deliveries.filter.deal'), text('deal')) +
    field('q', e(t, 'deliveries.filter.q'), text('q', 'search')) +
    `<div class="buttons"><button type="submit">${e(t, 'deliveries.filter.apply')}</button>` +
    `<a class="button secondary" href="/console/deliveries">${e(t, 'deliveries.filter.reset')}</a>` +
    `<a class="button secondary" id="csv" href="/api/v1/deliveries.csv" download>${e(t, 'deliveries.csv')}</a>` +
    `<button type="button" class="secondary" id="replay-all">${e(t, 'deliveries.replayAll')}</button></div></form>` +
    status() +
    table('table-deliveries', t, DELIVERY_COLUMNS) +
    `<p class="more"><button type="button" id="more" hidden>${e(t, 'deliveries.more')}</button></p>`
  );
}

function deal(t: Labels): string {
  return (
    status() +
    `<ol class="timeline" id="timeline"></ol>` +
    section(
      'deal-deliveries',
      e(t, 'deal.deliveries'),
      `<p class="status" id="deliveries-status" role="status"></p>` +
        table('table-deliveries', t, DELIVERY_COLUMNS),
    )
  );
}

function setup(t: Labels): string {
  return (
    status() +
    section(
      'problems',
      e(t, 'setup.problems'),
      `<p id="no-problems" hidden>${e(t, 'setup.noProblems')}</p>` +
        table('table-problems', t, ['setup.col.path', 'setup.col.message', 'setup.col.fix']),
    ) +
    section('webhooks', e(t, 'setup.webhooks'), `<ul class="copy-list" id="webhook-urls"></ul>`) +
    section('snippet', e(t, 'setup.snippet'), `<div class="copy-list" id="snippet-tag"></div>`) +
    section(
      'pipelines',
      e(t, 'setup.pipelines'),
      `<p id="no-pipelines" hidden>${e(t, 'setup.noPipelines')}</p><div id="pipeline-list"></div>`,
    ) +
    section(
      'actions',
      e(t, 'setup.actions'),
      `<form id="send-test" class="action"><h3>${e(t, 'setup.sendTest')}</h3>` +
        field('test-event', e(t, 'setup.sendTestEvent'), text('test-event')) +
        `<button type="submit">${e(t, 'setup.sendTestGo')}</button><div class="result" id="send-test-result" role="status"></div></form>` +
        `<form id="reconcile" class="action"><h3>${e(t, 'setup.reconcile')}</h3>` +
        `<button type="submit">${e(t, 'setup.reconcileGo')}</button><div class="result" id="reconcile-result" role="status"></div></form>`,
    ) +
    section('config', e(t, 'setup.config'), `<pre class="code" id="config-json"></pre>`)
  );
}
