/**
 * Lead intake, the pure part: a site form (untrusted, as posted) becomes a typed `LeadForm`, which
 * the account's CRM adapter writes into a new lead. No I/O, no clock.
 *
 * The analytics IDs are what closes the loop later: the lead's `GCLIENTID` is the GA client ID
 * every conversion of this deal is sent with, and the session ID lets GA4 attribute the
 * `generate_lead` to the visit, if it arrives within 24 hours of the session start (research
 * ga4-mp.md A4). So they are checked as strictly as the pipeline reads them (normalizeGaClientId,
 * parseGaSessionId), and a malformed one is dropped rather than stored: a made-up session ID would
 * start a new session in GA4 (A4), and a lead must never be refused because of a cookie.
 */
import { normalizeGaClientId, parseGaSessionId } from './identities';

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
      clientId: normalizeGaClientId(optional('ga_client_id')),
      sessionId: parseGaSessionId(optional('ga_session_id')),
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
