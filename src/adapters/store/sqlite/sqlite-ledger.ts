/**
 * The idempotency ledger in the embedded store. Atomic because SQLite serialises writers; each
 * call's writes commit with the store's group (CommitGroup) and resolve once durable, so a key is
 * on disk as `sending` before its request is written. No fences: one process owns the embedded
 * queue, so a run never loses its job to another.
 */
import type { ClaimResult, Ledger } from '../../../ports/ledger';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';

type Row = { state: string; owner: string };

export class SqliteLedger implements Ledger {
  private readonly get;
  private readonly insert;
  private readonly setState;
  private readonly drop;
  private readonly forget;
  private readonly confirm;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
  ) {
    this.get = db.prepare(`SELECT state, owner FROM ledger WHERE key = ?`);
    this.insert = db.prepare(
      `INSERT INTO ledger (key, state, owner, updated_at) VALUES (?, 'sending', ?, ?)`,
    );
    // (to, at, key, owner, from, from): the owner's row moves from one of two states to another.
    this.setState = db.prepare(
      `UPDATE ledger SET state = ?, updated_at = ? WHERE key = ? AND owner = ? AND state IN (?, ?)`,
    );
    this.drop = db.prepare(
      `DELETE FROM ledger WHERE key = ? AND owner = ? AND state IN ('claimed', 'sending')`,
    );
    this.forget = db.prepare(`DELETE FROM ledger WHERE key = ? AND state = 'uncertain'`);
    this.confirm = db.prepare(
      `UPDATE ledger SET state = 'sent', updated_at = ? WHERE key = ? AND state = 'uncertain'`,
    );
  }

  claim(keys: readonly string[], owner: string, nowMs: number): Promise<Map<string, ClaimResult>> {
    return this.group.run(() => {
      const result = new Map<string, ClaimResult>();
      for (const key of keys) result.set(key, this.claimOne(key, owner, nowMs));
      return result;
    });
  }

  private claimOne(key: string, owner: string, nowMs: number): ClaimResult {
    const row = this.get.get(key) as Row | undefined;
    if (!row) {
      this.insert.run(key, owner, nowMs);
      return 'claimed';
    }
    if (row.state === 'sent') return 'already_sent';
    if (row.state === 'uncertain') return 'held';
    if (row.owner !== owner) return 'in_progress_elsewhere';
    if (row.state === 'sending') return 'uncertain';
    this.setState.run('sending', nowMs, key, owner, 'claimed', 'claimed');
    return 'claimed';
  }

  private move(keys: readonly string[], owner: string, to: string, from: string[], at: number) {
    return this.group.run(() => {
      for (const key of keys) this.setState.run(to, at, key, owner, from[0], from[1] ?? from[0]);
    });
  }

  markSent(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    return this.move(keys, owner, 'sent', ['claimed', 'sending'], nowMs);
  }

  markNotSent(keys: readonly string[], owner: string): Promise<void> {
    return this.move(keys, owner, 'claimed', ['sending'], Date.now());
  }

  hold(keys: readonly string[], owner: string, nowMs: number): Promise<void> {
    return this.move(keys, owner, 'uncertain', ['sending'], nowMs);
  }

  release(keys: readonly string[], owner: string): Promise<void> {
    return this.group.run(() => {
      for (const key of keys) this.drop.run(key, owner);
    });
  }

  settleUncertain(
    keys: readonly string[],
    arrived: 'sent' | 'unsent',
    nowMs: number,
  ): Promise<number> {
    return this.group.run(() => {
      let n = 0;
      for (const key of keys) {
        n += (arrived === 'sent' ? this.confirm.run(nowMs, key) : this.forget.run(key)).changes;
      }
      return n;
    });
  }
}
