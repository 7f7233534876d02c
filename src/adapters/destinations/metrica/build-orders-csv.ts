/**
 * One CRM orders upload's CSV (research yandex-metrica.md §2, simple_orders): a header, then one
 * row per order, each row the order's whole state, since `merge_mode=SAVE` replaces everything
 * Metrica had for that id. Pure.
 *
 *   id,create_date_time,client_ids,order_status,revenue,currency
 *   29638927,2026-12-04 11:56:00,1764583200123456789,PAID,2500.5,RUB
 *
 * - `id`: the deal's id; `create_date_time`: when the deal was created, in the counter's time zone
 *   (Metrica reads it so, and looks for the visit before it); `client_ids`: the ClientID.
 * - Two rows for one id in one file are applied in random order (research §2, `modes.md`), so a
 *   batch holding several changes of one order sends only the last (the entries come oldest first).
 * - Every value is checked before it is written (digits for ids of visitors, a status word or a
 *   goal identifier, a dot decimal, an ISO 4217 code); an order id is quoted when it has to be.
 */
import type { OutboxEntry } from '../../../ports/conversion-outbox';

const DIGITS = /^\d{1,40}$/;
const STATUS = /^[A-Za-z0-9_.-]{1,100}$/;
const PRICE = /^\d{1,15}(?:\.\d{1,6})?$/;
const CURRENCY = /^[A-Z]{3}$/;
const ORDER_ID = /^[^\r\n]{1,200}$/;

export const ORDERS_HEADER = 'id,create_date_time,client_ids,order_status,revenue,currency';

export function buildOrdersCsv(entries: readonly OutboxEntry[], timeZone: string): string {
  if (entries.length === 0) throw new Error('an empty batch has no file');
  const last = new Map<string, OutboxEntry>();
  for (const e of entries) {
    if (e.orderId === undefined) throw new Error(`entry ${e.key} is not an order`);
    if (!ORDER_ID.test(e.orderId)) throw new Error(`entry ${e.key}: order id is malformed`);
    if (!DIGITS.test(e.visitor)) throw new Error(`entry ${e.key}: ClientID is not digits`);
    if (!STATUS.test(e.target)) throw new Error(`entry ${e.key}: order status is malformed`);
    last.delete(e.orderId); // keeps the map in the order of each order's last change
    last.set(e.orderId, e);
  }
  const lines = [ORDERS_HEADER];
  for (const e of last.values()) {
    const revenue = e.price !== null && PRICE.test(e.price) ? e.price : '';
    const currency =
      revenue !== '' && e.currency !== null && CURRENCY.test(e.currency) ? e.currency : '';
    lines.push(
      [
        quoted(e.orderId!),
        counterTime(e.dateTime, timeZone),
        e.visitor,
        e.target,
        revenue,
        currency,
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `yyyy-MM-dd HH:mm:ss` in the counter's time zone, one of the formats Metrica reads (§2). */
export function counterTime(unixSec: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(Math.floor(unixSec) * 1000));
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((p) => p.type === type)?.value ?? '00';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')}:${part('second')}`;
}

/** A CSV field: as it is when plain, else in quotes with quotes doubled. */
function quoted(value: string): string {
  return /[",;\s]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
