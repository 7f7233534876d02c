/**
 * The four console pages after login: the same header (navigation, a deal-id jump, log out) around
 * a page body whose structure is rendered here and whose data the page script fetches from
 * /api/v1 (see page-bodies.ts). The CSRF token travels in <meta name="csrf-token">; the script
 * sends it as X-CSRF-Token on every POST, and the log-out form sends it as `csrf_token`.
 */
import { ASSETS, escapeHtml, jsonBlock, renderDocument } from './html';
import { labelsFor, type LabelKey, type Labels } from './labels';
import { pageBody } from './page-bodies';
import type { ConsoleLanguage } from './pick-language';

export type AppPage = 'overview' | 'deliveries' | 'deal' | 'setup';

export interface AppPageOptions {
  lang: ConsoleLanguage;
  csrfToken: string;
  /** The deal id of /console/deals/:id (page 'deal'). */
  dealId?: string;
}

const NAV: Array<{ page: AppPage; href: string; label: LabelKey }> = [
  { page: 'overview', href: '/console', label: 'nav.overview' },
  { page: 'deliveries', href: '/console/deliveries', label: 'nav.deliveries' },
  { page: 'setup', href: '/console/setup', label: 'nav.setup' },
];

export function renderAppPage(page: AppPage, opts: AppPageOptions): string {
  const t = labelsFor(opts.lang);
  const dealId = opts.dealId ?? '';
  const title =
    page === 'deal' ? t['deal.title'].replace('{id}', dealId) : t[`${page}.title` as LabelKey];
  const csrf = escapeHtml(opts.csrfToken);
  const body =
    header(page, t, csrf, dealId) +
    `<main id="app" class="page page-${page}" data-page="${page}" data-deal-id="${escapeHtml(dealId)}">` +
    `<h1>${escapeHtml(title)}</h1>${pageBody(page, t)}</main>` +
    jsonBlock('console-labels', t);
  // uPlot (from node_modules, copied beside the page script at build) only where charts are drawn.
  const scripts = page === 'overview' ? ['uPlot.iife.min.js', 'console.js'] : ['console.js'];
  const head =
    `<meta name="csrf-token" content="${csrf}">` +
    (page === 'overview' ? `<link rel="stylesheet" href="${ASSETS}/uPlot.min.css">` : '');
  return renderDocument({
    lang: opts.lang,
    title: `${title} · ${t['app.title']}`,
    head,
    bodyAttributes: `data-lang="${opts.lang}"`,
    body,
    scripts,
  });
}

function header(page: AppPage, t: Labels, csrf: string, dealId: string): string {
  const links = NAV.map(
    (item) =>
      `<a href="${item.href}"${item.page === page ? ' aria-current="page"' : ''}>${escapeHtml(t[item.label])}</a>`,
  ).join('');
  return (
    `<header class="top"><a class="brand" href="/console">closeloop</a>` +
    `<nav class="nav">${links}</nav>` +
    `<form class="deal-jump" id="deal-jump" method="get" action="/console/deliveries" role="search">` +
    `<input name="deal" aria-label="${escapeHtml(t['nav.dealJump'])}" placeholder="${escapeHtml(t['nav.dealJump'])}" value="${escapeHtml(dealId)}" maxlength="64">` +
    `<button type="submit">${escapeHtml(t['nav.dealGo'])}</button></form>` +
    `<form class="logout" method="post" action="/console/logout">` +
    `<input type="hidden" name="csrf_token" value="${csrf}">` +
    `<button type="submit" class="link">${escapeHtml(t['nav.logout'])}</button></form></header>`
  );
}
