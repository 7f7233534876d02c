/**
 * A deal's whole life, for revenue: what a destination counts for a deal once its purchase was
 * sent, and what a later event for the deal changes about it. Pure: no I/O, no clock, no vendor.
 *
 * The worker reads the destination's record of the deal's revenue (src/ports/revenue-ledger.ts),
 * this plans, the delivery sends, and only a purchase or refund really sent changes the record.
 * A record exists only for a purchase sent while the deal was won: a deal whose purchase went
 * before closeloop kept records has none, and is treated as before (never sent twice, nothing
 * taken back).
 *
 * - Won, no record: the rules' purchase is sent as it is, marked revision 1.
 * - Won again after the deal was seen out of won (`reopened`): with `won_again: refund_and_resend`
 *   a refund of the counted purchase and a new purchase (revision n + 1, transaction id
 *   `<id>-<n+1>`, since GA4 counts one purchase per transaction id); with `ignore`, nothing new.
 * - Won after a refund (`refunded`): nothing is counted, so a new purchase goes, whatever
 *   `won_again` says; it is still counted once.
 * - Won with another amount (or currency) than the counted purchase's: recorded for the delivery
 *   log (`DEAL_AMOUNT_CHANGED`), or, with `amount_changed: refund_and_resend`, corrected by a
 *   refund and a new purchase.
 * - Lost: with `lost_after_won: refund`, a refund of the counted purchase, in full.
 * - Lost or open: the record is marked `reopened`, so a win after it is a win again.
 *
 * Each refund and purchase of a revision has a key of its own (`revisionKey`), so the ledger
 * sends each at most once however often the webhook that caused it repeats. While a purchase is
 * counted, the rules' purchase keeps the counted purchase's key: the ledger reports it as a
 * duplicate, as before.
 */
import { DEFAULT_REVENUE_SETTINGS, type MappingConfig, type RevenueSettings } from './config-types';
import type { DealEvent } from './deal';
import { amountOrNull } from './amount';
import { mapDealEvent, revisionKey, type Conversion } from './map-deal-event';

/** The events deal life follows: GA4's recommended revenue events, which Metrica's orders mirror. */
export const PURCHASE_EVENT = 'purchase';
export const REFUND_EVENT = 'refund';

/**
 * - `sent`: the purchase is counted and the deal was last seen won;
 * - `reopened`: the purchase is counted and the deal was seen in a stage that is not won since;
 * - `refunded`: its refund was sent: the destination counts nothing for the deal.
 */
export const REVENUE_STATES = ['sent', 'reopened', 'refunded'] as const;
export type RevenueState = (typeof REVENUE_STATES)[number];

/** What one destination counts for one deal: the last purchase sent, and what became of it. */
export interface RevenueRecord {
  /** 1 for the deal's first purchase, n + 1 for the one sent after the refund of n. */
  revision: number;
  state: RevenueState;
  /** The purchase's conversion key (the ledger's, without the destination's id). */
  key: string;
  transactionId: string;
  /** Exact decimal text (`"150000"`, `"1500.5"`), as the destination got it. */
  amount: string;
  currency: string;
  /** When the purchase was sent, Unix ms. */
  sentAt: number;
  /** When the record last changed (sent, reopened, refunded), Unix ms. */
  updatedAt: number;
}

export interface DealLifePlan {
  /** The conversions to send to this destination: the rules', adjusted, and any refund. */
  conversions: Conversion[];
  /** The record's revision to mark `reopened` (the counted deal is out of won), or null. */
  reopened: number | null;
  /** An amount change left uncorrected, for the delivery log; the key makes repeats one row. */
  amountChanged: { key: string; reason: string } | null;
}

interface Money {
  transactionId: string;
  amount: string;
  currency: string;
}

/** The purchase's transaction id, amount and currency, when it is one deal life can follow. */
export function purchaseMoney(conversion: Conversion): Money | null {
  if (conversion.event.name !== PURCHASE_EVENT) return null;
  const { transaction_id: id, value, currency } = conversion.event.params;
  if (typeof id !== 'string' || id.trim() === '') return null;
  if (typeof value !== 'number' || typeof currency !== 'string') return null;
  const amount = amountOrNull(value);
  return amount === null ? null : { transactionId: id, amount, currency };
}

/** What this destination should get for the event, given its record of the deal's revenue. */
export function planDealLife(
  event: DealEvent,
  mapping: MappingConfig,
  conversions: readonly Conversion[],
  record: RevenueRecord | null,
): DealLifePlan {
  const settings = mapping.revenue ?? DEFAULT_REVENUE_SETTINGS;
  const rulesPurchase = conversions.find((c) => purchaseMoney(c) !== null);
  const asMapped: DealLifePlan = {
    conversions: [...conversions],
    reopened: null,
    amountChanged: null,
  };
  const outcome = event.deal.outcome;
  if (record === null) {
    if (outcome !== 'won' || rulesPurchase === undefined) return asMapped;
    const first: Conversion = {
      ...rulesPurchase,
      revenue: { kind: 'purchase', revision: 1, ...purchaseMoney(rulesPurchase)! },
    };
    return { ...asMapped, conversions: conversions.map((c) => (c === rulesPurchase ? first : c)) };
  }
  if (outcome === 'won') {
    const purchase = rulesPurchase ?? probePurchase(event, mapping);
    if (purchase === undefined) return asMapped; // the rules send no purchase to compare with
    return planWon(event, settings, conversions, record, purchase, rulesPurchase !== undefined);
  }
  if ((outcome !== 'lost' && outcome !== 'open') || record.state === 'refunded') return asMapped;
  const reopened = record.state === 'sent' ? record.revision : null;
  if (outcome === 'lost' && settings.lostAfterWon === 'refund') {
    const reason = `lost after it was won (revenue.lost_after_won: refund): refund of purchase ${record.transactionId} (${money(record)})`;
    return {
      conversions: [...conversions, refundOf(event, record, 'revenue.lost_after_won', reason)],
      reopened,
      amountChanged: null,
    };
  }
  return { ...asMapped, reopened };
}

function planWon(
  event: DealEvent,
  settings: RevenueSettings,
  conversions: readonly Conversion[],
  record: RevenueRecord,
  purchase: Conversion,
  fromRules: boolean,
): DealLifePlan {
  const now = purchaseMoney(purchase)!;
  const others = conversions.filter((c) => c !== purchase);
  const changed = Number(now.amount) !== Number(record.amount) || now.currency !== record.currency;
  const why = reasonToResend(settings, record, now, changed);
  if (why === null) {
    // Still counted as it was: the rules' purchase keeps the counted purchase's key, so the
    // ledger says it was sent already (a duplicate), as for any repeat.
    const counted = fromRules ? [{ ...purchase, key: record.key }] : [];
    return {
      conversions: [...others, ...counted],
      reopened: null,
      amountChanged: changed ? amountChange(event, record, now, settings) : null,
    };
  }
  const revision = record.revision + 1;
  const transactionId = `${now.transactionId}-${revision}`;
  const resent: Money = { ...now, transactionId };
  const refunds = record.state === 'refunded' ? [] : [record];
  const reason =
    `${why.text}: ` +
    [
      ...refunds.map((r) => `refund of purchase ${r.transactionId} (${money(r)}), then`),
      `purchase ${transactionId} (${money(resent)})`,
    ].join(' ');
  return {
    conversions: [
      ...others,
      ...refunds.map((r) => refundOf(event, r, why.setting, reason)),
      {
        key: revisionKey(event, PURCHASE_EVENT, revision),
        rule: purchase.rule,
        event: {
          name: PURCHASE_EVENT,
          params: { ...purchase.event.params, transaction_id: transactionId },
        },
        revenue: { kind: 'purchase', revision, ...resent, reason },
      },
    ],
    reopened: null,
    amountChanged: null,
  };
}

/** Why a won deal's purchase goes anew (and which setting said so), or null: it stays counted. */
function reasonToResend(
  settings: RevenueSettings,
  record: RevenueRecord,
  now: Money,
  changed: boolean,
): { text: string; setting: string } | null {
  if (record.state === 'refunded') {
    return {
      text: `won again after its purchase ${record.transactionId} was refunded`,
      setting: 'revenue.lost_after_won',
    };
  }
  if (record.state === 'reopened' && settings.wonAgain === 'refund_and_resend') {
    return {
      text: 'won again after it was reopened (revenue.won_again: refund_and_resend)',
      setting: 'revenue.won_again',
    };
  }
  if (changed && settings.amountChanged === 'refund_and_resend') {
    return {
      text: `its amount changed from ${money(record)} to ${money(now)} after its purchase was sent (revenue.amount_changed: refund_and_resend)`,
      setting: 'revenue.amount_changed',
    };
  }
  return null;
}

function amountChange(
  event: DealEvent,
  record: RevenueRecord,
  now: Money,
  settings: RevenueSettings,
): { key: string; reason: string } {
  const again =
    record.state === 'reopened'
      ? ` It was won again (revenue.won_again: ${settings.wonAgain}).`
      : '';
  return {
    key: `${revisionKey(event, 'amount', record.revision)}:${now.amount} ${now.currency}`,
    reason:
      `purchase ${record.transactionId} was sent with ${money(record)} on ${new Date(record.sentAt).toISOString()}; ` +
      `the deal now says ${money(now)}.${again} The destination keeps counting ${money(record)} ` +
      '(revenue.amount_changed: record; refund_and_resend would send a refund and a new purchase)',
  };
}

/** A full refund of the recorded purchase: its transaction id, amount and currency. */
function refundOf(
  event: DealEvent,
  record: RevenueRecord,
  setting: string,
  reason: string,
): Conversion {
  const { revision, transactionId, amount, currency } = record;
  return {
    key: revisionKey(event, REFUND_EVENT, revision),
    rule: setting,
    event: {
      name: REFUND_EVENT,
      params: { transaction_id: transactionId, value: Number(amount), currency },
    },
    revenue: { kind: 'refund', revision, transactionId, amount, currency, reason },
  };
}

/**
 * The purchase the rules would send if the deal had just been won: an edit of a won deal's amount
 * comes as an update, which the rules for a win do not match. A rule with `from_status` does not
 * count here (an update has no stage before).
 */
function probePurchase(event: DealEvent, mapping: MappingConfig): Conversion | undefined {
  if (event.kind === 'stage_changed') return undefined; // the rules have spoken for this move
  return mapDealEvent({ ...event, kind: 'stage_changed' }, mapping).conversions.find(
    (c) => purchaseMoney(c) !== null,
  );
}

function money(m: { amount: string; currency: string }): string {
  return `${m.amount} ${m.currency}`;
}
