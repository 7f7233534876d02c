/**
 * Bitrix24 as a CrmLeadWriter: a site form (`POST /leads`) becomes a lead (`crm.lead.add`), or on a
 * portal without leads (`bitrix24.creates: deal`, §3.4) a contact and a deal in one `batch`
 * (`crm.contact.add`, then `crm.deal.add` with `CONTACT_ID = $result[contact]`), with the visitor's
 * identities in the configured UF_CRM_ fields and the native UTM_* fields (research bitrix24.md
 * §5.3: "Create the lead server-side (never expose the webhook in the browser)").
 *
 * The event it returns is keyed like the ONCRMLEADADD / ONCRMDEALADD webhook for the same record
 * (its id, no stage: the inbound job reads the record back), so `generate_lead` goes once.
 * Writes are not idempotent: the client never retries one after it may have reached Bitrix24
 * (b24jssdk's transport retries made duplicates, §6); the job queue's retry is the port's policy.
 */
import type { LeadIntakeSettings } from '../../../core/config-types';
import { emptyDeal, type DealEvent } from '../../../core/deal';
import { AppError } from '../../../core/errors';
import type { LeadForm } from '../../../core/lead-form';
import type { CrmLeadWriter } from '../../../ports/crm-lead-writer';
import { batchCommand, type Bitrix24Client } from './bitrix24-client';
import {
  BITRIX24_SOURCE,
  dealIdOf,
  LEAD_PIPELINE,
  PORTAL_ACCOUNT,
  type EntityKind,
} from './bitrix24-deal';
import type { Bitrix24Settings } from './config';
import { commandError } from './record-batcher';

export type Bitrix24WriterSettings = Pick<Bitrix24Settings, 'fields' | 'creates'> &
  Pick<LeadIntakeSettings, 'leadName' | 'pipeline' | 'status'>;

type Fields = Record<string, unknown>;

/** The contact's own fields: a person's data goes to Bitrix24 only (§5.3 multi-fields). */
function contactFields(form: LeadForm): Fields {
  const out: Fields = {};
  if (form.name !== null) out.NAME = form.name;
  if (form.phone !== null) out.PHONE = [{ VALUE: form.phone, VALUE_TYPE: 'WORK' }];
  if (form.email !== null) out.EMAIL = [{ VALUE: form.email, VALUE_TYPE: 'WORK' }];
  return out;
}

/** The analytics fields: the configured UF_CRM_ fields and the native UTM_* fields. Pure. */
export function analyticsFields(form: LeadForm, fields: Bitrix24Settings['fields']): Fields {
  const out: Fields = {};
  const put = (code: string | null, value: string | null): void => {
    if (code !== null && value !== null) out[code] = value;
  };
  put(fields.gaClientId, form.clientId);
  put(fields.gaSessionId, form.sessionId);
  put(fields.ymClientId, form.ymUid);
  put(fields.yclid, form.yclid);
  put(fields.gclid, form.gclid);
  put('UTM_SOURCE', form.utmSource);
  put('UTM_MEDIUM', form.utmMedium);
  put('UTM_CAMPAIGN', form.utmCampaign);
  put('UTM_CONTENT', form.utmContent);
  put('UTM_TERM', form.utmTerm);
  return out;
}

/** The commands that create the record, by batch key. Pure. */
export function createCommands(
  form: LeadForm,
  settings: Bitrix24WriterSettings,
): Record<string, string> {
  const common: Fields = {
    TITLE: settings.leadName,
    SOURCE_ID: 'WEB',
    ...(form.comment === null ? {} : { COMMENTS: form.comment }),
    ...analyticsFields(form, settings.fields),
  };
  const params = { REGISTER_SONET_EVENT: 'Y' };
  if (settings.creates === 'lead') {
    const fields = {
      ...common,
      ...contactFields(form),
      ...(settings.status === null ? {} : { STATUS_ID: settings.status }),
    };
    return { record: batchCommand('crm.lead.add', { fields, params }) };
  }
  const deal = {
    ...common,
    CONTACT_ID: '$result[contact]',
    ...(settings.pipeline === null ? {} : { CATEGORY_ID: settings.pipeline }),
    ...(settings.status === null ? {} : { STAGE_ID: settings.status }),
  };
  return {
    contact: batchCommand('crm.contact.add', { fields: contactFields(form), params }),
    record: batchCommand('crm.deal.add', { fields: deal, params }),
  };
}

export class Bitrix24LeadWriter implements CrmLeadWriter {
  readonly name = BITRIX24_SOURCE;

  constructor(
    private readonly client: Pick<Bitrix24Client, 'batch'>,
    private readonly settings: Bitrix24WriterSettings,
  ) {}

  async createLead(form: LeadForm, receivedAtMs: number): Promise<DealEvent> {
    const answer = await this.client.batch(createCommands(form, this.settings));
    const errors = Array.isArray(answer.result_error) ? {} : answer.result_error;
    for (const [key, error] of Object.entries(errors)) {
      const e = commandError(
        key === 'contact' ? 'crm.contact.add' : `the ${this.settings.creates}'s add`,
        error,
      );
      if (e !== null) throw e;
    }
    const id = Array.isArray(answer.result) ? undefined : answer.result.record;
    if (typeof id !== 'number' && !(typeof id === 'string' && /^\d+$/.test(id))) {
      throw new AppError(
        'LEAD_CREATE_FAILED',
        `Bitrix24 answered without the new ${this.settings.creates}'s id`,
      );
    }
    const kind: EntityKind = this.settings.creates;
    const deal = emptyDeal(dealIdOf(kind, String(id)));
    const occurredAt = Math.floor(receivedAtMs / 1000);
    return {
      source: BITRIX24_SOURCE,
      account: PORTAL_ACCOUNT,
      kind: 'created',
      previous: null,
      occurredAt,
      deal: kind === 'lead' ? { ...deal, pipelineId: LEAD_PIPELINE } : deal,
    };
  }
}
