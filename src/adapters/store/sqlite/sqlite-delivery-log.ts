/**
 * The delivery log in the embedded store, bounded to the newest `maxRows` rows. Records commit with
 * the store's group (CommitGroup) and resolve once durable.
 */
import type { ErrorCode } from '../../../core/errors';
import type { LeadAction } from '../../../core/lead';
import type {
  DeliveryLog,
  DeliveryLogFilter,
  DeliveryOutcome,
  DeliveryRecord,
} from '../../../ports/delivery-log';
import type { SqliteDatabase } from './open-sqlite-database';
import type { CommitGroup } from './commit-group';

interface Row {
  id: number;
  at: number;
  account_id: string;
  lead_id: number;
  action: LeadAction;
  status_id: number | null;
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
      `INSERT INTO delivery_log (at, account_id, lead_id, action, status_id, job_id, destination,
         outcome, code, reason, events, payload, attempts)
       VALUES (@at, @accountId, @leadId, @action, @statusId, @jobId, @destination, @outcome, @code,
         @reason, @events, @payload, @attempts)`,
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
    if (filter.leadId !== undefined) {
      where.push('lead_id = @leadId');
      params.leadId = filter.leadId;
    }
    const sql = `SELECT * FROM delivery_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY id DESC LIMIT @limit`;
    const rows = this.db.prepare(sql).all(params) as Row[];
    return Promise.resolve(
      rows.map((r) => ({
        id: r.id,
        at: r.at,
        accountId: r.account_id,
        leadId: r.lead_id,
        action: r.action,
        statusId: r.status_id,
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
