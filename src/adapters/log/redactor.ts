/**
 * Keeps secrets out of log lines. Known secret values (GA4 api_secret, webhook secret, tokens) are
 * replaced wherever they appear, and so is anything that looks like one by its place: an
 * `api_secret=` query value, a Bearer token, the secret segment of the webhook URL.
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/(api_secret=)[^&\s"'\\]+/gi, '$1[REDACTED]'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1[REDACTED]'],
  [/(\/webhooks\/amocrm\/)[^/?\s"'\\]+/g, '$1[REDACTED]'],
  // a password in a Redis URL: redis://user:password@host
  [/(rediss?:\/\/[^:@\s/]*:)[^@\s]+@/gi, '$1[REDACTED]@'],
  [
    /("?(?:access_token|refresh_token|client_secret|api_secret)"?\s*[:=]\s*"?)[^"&\s,}]+/gi,
    '$1[REDACTED]',
  ],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a secret value; short values are ignored (they would redact ordinary words). */
  add(secret: string | null | undefined): void {
    if (secret && secret.length >= 6) this.secrets.add(secret);
  }

  redactString(s: string): string {
    let out = s;
    for (const secret of this.secrets)
      if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
    for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
    return out;
  }

  /** A deep copy with every string redacted. */
  redact<T>(value: T, depth = 0): T {
    if (typeof value === 'string') return this.redactString(value) as T;
    if (value === null || typeof value !== 'object' || depth > 8) return value;
    if (value instanceof Error) {
      return {
        name: value.name,
        message: this.redactString(value.message),
        stack: value.stack ? this.redactString(value.stack) : undefined,
      } as T;
    }
    if (Array.isArray(value)) return value.map((v: unknown) => this.redact(v, depth + 1)) as T;
    const out: Record<string | symbol, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.redact(v, depth + 1);
    // winston keeps its level/message under symbols; keep them (redacted) too.
    for (const sym of Object.getOwnPropertySymbols(value)) {
      out[sym] = this.redact((value as Record<symbol, unknown>)[sym], depth + 1);
    }
    return out as T;
  }
}
