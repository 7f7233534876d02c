/**
 * Console sessions: a signed, stateless cookie with an expiry, so any number of web processes
 * (Redis mode) accept each other's sessions with no session table. The signing key is derived
 * from a random secret kept in the store (created once, shared by every process on it) and the
 * console password: changing the password ends every session. The CSRF token is derived from the
 * session's nonce with the same key, so it needs no storage either, and a token from another
 * session is worthless. Logout clears the cookie; a copied cookie stays valid until it expires
 * (docs/decisions.md, "The console").
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'closeloop_console';
/** How long a session lasts from the log-in (a working day and a bit). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** The store setting holding the random half of the signing key. */
export const SESSION_SECRET_SETTING = 'console-session-secret';

export interface Session {
  nonce: string;
  expiresAt: number;
}

export class SessionKeys {
  private readonly key: Buffer;

  constructor(storedSecret: string, password: string) {
    this.key = createHmac('sha256', storedSecret).update(`console-session\0${password}`).digest();
  }

  /** A new session's cookie value: `v1.<expiresAt>.<nonce>.<signature>`. */
  issue(now: number): { value: string; session: Session } {
    const session = {
      nonce: randomBytes(18).toString('base64url'),
      expiresAt: now + SESSION_TTL_MS,
    };
    const body = `v1.${session.expiresAt}.${session.nonce}`;
    return { value: `${body}.${this.sign(body)}`, session };
  }

  /** The session of a cookie value, or null when it is forged, damaged or expired. */
  verify(value: string | undefined, now: number): Session | null {
    if (value === undefined || value.length > 200) return null;
    const m = /^(v1\.(\d{1,15})\.([A-Za-z0-9_-]{24}))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (m === null) return null;
    if (!equal(this.sign(m[1]!), m[4]!)) return null;
    const expiresAt = Number(m[2]);
    return expiresAt > now ? { nonce: m[3]!, expiresAt } : null;
  }

  csrfToken(session: Session): string {
    return this.sign(`csrf.${session.nonce}`);
  }

  isCsrfToken(session: Session, given: string | undefined): boolean {
    return given !== undefined && equal(this.csrfToken(session), given);
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }
}

/** Constant-time comparison of two strings of any length (as SHA-256 digests). */
export function equal(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a === b;
}

/** The value of one cookie in a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie header: HttpOnly (no script reads it), SameSite=Strict (no other site's page
 * sends it), Path=/ (pages and /api/v1), Secure when the request came over HTTPS (directly or as
 * a trusted proxy says).
 */
export function sessionCookie(value: string, secure: boolean, maxAgeSeconds: number): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
