/**
 * Lead intake, the pure part: a site form (untrusted, as posted) becomes a typed `LeadForm`, and a
 * `LeadForm` becomes one element of the `POST /api/v4/leads/complex` body — the lead, its contact
 * and the visitor's analytics IDs in amoCRM's tracking fields, in one call (research amocrm.md
 * §3.3). No I/O, no clock.
 *
 * The analytics IDs are what closes the loop later: the lead's `GCLIENTID` is the GA client ID
 * every conversion of this deal is sent with, and the session ID lets GA4 attribute the
 * `generate_lead` to the visit, if it arrives within 24 hours of the session start (research
 * ga4-mp.md A4). So they are checked as strictly as the pipeline reads them (normalizeClientId,
 * parseSessionId), and a malformed one is dropped rather than stored: a made-up session ID would
 * start a new session in GA4 (A4), and a lead must never be refused because of a cookie.
 */
import type { LeadIntakeSettings, WritableFieldRef } from './config-types';
import { normalizeClientId, parseSessionId } from './ga4/client-id';

/** A validated form: trimmed, capped, IDs normalised; null where the form had nothing usable. */
export interface LeadForm {
  name: string | null;
  phone: string | null;
  email: string | null;
  comment: string | null;
  /** Normalised GA client ID: `123.456`. */
  clientId: string | null;
  /** GA session ID: the digits of the session's start time. */
  sessionId: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  utmContent: string | null;
  utmTerm: string | null;
  gclid: string | null;
  yclid: string | null;
  ymUid: string | null;
}

/** The form fields closeloop reads, as the snippet and site developers name them. */
export const LEAD_FORM_FIELDS = [
  'name',
  'phone',
  'email',
  'comment',
  'ga_client_id',
  'ga_session_id',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'gclid',
  'yclid',
  'ym_uid',
] as const;

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

/** Text caps. The body limit (16 kB) bounds the whole form; these keep each value sane. */
export const LIMITS = {
  name: 255,
  /** E.164 has at most 15 digits; room for spaces, brackets and an extension. */
  phone: 50,
  /** RFC 5321: a forward path of at most 256 octets, so an address of at most 254. */
  email: 254,
  comment: 4000,
  utm: 255,
  clickId: 255,
} as const;

/** gclid, yclid and _ym_uid are URL-safe tokens; anything else is not one of them. */
const CLICK_ID = /^[A-Za-z0-9._~-]+$/;
const PHONE_CHARS = /^\+?[\d\s().-]+$/;
const EMAIL = /^[^\s@<>()[\]",;:]+@[^\s@<>()[\]",;:]+\.[^\s@<>()[\]",;:.]{2,}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
// eslint-disable-next-line no-control-regex
const CONTROL_AND_BREAKS = /[\u0000-\u001f\u007f]+/g;

type Text = { text: string | null } | { problem: string };

/**
 * A form field as text: strings and finite numbers (a JSON phone) are taken, trimmed, inner line
 * breaks and control characters removed (kept as line breaks in the comment); empty is null.
 * Messages never repeat the value: they are logged, and the value may be personal data.
 */
function readText(input: Record<string, unknown>, key: string, multiline = false): Text {
  const raw = Object.hasOwn(input, key) ? input[key] : undefined;
  if (raw === undefined || raw === null) return { text: null };
  let text: string;
  if (typeof raw === 'string') text = raw;
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else return { problem: `${key} must be text, not ${Array.isArray(raw) ? 'a list' : typeof raw}` };
  text = multiline
    ? text.replace(/\r\n?/g, '\n').replace(CONTROL, '')
    : text.replace(CONTROL_AND_BREAKS, ' ');
  text = text.trim();
  return { text: text === '' ? null : text };
}

/** Cut to `max` characters without splitting a surrogate pair. */
function cap(text: string | null, max: number): string | null {
  if (text === null) return null;
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('').trimEnd();
}

/**
 * Reads a posted form. Problems (for a 400 answer) come only from what a person typed: name,
 * phone, email, comment, and at least one of phone or email. The analytics fields never make a
 * problem: a malformed one is dropped.
 */
export function parseLeadForm(
  input: Record<string, unknown>,
): { form: LeadForm } | { problems: string[] } {
  const problems: string[] = [];
  const text = (key: string, multiline = false): string | null => {
    const read = readText(input, key, multiline);
    if ('problem' in read) {
      problems.push(read.problem);
      return null;
    }
    return read.text;
  };
  const optional = (key: string): string | null => {
    const read = readText(input, key);
    return 'text' in read ? read.text : null;
  };

  const name = cap(text('name'), LIMITS.name);
  const comment = cap(text('comment', true), LIMITS.comment);

  let phone = text('phone');
  if (phone !== null) {
    const digits = phone.replace(/\D/g, '').length;
    if (phone.length > LIMITS.phone || !PHONE_CHARS.test(phone) || digits < 5 || digits > 20) {
      problems.push(
        'phone is not a phone number (digits, spaces, +, brackets and dashes; 5 to 20 digits)',
      );
      phone = null;
    } else {
      phone = phone.replace(/\s+/g, ' ');
    }
  }

  let email = text('email');
  if (email !== null && (email.length > LIMITS.email || !EMAIL.test(email))) {
    problems.push('email is not an email address');
    email = null;
  }
  if (
    !problems.some((p) => p.startsWith('phone') || p.startsWith('email')) &&
    phone === null &&
    email === null
  ) {
    problems.push('phone or email is required');
  }
  if (problems.length > 0) return { problems };

  const clickId = (key: string): string | null => {
    const value = optional(key);
    return value !== null && value.length <= LIMITS.clickId && CLICK_ID.test(value) ? value : null;
  };
  const utm = (key: string): string | null => cap(optional(key), LIMITS.utm);
  return {
    form: {
      name,
      phone,
      email,
      comment,
      clientId: normalizeClientId(optional('ga_client_id')),
      sessionId: parseSessionId(optional('ga_session_id')),
      utmSource: utm('utm_source'),
      utmMedium: utm('utm_medium'),
      utmCampaign: utm('utm_campaign'),
      utmContent: utm('utm_content'),
      utmTerm: utm('utm_term'),
      gclid: clickId('gclid'),
      yclid: clickId('yclid'),
      ymUid: clickId('ym_uid'),
    },
  };
}

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
    ...(settings.pipeline !== null && { pipeline_id: settings.pipeline }),
    ...(settings.status !== null && { status_id: settings.status }),
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
