/**
 * Delivery job: claim the conversions in the ledger, send them, record the outcome.
 *
 * Claim before sending, mark sent after: a conversion already sent (or being sent by another job)
 * is recorded as a duplicate and not sent. A retried job resumes its own claim. The one window
 * left is a crash after GA4 accepted the request and before the ledger recorded it (milliseconds);
 * the retry then sends it again, and GA4 de-duplicates purchases by `transaction_id`.
 */
import { AppError, isAppError, RetryableError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import type { DeliveryLog, DeliveryRecord } from '../ports/delivery-log';
import type { Destination, DeliveryRequest } from '../ports/destination';
import type { Job, JobOutcome } from '../ports/job-queue';
import type { Ledger } from '../ports/ledger';
import type { PayloadUpgrades } from '../ports/job-payloads';
import { ledgerKey } from '../core/map-deal-event';
import type { WorkerLogger } from './worker-logger';

export interface DeliveryDeps {
  /** Every account's destinations, by id. */
  destinations: ReadonlyMap<string, Destination>;
  upgrades: PayloadUpgrades;
  ledger: Ledger;
  deliveryLog: DeliveryLog;
  retryPolicy: RetryPolicy;
  logger: WorkerLogger;
  now: () => number;
  random: () => number;
}

export function createDeliveryHandler(deps: DeliveryDeps) {
  return async function processDelivery(job: Job<unknown>): Promise<JobOutcome> {
    const p = deps.upgrades.delivery(job.payload);
    const base: Omit<DeliveryRecord, 'outcome' | 'code' | 'reason' | 'events' | 'payload'> = {
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
    const mine = p.conversions.filter((c) => claims.get(keyOf(c)) === 'claimed');
    const others = p.conversions.filter((c) => claims.get(keyOf(c)) !== 'claimed');
    if (others.length > 0) {
      await deps.deliveryLog.record({
        ...base,
        key: `${job.id}:duplicate`,
        outcome: 'duplicate',
        code: 'DELIVERY_DUPLICATE',
        reason: others
          .map(
            (c) =>
              `${c.event.name}: ${claims.get(keyOf(c)) === 'already_sent' ? 'already sent' : 'being sent by another job'} (${keyOf(c)})`,
          )
          .join('; '),
        events: others.map((c) => c.event.name),
        payload: null,
      });
    }
    if (mine.length === 0) return { status: 'done' };

    const keys = mine.map(keyOf);
    const events = mine.map((c) => c.event.name);
    const request: DeliveryRequest = {
      account: p.deal.crmAccount,
      dealId: p.deal.dealId,
      identity: p.identity,
      occurredAtMs: p.occurredAtMs,
      events: mine.map((c) => c.event),
    };
    try {
      const result = await destination.deliver(request, deps.now());
      if (result.outcome === 'sent') await deps.ledger.markSent(keys, job.id, deps.now());
      else await deps.ledger.release(keys, job.id);
      await deps.deliveryLog.record({
        ...base,
        at: deps.now(),
        outcome: result.outcome,
        code: null,
        reason:
          result.outcome === 'dry_run' ? `dry-run mode: ${destination.dryRunReason ?? 'on'}` : null,
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
      return { status: 'done' };
    } catch (e) {
      // A clause, whatever the thrower wrote: it is joined with more text below.
      const message = asClause(errorMessage(e));
      if (!isAppError(e) || e.retryable) {
        const decision = decideRetry(deps.retryPolicy, {
          failures: job.attempts + 1,
          firstAttemptAtMs: job.firstAttemptAt,
          nowMs: deps.now(),
          retryAfterMs: e instanceof RetryableError ? e.retryAfterMs : null,
          random: deps.random,
        });
        if (decision.retry) {
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
        await deps.ledger.release(keys, job.id);
        await deps.deliveryLog.record({
          ...base,
          outcome: 'failed',
          code: 'DELIVERY_RETRY_EXHAUSTED',
          reason: `${decision.reason}; last error: ${message}`,
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
      await deps.deliveryLog.record({
        ...base,
        outcome: 'failed',
        code: e.code,
        reason: message,
        events,
        payload: details?.payload ?? null,
      });
      deps.logger.error('delivery refused', {
        dealId: p.deal.dealId,
        events,
        code: e.code,
        error: message,
      });
      return { status: 'failed', error: `${e.code}: ${message}` };
    }
  };
}
