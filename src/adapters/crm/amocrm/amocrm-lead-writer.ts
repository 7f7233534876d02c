/**
 * amoCRM as a CrmLeadWriter: a site form becomes a lead and a contact in one
 * `POST /api/v4/leads/complex` call (research amocrm.md §3.3), and the `add` event amoCRM's own
 * webhook would carry for it.
 *
 * The event is keyed like that webhook: the account id from `GET /api/v4/account` (what webhooks
 * carry as `account[id]`), the new lead id, and no price, so the inbound job's completion reads
 * the lead back from the API (batched) and takes its real status and pipeline from there. The
 * idempotency key is then the one the webhook produces too, and `generate_lead` goes once.
 *
 * The account is read before creating, so its failure cannot follow a creation. A blocked account
 * (403) refused before creating anything, and the block lifts: it is retryable, after the block.
 */
import type { LeadIntakeSettings } from '../../../core/config-types';
import type { DealEvent } from '../../../core/deal';
import { AppError, isAppError, RetryableError } from '../../../core/errors';
import { errorMessage } from '../../../core/error-message';
import type { LeadForm } from '../../../core/lead-form';
import type { CrmLeadWriter } from '../../../ports/crm-lead-writer';
import { AMOCRM_SOURCE, toDealEvent, type CustomField, type LeadEvent } from './amocrm-lead';
import { buildComplexLead } from './build-complex-lead';
import type { CrmAccount, CrmClient } from './crm-client';

export type LeadWriterClient = Pick<CrmClient, 'getAccount'> & {
  createLeadComplex(leads: unknown[]): Promise<Array<{ id: number; contact_id: number | null }>>;
};

export type LeadWriterSettings = Pick<
  LeadIntakeSettings,
  'leadName' | 'pipeline' | 'status' | 'sessionIdField' | 'commentField'
>;

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

const num = (id: string | null): number | null => (id === null ? null : Number(id));

/**
 * The `add` event amoCRM's webhook would carry for the new lead: the analytics fields as written,
 * status and pipeline as configured (null: the API read fills them in), no price (so it is read).
 */
export function createdLeadEvent(
  account: CrmAccount,
  leadId: number,
  form: LeadForm,
  receivedAtMs: number,
  settings: Pick<LeadIntakeSettings, 'pipeline' | 'status' | 'sessionIdField'>,
): LeadEvent {
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
  const occurredAt = Math.floor(receivedAtMs / 1000);
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
      statusId: num(settings.status),
      pipelineId: num(settings.pipeline),
      price: null,
      responsibleUserId: null,
      createdAt: occurredAt,
      updatedAt: occurredAt,
      customFields: fields,
      tags: ['closeloop'],
    },
  };
}

export class AmocrmLeadWriter implements CrmLeadWriter {
  readonly name = AMOCRM_SOURCE;
  private account: CrmAccount | null = null;

  constructor(
    private readonly client: LeadWriterClient,
    private readonly settings: LeadWriterSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async createLead(form: LeadForm, receivedAtMs: number): Promise<DealEvent> {
    let created: { id: number; contact_id: number | null } | undefined;
    let account: CrmAccount;
    try {
      account = this.account ??= await this.client.getAccount();
      [created] = await this.client.createLeadComplex([buildComplexLead(form, this.settings)]);
    } catch (e) {
      throw blockedAsRetryable(e, this.now());
    }
    if (created === undefined) {
      throw new AppError('LEAD_CREATE_FAILED', 'amoCRM answered without the new lead’s id');
    }
    return toDealEvent(createdLeadEvent(account, created.id, form, receivedAtMs, this.settings));
  }
}

/**
 * A blocked account (403): the client sends nothing to the account for a while and then tries
 * again, and nothing was created, so the lead waits for the block to lift instead of failing.
 */
function blockedAsRetryable(e: unknown, nowMs: number): unknown {
  if (!isAppError(e) || e.code !== 'AMOCRM_ACCOUNT_BLOCKED') return e;
  const until = (e.details as { blockedUntil?: unknown } | undefined)?.blockedUntil;
  const untilMs = typeof until === 'string' ? Date.parse(until) : NaN;
  return new RetryableError('AMOCRM_ACCOUNT_BLOCKED', errorMessage(e), {
    retryAfterMs: Number.isFinite(untilMs) ? Math.max(untilMs - nowMs, 0) : null,
    cause: e,
  });
}
