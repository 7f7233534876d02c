/**
 * Inbound job: a stored lead event becomes delivery jobs.
 *
 * complete the lead (CrmSource) → rules (pure core) → a delivery job per destination, or a
 * delivery-log row saying why nothing is sent. The delivery job's id is derived from the inbound
 * job's id, so if this job runs twice (a crash after enqueueing, before completing) the second
 * enqueue is ignored by the queue; and the ledger would catch it anyway.
 */
import type { CloseloopConfig } from '../core/config-types';
import { isAppError } from '../core/errors';
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
  now: () => number;
}

export function createInboundHandler(deps: InboundDeps) {
  return async function processInbound(job: Job<InboundJobPayload>): Promise<JobOutcome> {
    let event = job.payload.event;
    try {
      event = await deps.crmSource.completeLead(event);
    } catch (e) {
      if (isAppError(e) && e.retryable) {
        return {
          status: 'retry',
          delayMs: 5_000 * 2 ** Math.min(job.attempts, 8),
          error: e.message,
        };
      }
      throw e;
    }
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
      await deps.deliveryLog.record({
        ...base,
        outcome: 'skipped',
        code: mapped.clientIdInvalid ? 'LEAD_CLIENT_ID_INVALID' : 'LEAD_NO_CLIENT_ID',
        reason,
        events,
      });
      deps.logger.info('conversion skipped: no client ID', { leadId: event.lead.id, events });
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
