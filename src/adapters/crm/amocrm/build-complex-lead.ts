/**
 * A site form (`LeadForm`, src/core/lead-form.ts) as one element of the `POST /api/v4/leads/complex`
 * body: the lead, its contact and the visitor's analytics IDs in amoCRM's tracking fields, in one
 * call (research amocrm.md §3.3). Pure.
 */
import type { LeadIntakeSettings, WritableFieldRef } from '../../../core/config-types';
import type { LeadForm } from '../../../core/lead-form';

/** Where each tracking value goes: amoCRM's own tracking field codes (research amocrm.md §3.2). */
const TRACKING_CODES = [
  ['clientId', 'GCLIENTID'],
  ['utmSource', 'UTM_SOURCE'],
  ['utmMedium', 'UTM_MEDIUM'],
  ['utmCampaign', 'UTM_CAMPAIGN'],
  ['utmContent', 'UTM_CONTENT'],
  ['utmTerm', 'UTM_TERM'],
  ['gclid', 'GCLID'],
  ['yclid', 'YCLID'],
  ['ymUid', '_YM_UID'],
] as const satisfies ReadonlyArray<readonly [keyof LeadForm, string]>;

/**
 * "For added entities (lead, contact, company), you can transfer no more than 40 values of
 * additional fields" (research amocrm.md §3.3). A lead gets at most 11 here, a contact 2.
 */
export const MAX_FIELD_VALUES_PER_ENTITY = 40;

export type ComplexLeadSettings = Pick<
  LeadIntakeSettings,
  'leadName' | 'pipeline' | 'status' | 'sessionIdField' | 'commentField'
>;

/** One `custom_fields_values` entry, in the API's spelling (research amocrm.md §3.2). */
export type AmoFieldValueIn = ({ field_code: string } | { field_id: number }) & {
  values: Array<{ value: string; enum_code?: string }>;
};

function fieldValue(ref: WritableFieldRef, value: string): AmoFieldValueIn {
  return 'id' in ref
    ? { field_id: ref.id, values: [{ value }] }
    : { field_code: ref.code, values: [{ value }] };
}

function assertFieldLimit(values: readonly unknown[], entity: string): void {
  if (values.length > MAX_FIELD_VALUES_PER_ENTITY) {
    throw new RangeError(
      `${entity} has ${values.length} custom field values; amoCRM takes at most ${MAX_FIELD_VALUES_PER_ENTITY}`,
    );
  }
}

/**
 * One element of the `POST /api/v4/leads/complex` array: the lead (name, pipeline, status,
 * tracking fields), one contact with the phone and email (one contact per lead, §3.3), and the
 * `closeloop` tag so managers can see where the lead came from.
 */
export function buildComplexLead(form: LeadForm, settings: ComplexLeadSettings): unknown {
  const leadFields: AmoFieldValueIn[] = [];
  for (const [key, code] of TRACKING_CODES) {
    const value = form[key];
    if (value !== null) leadFields.push(fieldValue({ code }, value));
  }
  if (form.sessionId !== null && settings.sessionIdField !== null) {
    leadFields.push(fieldValue(settings.sessionIdField, form.sessionId));
  }
  if (form.comment !== null && settings.commentField !== null) {
    leadFields.push(fieldValue(settings.commentField, form.comment));
  }

  const contactFields: AmoFieldValueIn[] = [];
  // WORK is the enum code of the work phone and the work email in every account.
  if (form.phone !== null) {
    contactFields.push({ field_code: 'PHONE', values: [{ value: form.phone, enum_code: 'WORK' }] });
  }
  if (form.email !== null) {
    contactFields.push({ field_code: 'EMAIL', values: [{ value: form.email, enum_code: 'WORK' }] });
  }
  assertFieldLimit(leadFields, 'the lead');
  assertFieldLimit(contactFields, 'the contact');

  return {
    name: settings.leadName,
    ...(settings.pipeline !== null && { pipeline_id: Number(settings.pipeline) }),
    ...(settings.status !== null && { status_id: Number(settings.status) }),
    ...(leadFields.length > 0 && { custom_fields_values: leadFields }),
    _embedded: {
      contacts: [
        {
          ...(form.name !== null && { first_name: form.name }),
          custom_fields_values: contactFields,
        },
      ],
      tags: [{ name: 'closeloop' }],
    },
    // Echoed back in the answer (§3.3); one lead per call, so a constant tells nothing apart.
    request_id: '1',
  };
}
