/**
 * What every console page's script shares: the labels the server rendered into the page, calls to
 * /api/v1 (the CSRF token from <meta name="csrf-token"> in X-CSRF-Token on every POST; 401 sends
 * the browser to the login page), element helpers and number, money and date formatting in the
 * page's language.
 */

const consoleLabels: Record<string, string> = JSON.parse(
  document.getElementById('console-labels')?.textContent ?? '{}',
) as Record<string, string>;

const pageLang = document.body.getAttribute('data-lang') === 'ru' ? 'ru-RU' : 'en-GB';

function t(key: string, vars?: Record<string, string | number>): string {
  let text = consoleLabels[key] ?? key;
  for (const [name, value] of Object.entries(vars ?? {})) {
    text = text.replace(`{${name}}`, String(value));
  }
  return text;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

async function callApi<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method === 'POST') {
    headers['content-type'] = 'application/json';
    headers['x-csrf-token'] =
      document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  }
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) {
    window.location.assign('/console/login');
    throw new ApiError(401, 'unauthorized');
  }
  const text = await res.text();
  const parsed = parseJson(text);
  if (!res.ok) {
    const error = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, error?.message ?? error?.code ?? `HTTP ${res.status}`);
  }
  return parsed as T;
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** The message a failed call shows: the refusal of a stale page, or what the server said. */
function describeFailure(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) return t('common.forbidden');
  return t('common.error') + (e instanceof Error ? e.message : String(e));
}

function byId<T extends HTMLElement = HTMLElement>(id: string): T | null {
  return document.getElementById(id) as T | null;
}

/** An element with text content (never HTML: every value from the API is text). */
function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string | null>
): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) {
    if (child !== null) node.append(child);
  }
  return node;
}

function setStatus(text: string, kind: 'info' | 'error' = 'info', id = 'status'): void {
  const status = byId(id);
  if (!status) return;
  status.textContent = text;
  status.className = `status status-${kind}`;
}

/** Appends a row to a table's body; each cell carries its column's label for the narrow layout. */
function addRow(table: HTMLTableElement, cells: Array<Node | string>): HTMLTableRowElement {
  const labels = Array.from(table.tHead?.rows[0]?.cells ?? []).map((c) => c.textContent ?? '');
  const row = document.createElement('tr');
  cells.forEach((cell, i) => row.append(h('td', { 'data-label': labels[i] ?? '' }, cell)));
  table.tBodies[0]?.append(row);
  return row;
}

function clearRows(table: HTMLTableElement): void {
  const body = table.tBodies[0];
  if (body) body.textContent = '';
}

function formatNumber(n: number): string {
  return new Intl.NumberFormat(pageLang).format(n);
}

function formatMoney(value: number | string | null | undefined, currency?: string | null): string {
  if (value === null || value === undefined || value === '') return '';
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (!currency) return new Intl.NumberFormat(pageLang, { maximumFractionDigits: 2 }).format(n);
  try {
    return new Intl.NumberFormat(pageLang, { style: 'currency', currency }).format(n);
  } catch {
    return `${n} ${currency}`;
  }
}

function formatTime(at: string | number | null | undefined): string {
  if (at === null || at === undefined || at === '') return '';
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  return date.toLocaleString(pageLang, { dateStyle: 'short', timeStyle: 'medium' });
}

function dealLink(dealId: string): HTMLElement {
  return h('a', { href: `/console/deals/${encodeURIComponent(dealId)}` }, dealId);
}

/** Readable text for a redacted payload or answer: pretty JSON, or the text itself. */
function showDetail(detail: unknown): string {
  if (typeof detail === 'string') {
    try {
      return JSON.stringify(JSON.parse(detail), null, 2);
    } catch {
      return detail;
    }
  }
  return JSON.stringify(detail, null, 2);
}

/** A button that copies a text to the clipboard (where the browser allows it). */
function copyButton(text: string): HTMLElement {
  const button = h('button', { type: 'button', class: 'secondary copy' }, t('common.copy'));
  button.addEventListener('click', () => {
    navigator.clipboard?.writeText(text).then(
      () => (button.textContent = t('common.copied')),
      () => undefined,
    );
  });
  return button;
}
