/**
 * What each destination counts for each deal, in the embedded store (table `revenue`). Each change
 * is one statement whose WHERE says when it applies, so records only move forward; writes commit
 * with the store's group (CommitGroup) and resolve once durable.
 */
import type { RevenueRecord, RevenueState } from '../../../core/deal-life';
import type {
  RevenueDealRef,
  RevenueLedger,
  SentPurchase,
  StoredRevenue,
} from '../../../ports/revenue-ledger';
import type { CommitGroup } from './commit-group';
import type { SqliteDatabase } from './open-sqlite-database';

interface Row {
  destination: string;
  source: string;
  crm_account: string;
  deal_id: string;
  revision: number;
  state: string;
  conversion_key: string;
  transaction_id: string;
  amount: string;
  currency: string;
  sent_at: number;
  updated_at: number;
}

const WHERE_DEAL = `destination = ? AND source = ? AND crm_account = ? AND deal_id = ?`;

export class SqliteRevenueLedger implements RevenueLedger {
  private readonly select;
  private readonly byDeal;
  private readonly upsert;
  private readonly setState;

  constructor(
    db: SqliteDatabase,
    private readonly group: CommitGroup,
  ) {
    this.select = db.prepare(`SELECT * FROM revenue WHERE ${WHERE_DEAL}`);
    this.byDeal = db.prepare(
      `SELECT * FROM revenue WHERE deal_id = ? ORDER BY destination, source, crm_account`,
    );
    this.upsert = db.prepare(
      `INSERT INTO revenue (destination, source, crm_account, deal_id, revision, state,
         conversion_key, transaction_id, amount, currency, sent_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'sent', ?, ?, ?, ?, ?, ?)
       ON CONFLICT (destination, source, crm_account, deal_id) DO UPDATE SET
         revision = excluded.revision, state = 'sent', conversion_key = excluded.conversion_key,
         transaction_id = excluded.transaction_id, amount = excluded.amount,
         currency = excluded.currency, sent_at = excluded.sent_at, updated_at = excluded.updated_at
       WHERE excluded.revision > revenue.revision`,
    );
    // (to, at, deal…, revision, from, from): the record of that revision moves between states.
    this.setState = db.prepare(
      `UPDATE revenue SET state = ?, updated_at = ?
       WHERE ${WHERE_DEAL} AND revision = ? AND state IN (?, ?)`,
    );
  }

  get(deal: RevenueDealRef): Promise<RevenueRecord | null> {
    const row = this.select.get(...refArgs(deal)) as Row | undefined;
    return Promise.resolve(row === undefined ? null : recordOf(row));
  }

  recordPurchase(deal: RevenueDealRef, purchase: SentPurchase, nowMs: number): Promise<void> {
    return this.group.run(() => {
      const { revision, key, transactionId, amount, currency } = purchase;
      this.upsert.run(
        ...refArgs(deal),
        revision,
        key,
        transactionId,
        amount,
        currency,
        nowMs,
        nowMs,
      );
    });
  }

  recordRefund(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void> {
    return this.move(deal, revision, 'refunded', ['sent', 'reopened'], nowMs);
  }

  markReopened(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void> {
    return this.move(deal, revision, 'reopened', ['sent', 'sent'], nowMs);
  }

  listByDeal(dealId: string): Promise<StoredRevenue[]> {
    const rows = this.byDeal.all(dealId) as Row[];
    return Promise.resolve(
      rows.map((row) => ({
        destination: row.destination,
        source: row.source,
        crmAccount: row.crm_account,
        dealId: row.deal_id,
        ...recordOf(row),
      })),
    );
  }

  private move(
    deal: RevenueDealRef,
    revision: number,
    to: RevenueState,
    from: [RevenueState, RevenueState],
    nowMs: number,
  ): Promise<void> {
    return this.group.run(() => {
      this.setState.run(to, nowMs, ...refArgs(deal), revision, ...from);
    });
  }
}

function refArgs(deal: RevenueDealRef): [string, string, string, string] {
  return [deal.destination, deal.source, deal.crmAccount, deal.dealId];
}

function recordOf(row: Row): RevenueRecord {
  return {
    revision: row.revision,
    state: row.state as RevenueState,
    key: row.conversion_key,
    transactionId: row.transaction_id,
    amount: row.amount,
    currency: row.currency,
    sentAt: row.sent_at,
    updatedAt: row.updated_at,
  };
}
