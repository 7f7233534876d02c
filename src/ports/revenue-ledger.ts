/**
 * RevenueLedger: what each destination counts for each deal, once a purchase was really sent to
 * it: the purchase's revision, transaction id, amount and currency (exact decimal text), when it
 * was sent, and what became of it since (the deal reopened, the purchase refunded). The core plans
 * refunds and new purchases from it (src/core/deal-life.ts); the ledger of idempotency keys
 * (ledger.ts) still decides that each is sent at most once.
 *
 * One record per destination and deal (source, CRM account, deal id), so the same deal sent to
 * two destinations, or the same id in two CRMs, is two records.
 *
 * Contract:
 * - Every change is atomic per record across every process sharing the store, and durable when
 *   it resolves.
 * - Records only move forward, so deliveries finishing in any order leave the newest state:
 *   `recordPurchase` writes the purchase as the counted one (state `sent`) when the deal has no
 *   record or a lower revision; the same revision again changes nothing (a resend of the same
 *   purchase, counted once), and a lower one nothing (a late delivery never undoes a newer one).
 * - `recordRefund` marks the record `refunded` when its revision is the one refunded; otherwise
 *   nothing changes.
 * - `markReopened` marks a `sent` record `reopened` when its revision is the one given; a record
 *   already reopened or refunded, or of another revision, stays as it is.
 * - `listByDeal` finds every record of a deal id, whatever its destination, source or account.
 *
 * Out of scope: whether a send happened (the caller records only sends the destination took; dry
 * runs never), expiry (records live as long as the ledger's keys: one short row per won deal).
 */
import type { RevenueRecord } from '../core/deal-life';

/** Whose record: one destination's, for one deal of one CRM account. */
export interface RevenueDealRef {
  /** The destination's id (`ga4`, `shop/ga4`). */
  destination: string;
  source: string;
  crmAccount: string;
  dealId: string;
}

/** A purchase the destination took. */
export interface SentPurchase {
  revision: number;
  /** Its conversion key, without the destination's id. */
  key: string;
  transactionId: string;
  amount: string;
  currency: string;
}

export type StoredRevenue = RevenueDealRef & RevenueRecord;

export interface RevenueLedger {
  get(deal: RevenueDealRef): Promise<RevenueRecord | null>;
  recordPurchase(deal: RevenueDealRef, purchase: SentPurchase, nowMs: number): Promise<void>;
  recordRefund(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void>;
  markReopened(deal: RevenueDealRef, revision: number, nowMs: number): Promise<void>;
  /** Every record of the deal id, ordered by destination, source and account. */
  listByDeal(dealId: string): Promise<StoredRevenue[]>;
}
