/**
 * GET /api/v1/deliveries and /api/v1/deliveries.csv: the delivery log filtered and paged by key
 * (`cursor` is the last row's id; a page costs the same however deep), and the same rows as CSV,
 * streamed page by page so an export of the whole log holds one page in memory.
 */
import type { Request, Response } from 'express';
import { AppError } from '../core/errors';
import {
  DELIVERY_OUTCOMES,
  type DeliveryLog,
  type DeliveryLogFilter,
  type DeliveryOutcome,
  type StoredDelivery,
} from '../ports/delivery-log';
import { moneyOf } from './payload-facts';

export const DEFAULT_PAGE_ROWS = 50;
export const MAX_PAGE_ROWS = 500;
/** An export stops here; the last line says so. */
export const MAX_CSV_ROWS = 200_000;

export interface DeliveryRow {
  id: number;
  at: string;
  firstAt: string;
  dealId: string;
  event: string;
  destination: string | null;
  outcome: DeliveryOutcome;
  attempts: number;
  code: string | null;
  reason: string | null;
  value: number | null;
  currency: string | null;
  transactionId: string | null;
  utmSource: string | null;
  utmMedium: string | null;
}

/** The filter of a query string; a bad value is a 400 naming it. */
export function parseDeliveryQuery(query: Request['query']): DeliveryLogFilter {
  const text = (name: string, max = 200): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string' || v.length > max)
      throw badRequest(`${name} must be one text of at most ${max} characters`);
    return v;
  };
  const outcome = text('outcome');
  if (outcome !== undefined && !(DELIVERY_OUTCOMES as readonly string[]).includes(outcome)) {
    throw badRequest(`outcome must be one of ${DELIVERY_OUTCOMES.join(', ')}`);
  }
  const moment = (name: string): number | undefined => {
    const v = text(name, 40);
    if (v === undefined) return undefined;
    const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms))
      throw badRequest(`${name} must be a date (2026-12-01, an ISO time or Unix ms)`);
    return ms;
  };
  const whole = (name: string, min: number, max: number): number | undefined => {
    const v = text(name, 16);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw badRequest(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const until = moment('until');
  return {
    outcome: outcome as DeliveryOutcome | undefined,
    event: text('event', 100),
    destination: text('destination', 100),
    dealId: text('deal', 100),
    account: text('account', 100),
    text: text('q', 200),
    since: moment('since'),
    // A bare date means the whole day: until=2026-12-01 takes rows of the 1st.
    until:
      until !== undefined &&
      typeof query.until === 'string' &&
      /^\d{4}-\d{2}-\d{2}$/.test(query.until)
        ? until + 86_400_000
        : until,
    beforeId: whole('cursor', 1, Number.MAX_SAFE_INTEGER),
    limit: whole('limit', 1, MAX_PAGE_ROWS) ?? DEFAULT_PAGE_ROWS,
  };
}

export function toDeliveryRow(r: StoredDelivery): DeliveryRow {
  const money = moneyOf(r.payload)[0];
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    firstAt: new Date(r.firstAt).toISOString(),
    dealId: r.dealId,
    event: r.events.join(', '),
    destination: r.destination,
    outcome: r.outcome,
    attempts: r.attempts,
    code: r.code,
    reason: r.reason,
    value: money === undefined ? null : money.value,
    currency: money?.currency ?? null,
    transactionId: money?.transactionId ?? null,
    utmSource: r.utm?.source ?? null,
    utmMedium: r.utm?.medium ?? null,
  };
}

export async function listDeliveries(
  log: DeliveryLog,
  filter: DeliveryLogFilter,
): Promise<{ rows: DeliveryRow[]; nextCursor: string | null }> {
  const limit = filter.limit ?? DEFAULT_PAGE_ROWS;
  // One row more than asked says whether there is a next page.
  const rows = await log.list({ ...filter, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    rows: page.map(toDeliveryRow),
    nextCursor: rows.length > limit ? String(page[page.length - 1]!.id) : null,
  };
}

const CSV_COLUMNS: ReadonlyArray<keyof DeliveryRow> = [
  'id',
  'at',
  'firstAt',
  'dealId',
  'event',
  'destination',
  'outcome',
  'attempts',
  'code',
  'reason',
  'value',
  'currency',
  'transactionId',
  'utmSource',
  'utmMedium',
];

export async function streamDeliveriesCsv(
  log: DeliveryLog,
  filter: DeliveryLogFilter,
  res: Response,
): Promise<void> {
  res.type('text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', 'attachment; filename="closeloop-deliveries.csv"');
  // A byte-order mark, so Excel reads the Cyrillic as UTF-8.
  res.write(`\ufeff${CSV_COLUMNS.join(',')}\r\n`);
  let beforeId = filter.beforeId;
  let written = 0;
  for (;;) {
    const rows = await log.list({ ...filter, beforeId, limit: 1000 });
    if (rows.length === 0 || res.destroyed) break;
    const text = rows
      .map((r) => CSV_COLUMNS.map((c) => csvCell(toDeliveryRow(r)[c])).join(',') + '\r\n')
      .join('');
    written += rows.length;
    if (!res.write(text)) await new Promise((resolve) => res.once('drain', resolve));
    beforeId = rows[rows.length - 1]!.id;
    if (written >= MAX_CSV_ROWS) {
      res.write(
        `# stopped at ${MAX_CSV_ROWS} rows; narrow the filter (since, until) for the rest\r\n`,
      );
      break;
    }
  }
  res.end();
}

/** RFC 4180 quoting; a cell starting with = + - @ gets a quote mark so a sheet never runs it. */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'string' ? v : JSON.stringify(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function badRequest(message: string): AppError {
  return new AppError('CONSOLE_BAD_REQUEST', message, { httpStatus: 400 });
}
