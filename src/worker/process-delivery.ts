/**
 * Delivery job: claim the conversions in the ledger, send them, record the outcome.
 *
 * Claim before sending (the claim is durably "in flight"), mark sent after: a conversion already
 * sent (or being sent by another job) is recorded as a duplicate and not sent. A retried job
 * resumes its own claim. When an earlier attempt was interrupted after its request may have been
 * written (a crash, a timeout with no answer), nobody knows whether the destination counted it:
 * the events in `delivery.resend_uncertain` that the destination counts once (GA4: a purchase
 * with a `transaction_id`) are sent again; every other is held as `uncertain`, recorded, and
 * left for a person (`closeloop replay`). Never sent twice blindly. Once a purchase or refund
 * that deal life follows was sent (never in a dry run), the destination's record of the deal's
 * revenue says so (src/ports/revenue-ledger.ts).
 */
import { AppError, ExpiredError, isAppError, RetryableError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import type { DeliveryLog, DeliveryRecord } from '../ports/delivery-log';
import type { Destination, DeliveryRequest } from '../ports/destination';
import type { Job, JobOutcome } from '../ports/job-queue';
import type { ClaimResult, Ledger } from '../ports/ledger';
import type { RevenueLedger } from '../ports/revenue-ledger';
import type { DeliveryJobPayload, PayloadUpgrades } from '../ports/job-payloads';
import { ledgerKey } from '../core/map-deal-event';
import type { WorkerLogger } from './worker-logger';

export interface DeliveryDeps {
  /** Every account's destinations, by id. */
  destinations: ReadonlyMap<string, Destination>;
  upgrades: PayloadUpgrades;
  ledger: Ledger;
  /** What each destination counts for each deal; absent, deal life is not followed (tests). */
  revenue?: RevenueLedger;
  deliveryLog: DeliveryLog;
  retryPolicy: RetryPolicy;
  /** Events an interrupted send sends again when the destination counts them once. */
  resendUncertain: ReadonlySet<string>;
  logger: WorkerLogger;
  now: () => number;
  random: () => number;
}

export function createDeliveryHandler(deps: DeliveryDeps) {
  return async function processDelivery(job: Job<unknown>): Promise<JobOutcome> {
    const p = deps.upgrades.delivery(job.payload);
    const base: RowBase = {
      at: deps.now(),
      account: p.account,
      source: p.deal.source,
      crmAccount: p.deal.crmAccount,
      dealId: p.deal.dealId,
      kind: p.deal.kind,
      stageId: p.deal.stageId,
      jobId: job.id,
      destination: p.destination,
      attempts: job.attempts + 1,
      // Every attempt of this job updates one row (retrying → sent), so retries are one row.
      key: job.id,
      ...(p.deal.utm === undefined ? {} : { utm: p.deal.utm }),
    };
    const destination = deps.destinations.get(p.destination);
    if (destination === undefined) {
      // Its account or destination was removed from the config after the job was stored.
      const e = new AppError(
        'ACCOUNT_UNKNOWN',
        `the destination "${p.destination}" of this delivery is not in the config (destinations: ${[...deps.destinations.keys()].join(', ')})`,
      );
      await deps.deliveryLog.record({
        ...base,
        outcome: 'failed',
        code: e.code,
        reason: e.message,
        events: p.conversions.map((c) => c.event.name),
        payload: null,
      });
      return { status: 'failed', error: e.message };
    }
    // The conversion's key, with the destination in front: once per conversion and destination.
    const keyOf = (c: { key: string }): string => ledgerKey(destination.id, c.key);
    const claims = await deps.ledger.claim(p.conversions.map(keyOf), job.id, deps.now(), job.fence);
    if ([...claims.values()].includes('lost_lock')) {
      // This run lost its job to another worker (its lock lapsed: Redis was away longer than the
      // lock). The job's current run sends; this one must not, or the conversion goes twice.
      deps.logger.warn('delivery skipped: this worker lost the job to another one', {
        dealId: p.deal.dealId,
        jobId: job.id,
      });
      return { status: 'retry', delayMs: 0, error: 'lost the job lock to another worker' };
    }
    const { mine, resent, held, others } = sortClaims(
      p.conversions,
      claims,
      keyOf,
      destination,
      deps,
    );
    if (others.length > 0) {
      await deps.deliveryLog.record({
        ...base,
        key: `${job.id}:duplicate`,
        outcome: 'duplicate',
        code: 'DELIVERY_DUPLICATE',
        reason: others
          .map((c) => `${c.event.name}: ${OTHERS[claims.get(keyOf(c))!]} (${keyOf(c)})`)
          .join('; '),
        events: others.map((c) => c.event.name),
        payload: null,
      });
    }
    const uncertain =
      held.length > 0
        ? await holdUncertain(deps, { job, base, destination, held, keys: held.map(keyOf) })
        : null;
    if (mine.length === 0) return uncertain ?? { status: 'done' };

    const keys = mine.map(keyOf);
    const events = mine.map((c) => c.event.name);
    const request: DeliveryRequest = {
      account: p.deal.crmAccount,
      dealId: p.deal.dealId,
      identity: p.identity,
      occurredAtMs: p.occurredAtMs,
      dealCreatedAtMs: p.deal.createdAtMs ?? null,
      events: mine.map((c) => c.event),
      keys,
      trace: base,
    };
    // Set once the destination took the request: a failure after it (recording it on a full
    // disk) must not release the claim, or the next attempt would send it again.
    let delivered = false;
    try {
      const result = await destination.deliver(request, deps.now());
      delivered = result.outcome === 'sent';
      if (result.outcome === 'sent') {
        await deps.ledger.markSent(keys, job.id, deps.now());
        await recordRevenue(deps, p, mine);
      } else await deps.ledger.release(keys, job.id);
      await deps.deliveryLog.record({
        ...base,
        at: deps.now(),
        outcome: result.outcome,
        code: null,
        reason: withNote(sentReason(result.outcome, destination, mine, resent), result.note),
        events,
        payload: result.requests,
      });
      deps.logger.info(
        result.outcome === 'sent' ? 'conversion sent' : 'conversion recorded (dry run)',
        {
          dealId: p.deal.dealId,
          events,
          destination: destination.id,
        },
      );
      return uncertain ?? { status: 'done' };
    } catch (e) {
      // A clause, whatever the thrower wrote: it is joined with more text below.
      const message = asClause(errorMessage(e));
      if (delivered || !isAppError(e) || e.retryable) {
        const decision = decideRetry(deps.retryPolicy, {
          failures: job.attempts + 1,
          firstAttemptAtMs: job.firstAttemptAt,
          nowMs: deps.now(),
          retryAfterMs: e instanceof RetryableError ? e.retryAfterMs : null,
          random: deps.random,
        });
        const maybeDelivered = delivered || (e instanceof RetryableError && e.maybeDelivered);
        if (decision.retry) {
          // A send that surely did not arrive is sent again as it is; one that may have arrived
          // stays in flight, and the next attempt resends only what the destination counts once.
          if (!maybeDelivered) await deps.ledger.markNotSent(keys, job.id);
          await deps.deliveryLog.record({
            ...base,
            outcome: 'retrying',
            code: isAppError(e) ? e.code : 'INTERNAL',
            reason: `${message}; next attempt in ${Math.round(decision.delayMs / 1000)} s`,
            events,
            payload: null,
          });
          deps.logger.warn('delivery failed, will retry', {
            dealId: p.deal.dealId,
            events,
            error: message,
            delayMs: decision.delayMs,
          });
          if (!isAppError(e))
            deps.logger.error('unexpected delivery error', { stack: (e as Error)?.stack });
          return { status: 'retry', delayMs: decision.delayMs, error: message };
        }
        // Given up: a send that may have arrived is held (only a replay sends it), else released.
        if (maybeDelivered) await deps.ledger.hold(keys, job.id, deps.now());
        else await deps.ledger.release(keys, job.id);
        await deps.deliveryLog.record({
          ...base,
          outcome: 'failed',
          code: 'DELIVERY_RETRY_EXHAUSTED',
          reason: `${decision.reason}; last error: ${message}${maybeDelivered ? `; the last attempt may have reached ${destination.label}` : ''}`,
          events,
          payload: null,
        });
        deps.logger.error('delivery failed for good', {
          dealId: p.deal.dealId,
          events,
          error: message,
        });
        return { status: 'failed', error: `${decision.reason}; last error: ${message}` };
      }
      await deps.ledger.release(keys, job.id);
      const details = e.details as { payload?: unknown } | undefined;
      const expired = e instanceof ExpiredError;
      await deps.deliveryLog.record({
        ...base,
        outcome: expired ? 'expired' : 'failed',
        code: e.code,
        reason: message,
        events,
        payload: details?.payload ?? null,
      });
      const fields = { dealId: p.deal.dealId, events, code: e.code, error: message };
      if (expired) deps.logger.warn('delivery expired', fields);
      else deps.logger.error('delivery refused', fields);
      return expired ? { status: 'done' } : { status: 'failed', error: `${e.code}: ${message}` };
    }
  };
}

type RowBase = Omit<DeliveryRecord, 'outcome' | 'code' | 'reason' | 'events' | 'payload'>;

/**
 * Holds conversions whose earlier send was interrupted and that are not safe to resend: the
 * ledger keeps them from everyone until a replay, and the row says what to do. The job ends
 * failed, so that `closeloop replay` lists it and can send them.
 */
async function holdUncertain(
  deps: DeliveryDeps,
  what: {
    job: Job<unknown>;
    base: RowBase;
    destination: Destination;
    held: Conversion[];
    keys: string[];
  },
): Promise<JobOutcome> {
  const { job, destination } = what;
  await deps.ledger.hold(what.keys, job.id, deps.now());
  const names = what.held.map((c) => c.event.name);
  const reason =
    `${names.join(', ')}: an earlier attempt was interrupted after its request was written (a crash or a timeout), ` +
    `so ${destination.label} may have counted it; held rather than risk counting it twice. ` +
    `If ${destination.label} does not show it, send it with closeloop replay ${job.id}`;
  await deps.deliveryLog.record({
    ...what.base,
    key: `${job.id}:uncertain`,
    outcome: 'uncertain',
    code: 'DELIVERY_UNCERTAIN',
    reason,
    events: names,
    payload: null,
  });
  deps.logger.warn('delivery uncertain, held for a person', {
    dealId: what.base.dealId,
    events: names,
  });
  return { status: 'failed', error: `DELIVERY_UNCERTAIN: ${reason}` };
}

/** The duplicate row's words for a conversion this job does not send. */
const OTHERS: Partial<Record<ClaimResult, string>> = {
  already_sent: 'already sent',
  in_progress_elsewhere: 'being sent by another job',
  held: 'held as uncertain after an interrupted send (closeloop replay sends it)',
};

type Conversion = DeliveryJobPayload['conversions'][number];

/**
 * Which conversions this attempt sends (`mine`, of which `resent` were in flight when an earlier
 * attempt was interrupted and are safe to send again), which it holds as uncertain, and which
 * are someone else's (sent, held, or being sent by another job).
 */
function sortClaims(
  conversions: readonly Conversion[],
  claims: ReadonlyMap<string, ClaimResult>,
  keyOf: (c: Conversion) => string,
  destination: Destination,
  deps: Pick<DeliveryDeps, 'resendUncertain'>,
): { mine: Conversion[]; resent: Conversion[]; held: Conversion[]; others: Conversion[] } {
  const mine: Conversion[] = [];
  const resent: Conversion[] = [];
  const held: Conversion[] = [];
  const others: Conversion[] = [];
  for (const c of conversions) {
    const claim = claims.get(keyOf(c));
    if (claim === 'claimed') mine.push(c);
    else if (claim !== 'uncertain') others.push(c);
    else if (destination.dryRun)
      mine.push(c); // a dry run never sent anything
    else if (destination.resendsSafely === true)
      mine.push(c); // it keeps each key once
    else if (deps.resendUncertain.has(c.event.name) && destination.deduplicates(c.event)) {
      mine.push(c);
      resent.push(c);
    } else held.push(c);
  }
  return { mine, resent, held, others };
}

function withNote(reason: string | null, note: string | undefined): string | null {
  if (note === undefined) return reason;
  return reason === null ? note : `${note}; ${reason}`;
}

/** What the sent (or dry-run) row says: why it went, when that is not just a rule. */
function sentReason(
  outcome: 'sent' | 'dry_run',
  destination: Destination,
  mine: readonly Conversion[],
  resent: readonly Conversion[],
): string | null {
  if (outcome === 'dry_run') return `dry-run mode: ${destination.dryRunReason ?? 'on'}`;
  const reasons = [...new Set(mine.flatMap((c) => c.revenue?.reason ?? []))];
  if (resent.length > 0) {
    reasons.unshift(
      `resent after an interrupted attempt: ${resent.map((c) => c.event.name).join(', ')} (${destination.label} counts ${resent.length === 1 ? 'it' : 'them'} once)`,
    );
  }
  return reasons.length === 0 ? null : reasons.join('; ');
}

/**
 * The destination took these conversions: its record of the deal's revenue follows. A failure
 * here must not make the delivery fail, or it would be sent again: it is logged, and the record
 * stays one step behind (docs/decisions.md, "A deal's whole life").
 */
async function recordRevenue(
  deps: DeliveryDeps,
  p: DeliveryJobPayload,
  sent: readonly Conversion[],
): Promise<void> {
  const { revenue } = deps;
  if (revenue === undefined) return;
  const deal = {
    destination: p.destination,
    source: p.deal.source,
    crmAccount: p.deal.crmAccount,
    dealId: p.deal.dealId,
  };
  try {
    for (const c of sent) {
      const mark = c.revenue;
      if (mark?.kind === 'refund') await revenue.recordRefund(deal, mark.revision, deps.now());
      else if (mark?.kind === 'purchase') {
        const { revision, transactionId, amount, currency } = mark;
        await revenue.recordPurchase(
          deal,
          { revision, key: c.key, transactionId, amount, currency },
          deps.now(),
        );
      }
    }
  } catch (e) {
    deps.logger.error('the record of revenue sent could not be written', {
      dealId: p.deal.dealId,
      destination: p.destination,
      error: errorMessage(e),
    });
  }
}
