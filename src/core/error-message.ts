/** The message of anything thrown: `throw undefined` and `throw "text"` happen too. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

/**
 * A message ready to be joined with more text (`${asClause(m)}; next attempt in 5 s`): without a
 * final period or trailing space. closeloop's own messages are written as clauses already; this is
 * for text from elsewhere (a vendor's error body, Node's or a driver's error), which often ends in
 * a period.
 */
export function asClause(message: string): string {
  return message.replace(/[\s.]+$/, '');
}
