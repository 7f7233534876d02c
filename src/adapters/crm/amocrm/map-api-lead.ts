/**
 * An API v4 lead in the internal model (core/lead.ts). Pure.
 *
 * - The API answered for the whole lead, so `custom_fields_values: null` means "this lead has no
 *   field values" and becomes `[]`. (`null` in the model is kept for webhooks that carried no
 *   field data at all, research amocrm.md §1.4.)
 * - Values become strings, as webhooks carry them (§1.6 "Parsing notes"), so that a rule matches
 *   the same lead the same way whichever way it arrived: numbers and dates (Unix seconds) as
 *   decimal text, a checked checkbox as "1" (the webhook of §1.6 ex. 1 sends `[value]=1`), an
 *   unchecked one as "0". The few object values (files, chained lists) are kept as JSON text;
 *   a `null` value is dropped, as webhooks omit fields without a value (§1.5).
 * - API values are not HTML-escaped (that is a webhook quirk, §1.6), so nothing is unescaped.
 * - The lead's `name` is dropped: it is free text, often a person's name, and nothing downstream
 *   may carry personal data toward GA (DESIGN.md).
 * - Numbers are checked, not trusted: a field that is not a finite number becomes `null`
 *   ("not known"), never 0.
 */
import { amountOrNull } from '../../../core/amount';
import type { CustomField, CustomFieldValue, LeadSnapshot } from './amocrm-lead';
import type { AmoApiCustomField, AmoApiFieldValue, AmoApiLead } from './api-types';

export function mapApiLead(lead: AmoApiLead): LeadSnapshot {
  return {
    id: lead.id,
    statusId: numberOrNull(lead.status_id),
    pipelineId: numberOrNull(lead.pipeline_id),
    price: amountOrNull(numberOrNull(lead.price)),
    responsibleUserId: numberOrNull(lead.responsible_user_id),
    createdAt: numberOrNull(lead.created_at),
    updatedAt: numberOrNull(lead.updated_at),
    customFields: (lead.custom_fields_values ?? []).map(mapCustomField),
    tags: (lead._embedded?.tags ?? [])
      .map((t) => t.name)
      .filter((name): name is string => typeof name === 'string' && name !== ''),
  };
}

function mapCustomField(field: AmoApiCustomField): CustomField {
  const values: CustomFieldValue[] = [];
  for (const v of field.values ?? []) {
    const value = valueToString(v.value);
    if (value !== null) values.push({ value, enumId: numberOrNull(v.enum_id) });
  }
  return {
    id: numberOrNull(field.field_id),
    name: typeof field.field_name === 'string' ? field.field_name : null,
    code: typeof field.field_code === 'string' && field.field_code !== '' ? field.field_code : null,
    values,
  };
}

function valueToString(value: AmoApiFieldValue['value'] | undefined): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value === null || value === undefined) return null;
  return JSON.stringify(value);
}

function numberOrNull(n: unknown): number | null {
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}
