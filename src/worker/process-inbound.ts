/**
 * Inbound job: a stored lead event becomes delivery jobs.
 *
 * complete the lead (CrmSource) → rules (pure core) → a delivery job per destination, or a
 * delivery-log row saying why nothing is sent. The delivery job's id is derived from the inbound
 * job's id, so if this job runs twice (a crash after enqueueing, before completing) the second
 * enqueue is ignored by the queue; and the ledger would catch it anyway.
 */
import type { CloseloopConfig } from '../core/config-types';
import { isAppError, RetryableError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import { mapLeadEvent, triggerOf } from '../core/map-lead-event';
import type { CrmSource } from '../ports/crm-source';
import type { DeliveryLog, DeliveryRecord } from '../ports/delivery-log';
import type { Job, JobOutcome, JobQueue } from '../ports/job-queue';
import type { DeliveryJobPayload, InboundJobPayload } from './job-payloads';
import type { WorkerLogger } from './worker-logger';

export interface InboundDeps {
  config: Pick<CloseloopConfig, 'rules' | 'currency' | 'amocrm'>;
  crmSource: CrmSource;
  queue: JobQueue;
  deliveryLog: DeliveryLog;
  destinationName: string;
  logger: WorkerLogger;
  retryPolicy: RetryPolicy;
  now: () => number;
  random: () => number;
}

export function createInboundHandler(deps: InboundDeps) {
  const processOnce = createProcessOnce(deps);
  // A CRM outage (retryable) or a bug (anything else) is retried with the delivery backoff, then
  // recorded as failed, so that nothing loops forever and nothing disappears without a trace.
  return async function processInbound(job: Job<InboundJobPayload>): Promise<JobOutcome> {
    try {
      return await processOnce(job);
    } catch (e) {
      // A clause, whatever the thrower wrote: it is joined with more text below.
      const message = asClause(errorMessage(e));
      const decision = decideRetry(deps.retryPolicy, {
        failures: job.attempts + 1,
        firstAttemptAtMs: job.firstAttemptAt,
        nowMs: deps.now(),
        retryAfterMs: e instanceof RetryableError ? e.retryAfterMs : null,
        random: deps.random,
      });
      if (!isAppError(e))
        deps.logger.error('unexpected error in an inbound job', {
          error: message,
          stack: e instanceof Error ? e.stack : undefined,
        });
      if (decision.retry) {
        deps.logger.warn('inbound job failed, will retry', {
          jobId: job.id,
          error: message,
          delayMs: decision.delayMs,
        });
        return { status: 'retry', delayMs: decision.delayMs, error: message };
      }
      const event = job.payload.event;
      await deps.deliveryLog.record({
        at: deps.now(),
        accountId: event.accountId,
        leadId: event.lead.id,
        action: event.action,
        statusId: event.lead.statusId,
        jobId: job.id,
        destination: null,
        outcome: 'failed',
        code: isAppError(e) ? e.code : 'INTERNAL',
        reason: `${decision.reason}; last error: ${message}`,
        events: [],
        payload: null,
        attempts: job.attempts + 1,
      });
      return { status: 'failed', error: `${decision.reason}; last error: ${message}` };
    }
  };
}

function createProcessOnce(deps: InboundDeps) {
  return async function processOnce(job: Job<InboundJobPayload>): Promise<JobOutcome> {
    const event = await deps.crmSource.completeLead(job.payload.event);
    const mapped = mapLeadEvent(event, deps.config);
    const base: Omit<DeliveryRecord, 'outcome' | 'code' | 'reason' | 'events'> = {
      at: deps.now(),
      accountId: event.accountId,
      leadId: event.lead.id,
      action: event.action,
      statusId: event.lead.statusId,
      jobId: job.id,
      destination: deps.destinationName,
      payload: null,
      attempts: job.attempts + 1,
    };

    for (const s of mapped.skipped) {
      await deps.deliveryLog.record({
        ...base,
        outcome: 'skipped',
        code: s.code,
        reason: `${s.eventName} (rule "${s.rule}"): ${s.reason}`,
        events: [s.eventName],
      });
    }
    if (mapped.conversions.length === 0) {
      if (mapped.matchedRules.length === 0) {
        await deps.deliveryLog.record({
          ...base,
          destination: null,
          outcome: 'skipped',
          code: null,
          reason: `no rule matches ${triggerOf(event.action) ?? event.action} in pipeline ${event.lead.pipelineId ?? '?'}, status ${event.lead.statusId ?? '?'}`,
          events: [],
        });
      }
      return { status: 'done' };
    }

    const events = mapped.conversions.map((c) => c.event.name);
    if (mapped.clientId === null) {
      const reason = mapped.clientIdInvalid
        ? `the client-ID field holds "${mapped.clientIdInvalid.slice(0, 60)}", which is not a GA client ID`
        : event.lead.customFields === null
          ? 'the webhook carried no lead fields (a Digital Pipeline hook?), so there is no GA client ID'
          : 'the lead has no GA client ID (is the form snippet on the site?)';
      const code = mapped.clientIdInvalid ? 'LEAD_CLIENT_ID_INVALID' : 'LEAD_NO_CLIENT_ID';
      await deps.deliveryLog.record({ ...base, outcome: 'skipped', code, reason, events });
      // The same code and reason as the delivery-log row, so the log and `closeloop deliveries` agree.
      deps.logger.info(`conversion skipped: ${code}`, {
        leadId: event.lead.id,
        events,
        code,
        reason,
      });
      return { status: 'done' };
    }

    const delivery: DeliveryJobPayload = {
      destination: deps.destinationName,
      accountId: event.accountId,
      leadId: event.lead.id,
      action: event.action,
      statusId: event.lead.statusId,
      clientId: mapped.clientId,
      sessionId: mapped.sessionId,
      occurredAtMs: event.occurredAt === null ? null : event.occurredAt * 1000,
      conversions: mapped.conversions,
      source: { event: job.payload.event, receivedAt: job.payload.receivedAt },
    };
    await deps.queue.add('deliver', [
      { id: `${job.id}:${deps.destinationName}`, payload: delivery },
    ]);
    return { status: 'done' };
  };
}
