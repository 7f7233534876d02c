/**
 * Deal trails in the embedded store: one table of steps (`deal_trace`), written with the store's
 * commit group, trimmed per deal at each record and pruned by age and deal count now and then.
 */
import {
  traceDetailText,
  type DealTrace,
  type DealTraceLimits,
  type TraceStep,
  type TraceStepKind,
} from '../../../ports/deal-trace';
import type { CommitGroup } from './commit-group';
import type { SqliteDatabase } from './open-sqlite-database';

const PRUNE_EVERY = 500;

export class SqliteDealTrace implements DealTrace {
  private readonly stmt;
  private sincePrune = 0;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
    private readonly limits: DealTraceLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO deal_trace (deal, at, kind, title, detail, won) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      trim: db.prepare(
        `DELETE FROM deal_trace WHERE deal = @deal AND seq <= (
           SELECT seq FROM deal_trace WHERE deal = @deal ORDER BY seq DESC LIMIT 1 OFFSET @keep)`,
      ),
      list: db.prepare(
        `SELECT at, kind, title, detail, won FROM deal_trace WHERE deal = ? ORDER BY seq`,
      ),
      won: db.prepare(
        `SELECT DISTINCT deal FROM deal_trace WHERE won = 1 AND at >= ? AND at < ? LIMIT ?`,
      ),
      // A deal's newest step decides its age; the oldest trails past the count go first.
      old: db.prepare(
        `DELETE FROM deal_trace WHERE deal IN (
           SELECT deal FROM deal_trace GROUP BY deal HAVING max(at) < ?)`,
      ),
      over: db.prepare(
        `DELETE FROM deal_trace WHERE deal IN (
           SELECT deal FROM deal_trace GROUP BY deal ORDER BY max(seq) DESC LIMIT -1 OFFSET ?)`,
      ),
    };
    this.pruneSync();
  }

  record(dealId: string, steps: readonly TraceStep[]): Promise<void> {
    if (steps.length === 0) return Promise.resolve();
    return this.group.run(() => {
      for (const s of steps) {
        this.stmt.insert.run(
          dealId,
          s.at,
          s.kind,
          s.title,
          traceDetailText(s.detail),
          s.won ? 1 : 0,
        );
      }
      this.stmt.trim.run({ deal: dealId, keep: this.limits.maxStepsPerDeal });
      if (++this.sincePrune >= PRUNE_EVERY) {
        this.sincePrune = 0;
        this.pruneSync();
      }
    });
  }

  list(dealId: string): Promise<TraceStep[]> {
    const rows = this.stmt.list.all(dealId) as Array<{
      at: number;
      kind: TraceStepKind;
      title: string;
      detail: string | null;
      won: number;
    }>;
    return Promise.resolve(
      rows.map((r) => ({
        at: r.at,
        kind: r.kind,
        title: r.title,
        detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown),
        ...(r.won === 1 ? { won: true } : {}),
      })),
    );
  }

  wonDeals(since: number, until: number, limit: number): Promise<string[]> {
    const rows = this.stmt.won.all(since, until, limit) as Array<{ deal: string }>;
    return Promise.resolve(rows.map((r) => r.deal));
  }

  /** Trails past the age, then the oldest past the count (also every few hundred records). */
  prune(): Promise<void> {
    this.pruneSync();
    return Promise.resolve();
  }

  private pruneSync(): void {
    if (Number.isFinite(this.limits.maxAgeMs)) this.stmt.old.run(this.now() - this.limits.maxAgeMs);
    this.stmt.over.run(this.limits.maxDeals);
  }
}
