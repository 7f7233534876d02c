/**
 * Log lines of bounded size. Every string in a line (the message, each field, nested ones) is cut
 * to `maxChars` with a marker saying how much was cut, so a 900 kB webhook field that reaches a log
 * line costs a few kB, not a megabyte per request. Runs after the Redactor: a secret is replaced
 * whole before any cut could leave half of it.
 */

/** A few kB: a stack trace or an amoCRM error body fits; a pasted body does not. */
export const DEFAULT_MAX_FIELD_CHARS = 4096;

export function capString(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  return `${s.slice(0, maxChars)}… [${s.length - maxChars} more characters cut]`;
}

/**
 * A copy with every string cut to `maxChars`; objects are copied only where something was cut, and
 * winston's symbol keys (level, message) are kept.
 */
export function capFields<T>(value: T, maxChars: number, depth = 0): T {
  if (typeof value === 'string') return capString(value, maxChars) as T;
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v: unknown) => {
      const capped = capFields(v, maxChars, depth + 1);
      if (capped !== v) changed = true;
      return capped;
    });
    return (changed ? out : value) as T;
  }
  const source = value as Record<string | symbol, unknown>;
  let out: Record<string | symbol, unknown> | null = null;
  for (const key of [...Object.keys(source), ...Object.getOwnPropertySymbols(source)]) {
    const v = source[key];
    const capped = capFields(v, maxChars, depth + 1);
    if (capped !== v) {
      out ??= copyOf(source);
      out[key] = capped;
    }
  }
  return (out ?? value) as T;
}

function copyOf(source: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  const out: Record<string | symbol, unknown> = { ...source };
  for (const sym of Object.getOwnPropertySymbols(source)) out[sym] = source[sym];
  return out;
}
