/**
 * `create_lead` job: a site form stored by `POST /leads` becomes a lead in the account's CRM (the
 * CrmLeadWriter: amoCRM's one `leads/complex` call), and then an inbound job, so the new lead's
 * `generate_lead` goes through the normal pipeline. The writer returns the event keyed like the
 * CRM's own "deal added" webhook, so the ledger sends `generate_lead` once, whichever arrives first.
 *
 * Creating a lead is not idempotent, so it must happen at most once per form:
 * - The CRM down (RetryableError: 5xx, timeout, 429, a blocked account) is retried until the retry
 *   window ends. A 5xx or a timeout may come after the CRM created the lead; the retry then
 *   creates a second one, which the CRM's duplicate control merges when it is on. This is the
 *   price of not losing a visitor's form.
 * - Refusals (AuthError, other AppErrors) are not retried: the job fails, with a delivery-log row.
 * - After success the inbound job's id is derived from this job's (`created:<job id>`), so running
 *   the enqueue twice stores one job. The one window left: a crash after the CRM created the lead
 *   and before the inbound job is stored. The job is then handed out again after restart and
 *   creates the lead a second time; the CRM's own webhook still brings `generate_lead` for the
 *   first. A store that fails right after the creation is reported (failed, never retried).
 *
 * Personal data (name, phone, email, comment) goes to the CRM and nowhere else: not into log lines,
 * the delivery log, or the inbound job.
 */
import { isAppError, RetryableError, type ErrorCode } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import type { LeadForm } from '../core/lead-form';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import type { CrmLeadWriter } from '../ports/crm-lead-writer';
import type { DeliveryLog } from '../ports/delivery-log';
import type { Job, JobOutcome, JobQueue } from '../ports/job-queue';
import type { CreateLeadJobPayload, InboundJobPayload } from '../ports/job-payloads';
import type { WorkerLogger } from './worker-logger';

export interface CreateLeadDeps {
  /** The CRM lead writer of each account that takes site forms, by account name. */
  writers: ReadonlyMap<string, CrmLeadWriter>;
  queue: JobQueue;
  deliveryLog: DeliveryLog;
  retryPolicy: RetryPolicy;
  logger: WorkerLogger;
  now: () => number;
  random: () => number;
}

/** The inbound job of a created lead: derived from the create job, so it is stored once. */
export function createdJobId(createJobId: string): string {
  return `created:${createJobId}`;
}

export function createCreateLeadHandler(deps: CreateLeadDeps) {
  return async function processCreateLead(job: Job<CreateLeadJobPayload>): Promise<JobOutcome> {
    const { form, receivedAt } = job.payload;
    const accountName = job.payload.account ?? 'default';
    const scrub = scrubberFor(form);
    const writer = deps.writers.get(accountName);
    if (writer === undefined) {
      return fail(
        job,
        accountName,
        'LEAD_CREATE_FAILED',
        `the account "${accountName}" has no CRM that takes site forms any more (the config changed after the form was stored)`,
      );
    }
    let event;
    try {
      event = await writer.createLead(form, receivedAt);
    } catch (e) {
      // A clause, whatever the thrower wrote: it is joined with more text below.
      const message = asClause(scrub(errorMessage(e)));
      if (e instanceof RetryableError) {
        const decision = decideRetry(deps.retryPolicy, {
          failures: job.attempts + 1,
          firstAttemptAtMs: job.firstAttemptAt,
          nowMs: deps.now(),
          retryAfterMs: e.retryAfterMs,
          random: deps.random,
        });
        if (decision.retry) {
          deps.logger.warn(`lead not created yet: ${writer.name} is unavailable, will retry`, {
            jobId: job.id,
            error: message,
            delayMs: decision.delayMs,
          });
          return { status: 'retry', delayMs: decision.delayMs, error: message };
        }
        return fail(
          job,
          accountName,
          'LEAD_CREATE_FAILED',
          `${decision.reason}; last error: ${message}`,
        );
      }
      if (!isAppError(e)) {
        deps.logger.error('unexpected error while creating a lead', {
          jobId: job.id,
          error: message,
          stack: e instanceof Error ? scrub(e.stack ?? '') : undefined,
        });
      }
      // A refusal is not retried: the same body would be refused again, and an unknown error may
      // have come after the CRM created the lead.
      return fail(job, accountName, isAppError(e) ? e.code : 'LEAD_CREATE_FAILED', message);
    }

    deps.logger.info(`lead created in ${writer.name} from a site form`, {
      jobId: job.id,
      dealId: event.deal.id,
    });
    const inbound: InboundJobPayload = { v: 2, account: accountName, event, receivedAt };
    try {
      await deps.queue.add<InboundJobPayload>('inbound', [
        { id: createdJobId(job.id), payload: inbound },
      ]);
    } catch (e) {
      // Retrying would create the lead again: report it instead. The CRM's own webhook still
      // brings this lead's generate_lead when webhooks are set up.
      return fail(
        job,
        accountName,
        'STORE_UNAVAILABLE',
        `lead ${event.deal.id} was created in ${writer.name}, but its generate_lead job could not be stored: ${asClause(scrub(errorMessage(e)))}. Do not retry this job (it would create the lead again)`,
        { source: event.source, crmAccount: event.account, dealId: event.deal.id },
      );
    }
    return { status: 'done' };
  };

  async function fail(
    job: Job<CreateLeadJobPayload>,
    account: string,
    code: ErrorCode,
    reason: string,
    /** The lead, when the CRM created one before the failure. */
    created: { source: string; crmAccount: string; dealId: string } | null = null,
  ): Promise<JobOutcome> {
    deps.logger.error('create_lead job failed', {
      jobId: job.id,
      code,
      error: reason,
    });
    try {
      await deps.deliveryLog.record({
        at: deps.now(),
        account,
        source: created?.source ?? deps.writers.get(account)?.name ?? 'unknown',
        crmAccount: created?.crmAccount ?? '',
        // No deal exists ('') unless the CRM created one before the failure.
        dealId: created?.dealId ?? '',
        kind: 'created',
        stageId: null,
        jobId: job.id,
        destination: null,
        outcome: 'failed',
        code,
        reason,
        events: [],
        payload: null,
        attempts: job.attempts + 1,
        key: job.id,
      });
    } catch (e) {
      deps.logger.error('could not record a failed lead creation in the delivery log', {
        jobId: job.id,
        error: errorMessage(e),
      });
    }
    return { status: 'failed', error: `${code}: ${reason}` };
  }
}

/**
 * Removes the visitor's own words from a text that may quote the request (amoCRM's validation
 * errors, a fetch error): what is logged must not identify the visitor.
 */
function scrubberFor(form: LeadForm): (text: string) => string {
  const secrets = [form.name, form.phone, form.email, form.comment]
    .filter((v): v is string => v !== null && v.length >= 3)
    .sort((a, b) => b.length - a.length);
  return (text) => secrets.reduce((t, s) => t.split(s).join('[personal data]'), text);
}
