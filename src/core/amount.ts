/**
 * Deal amounts, exactly: one tolerant reader for every path an amount arrives by (a webhook's
 * `price`, an API's number, a CRM text field, a generic sender's string). Pure.
 *
 * An amount stays a decimal string (`"1500.50"`) from the CRM to the destination, so nothing is
 * lost to binary floating point on the way; a destination turns it into its own format at the
 * edge. People write amounts as text in many ways, and all of these read as 1500.5 or 22500:
 * `1500.50`, `1500,50` (the comma is the decimal separator in Russian), `1 500`, `22 500` with a
 * no-break or narrow space between thousands, `1 500,50 ₽`, `1500 руб.`, `1500 р`, `1500 рублей`,
 * `$1,500.50`, `1'500`. amoCRM's webhooks carry `price` as text, and marketers keep amounts in
 * text fields as they type them (issue 12: all of these were seen in real webhook bodies).
 * With both `.` and `,`, the last one is the decimal separator; a comma alone is decimal unless
 * it groups thousands more than once (`1,500,000`).
 */

export type AmountReading = { amount: string } | { unreadable: string };

/** Currency signs and words around an amount, and every kind of space, dropped before reading. */
const NOISE = /[\s\u00a0\u2007\u202f'’_]|[₽$€₸£¥]|руб(?:лей|ля|ль)?\.?|р\.?|rub|usd|eur|kzt/gi;

/** `1500`, `-1500.5`, `0.01`: what a decimal string looks like once read. */
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

/** Reads an amount; a number must be finite. Returns the canonical decimal string, or why not. */
export function readAmount(raw: unknown): AmountReading {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return { unreadable: `${raw} is not a finite number` };
    return { amount: numberToDecimal(raw) };
  }
  if (typeof raw !== 'string') return { unreadable: `an amount must be a number or text` };
  let text = raw.replace(NOISE, '');
  if (text === '') return { unreadable: 'the amount is empty' };
  if (text.startsWith('+')) text = text.slice(1);
  const lastDot = text.lastIndexOf('.');
  const lastComma = text.lastIndexOf(',');
  if (lastDot !== -1 && lastComma !== -1) {
    // 1,500.50 or 1.500,50: the last separator is the decimal one, the other groups thousands.
    const decimal = lastDot > lastComma ? '.' : ',';
    const group = decimal === '.' ? ',' : '.';
    text = text.split(group).join('').replace(decimal, '.');
  } else if (lastComma !== -1) {
    const commas = text.split(',').length - 1;
    text =
      commas > 1 && /^-?\d{1,3}(?:,\d{3})+$/.test(text)
        ? text.split(',').join('')
        : text.replace(',', '.');
  } else if ((text.match(/\./g) ?? []).length > 1 && /^-?\d{1,3}(?:\.\d{3})+$/.test(text)) {
    text = text.split('.').join(''); // 1.500.000: dots grouping thousands
  }
  if (!DECIMAL.test(text)) return { unreadable: `"${raw.slice(0, 40)}" is not an amount` };
  return { amount: canonical(text) };
}

/** The amount or null: for paths where an unreadable amount is simply "not known". */
export function amountOrNull(raw: unknown): string | null {
  const read = readAmount(raw);
  return 'amount' in read ? read.amount : null;
}

/** `0015.50` → `15.50`, `-0` → `0`; the fraction is kept as written (cents stay cents). */
function canonical(text: string): string {
  const negative = text.startsWith('-');
  const [whole = '0', fraction] = (negative ? text.slice(1) : text).split('.');
  const digits = whole.replace(/^0+(?=\d)/, '');
  const out = fraction === undefined ? digits : `${digits}.${fraction}`;
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}

/** A number as the shortest decimal that reads back as the same number (no exponent). */
function numberToDecimal(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  // toFixed answers in exponent form itself from 1e21 on; such a number is a whole one.
  if (Math.abs(n) >= 1e21) return BigInt(n).toString();
  // 1e-7: spell it out. toFixed takes up to 100 digits.
  return n
    .toFixed(Math.min(100, Math.max(0, -Math.floor(Math.log10(Math.abs(n))) + 15)))
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
}

/** The amount as a JavaScript number, for a destination whose wire format is a JSON number. */
export function amountToNumber(amount: string): number {
  return Number(amount);
}
