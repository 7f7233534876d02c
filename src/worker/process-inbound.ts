/**
 * Inbound job: a stored deal event becomes delivery jobs.
 *
 * complete the deal (the account's CrmSource for the event's source) → rules (pure core) → for
 * each of the account's destinations, the conversions adjusted by what it counts for the deal
 * already (deal life: a refund, a purchase sent anew, an amount change recorded) → a delivery job,
 * or a delivery-log row saying why nothing goes there (no identity that destination can use). The delivery job's id is derived from the
 * inbound job's id and the destination's, so if this job runs twice (a crash after enqueueing,
 * before completing) the second enqueue is ignored by the queue; and the ledger would catch it
 * anyway.
 */
import { ALL_REVENUE_CORRECTIONS, type MappingConfig } from '../core/config-types';
import { describeLookup, type DealEvent } from '../core/deal';
import { AppError, isAppError, RetryableError } from '../core/errors';
import { asClause, errorMessage } from '../core/error-message';
import { decideRetry, type RetryPolicy } from '../core/retry-policy';
import { ledgerKey, mapDealEvent, triggerOf, type Conversion } from '../core/map-deal-event';
import { planDealLife, PURCHASE_EVENT } from '../core/deal-life';
import type { CrmSource } from '../ports/crm-source';
import type { DeliveryLog, DeliveryRecord } from '../ports/delivery-log';
import type { Destination } from '../ports/destination';
import type { Job, JobOutcome, JobQueue } from '../ports/job-queue';
import type { RevenueDealRef, RevenueLedger } from '../ports/revenue-ledger';
import {
  deliveryDealOf,
  deliveryUtmOf,
  type DeliveryJobPayload,
  type InboundJobPayload,
  type PayloadUpgrades,
} from '../ports/job-payloads';
import type { WorkerLogger } from './worker-logger';
import type { DealTrace } from '../ports/deal-trace';
import { traceStepsOf } from './trace-steps';

/** What the worker knows of one closeloop account. */
export interface AccountRuntime {
  name: string;
  mapping: MappingConfig;
  /** By source name (`amocrm`); an event from a source without one is taken as it came. */
  sources: ReadonlyMap<string, CrmSource>;
  destinations: readonly Destination[];
}

export interface InboundDeps {
  accounts: ReadonlyMap<string, AccountRuntime>;
  upgrades: PayloadUpgrades;
  queue: JobQueue;
  deliveryLog: DeliveryLog;
  /** What each destination counts for each deal; absent, deal life is not followed (tests). */
  revenue?: RevenueLedger;
  /** Each deal's trail for the console (what was seen and decided); absent: none kept. */
  trace?: DealTrace;
  logger: WorkerLogger;
  retryPolicy: RetryPolicy;
  now: () => number;
  random: () => number;
}

type RowBase = Omit<DeliveryRecord, 'outcome' | 'code' | 'reason' | 'events' | 'destination'>;

function rowBase(account: string, event: DealEvent, job: Job<unknown>, at: number): RowBase {
  return {
    at,
    account,
    source: event.source,
    crmAccount: event.account,
    dealId: event.deal.id,
    kind: event.kind,
    stageId: event.deal.stageId,
    jobId: job.id,
    payload: null,
    attempts: job.attempts + 1,
    // One row per job and subject: a retried job updates its rows instead of adding more.
    key: job.id,
    ...(deliveryUtmOf(event) === undefined ? {} : { utm: deliveryUtmOf(event) }),
  };
}

export function createInboundHandler(deps: InboundDeps) {
  const processOnce = createProcessOnce(deps);
  // A CRM outage (retryable) or a bug (anything else) is retried with the delivery backoff, then
  // recorded as failed, so that nothing loops forever and nothing disappears without a trace.
  return async function processInbound(job: Job<unknown>): Promise<JobOutcome> {
    const payload = deps.upgrades.inbound(job.payload);
    try {
      return await processOnce(job, payload);
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
      await deps.deliveryLog.record({
        ...rowBase(payload.account, payload.event, job, deps.now()),
        destination: null,
        outcome: 'failed',
        code: isAppError(e) ? e.code : 'INTERNAL',
        reason: `${decision.reason}; last error: ${message}`,
        events: [],
      });
      return { status: 'failed', error: `${decision.reason}; last error: ${message}` };
    }
  };
}

function createProcessOnce(deps: InboundDeps) {
  return async function processOnce(
    job: Job<unknown>,
    payload: InboundJobPayload,
  ): Promise<JobOutcome> {
    const account = deps.accounts.get(payload.account);
    if (account === undefined) {
      // Its account was removed from the config after the webhook was stored.
      throw new AppError(
        'ACCOUNT_UNKNOWN',
        `the account "${payload.account}" of this event is not in the config (accounts: ${[...deps.accounts.keys()].join(', ')})`,
      );
    }
    const source = account.sources.get(payload.event.source);
    const event = source ? await source.complete(payload.event, { jobId: job.id }) : payload.event;
    const mapped = event.lookup === 'other_account' ? null : mapDealEvent(event, account.mapping);
    await traceDeal(deps, payload, event, mapped);
    // After the trace: a deal's rows come after what was seen and decided, in its story.
    const base = rowBase(account.name, event, job, deps.now());
    if (mapped === null || event.lookup === 'other_account') {
      // Not this account's deal (a forgery, or a URL pasted into another CRM account): no rule
      // may act on it, and its deal was not read.
      await deps.deliveryLog.record({
        ...base,
        destination: null,
        outcome: 'skipped',
        code: 'WEBHOOK_ACCOUNT_MISMATCH',
        reason: `the deal was ${describeLookup('other_account')} (${event.account})`,
        events: [],
      });
      return { status: 'done' };
    }

    for (const s of mapped.skipped) {
      await deps.deliveryLog.record({
        ...base,
        key: `${job.id}:skip:${s.eventName}`,
        destination: null,
        outcome: 'skipped',
        code: s.code,
        reason: `${s.eventName} (rule "${s.rule}"): ${s.reason}`,
        events: [s.eventName],
      });
    }
    // Each destination's conversions: the rules', adjusted by what it counts for the deal already.
    const planned: Array<{ destination: Destination; conversions: Conversion[] }> = [];
    for (const destination of account.destinations) {
      const fromRules = await planRevenue(deps, account, event, destination, {
        conversions: mapped.conversions,
        base,
      });
      // Each destination takes the events it accepts (Metrica: those its goals name).
      const conversions = fromRules.filter((c) => destination.accepts?.(c.event) ?? true);
      planned.push({ destination, conversions });
    }
    if (planned.every((p) => p.conversions.length === 0)) {
      if (mapped.matchedRules.length === 0) {
        await deps.deliveryLog.record({
          ...base,
          key: `${job.id}:no-rule`,
          destination: null,
          outcome: 'skipped',
          code: null,
          reason: `no rule matches ${triggerOf(event.kind) ?? event.kind} in pipeline ${event.deal.pipelineId ?? '?'}, stage ${event.deal.stageId ?? '?'}${event.deal.outcome ? ` (${event.deal.outcome})` : ''}${event.lookup === undefined ? '' : `; the deal was ${describeLookup(event.lookup)}`}`,
          events: [],
        });
      }
      return { status: 'done' };
    }

    const jobs: Array<{ id: string; payload: DeliveryJobPayload }> = [];
    for (const { destination, conversions } of planned) {
      if (conversions.length === 0) continue;
      const events = conversions.map((c) => c.event.name);
      const chosen = destination.identify(event.deal.identities, {
        fieldsKnown: event.deal.fields !== null,
        ...(event.lookup === undefined ? {} : { lookup: event.lookup }),
      });
      if ('skip' in chosen) {
        const { code, reason } = chosen.skip;
        await deps.deliveryLog.record({
          ...base,
          key: `${job.id}:skip:${destination.id}`,
          destination: destination.id,
          outcome: 'skipped',
          code,
          reason,
          events,
        });
        // The same code and reason as the delivery-log row, so the log and `closeloop deliveries` agree.
        deps.logger.info(`conversion skipped: ${code}`, {
          dealId: event.deal.id,
          destination: destination.id,
          events,
          code,
          reason,
        });
        continue;
      }
      jobs.push({
        id: `${job.id}:${destination.id}`,
        payload: {
          v: 2,
          account: account.name,
          destination: destination.id,
          deal: deliveryDealOf(event),
          identity: chosen.identity,
          occurredAtMs: event.occurredAt === null ? null : event.occurredAt * 1000,
          conversions,
          origin: replayable(payload, event),
        },
      });
    }
    if (jobs.length > 0) await deps.queue.add('deliver', jobs);
    return { status: 'done' };
  };
}

/**
 * The deal's trail: for people, not for correctness, so a trail that cannot be written is logged
 * and the job goes on (its delivery-log rows still say what happened).
 */
async function traceDeal(
  deps: InboundDeps,
  payload: InboundJobPayload,
  event: DealEvent,
  mapped: ReturnType<typeof mapDealEvent> | null,
): Promise<void> {
  if (deps.trace === undefined) return;
  try {
    await deps.trace.record(event.deal.id, traceStepsOf(payload, event, mapped, deps.now()));
  } catch (e) {
    deps.logger.warn('could not write the deal trace', {
      dealId: event.deal.id,
      error: asClause(errorMessage(e)),
    });
  }
}

/**
 * The event a replay puts back through the rules: as it was stored, with what happened as the
 * source decided it (its kind, the stage reached and the one before). A source that tells a move
 * from an edit by what it remembers (Bitrix24) would otherwise see the stored "the deal changed"
 * again as an edit, and the replay would send nothing.
 */
function replayable(payload: InboundJobPayload, completed: DealEvent): InboundJobPayload {
  const raw = payload.event;
  return {
    ...payload,
    event: {
      ...raw,
      kind: completed.kind,
      previous: completed.previous,
      deal: {
        ...raw.deal,
        pipelineId: completed.deal.pipelineId,
        stageId: completed.deal.stageId,
        outcome: completed.deal.outcome,
      },
    },
  };
}

/**
 * What the destination counts for the deal already decides what of the rules' conversions it gets,
 * and whether it gets a refund (src/core/deal-life.ts). Reads the destination's record of the
 * deal, notes a counted deal seen out of won, and records an amount change left uncorrected.
 */
async function planRevenue(
  deps: InboundDeps,
  account: AccountRuntime,
  event: DealEvent,
  destination: Destination,
  mapped: { conversions: readonly Conversion[]; base: RowBase },
): Promise<Conversion[]> {
  const { revenue } = deps;
  if (revenue === undefined) return [...mapped.conversions];
  const deal: RevenueDealRef = {
    destination: destination.id,
    source: event.source,
    crmAccount: event.account,
    dealId: event.deal.id,
  };
  const mapping = destination.correctsInPlace
    ? { ...account.mapping, revenue: ALL_REVENUE_CORRECTIONS }
    : account.mapping;
  const plan = planDealLife(event, mapping, mapped.conversions, await revenue.get(deal));
  if (plan.reopened !== null) await revenue.markReopened(deal, plan.reopened, deps.now());
  if (plan.amountChanged !== null) {
    await deps.deliveryLog.record({
      ...mapped.base,
      // One row per change of amount, however often the deal's webhooks repeat it.
      key: ledgerKey(destination.id, plan.amountChanged.key),
      destination: destination.id,
      outcome: 'skipped',
      code: 'DEAL_AMOUNT_CHANGED',
      reason: plan.amountChanged.reason,
      events: [PURCHASE_EVENT],
    });
  }
  return plan.conversions;
}
