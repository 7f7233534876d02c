/**
 * `create_lead` job: a site form stored by `POST /leads` becomes a lead and a contact in amoCRM,
 * in one `POST /api/v4/leads/complex` call (research amocrm.md §3.3), and then an inbound job, so
 * the new lead's `generate_lead` goes through the normal pipeline.
 *
 * The inbound job carries a synthesized `add` event keyed like amoCRM's own `add` webhook for the
 * same lead: the account id from `GET /api/v4/account` (what webhooks carry as `account[id]`), the
 * new lead id, and `price: null`, so the inbound handler's completion reads the lead back from the
 * API (batched) and takes its real status and pipeline from there. The idempotency key
 * (account, lead, generate_lead, status) is then the one the webhook produces too, and the ledger
 * sends `generate_lead` once, whichever of the two arrives first.
 *
 * Creating a lead is not idempotent, so it must happen at most once per form:
 * - The account is read before creating, so its failure cannot follow a creation.
 * - amoCRM down (RetryableError: 5xx, timeout, 429 after the client's own retries) is retried
 *   until the retry window ends. A 5xx or a timeout may come after amoCRM created the lead
 *   (amocrm-client.ts); the retry then creates a second one, which amoCRM's duplicate control
 *   merges when the account has it on. This is the price of not losing a visitor's form.
 * - Refusals (AuthError, other AppErrors) are not retried: the job fails, with a delivery-log row.
 *   Except a blocked account (403, AMOCRM_ACCOUNT_BLOCKED): amoCRM refused before creating
 *   anything, and the block lifts, so the job waits for it within the retry window.
 * - After success the inbound job's id is derived from this job's (`created:<job id>`), so running
 *   the enqueue twice stores one job. The one window left: a crash after amoCRM created the lead
 *   and before the inbound job is stored. The job is then handed out again after restart and
 *   creates the lead a second time; amoCRM's own `add` webhook still brings `generate_lead` for
 *   the first. A store that fails right after the creation is reported (failed, never retried).
 *
 * Personal data (name, phone, email, comment) goes to amoCRM and nowhere else: not into log lines,
 * the delivery log, or the inbound job.
 */
import { buildComplexLead, type LeadForm } from '../core/build-complex-lead';
import type { LeadIntakeSettings } from '../core/config-types';
import { isAppError, RetryableError, type ErrorCode } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import type { CustomField, LeadEvent } from '../core/lead';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import type { CrmAccount, CrmClient } from '../ports/crm-client';
import type { DeliveryLog } from '../ports/delivery-log';
import type { Job, JobOutcome, JobQueue } from '../ports/job-queue';
import type { InboundJobPayload } from './job-payloads';
import type { WorkerLogger } from './worker-logger';

/** What a `create_lead` job carries: the validated form and when closeloop received it. */
export interface CreateLeadJobPayload {
  form: LeadForm;
  /** Unix ms. */
  receivedAt: number;
}

export interface CreateLeadDeps {
  client: Pick<CrmClient, 'getAccount'> & {
    createLeadComplex(leads: unknown[]): Promise<Array<{ id: number; contact_id: number | null }>>;
  };
  queue: JobQueue;
  deliveryLog: DeliveryLog;
  settings: LeadIntakeSettings;
  retryPolicy: RetryPolicy;
  logger: WorkerLogger;
  now: () => number;
  random: () => number;
}

/** The inbound job of a created lead: derived from the create job, so it is stored once. */
export function createdJobId(createJobId: string): string {
  return `created:${createJobId}`;
}

/** amoCRM's tracking fields as the API names them (research amocrm.md §3.2). */
const TRACKING_FIELDS = [
  ['clientId', 'gclientid', 'GCLIENTID'],
  ['utmSource', 'utm_source', 'UTM_SOURCE'],
  ['utmMedium', 'utm_medium', 'UTM_MEDIUM'],
  ['utmCampaign', 'utm_campaign', 'UTM_CAMPAIGN'],
  ['utmContent', 'utm_content', 'UTM_CONTENT'],
  ['utmTerm', 'utm_term', 'UTM_TERM'],
  ['gclid', 'gclid', 'GCLID'],
  ['yclid', 'yclid', 'YCLID'],
  ['ymUid', '_ym_uid', '_YM_UID'],
] as const satisfies ReadonlyArray<readonly [keyof LeadForm, string, string]>;

/**
 * The `add` event amoCRM's webhook would carry for the new lead: the analytics fields as written,
 * status and pipeline as configured (null: the API read fills them in), no price (so it is read).
 */
export function createdLeadEvent(
  account: CrmAccount,
  leadId: number,
  payload: CreateLeadJobPayload,
  settings: Pick<LeadIntakeSettings, 'pipeline' | 'status' | 'sessionIdField'>,
): LeadEvent {
  const { form } = payload;
  const fields: CustomField[] = [];
  const value = (v: string): CustomField['values'] => [{ value: v, enumId: null }];
  for (const [key, name, code] of TRACKING_FIELDS) {
    const v = form[key];
    if (v !== null) fields.push({ id: null, name, code, values: value(v) });
  }
  if (form.sessionId !== null) {
    // Named as amocrm.fields.session_id expects by default ({ name: ga_session_id }), and with the
    // id or code it was written to, so a reference by either finds it too.
    const ref = settings.sessionIdField;
    fields.push({
      id: ref !== null && 'id' in ref ? ref.id : null,
      name: 'ga_session_id',
      code: ref !== null && 'code' in ref ? ref.code : null,
      values: value(form.sessionId),
    });
  }
  const occurredAt = Math.floor(payload.receivedAt / 1000);
  return {
    crm: 'amocrm',
    accountId: account.id,
    subdomain: account.subdomain,
    action: 'add',
    oldStatusId: null,
    oldPipelineId: null,
    occurredAt,
    lead: {
      id: leadId,
      statusId: settings.status ?? null,
      pipelineId: settings.pipeline ?? null,
      price: null,
      responsibleUserId: null,
      createdAt: occurredAt,
      updatedAt: occurredAt,
      customFields: fields,
      tags: ['closeloop'],
    },
  };
}

export function createCreateLeadHandler(deps: CreateLeadDeps) {
  let account: CrmAccount | null = null;
  const getAccount = async (): Promise<CrmAccount> => {
    account ??= await deps.client.getAccount();
    return account;
  };

  return async function processCreateLead(job: Job<CreateLeadJobPayload>): Promise<JobOutcome> {
    const { form } = job.payload;
    const scrub = scrubberFor(form);
    let created: { id: number; contact_id: number | null } | undefined;
    let acct: CrmAccount;
    try {
      acct = await getAccount();
      [created] = await deps.client.createLeadComplex([buildComplexLead(form, deps.settings)]);
    } catch (e) {
      // A clause, whatever the thrower wrote: it is joined with more text below.
      const message = asClause(scrub(errorMessage(e)));
      const retryAfterMs = transientDelay(e, deps.now());
      if (retryAfterMs !== undefined) {
        const decision = decideRetry(deps.retryPolicy, {
          failures: job.attempts + 1,
          firstAttemptAtMs: job.firstAttemptAt,
          nowMs: deps.now(),
          retryAfterMs,
          random: deps.random,
        });
        if (decision.retry) {
          deps.logger.warn('lead not created yet: amoCRM is unavailable, will retry', {
            jobId: job.id,
            error: message,
            delayMs: decision.delayMs,
          });
          return { status: 'retry', delayMs: decision.delayMs, error: message };
        }
        return fail(job, 'AMOCRM_LEAD_CREATE_FAILED', `${decision.reason}; last error: ${message}`);
      }
      if (!isAppError(e)) {
        deps.logger.error('unexpected error while creating a lead', {
          jobId: job.id,
          error: message,
          stack: e instanceof Error ? scrub(e.stack ?? '') : undefined,
        });
      }
      // A refusal is not retried: the same body would be refused again, and an unknown error may
      // have come after amoCRM created the lead.
      return fail(job, isAppError(e) ? e.code : 'AMOCRM_LEAD_CREATE_FAILED', message);
    }
    if (created === undefined) {
      return fail(job, 'AMOCRM_LEAD_CREATE_FAILED', 'amoCRM answered without the new lead’s id');
    }

    deps.logger.info('lead created in amoCRM from a site form', {
      jobId: job.id,
      leadId: created.id,
      contactId: created.contact_id,
    });
    const inbound: InboundJobPayload = {
      event: createdLeadEvent(acct, created.id, job.payload, deps.settings),
      receivedAt: job.payload.receivedAt,
    };
    try {
      await deps.queue.add<InboundJobPayload>('inbound', [
        { id: createdJobId(job.id), payload: inbound },
      ]);
    } catch (e) {
      // Retrying would create the lead again: report it instead. amoCRM's own add webhook still
      // brings this lead's generate_lead when webhooks are set up.
      return fail(
        job,
        'STORE_UNAVAILABLE',
        `lead ${created.id} was created in amoCRM, but its generate_lead job could not be stored: ${asClause(scrub(errorMessage(e)))}. Do not retry this job (it would create the lead again)`,
        created.id,
      );
    }
    return { status: 'done' };
  };

  async function fail(
    job: Job<CreateLeadJobPayload>,
    code: ErrorCode,
    reason: string,
    leadId = 0,
  ): Promise<JobOutcome> {
    deps.logger.error('create_lead job failed', {
      jobId: job.id,
      code,
      error: reason,
    });
    try {
      await deps.deliveryLog.record({
        at: deps.now(),
        accountId: account?.id ?? '',
        // No lead exists (0) unless amoCRM created one before the failure.
        leadId,
        action: 'add',
        statusId: null,
        jobId: job.id,
        destination: null,
        outcome: 'failed',
        code,
        reason,
        events: [],
        payload: null,
        attempts: job.attempts + 1,
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
 * For an error worth retrying, the least wait it asks for (null: none); undefined otherwise.
 * Besides RetryableError (amoCRM down, 429), a blocked account (403): the client sends nothing to
 * the account for a while and then tries again, and nothing was created, so the lead waits for the
 * block to lift instead of failing for good.
 */
function transientDelay(e: unknown, nowMs: number): number | null | undefined {
  if (e instanceof RetryableError) return e.retryAfterMs;
  if (isAppError(e) && e.code === 'AMOCRM_ACCOUNT_BLOCKED') {
    const until = (e.details as { blockedUntil?: unknown } | undefined)?.blockedUntil;
    const untilMs = typeof until === 'string' ? Date.parse(until) : NaN;
    return Number.isFinite(untilMs) ? Math.max(untilMs - nowMs, 0) : null;
  }
  return undefined;
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
