/**
 * The amoCRM OAuth pair and its refresh lock in the embedded store.
 *
 * Several processes may use one SQLite file at once (the service, and `closeloop auth` beside it),
 * each with its own connection, so the lock cannot live in memory: it is a row in `locks`, a lease
 * with an owner and an expiry. Taking it is one statement, an upsert that only overwrites a lease
 * that has expired; SQLite runs one writer at a time, so of two processes racing for a free or
 * lapsed lease exactly one changes the row and the other sees zero changes. A lease whose holder
 * died simply lapses at `expires_at`; nobody has to clean it up.
 *
 * Leases compare wall-clock times written by different processes on one machine, which is why the
 * clock here is `Date.now` unless a test injects one.
 */
import { randomUUID } from 'node:crypto';
import type { StoredTokens, TokenStore } from '../../../ports/token-store';
import type { SqliteDatabase } from './open-sqlite-database';

export interface SqliteTokenStoreOptions {
  now?: () => number;
  /** How often a waiter tries the lock again (default 50 ms). */
  lockPollMs?: number;
}

interface TokenRow {
  access_token: string;
  refresh_token: string;
  expires_at: number;
  updated_at: number;
}

export class SqliteTokenStore implements TokenStore {
  private readonly now: () => number;
  private readonly lockPollMs: number;
  private readonly select;
  private readonly upsert;
  private readonly tryLock;
  private readonly unlock;

  constructor(db: SqliteDatabase, options: SqliteTokenStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.lockPollMs = options.lockPollMs ?? 50;
    this.select = db.prepare(
      `SELECT access_token, refresh_token, expires_at, updated_at FROM amocrm_tokens WHERE account = ?`,
    );
    this.upsert = db.prepare(
      `INSERT INTO amocrm_tokens (account, access_token, refresh_token, expires_at, updated_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(account) DO UPDATE SET
         access_token = excluded.access_token,
         refresh_token = excluded.refresh_token,
         expires_at = excluded.expires_at,
         updated_at = excluded.updated_at`,
    );
    // The WHERE makes the upsert a no-op (0 changes) while someone else's lease is still running.
    this.tryLock = db.prepare(
      `INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE locks.expires_at <= ?`,
    );
    this.unlock = db.prepare(`DELETE FROM locks WHERE name = ? AND owner = ?`);
  }

  get(account: string): Promise<StoredTokens | null> {
    const row = this.select.get(account) as TokenRow | undefined;
    return Promise.resolve(
      row
        ? {
            accessToken: row.access_token,
            refreshToken: row.refresh_token,
            expiresAt: row.expires_at,
            updatedAt: row.updated_at,
          }
        : null,
    );
  }

  save(account: string, tokens: StoredTokens): Promise<void> {
    // One autocommit statement; the database runs with synchronous = FULL, so it is on disk when
    // run() returns.
    this.upsert.run(
      account,
      tokens.accessToken,
      tokens.refreshToken,
      tokens.expiresAt,
      tokens.updatedAt,
    );
    return Promise.resolve();
  }

  async withRefreshLock<T>(account: string, ttlMs: number, fn: () => Promise<T>): Promise<T> {
    const name = `amocrm-token-refresh:${account}`;
    // A fresh owner per acquisition: a holder whose lease lapsed must not free its successor's.
    const owner = randomUUID();
    for (;;) {
      const now = this.now();
      if (this.tryLock.run(name, owner, now + ttlMs, now).changes === 1) break;
      await new Promise((resolve) => setTimeout(resolve, this.lockPollMs));
    }
    try {
      return await fn();
    } finally {
      this.unlock.run(name, owner);
    }
  }
}
