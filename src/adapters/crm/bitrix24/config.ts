/**
 * The `bitrix24:` section of the config: the portal's incoming webhook (REST reads and writes),
 * the outgoing webhook's application token (the check on every call Bitrix24 makes to closeloop),
 * the portal's rate limit, and the deal fields that hold the visitor's identities.
 *
 * Bitrix24's webhooks carry nothing but an id (research bitrix24.md §1.3), so without the incoming
 * webhook URL there is nothing to send: an application token without it is a problem.
 * Limits: §4.1 (leaky bucket: 2 requests/s drain, 50 burst; Enterprise 5 and 250), §4.3 (a REST
 * request is cut after 60 s), §5.3 (UF_CRM_ names: `A-Z 0-9 _`, at most 50 characters).
 */
import Joi from 'joi';
import type { ConfigHint, ConfigSection, ProblemSink } from '../../../ports/config-section';
import {
  constant,
  filled,
  isRecord,
  PERSONAL_WHY,
  personalField,
  sectionHint,
  wholeNumber,
} from '../../config-kit';

/** The deal (and lead) fields the visitor's identities are read from, and written to. */
export interface Bitrix24FieldSettings {
  gaClientId: string | null;
  gaSessionId: string | null;
  ymClientId: string | null;
  yclid: string | null;
  gclid: string | null;
}

export interface Bitrix24RestSettings {
  /** `https://<portal>/rest/<user>/<secret>/`, always with one trailing slash. A secret. */
  webhookUrl: string;
  /** The portal's bucket: drained at this rate (§4.1). */
  requestsPerSecond: number;
  /** The portal's bucket: this many requests before it overflows (§4.1). */
  burst: number;
  timeoutMs: number;
  /** How long deal reads wait for others to go in one `batch` (up to 50 commands). */
  batchWindowMs: number;
  reconcile: { enabled: boolean; intervalMs: number };
}

export interface Bitrix24Settings {
  /** null: no incoming webhook URL (nothing can be read, so Bitrix24 is off). */
  rest: Bitrix24RestSettings | null;
  /** The outgoing webhook's token; null: the route takes no Bitrix24 webhooks. */
  applicationToken: string | null;
  fields: Bitrix24FieldSettings;
  /** Read the source lead's field (LEAD_ID) when the deal's is empty (§5.4). */
  leadFallback: boolean;
  /** What `POST /leads` creates: a lead, or a deal on portals without leads (§3.4). */
  creates: 'lead' | 'deal';
}

/** `UF_CRM_` and up to 43 more of `A-Z 0-9 _`: 50 characters in all (§5.3). */
export const UF_FIELD = /^UF_CRM_[A-Z0-9_]{1,43}$/;
/** An application token: the outgoing webhook's, 32 characters as Bitrix24 shows it (§1.3). */
const TOKEN = /^[\x21-\x7e]{8,200}$/;

export const DEFAULT_FIELDS: Readonly<Record<keyof Bitrix24FieldSettings, string | null>> = {
  gaClientId: 'UF_CRM_GA_CLIENT_ID',
  gaSessionId: 'UF_CRM_GA_SESSION_ID',
  ymClientId: 'UF_CRM_YM_CLIENT_ID',
  yclid: 'UF_CRM_YCLID',
  gclid: null,
};

const ufField = (fallback: string | null): Joi.StringSchema =>
  Joi.string().trim().uppercase().pattern(UF_FIELD).allow(null).empty('').default(fallback);

const fieldsKeys = {
  ga_client_id: ufField(DEFAULT_FIELDS.gaClientId),
  ga_session_id: ufField(DEFAULT_FIELDS.gaSessionId),
  ym_client_id: ufField(DEFAULT_FIELDS.ymClientId),
  yclid: ufField(DEFAULT_FIELDS.yclid),
  gclid: ufField(DEFAULT_FIELDS.gclid),
};
const reconcileKeys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(true),
  every_minutes: wholeNumber(1, 1440, 10),
};
const keys = {
  webhook_url: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .allow(null)
    .empty('')
    .default(null),
  application_token: Joi.string().trim().pattern(TOKEN).allow(null).empty('').default(null),
  // The portal's leaky bucket (§4.1): 2 per second and 50 on every plan but Enterprise (5, 250).
  requests_per_second: wholeNumber(1, 5, 2),
  burst: wholeNumber(1, 250, 50),
  // Bitrix24 cuts a REST request at 60 s (§4.3): waiting longer is waiting for nothing.
  timeout_ms: wholeNumber(100, 60_000, 10_000),
  batch_window_ms: wholeNumber(0, 5000, 200),
  lead_fallback: Joi.boolean().empty(Joi.valid('', null)).default(true),
  creates: Joi.string()
    .trim()
    .lowercase()
    .valid('lead', 'deal')
    .empty(Joi.valid('', null))
    .default('lead'),
  reconcile: Joi.object(reconcileKeys).empty(null).default(),
  fields: Joi.object(fieldsKeys).empty(null).default(),
};

interface RawBitrix24 {
  webhook_url: string | null;
  application_token: string | null;
  requests_per_second: number;
  burst: number;
  timeout_ms: number;
  batch_window_ms: number;
  lead_fallback: boolean;
  creates: 'lead' | 'deal';
  reconcile: { enabled: boolean; every_minutes: number };
  fields: Record<keyof typeof fieldsKeys, string | null>;
}

const UF_EXPECT =
  'a Bitrix24 field name: UF_CRM_ and capitals, digits or _ (at most 50 characters), or null';
const ufHint = (key: string, example: string): ConfigHint => ({
  expect: UF_EXPECT,
  fix: constant(
    `write ${key}: ${example} (closeloop bitrix24 create-fields creates it), or ${key}: null`,
  ),
});

const hints: Record<string, ConfigHint> = {
  '': sectionHint('bitrix24'),
  webhook_url: {
    expect:
      "the portal's incoming webhook, such as https://example.bitrix24.ru/rest/1/abc123def456/ (a proxy or a test server may use http://)",
    fix: constant(
      'put it in the BITRIX24_WEBHOOK_URL environment variable (Applications → Developer resources → Other → Incoming webhook, with the crm scope)',
    ),
    secret: true,
  },
  application_token: {
    expect:
      'the application token Bitrix24 shows when the outgoing webhook is saved (8 to 200 characters, no spaces)',
    fix: constant(
      'put it in the BITRIX24_APPLICATION_TOKEN environment variable and write application_token: ${BITRIX24_APPLICATION_TOKEN:-}',
    ),
    secret: true,
  },
  requests_per_second: {
    expect:
      "a whole number from 1 to 5: how fast the portal's request bucket drains (2 on every plan but Enterprise, 5 there)",
    fix: constant('write requests_per_second: 2, or 5 on Bitrix24 Enterprise'),
  },
  burst: {
    expect:
      "a whole number from 1 to 250: how many requests the portal's bucket holds before it answers 503 (50; 250 on Enterprise)",
    fix: constant('write burst: 50, or 250 on Bitrix24 Enterprise'),
  },
  timeout_ms: {
    expect: 'a whole number of milliseconds from 100 to 60000 (Bitrix24 stops a request at 60 s)',
    fix: constant('write e.g. timeout_ms: 10000, or remove the line to use the default'),
  },
  batch_window_ms: {
    expect: 'a whole number of milliseconds from 0 to 5000',
    fix: constant('write e.g. batch_window_ms: 200, or remove the line to use the default'),
  },
  lead_fallback: {
    expect: 'true or false',
    fix: constant(
      "write lead_fallback: true to read the lead's field when a deal converted from it has none",
    ),
  },
  creates: {
    expect: 'lead or deal: what a site form (POST /leads) creates in Bitrix24',
    fix: constant('write creates: lead, or creates: deal on a portal that works without leads'),
  },
  reconcile: sectionHint('reconcile'),
  'reconcile.enabled': {
    expect: 'true or false',
    fix: constant(
      'write enabled: true to read the stage history for moves whose webhook never came',
    ),
  },
  'reconcile.every_minutes': {
    expect: 'a whole number of minutes from 1 to 1440',
    fix: constant('write e.g. every_minutes: 10, or remove the line to use the default'),
  },
  fields: sectionHint('fields'),
  'fields.ga_client_id': ufHint('ga_client_id', 'UF_CRM_GA_CLIENT_ID'),
  'fields.ga_session_id': ufHint('ga_session_id', 'UF_CRM_GA_SESSION_ID'),
  'fields.ym_client_id': ufHint('ym_client_id', 'UF_CRM_YM_CLIENT_ID'),
  'fields.yclid': ufHint('yclid', 'UF_CRM_YCLID'),
  'fields.gclid': ufHint('gclid', 'UF_CRM_GCLID'),
};

/** Whether a parsed `bitrix24:` section gives REST access (the incoming webhook URL). */
export function bitrix24RestConfigured(raw: unknown): boolean {
  return isRecord(raw) && typeof raw.webhook_url === 'string' && raw.webhook_url.trim() !== '';
}

function check(raw: unknown, add: ProblemSink): void {
  if (!isRecord(raw)) return;
  if (filled(raw.application_token) && !bitrix24RestConfigured(raw)) {
    add(
      ['application_token'],
      "Bitrix24's webhooks carry only the deal's id, and closeloop has no incoming webhook to read the deal with",
      'set BITRIX24_WEBHOOK_URL to the portal’s incoming webhook (https://<portal>/rest/<user>/<secret>/, crm scope)',
    );
  }
  const fields = raw.fields;
  if (!isRecord(fields)) return;
  for (const key of Object.keys(fieldsKeys)) {
    const code = fields[key];
    const which = typeof code === 'string' ? personalField({ code }) : null;
    if (which !== null) {
      add(
        ['fields', key],
        `${which} holds personal data, and its value would be sent as the visitor's ${key}; ${PERSONAL_WHY}`,
        `point ${key} at the field the site fills with it, e.g. ${ufHint(key, '').expect}`,
        'CONFIG_PERSONAL_DATA',
      );
    }
  }
}

function buildRest(b: RawBitrix24): Bitrix24RestSettings | null {
  if (b.webhook_url === null) return null;
  return {
    webhookUrl: `${b.webhook_url.replace(/\/+$/, '')}/`,
    requestsPerSecond: b.requests_per_second,
    burst: b.burst,
    timeoutMs: b.timeout_ms,
    batchWindowMs: b.batch_window_ms,
    reconcile: { enabled: b.reconcile.enabled, intervalMs: b.reconcile.every_minutes * 60_000 },
  };
}

export const bitrix24Section: ConfigSection<Bitrix24Settings> = {
  key: 'bitrix24',
  title: 'Bitrix24',
  keys,
  sectionKeys: {
    '': Object.keys(keys),
    fields: Object.keys(fieldsKeys),
    reconcile: Object.keys(reconcileKeys),
  },
  hints,
  env: [
    { variable: 'BITRIX24_WEBHOOK_URL', path: ['webhook_url'], secret: true },
    { variable: 'BITRIX24_APPLICATION_TOKEN', path: ['application_token'], secret: true },
  ],
  check,
  build(value: unknown): Bitrix24Settings {
    const b = value as RawBitrix24;
    return {
      rest: buildRest(b),
      applicationToken: b.application_token,
      fields: {
        gaClientId: b.fields.ga_client_id,
        gaSessionId: b.fields.ga_session_id,
        ymClientId: b.fields.ym_client_id,
        yclid: b.fields.yclid,
        gclid: b.fields.gclid,
      },
      leadFallback: b.lead_fallback,
      creates: b.creates,
    };
  },
};

/** The settings of a config without a `bitrix24:` section: Bitrix24 is off. */
export const BITRIX24_OFF: Bitrix24Settings = Object.freeze({
  rest: null,
  applicationToken: null,
  fields: Object.freeze({ ...DEFAULT_FIELDS }),
  leadFallback: true,
  creates: 'lead',
});
