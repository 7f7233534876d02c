/**
 * Keeps secrets out of log lines. Known secret values (GA4 api_secret, webhook secret, tokens) are
 * replaced wherever they appear, and so is anything that looks like one by its place: an
 * `api_secret=` query value, a Bearer token, the secret segment of a webhook URL, the value of a
 * token-named key.
 *
 * Each pattern takes the secret's own characters only, so the text around it survives as written:
 * `(api_secret=abc)` keeps its `)`, `/webhooks/amocrm/<secret>, next` its `, next`.
 */

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // b64token's characters: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" (RFC 6750
  // §2.1); an "=" inside too, so a malformed token is not cut in two with its tail in the log.
  [/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[REDACTED]'],
  // The secret segment of every webhook route (amocrm; bitrix24 and generic next): a path
  // segment's unreserved characters and percent-escapes (RFC 3986 §2.3), not ending in a period
  // (that ends the sentence around it). `/webhooks/amocrm/:secret`, the route's name, stays.
  [/(\/webhooks\/(?:amocrm|bitrix24|generic)\/)[\w.~%-]*[\w~%-]/g, '$1[REDACTED]'],
  // Bitrix24's incoming webhook, https://<portal>/rest/<user>/<secret>/<method>: the secret
  // segment after the user id (research bitrix24.md §2.1: a leaked URL is access until deleted).
  [/(\/rest\/\d+\/)[\w.~%-]*[\w~%-]/g, '$1[REDACTED]'],
  // Bitrix24's application token in a raw outgoing-webhook body: auth[application_token]=…,
  // also percent-encoded (auth%5Bapplication_token%5D=…).
  [/(application_token(?:\]|%5D)?=)[\w.~%+/=-]*[\w~%+/=-]/gi, '$1[REDACTED]'],
  // a password in a Redis URL: redis://user:password@host
  [/(rediss?:\/\/[^:@\s/]*:)[^@\s]+@/gi, '$1[REDACTED]@'],
  // A token-named key with a quoted value (JSON, YAML, util.inspect): all of it, up to the
  // closing quote: {"access_token":"…"}, client_secret: '…'.
  [
    /((?:access_token|refresh_token|client_secret|api_secret|application_token)["']?\s*[:=]\s*)(["'])(?:(?!\2)[^\\]|\\.)+(?=\2)/gi,
    '$1$2[REDACTED]',
  ],
  // The same keys unquoted, as in a query (`api_secret=…&`, GA4's URL) or YAML, or a quoted
  // value cut short: the URL's unreserved characters, percent-escapes and base64's `+ / =`.
  [
    /((?:access_token|refresh_token|client_secret|api_secret|application_token)["']?\s*[:=]\s*["']?)[\w.~%+/=-]*[\w~%+/=-]/gi,
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
