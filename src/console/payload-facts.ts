/**
 * Facts the console reads from what a destination was sent, without knowing the destination:
 * the money (value, currency, transaction id) of the events in a stored payload, and a copy of a
 * payload or trace detail with anything secret-looking blanked before it is shown.
 *
 * A payload is whatever the destination recorded (GA4: its requests, `{ payload: { events: [{
 * name, params: { value, currency, transaction_id } }] } }`). Any object with a numeric `value`
 * and a `currency` beside it is money; an event whose name says refund counts negative.
 */
export interface Money {
  value: number;
  currency: string;
  transactionId: string | null;
  refund: boolean;
}

/** Every amount in the payload, in the order found. */
export function moneyOf(payload: unknown): Money[] {
  const found: Money[] = [];
  walk(payload, null, found, 0);
  return found;
}

function walk(node: unknown, eventName: string | null, out: Money[], depth: number): void {
  if (depth > 12 || node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, eventName, out, depth + 1);
    return;
  }
  const o = node as Record<string, unknown>;
  const name = typeof o.name === 'string' ? o.name : eventName;
  const value = typeof o.value === 'number' ? o.value : Number(o.value);
  if (
    o.value !== undefined &&
    o.value !== null &&
    Number.isFinite(value) &&
    typeof o.currency === 'string'
  ) {
    const tx = o.transaction_id ?? o.transactionId ?? null;
    out.push({
      value,
      currency: o.currency,
      transactionId: typeof tx === 'string' || typeof tx === 'number' ? String(tx) : null,
      refund: /refund/i.test(name ?? ''),
    });
    return;
  }
  for (const v of Object.values(o)) walk(v, name, out, depth + 1);
}

const SECRET_KEY = /secret|token|password|passwd|authorization|api_?key|cookie/i;

/**
 * A copy with secret-looking keys' values and URL query secrets replaced by `REDACTED`. Stored
 * payloads carry none by contract (the delivery log's); this is the second lock on the door.
 */
export function redactForDisplay(value: unknown, depth = 0): unknown {
  if (depth > 20) return '…';
  if (typeof value === 'string') {
    return value.replace(
      /([?&](?:api_secret|token|access_token|auth|key|secret)=)[^&#\s"]*/gi,
      '$1REDACTED',
    );
  }
  if (Array.isArray(value)) return value.map((v) => redactForDisplay(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEY.test(k) && v !== null && v !== '' ? 'REDACTED' : redactForDisplay(v, depth + 1),
    ]),
  );
}
