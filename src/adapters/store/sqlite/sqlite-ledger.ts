/**
 * The idempotency ledger in the embedded store. Atomic because SQLite serialises writers. No
 * fences: one process owns the embedded queue, so a run never loses its job to another.
 */
import type { ClaimResult, Ledger } from '../../../ports/ledger';
import type { SqliteDatabase } from './open-sqlite-database';

export class SqliteLedger implements Ledger {
  private readonly get;
  private readonly insert;
  private readonly sent;
  private readonly drop;

  constructor(private readonly db: SqliteDatabase) {
    this.get = db.prepare(`SELECT state, owner FROM ledger WHERE key = ?`);
    this.insert = db.prepare(
      `INSERT INTO ledger (key, state, owner, updated_at) VALUES (?, 'claimed', ?, ?)`,
    );
    this.sent = db.prepare(
      `UPDATE ledger SET state = 'sent', updated_at = ? WHERE key = ? AND owner = ?`,
    );
    this.drop = db.prepare(`DELETE FROM ledger WHERE key = ? AND owner = ? AND state = 'claimed'`);
  }

  claim(keys: readonly string[], owner: string, nowMs: number): Promise<Map<string, ClaimResult>> {
    const result = new Map<string, ClaimResult>();
    this.db.transaction(() => {
      for (const key of keys) {
        const row = this.get.get(key) as { state: string; owner: string } | undefined;
        if (!row) {
          this.insert.run(key, owner, nowMs);
          result.set(key, 'claimed');
        } else if (row.state === 'sent') {
          result.set(key, 'already_sent');
        } else {
          result.set(key, row.owner === owner ? 'claimed' : 'in_progress_elsewhere');
        }
      }
    })();
    return Promise.resolve(result);
  }

  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    this.db.transaction(() => {
      for (const key of keys) this.sent.run(nowMs, key, owner);
    })();
    return Promise.resolve();
  }

  release(keys: readonly string[], owner: string): Promise<void> {
    this.db.transaction(() => {
      for (const key of keys) this.drop.run(key, owner);
    })();
    return Promise.resolve();
  }
}
