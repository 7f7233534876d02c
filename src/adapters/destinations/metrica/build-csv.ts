/**
 * One upload's CSV (research yandex-metrica.md §1.3, §8.5): a header, then one row per conversion,
 * one identifier type per file. Pure.
 *
 *   ClientId,Target,DateTime,Price,Currency
 *   133591247640966458,deal_won,1481718166,123.45,RUB
 *
 * Every value is checked before it is written (digits only for identifiers, Unix seconds in the
 * past, a dot decimal, an ISO 4217 code), so nothing needs quoting and nothing can inject a
 * formula; an empty batch has no file at all (Metrica refuses a header-only file with 400).
 */
import type { OutboxEntry, OutboxIdType } from '../../../ports/conversion-outbox';

/** `client_id_type` for the older API generation that still wants it (research §1.2). */
export const CLIENT_ID_TYPE: Readonly<Record<OutboxIdType, string>> = {
  ClientId: 'CLIENT_ID',
  Yclid: 'YCLID',
};

const GOAL = /^[A-Za-z0-9_.-]{1,100}$/;
const DIGITS = /^\d{1,40}$/;
const PRICE = /^\d{1,15}(?:\.\d{1,6})?$/;
const CURRENCY = /^[A-Z]{3}$/;

export function buildCsv(
  idType: OutboxIdType,
  entries: readonly OutboxEntry[],
  nowSec: number,
): string {
  if (entries.length === 0) throw new Error('an empty batch has no file');
  const lines = [`${idType},Target,DateTime,Price,Currency`];
  for (const e of entries) {
    if (e.idType !== idType) throw new Error(`entry ${e.key} is not of type ${idType}`);
    if (!DIGITS.test(e.visitor)) throw new Error(`entry ${e.key}: identifier is not digits`);
    if (!GOAL.test(e.target)) throw new Error(`entry ${e.key}: goal identifier is malformed`);
    // Only past time: a DateTime still to come is refused (research §1.3).
    const at = Math.min(Math.floor(e.dateTime), nowSec - 1);
    const price = e.price !== null && PRICE.test(e.price) ? e.price : '';
    const currency =
      price !== '' && e.currency !== null && CURRENCY.test(e.currency) ? e.currency : '';
    lines.push(`${e.visitor},${e.target},${at},${price},${currency}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A price as Metrica reads it: a dot decimal, no exponent; null for anything not an amount. */
export function priceOf(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  const text = value.toFixed(6).replace(/\.?0+$/, '');
  return PRICE.test(text) ? text : null;
}
