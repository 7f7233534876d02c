/**
 * The delivery log in the embedded store, bounded to the newest `maxRows` rows. Records commit with
 * the store's group (CommitGroup) and resolve once durable.
 */
import type { ErrorCode } from '../../../core/errors';
import {
  upgradeKind,
  type DeliveryLog,
  type DeliveryLogFilter,
  type DeliveryOutcome,
  type DeliveryRecord,
} from '../../../ports/delivery-log';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';

/**
 * A row. The column names are from before the deal model: `account_id` holds the CRM account,
 * `lead_id` the deal id, `action` the kind, `status_id` the stage. A numeric deal id or stage
 * comes back as a number (SQLite's INTEGER affinity), and is read as a string.
 */
interface Row {
  id: number;
  at: number;
  account: string;
  source: string;
  account_id: string;
  lead_id: number | string;
  action: string;
  status_id: number | string | null;
  job_id: string;
  destination: string | null;
  outcome: DeliveryOutcome;
  code: ErrorCode | null;
  reason: string | null;
  events: string;
  payload: string | null;
  attempts: number;
}

/** Pruning every row would cost a DELETE per insert; every this many inserts is plenty. */
const PRUNE_EVERY = 500;

export class SqliteDeliveryLog implements DeliveryLog {
  private readonly insert;
  private readonly prune;
  private sincePrune = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly group: CommitGroup,
    private readonly maxRows: number,
  ) {
    this.insert = db.prepare(
      `INSERT INTO delivery_log (at, account, source, account_id, lead_id, action, status_id,
         job_id, destination, outcome, code, reason, events, payload, attempts)
       VALUES (@at, @account, @source, @crmAccount, @dealId, @kind, @stageId, @jobId,
         @destination, @outcome, @code, @reason, @events, @payload, @attempts)`,
    );
    this.prune = db.prepare(
      `DELETE FROM delivery_log WHERE id <= (SELECT MAX(id) FROM delivery_log) - ?`,
    );
    // Also at open: a process that records fewer than PRUNE_EVERY rows must not grow the log forever.
    this.prune.run(maxRows);
  }

  record(entry: DeliveryRecord): Promise<void> {
    const row = {
      ...entry,
      events: JSON.stringify(entry.events),
      payload:
        entry.payload === undefined || entry.payload === null
          ? null
          : JSON.stringify(entry.payload),
    };
    return this.group.run(() => {
      this.insert.run(row);
      if (++this.sincePrune >= PRUNE_EVERY) {
        this.sincePrune = 0;
        this.prune.run(this.maxRows);
      }
    });
  }

  list(filter: DeliveryLogFilter = {}): Promise<Array<DeliveryRecord & { id: number }>> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit ?? 100 };
    if (filter.outcome) {
      where.push('outcome = @outcome');
      params.outcome = filter.outcome;
    }
    if (filter.dealId !== undefined) {
      // The column's INTEGER affinity makes '4711' match a stored 4711, and 'A-77' a stored 'A-77'.
      where.push('lead_id = @dealId');
      params.dealId = filter.dealId;
    }
    if (filter.account !== undefined) {
      where.push('account = @account');
      params.account = filter.account;
    }
    const sql = `SELECT * FROM delivery_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    return Promise.resolve(
      rows.map((r) => ({
        id: r.id,
        at: r.at,
        account: r.account,
        source: r.source,
        crmAccount: r.account_id,
        dealId: String(r.lead_id),
        kind: upgradeKind(r.action),
        stageId: r.status_id === null ? null : String(r.status_id),
        jobId: r.job_id,
        destination: r.destination,
        outcome: r.outcome,
        code: r.code,
        reason: r.reason,
        events: JSON.parse(r.events) as string[],
        payload: r.payload === null ? null : (JSON.parse(r.payload) as unknown),
        attempts: r.attempts,
      })),
    );
  }
}
