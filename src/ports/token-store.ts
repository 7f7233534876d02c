/**
 * TokenStore: where the amoCRM OAuth token pair lives, and the lock that lets only one refresh run
 * per account at a time.
 *
 * Why it exists: amoCRM refresh tokens are single-use and rotate. Every refresh answers a new
 * access token and a new refresh token, and the old refresh token stops working at once; sending
 * an already used one revokes the integration ("Token has been revoked", 401) until a person
 * authorizes it again (research amocrm.md §4 and §6). So the newest pair must outlive the process
 * that received it, and two processes must never refresh with the same refresh token.
 *
 * Contract:
 * - `get(account)` returns the pair last saved for the account, or null when none was ever saved.
 *   It reads the store, not a cache: a pair saved by another process is seen at once.
 * - `save(account, tokens)` replaces the account's pair; when its promise resolves the pair is
 *   durable (it survives a crash or a power loss of this process). Accounts are independent.
 * - `withRefreshLock(account, ttlMs, fn)` runs `fn` while holding the account's refresh lock and
 *   passes its result or its error through, releasing the lock either way. At most one holder per
 *   account exists at any moment across every process sharing the store. A caller that finds the
 *   lock taken waits, polling, until it gets it; there is no queue and no fairness, and no give-up
 *   deadline (a holder either finishes or its lease lapses). A holder whose process died (crash,
 *   SIGKILL, power loss) stops blocking the others `ttlMs` after it took the lock.
 * - `fn` must finish within `ttlMs`: the lease is not extended, and a holder is not told when its
 *   lease lapsed. Releasing only ever frees the caller's own lease, never a later holder's.
 *
 * Out of scope: what the tokens mean (expiry policy, when to refresh, the HTTP call) belongs to the
 * AccessTokenSource (src/adapters/crm/amocrm/oauth-token-source.ts); encryption at rest (the store
 * file is as sensitive as the client secret in the config, and protected the same way: by file
 * permissions); re-entrancy (calling `withRefreshLock` for an account from inside its own `fn`
 * waits for a lease that only the caller can release, until `ttlMs` has passed).
 */

/** An account's OAuth pair as stored. Times are unix milliseconds. */
export interface StoredTokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token stops working (amoCRM: 24 h after it was issued). */
  expiresAt: number;
  /** When this pair was saved. */
  updatedAt: number;
}

export interface TokenStore {
  get(account: string): Promise<StoredTokens | null>;
  save(account: string, tokens: StoredTokens): Promise<void>;
  withRefreshLock<T>(account: string, ttlMs: number, fn: () => Promise<T>): Promise<T>;
}
