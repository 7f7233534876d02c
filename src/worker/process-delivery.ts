/**
 * Delivery job: claim the conversions in the ledger, send them, record the outcome.
 *
 * Claim before sending, mark sent after: a conversion already sent (or being sent by another job)
 * is recorded as a duplicate and not sent. A retried job resumes its own claim. The one window
 * left is a crash after GA4 accepted the request and before the ledger recorded it (milliseconds);
 * the retry then sends it again, and GA4 de-duplicates purchases by `transaction_id`.
 */
import { isAppError, RetryableError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import type { DeliveryLog, DeliveryRecord } from '../ports/delivery-log';
import type { Destination, DeliveryRequest } from '../ports/destination';
import type { Job, JobOutcome } from '../ports/job-queue';
import type { Ledger } from '../ports/ledger';
import type { DeliveryJobPayload } from './job-payloads';
import type { WorkerLogger } from './worker-logger';

export interface DeliveryDeps {
  destination: Destination;
  ledger: Ledger;
  deliveryLog: DeliveryLog;
  retryPolicy: RetryPolicy;
  logger: WorkerLogger;
  now: () => number;
  random: () => number;
}

export function createDeliveryHandler(deps: DeliveryDeps) {
  return async function processDelivery(job: Job<DeliveryJobPayload>): Promise<JobOutcome> {
    const p = job.payload;
    const base: Omit<DeliveryRecord, 'outcome' | 'code' | 'reason' | 'events' | 'payload'> = {
      at: deps.now(),
      accountId: p.accountId,
      leadId: p.leadId,
      action: p.action,
      statusId: p.statusId,
      jobId: job.id,
      destination: deps.destination.name,
      attempts: job.attempts + 1,
    };
    const claims = await deps.ledger.claim(
      p.conversions.map((c) => c.key),
      job.id,
      deps.now(),
      job.fence,
    );
    if ([...claims.values()].includes('lost_lock')) {
      // This run lost its job to another worker (its lock lapsed: Redis was away longer than the
      // lock). The job's current run sends; this one must not, or the conversion goes twice.
      deps.logger.warn('delivery skipped: this worker lost the job to another one', {
        leadId: p.leadId,
        jobId: job.id,
      });
      return { status: 'retry', delayMs: 0, error: 'lost the job lock to another worker' };
    }
    const mine = p.conversions.filter((c) => claims.get(c.key) === 'claimed');
    const others = p.conversions.filter((c) => claims.get(c.key) !== 'claimed');
    if (others.length > 0) {
      await deps.deliveryLog.record({
        ...base,
        outcome: 'duplicate',
        code: 'DELIVERY_DUPLICATE',
        reason: others
          .map(
            (c) =>
              `${c.event.name}: ${claims.get(c.key) === 'already_sent' ? 'already sent' : 'being sent by another job'} (${c.key})`,
          )
          .join('; '),
        events: others.map((c) => c.event.name),
        payload: null,
      });
    }
    if (mine.length === 0) return { status: 'done' };

    const keys = mine.map((c) => c.key);
    const events = mine.map((c) => c.event.name);
    const request: DeliveryRequest = {
      accountId: p.accountId,
      leadId: p.leadId,
      clientId: p.clientId,
      sessionId: p.sessionId,
      occurredAtMs: p.occurredAtMs,
      events: mine.map((c) => c.event),
    };
    try {
      const result = await deps.destination.deliver(request, deps.now());
      if (result.outcome === 'sent') await deps.ledger.markSent(keys, job.id, deps.now());
      else await deps.ledger.release(keys, job.id);
      await deps.deliveryLog.record({
        ...base,
        at: deps.now(),
        outcome: result.outcome,
        code: null,
        reason: result.outcome === 'dry_run' ? 'dry-run mode: GA4 credentials are not set' : null,
        events,
        payload: result.requests,
      });
      deps.logger.info(
        result.outcome === 'sent' ? 'conversion sent' : 'conversion recorded (dry run)',
        {
          leadId: p.leadId,
          events,
          destination: deps.destination.name,
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
            leadId: p.leadId,
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
          code: 'GA4_RETRY_EXHAUSTED',
          reason: `${decision.reason}; last error: ${message}`,
          events,
          payload: null,
        });
        deps.logger.error('delivery failed for good', { leadId: p.leadId, events, error: message });
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
        leadId: p.leadId,
        events,
        code: e.code,
        error: message,
      });
      return { status: 'failed', error: `${e.code}: ${message}` };
    }
  };
}
