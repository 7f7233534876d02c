/**
 * The idempotency ledger in the embedded store. Atomic because SQLite serialises writers; each
 * call's writes commit with the store's group (CommitGroup) and resolve once durable. No
 * fences: one process owns the embedded queue, so a run never loses its job to another.
 */
import type { ClaimResult, Ledger } from '../../../ports/ledger';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';

export class SqliteLedger implements Ledger {
  private readonly get;
  private readonly insert;
  private readonly sent;
  private readonly drop;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
  ) {
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
    return this.group.run(() => {
      const result = new Map<string, ClaimResult>();
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
      return result;
    });
  }

  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    return this.group.run(() => {
      for (const key of keys) this.sent.run(nowMs, key, owner);
    });
  }

  release(keys: readonly string[], owner: string): Promise<void> {
    return this.group.run(() => {
      for (const key of keys) this.drop.run(key, owner);
    });
  }
}
