/**
 * The internal model of a CRM lead and of something that happened to it.
 *
 * Vendor wire names (`status_id`, `custom_fields[n][values][m][enum]`) stay in the adapters'
 * `*-types.ts`; everything here is camelCase and typed. All times are Unix seconds as the CRM
 * gives them.
 */

/** What happened to the lead, as amoCRM names its webhook actions (`leads[<action>][i]`). */
export type LeadAction = 'add' | 'update' | 'status' | 'delete' | 'restore' | 'responsible';

export const LEAD_ACTIONS: readonly LeadAction[] = [
  'add',
  'update',
  'status',
  'delete',
  'restore',
  'responsible',
];

export interface CustomFieldValue {
  /** Always a string as amoCRM sends it (HTML entities already decoded). Dates are Unix seconds. */
  value: string;
  /** Enum id of a select / multiselect option (`[enum]` in webhooks, `enum_id` in API v4). */
  enumId: number | null;
}

export interface CustomField {
  id: number | null;
  name: string | null;
  /** Only fields that have a code carry one (tracking fields: `GCLIENTID`, `UTM_SOURCE`, …). */
  code: string | null;
  values: CustomFieldValue[];
}

/** The state of a lead as far as we know it. `null` means "not known", never "zero". */
export interface LeadSnapshot {
  id: number;
  statusId: number | null;
  pipelineId: number | null;
  /** Deal amount in the account's currency. `null` when the source did not carry it. */
  price: number | null;
  responsibleUserId: number | null;
  createdAt: number | null;
  updatedAt: number | null;
  /**
   * Custom (and tracking) fields with values. `null` when the source carried no field data at all
   * (Digital Pipeline hooks): the lead must then be completed from the CRM API.
   */
  customFields: CustomField[] | null;
  tags: string[];
}

/** One thing that happened to one lead: one `leads[<action>][i]` entry of a webhook. */
export interface LeadEvent {
  crm: 'amocrm';
  /** `account[id]` when the webhook has it, else `account[subdomain]`. Part of idempotency keys. */
  accountId: string;
  subdomain: string | null;
  action: LeadAction;
  /** Only `status` events carry the previous status (and Digital Pipeline hooks the pipeline). */
  oldStatusId: number | null;
  oldPipelineId: number | null;
  /** When it happened in the CRM (Unix seconds), or null when the webhook does not say. */
  occurredAt: number | null;
  lead: LeadSnapshot;
}
