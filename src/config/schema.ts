/**
 * What a valid closeloop config looks like, and how to tell a marketer what is wrong with theirs.
 *
 * Two passes, both collecting every problem:
 * - `configSchema` (joi): shape, types, ranges, required and unknown keys, defaults. Its raw
 *   errors are turned into plain-language problems by `describeSchemaError`.
 * - `checkMeaning`: what joi cannot say well: GA4 naming rules, reserved names, personal data,
 *   and checks across keys (`from_status` without `status_changed`, duplicate rule names).
 *
 * Both return problems located by path (`['rules', 1, 'send', 0, 'event']`); load-config.ts turns a
 * path into a file line. Limits come from research/ga4-mp.md (A3, A5) and research/amocrm.md (3.2).
 */
import Joi from 'joi';
import { isCurrencyCode, suggestCurrency } from '../core/currency';
import type { ErrorCode } from '../core/errors';
import {
  LEAD_ATTRIBUTES,
  RULE_TRIGGERS,
  UTM_KEYS,
  type LeadAttribute,
  type ParamScalar,
  type RuleTrigger,
  type UtmKey,
} from '../core/config-types';
import { CONFIG_RESERVED_EVENT_NAMES, RESERVED_NAME_PREFIXES } from '../core/ga4/reserved-names';
import { LEAD_FORM_FIELDS } from '../core/build-complex-lead';

export type ConfigPath = readonly (string | number)[];

/** A problem found by the schema or the meaning checks, located by path (no file or line yet). */
export interface SchemaProblem {
  path: ConfigPath;
  message: string;
  fix: string;
  code: ErrorCode;
}

// ---------------------------------------------------------------------------------------------
// Limits and names (sources in research/ga4-mp.md)
// ---------------------------------------------------------------------------------------------

/** GA4: "alpha-numeric characters and underscores, and must start with an alphabetic character" (A3). */
const GA4_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** GA4: event and parameter names are at most 40 characters (A3). */
export const MAX_NAME_LENGTH = 40;
/** GA4: parameter values are at most 100 characters (A3). */
export const MAX_TEXT_VALUE_LENGTH = 100;
/** GA4 takes 25 params per event (A3); closeloop adds engagement_time_msec, session_id, currency. */
export const MAX_PARAMS_PER_EVENT = 22;
export const MAX_EVENTS_PER_RULE = 10;
const CURRENCY = /^[A-Z]{3}$/;
const MEASUREMENT_ID = /^G-[A-Z0-9]+$/;
/** The secret becomes a URL path segment, so only URL-safe characters, and long enough not to guess. */
const WEBHOOK_SECRET = /^[A-Za-z0-9_-]{16,200}$/;
/** A subdomain (`example`) or a full domain (`example.kommo.com`). */
const AMOCRM_DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$/;

/**
 * A form field name as sites write it in HTML (`<input name="website">`): the honeypot must be one
 * the form can carry under that exact name.
 */
const FORM_FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

const KB = 1024;
const MB = 1024 * KB;
const MIN_BODY = KB;
const MAX_BODY = 50 * MB;

/** GA4 reserves these prefixes for event, parameter and user-property names (A3). */
const RESERVED_PREFIXES = RESERVED_NAME_PREFIXES;
/** Reserved by GA4 for events (A3, web naming rules). */
const RESERVED_EVENT_PREFIXES = [...RESERVED_PREFIXES, 'query_id'] as const;
/** closeloop sets these itself on every event (A4: needed for reports). */
const CLOSELOOP_PARAMS: Readonly<Record<string, string>> = {
  engagement_time_msec:
    'closeloop sets it on every event so that GA4 counts the event in its reports',
  session_id:
    'closeloop sets it from the lead’s session ID field (amocrm.fields.session_id) when the lead has one',
};

const LEAD_EVENTS_HINT =
  'generate_lead, working_lead, qualify_lead, disqualify_lead, close_convert_lead, close_unconvert_lead, purchase';

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/** Optimal string alignment distance: edits, counting a swap of two neighbours as one. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** `measurementId`, `Measurement-ID` → `measurement_id`. */
function toSnakeCase(s: string): string {
  return s
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_');
}

/** Words people use for our keys. Only offered when the target is allowed where the typo is. */
const SYNONYMS: Readonly<Record<string, string>> = {
  events: 'send',
  event: 'send',
  actions: 'send',
  trigger: 'on',
  when: 'on',
  pipelines: 'pipeline',
  pipeline_id: 'pipeline',
  pipeline_ids: 'pipeline',
  statuses: 'status',
  status_id: 'status',
  status_ids: 'status',
  to_status: 'status',
  from: 'from_status',
  from_statuses: 'from_status',
  old_status: 'from_status',
  old_status_id: 'from_status',
  parameters: 'params',
  param: 'params',
  name: 'event',
  event_name: 'event',
  rule: 'rules',
  keyword: 'term',
};

/** The closest of `candidates` to `input`, or null when nothing is close enough to be a typo. */
export function closestMatch(input: string, candidates: readonly string[]): string | null {
  const snake = toSnakeCase(input);
  if (candidates.includes(snake)) return snake;
  const synonym = Object.hasOwn(SYNONYMS, snake) ? SYNONYMS[snake] : undefined;
  if (synonym !== undefined && candidates.includes(synonym)) return synonym;
  const limit = snake.length <= 4 ? 1 : snake.length <= 8 ? 2 : 3;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(snake, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads in a message. Long text is cut, so a message stays one line. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null || value === '') return 'empty';
  if (typeof value === 'string') {
    const oneLine = value.replace(/\s+/g, ' ');
    return oneLine.length > 40
      ? `"${oneLine.slice(0, 40)}…" (${value.length} characters)`
      : `"${oneLine}"`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const scalars = value.every((v) => ['string', 'number', 'boolean'].includes(typeof v));
    return scalars && value.length <= 5 ? `[${value.map(describeValue).join(', ')}]` : 'a list';
  }
  return 'a section of settings';
}

/** A suggestion for a bad GA4 name: `Purchase!` → `purchase`, `Lead source` → `lead_source`. */
function suggestGa4Name(name: string): string {
  const snake = toSnakeCase(name)
    .replace(/_+/g, '_')
    .replace(/^[_0-9]+|_+$/g, '');
  return snake.slice(0, MAX_NAME_LENGTH).replace(/_+$/, '');
}

// ---------------------------------------------------------------------------------------------
// The joi schema
// ---------------------------------------------------------------------------------------------

/** A positive id, a list of them, or `any`. Numeric strings (from `${VAR}`) are accepted. */
/**
 * `142`, `[142, 143]`, `any`, or names (`Квалифицирован`, `[Продажи, 7654321]`): names are looked
 * up through the amoCRM API at start (resolveRuleNames).
 */
function parseIdList(value: unknown): Array<number | string> | null | undefined {
  const one = (v: unknown): number | string | undefined => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
    if (typeof v === 'string' && /^\s*\d+\s*$/.test(v)) {
      const n = Number(v);
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    }
    if (typeof v === 'string' && v.trim() !== '' && v.trim().toLowerCase() !== 'any') {
      return v.trim();
    }
    return undefined;
  };
  if (typeof value === 'string' && value.trim().toLowerCase() === 'any') return null;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    const ids: Array<number | string> = [];
    for (const item of value) {
      const id = one(item);
      if (id === undefined) return undefined;
      if (!ids.includes(id)) ids.push(id);
    }
    return ids;
  }
  const id = one(value);
  return id === undefined ? undefined : [id];
}

/** `1048576`, `512kb`, `1mb`, `1.5 MB` → bytes (1 kb = 1024 bytes). */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb)?\s*$/i.exec(value);
  if (m === null) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit.startsWith('m') ? MB : unit.startsWith('k') ? KB : 1;
  return Math.round(Number(m[1]) * factor);
}

const idList = Joi.any()
  .custom((value: unknown, helpers) => {
    const ids = parseIdList(value);
    return ids === undefined ? helpers.error('ids.invalid') : ids;
  })
  .messages({ 'ids.invalid': '{{#label}} is not an id, a list of ids or any' });

const byteSize = Joi.any()
  .custom((value: unknown, helpers) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined || bytes < MIN_BODY || bytes > MAX_BODY) {
      return helpers.error('bytes.invalid');
    }
    return bytes;
  })
  .messages({ 'bytes.invalid': '{{#label}} is not a size from 1kb to 50mb' });

const wholeNumber = (min: number, max: number, fallback: number): Joi.NumberSchema =>
  Joi.number().integer().min(min).max(max).empty(Joi.valid('', null)).default(fallback);

const fieldRefKeys = {
  code: Joi.string().trim().min(1),
  id: Joi.number().integer().positive(),
  name: Joi.string().trim().min(1),
};
const fieldRef = Joi.object(fieldRefKeys).xor('code', 'id', 'name');

/** Where lead intake writes a value: the API takes a field by id or code, not by name (§3.2). */
const writableFieldRefKeys = {
  code: fieldRefKeys.code,
  id: fieldRefKeys.id,
};
const writableFieldRef = Joi.object(writableFieldRefKeys).xor('code', 'id');

/**
 * `https://example.com` → itself; `https://Example.com/` → `https://example.com` (what browsers
 * send in `Origin`: scheme, host and a non-default port, nothing else). Anything with a path, a
 * query or a wildcard is not an origin: undefined.
 */
export function parseOrigin(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (!/^https?:\/\/[^/?#*\s]+\/?$/i.test(text)) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.username !== '' || url.password !== '') return undefined;
  return url.origin;
}

const origin = Joi.any()
  .custom((value: unknown, helpers) => parseOrigin(value) ?? helpers.error('origin.invalid'))
  .messages({ 'origin.invalid': '{{#label}} is not an origin' });

const literal = Joi.alternatives().try(
  Joi.string().max(MAX_TEXT_VALUE_LENGTH),
  Joi.number(),
  Joi.boolean(),
);

const sourceKeys = {
  lead: Joi.string().valid(...LEAD_ATTRIBUTES),
  field: fieldRef,
  utm: Joi.string().valid(...UTM_KEYS),
  default: literal,
  required: Joi.boolean().default(false),
};
const source = Joi.object(sourceKeys).xor('lead', 'field', 'utm');

const param = Joi.alternatives().conditional(Joi.object(), { then: source, otherwise: literal });

const sendKeys = {
  event: Joi.string().required(),
  // The count limit is checked by checkMeaning: joi skips object rules once a child has failed.
  params: Joi.object().pattern(Joi.string().allow(''), param).empty(null).default({}),
};

const ruleKeys = {
  name: Joi.string().trim().min(1).max(100).required(),
  on: Joi.string()
    .valid(...RULE_TRIGGERS)
    .required(),
  pipeline: idList,
  status: idList,
  from_status: idList,
  send: Joi.array().items(Joi.object(sendKeys)).min(1).max(MAX_EVENTS_PER_RULE).required(),
};

const amocrmFieldsKeys = {
  client_id: fieldRef.empty(null).default({ code: 'GCLIENTID' }),
  session_id: fieldRef.allow(null).default(null),
};
const amocrmOauthKeys = {
  client_id: Joi.string().trim().required(),
  client_secret: Joi.string().trim().required(),
  redirect_uri: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .required(),
};
const amocrmReconcileKeys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(true),
  every_minutes: wholeNumber(1, 1440, 10),
};
const amocrmKeys = {
  subdomain: Joi.string().trim().pattern(AMOCRM_DOMAIN).allow(null).empty('').default(null),
  base_url: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .allow(null)
    .empty('')
    .default(null),
  token: Joi.string().trim().allow(null).empty('').default(null),
  oauth: Joi.object(amocrmOauthKeys).allow(null).default(null),
  // amoCRM allows about 7 requests per second per integration (research amocrm.md §5).
  requests_per_second: wholeNumber(1, 7, 7),
  timeout_ms: wholeNumber(100, 120_000, 10_000),
  batch_window_ms: wholeNumber(0, 5000, 200),
  reconcile: Joi.object(amocrmReconcileKeys).empty(null).default(),
  fields: Joi.object(amocrmFieldsKeys).empty(null).default(),
};
const ga4Keys = {
  measurement_id: Joi.string().trim().pattern(MEASUREMENT_ID).allow(null).empty('').default(null),
  api_secret: Joi.string().trim().allow(null).empty('').default(null),
  endpoint: Joi.string()
    .trim()
    .uri({ scheme: ['http', 'https'] })
    .empty(Joi.valid('', null))
    .default('https://www.google-analytics.com'),
  timeout_ms: wholeNumber(100, 120_000, 10_000),
  dry_run: Joi.boolean().empty(Joi.valid('', null)).default(false),
};
const webhookKeys = {
  secret: Joi.string().trim().pattern(WEBHOOK_SECRET).allow(null).empty('').default(null),
  max_body: byteSize.empty(Joi.valid('', null)).default(MB),
};
const deliveryKeys = {
  retry_window_hours: wholeNumber(1, 720, 72),
  retry_base_seconds: wholeNumber(1, 3600, 5),
  retry_max_delay_minutes: wholeNumber(1, 1440, 60),
  concurrency: wholeNumber(1, 256, 8),
};
const deliveryLogKeys = {
  max_rows: wholeNumber(1000, 10_000_000, 100_000),
};
const leadIntakeKeys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(false),
  cors_origins: Joi.array().items(origin).single().empty(Joi.valid('', null)).default([]),
  honeypot_field: Joi.string()
    .trim()
    .pattern(FORM_FIELD_NAME)
    .empty(Joi.valid('', null))
    .default('website'),
  per_ip_per_minute: wholeNumber(1, 1000, 10),
  pipeline: Joi.number().integer().positive().allow(null).empty('').default(null),
  status: Joi.number().integer().positive().allow(null).empty('').default(null),
  lead_name: Joi.string()
    .trim()
    .min(1)
    .max(255)
    .empty(Joi.valid('', null))
    .default('Заявка с сайта'),
  session_id_field: writableFieldRef.allow(null).empty('').default(null),
  comment_field: writableFieldRef.allow(null).empty('').default(null),
};
const topKeys = {
  currency: Joi.string()
    .pattern(CURRENCY)
    .custom((code: string, helpers) => (isCurrencyCode(code) ? code : helpers.error('any.invalid')))
    .required(),
  amocrm: Joi.object(amocrmKeys).empty(null).default(),
  ga4: Joi.object(ga4Keys).empty(null).default(),
  webhook: Joi.object(webhookKeys).empty(null).default(),
  delivery: Joi.object(deliveryKeys).empty(null).default(),
  delivery_log: Joi.object(deliveryLogKeys).empty(null).default(),
  rules: Joi.array().items(Joi.object(ruleKeys)).required(),
  lead_intake: Joi.object(leadIntakeKeys).empty(null).default(),
};

/** The whole file. Validate with `{ abortEarly: false }` to collect every problem. */
export const configSchema: Joi.ObjectSchema<RawConfig> = Joi.object(topKeys);

export const VALIDATION_OPTIONS: Joi.ValidationOptions = {
  abortEarly: false,
  convert: true,
  allowUnknown: false,
};

/** The YAML spelling after validation and defaults (what `configSchema` returns). */
export interface RawFieldRef {
  code?: string;
  id?: number;
  name?: string;
}
export interface RawWritableFieldRef {
  code?: string;
  id?: number;
}
export interface RawSource {
  lead?: LeadAttribute;
  field?: RawFieldRef;
  utm?: UtmKey;
  default?: ParamScalar;
  required: boolean;
}
export type RawParam = ParamScalar | RawSource;
export interface RawRule {
  name: string;
  on: RuleTrigger;
  pipeline?: Array<number | string> | null;
  status?: Array<number | string> | null;
  from_status?: Array<number | string> | null;
  send: { event: string; params: Record<string, RawParam> }[];
}
export interface RawConfig {
  currency: string;
  amocrm: {
    subdomain: string | null;
    base_url: string | null;
    token: string | null;
    oauth: { client_id: string; client_secret: string; redirect_uri: string } | null;
    requests_per_second: number;
    timeout_ms: number;
    batch_window_ms: number;
    reconcile: { enabled: boolean; every_minutes: number };
    fields: { client_id: RawFieldRef; session_id: RawFieldRef | null };
  };
  ga4: {
    measurement_id: string | null;
    api_secret: string | null;
    endpoint: string;
    timeout_ms: number;
    dry_run: boolean;
  };
  webhook: { secret: string | null; max_body: number };
  delivery: {
    retry_window_hours: number;
    retry_base_seconds: number;
    retry_max_delay_minutes: number;
    concurrency: number;
  };
  delivery_log: { max_rows: number };
  rules: RawRule[];
  lead_intake: {
    enabled: boolean;
    cors_origins: string[];
    honeypot_field: string;
    per_ip_per_minute: number;
    pipeline: number | null;
    status: number | null;
    lead_name: string;
    session_id_field: RawWritableFieldRef | null;
    comment_field: RawWritableFieldRef | null;
  };
}

// ---------------------------------------------------------------------------------------------
// joi errors → plain language
// ---------------------------------------------------------------------------------------------

/**
 * A path with list positions as `[]` and parameter names as `*`, to look up what a key means:
 * `['rules', 2, 'send', 0, 'params', 'value', 'lead']` → `rules[].send[].params.*.lead`.
 */
export function pathPattern(path: ConfigPath): string {
  let out = '';
  path.forEach((seg, i) => {
    if (typeof seg === 'number') out += '[]';
    else if (i > 0 && path[i - 1] === 'params') out += '.*';
    else out += out === '' ? seg : `.${seg}`;
  });
  return out.replace(/^\./, '');
}

/** The keys each section takes, for "unknown setting" messages. */
const SECTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(topKeys),
  amocrm: Object.keys(amocrmKeys),
  'amocrm.fields': Object.keys(amocrmFieldsKeys),
  'amocrm.oauth': Object.keys(amocrmOauthKeys),
  'amocrm.reconcile': Object.keys(amocrmReconcileKeys),
  'amocrm.fields.client_id': Object.keys(fieldRefKeys),
  'amocrm.fields.session_id': Object.keys(fieldRefKeys),
  ga4: Object.keys(ga4Keys),
  webhook: Object.keys(webhookKeys),
  delivery: Object.keys(deliveryKeys),
  delivery_log: Object.keys(deliveryLogKeys),
  'rules[]': Object.keys(ruleKeys),
  'rules[].send[]': Object.keys(sendKeys),
  'rules[].send[].params.*': Object.keys(sourceKeys),
  'rules[].send[].params.*.field': Object.keys(fieldRefKeys),
  lead_intake: Object.keys(leadIntakeKeys),
  'lead_intake.session_id_field': Object.keys(writableFieldRefKeys),
  'lead_intake.comment_field': Object.keys(writableFieldRefKeys),
};
/** Plain sections a misplaced key can be moved into (not lists: their items differ). */
const MOVABLE_SECTIONS = [
  '',
  'amocrm',
  'amocrm.fields',
  'amocrm.oauth',
  'amocrm.reconcile',
  'ga4',
  'webhook',
  'delivery',
  'delivery_log',
  'lead_intake',
];

interface Hint {
  /** What the value must be, completing "must be …". */
  expect: string;
  /** How to fix it, given the value found. */
  fix: (value: unknown) => string;
  /** Never echo the value (it is a secret). */
  secret?: boolean;
}

const constant = (text: string) => (): string => text;

function section(name: string): Hint {
  return {
    expect: `a section: \`${name}:\` on its own line, with its settings indented under it`,
    fix: constant(`see the ${name} section of config/closeloop.example.yaml`),
  };
}

const FIELD_REF_EXPECT =
  'a field reference: { code: GCLIENTID }, { id: 123456 } or { name: Field name }';
const WRITABLE_FIELD_REF_EXPECT =
  'a deal field amoCRM can write to: { id: 123456 } or { code: FIELD_CODE } (the API takes no field names)';
const ID_LIST_EXPECT = (what: string, example: string, other: string): string =>
  `a ${what} id (a whole number such as ${example}) or name, a list of them like [${example}, ${other}], or any`;

function suggestionFix(valids: readonly string[], key: string, fallback: string) {
  return (value: unknown): string => {
    const guess = typeof value === 'string' ? closestMatch(value, valids) : null;
    return guess === null ? fallback : `did you mean ${guess}? write ${key}: ${guess}`;
  };
}

const HINTS: Readonly<Record<string, Hint>> = {
  '': {
    expect: 'a set of settings, one `key: value` per line',
    fix: constant('start from a copy of config/closeloop.example.yaml'),
  },
  currency: {
    expect: 'a currency code in use (ISO 4217): three capital letters such as RUB, USD or EUR',
    fix: (value) => {
      const suggested = typeof value === 'string' ? suggestCurrency(value) : null;
      if (suggested !== null) {
        return `did you mean ${suggested.code}? write currency: ${suggested.code}${suggested.why === null ? '' : ` (${suggested.why})`}`;
      }
      return 'write the currency of the deal amounts in amoCRM, e.g. currency: RUB';
    },
  },
  amocrm: section('amocrm'),
  'amocrm.subdomain': {
    expect:
      'your amoCRM address: the subdomain (example for example.amocrm.ru) or the full domain (example.kommo.com)',
    fix: constant(
      'write e.g. subdomain: example (without https:// and without a path), or leave it empty',
    ),
  },
  'amocrm.base_url': {
    expect:
      'a web address such as https://example.amocrm.ru (a proxy or a test server may use http://)',
    fix: constant(
      'write base_url: ${AMOCRM_BASE_URL:-} and set AMOCRM_BASE_URL only when calls must go through a proxy; otherwise subdomain is enough',
    ),
  },
  'amocrm.token': {
    expect: 'text: a long-lived token from your amoCRM integration (Keys and scopes tab)',
    fix: constant(
      'put the token in the AMOCRM_TOKEN environment variable and write token: ${AMOCRM_TOKEN:-}',
    ),
    secret: true,
  },
  'amocrm.oauth': {
    expect: 'a section with client_id, client_secret and redirect_uri of your amoCRM integration',
    fix: constant(
      'copy the three values from the integration in amoCRM (Settings → Integrations), keeping client_secret in an environment variable: client_secret: ${AMOCRM_CLIENT_SECRET}',
    ),
  },
  'amocrm.oauth.client_id': {
    expect: 'text: the integration ID from amoCRM',
    fix: constant('copy the integration ID from the integration in amoCRM'),
  },
  'amocrm.oauth.client_secret': {
    expect: 'text: the secret key of the amoCRM integration',
    fix: constant('write client_secret: ${AMOCRM_CLIENT_SECRET} and set that variable'),
    secret: true,
  },
  'amocrm.oauth.redirect_uri': {
    expect: 'the redirect address registered in the amoCRM integration, starting with https://',
    fix: constant('copy the redirect URI exactly as it is written in the integration settings'),
  },
  'amocrm.requests_per_second': {
    expect:
      'a whole number from 1 to 7 (amoCRM allows about 7 requests per second and blocks accounts that exceed it)',
    fix: constant('write requests_per_second: 7, or lower if other integrations share the account'),
  },
  'amocrm.timeout_ms': {
    expect: 'a whole number of milliseconds from 100 to 120000',
    fix: constant('write e.g. timeout_ms: 10000, or remove the line to use the default'),
  },
  'amocrm.batch_window_ms': {
    expect: 'a whole number of milliseconds from 0 to 5000',
    fix: constant('write e.g. batch_window_ms: 200, or remove the line to use the default'),
  },
  'amocrm.reconcile': section('reconcile'),
  'amocrm.reconcile.enabled': {
    expect: 'true or false',
    fix: constant('write enabled: true to poll amoCRM for missed webhooks, or enabled: false'),
  },
  'amocrm.reconcile.every_minutes': {
    expect: 'a whole number of minutes from 1 to 1440',
    fix: constant('write e.g. every_minutes: 10, or remove the line to use the default'),
  },
  'amocrm.fields': section('fields'),
  'amocrm.fields.client_id': {
    expect: FIELD_REF_EXPECT,
    fix: constant('write client_id: { code: GCLIENTID } to use amoCRM’s own tracking field'),
  },
  'amocrm.fields.session_id': {
    expect: FIELD_REF_EXPECT,
    fix: constant(
      'write session_id: { name: ga_session_id }, or session_id: null to send no session ID',
    ),
  },
  'fieldref.code': {
    expect: 'the field code as text, such as GCLIENTID or UTM_SOURCE',
    fix: constant('write e.g. { code: GCLIENTID }'),
  },
  'fieldref.id': {
    expect: 'the field id: a whole number, as shown in the field’s settings in amoCRM',
    fix: constant('write e.g. { id: 123456 }'),
  },
  'fieldref.name': {
    expect: 'the field name as text, exactly as it is spelled in amoCRM',
    fix: constant('write e.g. { name: Тип программы }'),
  },
  ga4: section('ga4'),
  'ga4.measurement_id': {
    expect:
      'a GA4 measurement ID such as G-ABC123XYZ (GA4 → Admin → Data streams → your web stream)',
    fix: (value) => {
      if (typeof value === 'string' && /^ua-/i.test(value.trim())) {
        return 'UA- IDs belong to Universal Analytics, which stopped processing data in July 2023; use the G- ID of a GA4 web stream';
      }
      if (typeof value === 'string' && MEASUREMENT_ID.test(value.trim().toUpperCase())) {
        return `write it in capital letters: measurement_id: ${value.trim().toUpperCase()}`;
      }
      return 'copy the measurement ID of your GA4 web data stream, or leave it empty to run in dry-run mode';
    },
  },
  'ga4.api_secret': {
    expect: 'text: the Measurement Protocol API secret of your GA4 web stream',
    fix: constant(
      'put the secret in the GA4_API_SECRET environment variable and write api_secret: ${GA4_API_SECRET:-}',
    ),
    secret: true,
  },
  'ga4.endpoint': {
    expect:
      'a web address starting with https:// (or http://), such as https://www.google-analytics.com',
    fix: constant(
      'write endpoint: https://www.google-analytics.com (or https://region1.google-analytics.com to keep data collection in the EU), or remove the line',
    ),
  },
  'ga4.timeout_ms': {
    expect: 'a whole number of milliseconds from 100 to 120000',
    fix: constant(
      'write e.g. timeout_ms: 10000 (10 seconds), or remove the line to use the default',
    ),
  },
  'ga4.dry_run': {
    expect: 'true or false',
    fix: constant('write dry_run: true to only record what would be sent, or dry_run: false'),
  },
  webhook: section('webhook'),
  'webhook.secret': {
    expect:
      'at least 16 characters, using only letters, digits, "_" and "-" (it becomes part of the webhook address)',
    fix: constant(
      'put a long random text (e.g. from `openssl rand -hex 16`) in CLOSELOOP_WEBHOOK_SECRET, or leave it empty and closeloop generates one',
    ),
    secret: true,
  },
  'webhook.max_body': {
    expect: 'a size from 1kb to 50mb, such as 512kb or 1mb (or a number of bytes)',
    fix: constant('write e.g. max_body: 1mb, or remove the line to use the default'),
  },
  delivery: section('delivery'),
  'delivery.retry_window_hours': {
    expect: 'a whole number of hours from 1 to 720',
    fix: constant('write e.g. retry_window_hours: 72 (GA4 accepts events at most 72 hours old)'),
  },
  'delivery.retry_base_seconds': {
    expect: 'a whole number of seconds from 1 to 3600',
    fix: constant('write e.g. retry_base_seconds: 5, or remove the line to use the default'),
  },
  'delivery.retry_max_delay_minutes': {
    expect: 'a whole number of minutes from 1 to 1440',
    fix: constant('write e.g. retry_max_delay_minutes: 60, or remove the line to use the default'),
  },
  'delivery.concurrency': {
    expect: 'a whole number from 1 to 256',
    fix: constant('write e.g. concurrency: 8, or remove the line to use the default'),
  },
  delivery_log: section('delivery_log'),
  'delivery_log.max_rows': {
    expect: 'a whole number from 1000 to 10000000',
    fix: constant('write e.g. max_rows: 100000, or remove the line to use the default'),
  },
  lead_intake: section('lead_intake'),
  'lead_intake.enabled': {
    expect: 'true or false',
    fix: constant(
      'write enabled: true to take leads from site forms at POST /leads, or enabled: false',
    ),
  },
  'lead_intake.cors_origins': {
    expect:
      'a list of the site addresses whose pages send the form, such as [https://example.com, https://www.example.com]',
    fix: constant(
      'write e.g. cors_origins: [https://example.com], or cors_origins: [] when only servers post leads',
    ),
  },
  'lead_intake.cors_origins[]': {
    expect:
      'a site address (an origin): http:// or https://, the domain, and a port only if it is not the usual one, without a path, such as https://example.com',
    fix: (value) => {
      if (typeof value === 'string' && value.includes('*')) {
        return 'list each site on its own; a wildcard would let any site on the internet post leads into your amoCRM';
      }
      const start =
        typeof value === 'string' ? /^(https?:\/\/[^/?#\s]+)/i.exec(value.trim()) : null;
      const origin = start?.[1] === undefined ? undefined : parseOrigin(start[1]);
      return origin === undefined
        ? 'write the address as the browser shows it, e.g. https://example.com'
        : `write ${origin}: the browser sends only the scheme and the domain, never the page's path`;
    },
  },
  'lead_intake.honeypot_field': {
    expect:
      'a form field name: Latin letters, digits, "_" or "-", starting with a letter or "_", at most 64 characters',
    fix: constant(
      'write e.g. honeypot_field: website, and add that field to the form hidden from people (the snippet guide shows how)',
    ),
  },
  'lead_intake.per_ip_per_minute': {
    expect: 'a whole number from 1 to 1000',
    fix: constant('write e.g. per_ip_per_minute: 10, or remove the line to use the default'),
  },
  'lead_intake.pipeline': {
    expect: 'a pipeline id: a whole number such as 4542166',
    fix: constant(
      'write the id (npx closeloop statuses prints them), or remove the line to use the main pipeline',
    ),
  },
  'lead_intake.status': {
    expect: 'a status id: a whole number such as 41893093',
    fix: constant(
      'write the id (npx closeloop statuses prints them), or remove the line to let amoCRM put new leads in the first status',
    ),
  },
  'lead_intake.lead_name': {
    expect: 'a text of 1 to 255 characters',
    fix: constant('write e.g. lead_name: Заявка с сайта, or remove the line to use the default'),
  },
  'lead_intake.session_id_field': {
    expect: WRITABLE_FIELD_REF_EXPECT,
    fix: constant(
      'write session_id_field: { id: 123456 } with the id of the deal field for the GA session ID, or remove the line',
    ),
  },
  'lead_intake.comment_field': {
    expect: WRITABLE_FIELD_REF_EXPECT,
    fix: constant(
      'write comment_field: { id: 123457 } with the id of a text field of the deal, or remove the line to keep no comments',
    ),
  },
  rules: {
    expect: 'a list of rules, each starting with "- name:"',
    fix: constant(
      'copy the rules of config/closeloop.example.yaml, or write rules: [] to send nothing',
    ),
  },
  'rules[]': {
    expect: 'a rule: a list item with name, on and send',
    fix: constant('start each rule with "- name: ..." and indent on:, send: etc. under the name'),
  },
  'rules[].name': {
    expect: 'a short text (up to 100 characters) naming the rule, such as Deal won',
    fix: constant('write e.g. name: Deal won'),
  },
  'rules[].on': {
    expect: `one of ${RULE_TRIGGERS.join(', ')}`,
    fix: suggestionFix(
      RULE_TRIGGERS,
      'on',
      'write on: status_changed for a deal moving to another stage, or on: lead_added for a new lead',
    ),
  },
  'rules[].pipeline': {
    expect: ID_LIST_EXPECT('pipeline', '1234567', '7654321'),
    fix: constant(
      'open the pipeline in amoCRM and copy the number from the address (…/leads/pipeline/1234567), or remove the line to match every pipeline',
    ),
  },
  'rules[].status': {
    expect: ID_LIST_EXPECT('status', '142', '143'),
    fix: constant(
      'write the status id, e.g. status: 142 (won; 143 is lost, in every pipeline); docs/configuration.md explains how to find other ids',
    ),
  },
  'rules[].from_status': {
    expect: ID_LIST_EXPECT('status', '555001', '555002'),
    fix: constant('write the id of the previous status, e.g. from_status: 555, or remove the line'),
  },
  'rules[].send': {
    expect: `a list of 1 to ${MAX_EVENTS_PER_RULE} events, each starting with "- event:"`,
    fix: constant('write send: and under it a line like "- event: generate_lead"'),
  },
  'rules[].send[]': {
    expect: 'an event: a list item with event: and, if needed, params:',
    fix: constant('write e.g. "- event: generate_lead"'),
  },
  'rules[].send[].event': {
    expect: 'a GA4 event name as text, such as generate_lead or purchase',
    fix: constant('write e.g. event: generate_lead'),
  },
  'rules[].send[].params': {
    expect: 'a section of parameters, one `name: value` per line',
    fix: constant('indent each parameter under params:, e.g. value: { lead: price }'),
  },
  'rules[].send[].params.*': {
    expect: `a fixed value (text up to ${MAX_TEXT_VALUE_LENGTH} characters, a number, or true/false) or a source such as { lead: price }, { field: { name: Program } } or { utm: campaign }`,
    fix: (value) =>
      typeof value === 'string' && value.length > MAX_TEXT_VALUE_LENGTH
        ? `shorten it to ${MAX_TEXT_VALUE_LENGTH} characters (GA4 ignores longer values)`
        : 'give the parameter a value, or remove it',
  },
  'rules[].send[].params.*.lead': {
    expect: `one of the lead attributes ${LEAD_ATTRIBUTES.join(', ')}`,
    fix: suggestionFix(LEAD_ATTRIBUTES, 'lead', 'write e.g. { lead: price } for the deal amount'),
  },
  'rules[].send[].params.*.field': {
    expect: FIELD_REF_EXPECT,
    fix: constant('write e.g. { field: { name: Тип программы } } or { field: { id: 123456 } }'),
  },
  'rules[].send[].params.*.utm': {
    expect: `one of ${UTM_KEYS.join(', ')}`,
    fix: suggestionFix(UTM_KEYS, 'utm', 'write e.g. { utm: campaign }'),
  },
  'rules[].send[].params.*.default': {
    expect: `a fixed value: text up to ${MAX_TEXT_VALUE_LENGTH} characters, a number, or true/false`,
    fix: constant('write e.g. default: none'),
  },
  'rules[].send[].params.*.required': {
    expect: 'true or false',
    fix: constant(
      'write required: true to skip the event when the value is missing, or remove the line',
    ),
  },
};

const FALLBACK_HINT: Hint = {
  expect: 'a valid value',
  fix: constant('compare it with config/closeloop.example.yaml'),
};

function hintFor(path: ConfigPath): Hint {
  const pattern = pathPattern(path);
  const fieldPart =
    /(?:^amocrm\.fields\.(?:client_id|session_id)|^lead_intake\.(?:session_id_field|comment_field)|\.field)\.(code|id|name)$/.exec(
      pattern,
    );
  if (fieldPart?.[1] !== undefined) return HINTS[`fieldref.${fieldPart[1]}`] ?? FALLBACK_HINT;
  return HINTS[pattern] ?? FALLBACK_HINT;
}

/** What to add when a required key is missing. */
const MISSING: Readonly<Record<string, { message?: string; fix: string }>> = {
  currency: {
    fix: 'add currency: RUB (the currency of the deal amounts in amoCRM), as in config/closeloop.example.yaml',
  },
  rules: {
    message: 'there is no `rules:` list, so closeloop would not know what to send',
    fix: 'copy the rules of config/closeloop.example.yaml, or write rules: [] to send nothing',
  },
  'rules[].name': { fix: 'give the rule a short name, e.g. name: Deal won' },
  'rules[].on': { fix: `add on: with one of ${RULE_TRIGGERS.join(', ')}` },
  'rules[].send': {
    fix: 'add send: with at least one event under it, e.g. "- event: generate_lead"',
  },
  'rules[].send[].event': { fix: 'add event: with a GA4 event name, e.g. event: generate_lead' },
};

function lastKey(path: ConfigPath): string {
  const last = path[path.length - 1];
  return last === undefined ? '' : String(last);
}

/** Sections naming a field lead intake writes to: by id or code only. */
const WRITABLE_FIELD_SECTIONS: readonly string[] = [
  'lead_intake.session_id_field',
  'lead_intake.comment_field',
];

function unknownKeyProblem(path: ConfigPath): SchemaProblem {
  const key = lastKey(path);
  const parent = path.slice(0, -1);
  const parentPattern = pathPattern(parent);
  if (key === 'name' && WRITABLE_FIELD_SECTIONS.includes(parentPattern)) {
    return {
      path,
      code: 'CONFIG_INVALID',
      message: 'amoCRM’s API writes a field by its id or code, not by its name',
      fix: 'use the field’s id instead, e.g. { id: 123456 }: amoCRM shows it in the field’s settings (Settings → Fields)',
    };
  }
  const allowed = SECTION_KEYS[parentPattern] ?? [];
  const guess = closestMatch(key, allowed);
  if (guess !== null) {
    return {
      path,
      code: 'CONFIG_INVALID',
      message: `unknown setting \`${key}\`; did you mean \`${guess}\`?`,
      fix: `rename it to ${guess}`,
    };
  }
  const home = MOVABLE_SECTIONS.filter(
    (s) => s !== parentPattern && (SECTION_KEYS[s] ?? []).includes(key),
  );
  if (home.length === 1 && home[0] !== undefined) {
    const where = home[0] === '' ? 'at the top level of the file' : `in the \`${home[0]}\` section`;
    return {
      path,
      code: 'CONFIG_INVALID',
      message: `\`${key}\` belongs ${where}, not here`,
      fix:
        home[0] === ''
          ? `move it to the start of a line, without indentation`
          : `move it under ${home[0].split('.').join(': → ')}: and indent it by two spaces`,
    };
  }
  return {
    path,
    code: 'CONFIG_INVALID',
    message: `unknown setting \`${key}\``,
    fix: `remove it or check its spelling; the settings allowed here are: ${allowed.join(', ')}`,
  };
}

const FIELD_OR_SOURCE = {
  field: {
    many: 'names the field in more than one way',
    none: 'does not say which field to read',
    fix: 'keep exactly one of code, id or name, e.g. { code: GCLIENTID } or { name: Тип программы }',
  },
  writable: {
    many: 'names the field in more than one way',
    none: 'does not say which field to write',
    fix: 'keep exactly one of id or code, e.g. { id: 123456 }',
  },
  source: {
    many: 'takes its value from more than one place',
    none: 'does not say where its value comes from',
    fix: 'keep exactly one of lead, field or utm, e.g. { lead: price }; for a fixed value write it directly, e.g. lead_source: crm',
  },
} as const;

/** One joi error as a problem a marketer can act on. */
export function describeSchemaError(detail: Joi.ValidationErrorItem): SchemaProblem {
  const path = detail.path;
  const value: unknown = detail.context?.value;
  const pattern = pathPattern(path);
  const problem = (message: string, fix: string): SchemaProblem => ({
    path,
    code: 'CONFIG_INVALID',
    message,
    fix,
  });

  switch (detail.type) {
    case 'object.unknown':
      return unknownKeyProblem(path);
    case 'any.required': {
      const missing = MISSING[pattern];
      return problem(
        missing?.message ?? `\`${lastKey(path)}\` is missing`,
        missing?.fix ?? `add ${lastKey(path)}:`,
      );
    }
    case 'object.xor':
    case 'object.missing': {
      const kind =
        FIELD_OR_SOURCE[
          /^rules\[\]\.send\[\]\.params\.\*$/.test(pattern)
            ? 'source'
            : WRITABLE_FIELD_SECTIONS.includes(pattern)
              ? 'writable'
              : 'field'
        ];
      // `{ name: … }` where only id or code will do: said once, at the name (dedupe drops this copy).
      if (
        kind === FIELD_OR_SOURCE.writable &&
        detail.type === 'object.missing' &&
        isRecord(value) &&
        'name' in value
      ) {
        return unknownKeyProblem([...path, 'name']);
      }
      const present = (detail.context?.present as string[] | undefined) ?? [];
      const message =
        detail.type === 'object.xor' ? `${kind.many} (${present.join(' and ')})` : kind.none;
      return problem(message, kind.fix);
    }
    case 'array.min':
      return problem(
        'this rule sends no events',
        'add at least one event under send:, or delete the rule',
      );
    case 'array.max':
      return problem(
        `this rule sends ${Array.isArray(value) ? value.length : 'too many'} events; a rule may send at most ${MAX_EVENTS_PER_RULE}`,
        'split it into two rules with the same on: and status:',
      );
    default: {
      const hint = hintFor(path);
      if (hint.secret === true) {
        return problem(
          `must be ${hint.expect}; the value is not shown here because it is a secret`,
          hint.fix(undefined),
        );
      }
      const subject = path.length === 0 ? 'the file must be' : 'must be';
      return problem(`${subject} ${hint.expect}, not ${describeValue(value)}`, hint.fix(value));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Meaning: names, personal data, checks across keys
// ---------------------------------------------------------------------------------------------

const PERSONAL_WORDS: ReadonlySet<string> = new Set([
  'email',
  'emails',
  'mail',
  'phone',
  'phones',
  'telephone',
  'tel',
  'mobile',
  'fio',
  'address',
  'passport',
  'surname',
  'patronymic',
  'firstname',
  'lastname',
  'fullname',
  'username',
  'birthday',
  'birthdate',
]);
/** Russian stems: телефон(а), почта/почты, фамилия, отчество, адрес, … */
const PERSONAL_STEMS =
  /^(?:телефон|тел|почт|фио|имя|имени|фамили|отчеств|мобильн|емейл|емэйл|имейл|паспорт|адрес|контакт)/;
/** `name` is personal alone or next to one of these: `first_name`, `client_name`; not `campaign_name`. */
const PERSON_WORDS: ReadonlySet<string> = new Set([
  'first',
  'last',
  'full',
  'middle',
  'given',
  'family',
  'sur',
  'user',
  'contact',
  'client',
  'customer',
  'person',
  'buyer',
  'lead',
  'deal',
]);

function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/e[-_ ]mail/g, 'email')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** A parameter or field name that says it holds a person's name, email, phone or address. */
export function isPersonalName(text: string): boolean {
  const ws = words(text);
  if (ws.some((w) => PERSONAL_WORDS.has(w) || PERSONAL_STEMS.test(w))) return true;
  if (ws.includes('name')) return ws.length === 1 || ws.some((w) => PERSON_WORDS.has(w));
  return false;
}

/** 'an email address' / 'a phone number' when a fixed value looks like one. */
export function personalValueKind(value: unknown): string | null {
  if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
    return null;
  }
  const text = String(value).trim();
  if (/[^\s@<>()"',;:]+@[^\s@<>()"',;:]+\.[A-Za-z]{2,}/.test(text)) return 'an email address';
  const digitCount = (s: string): number => s.replace(/\D/g, '').length;
  const international = /\+\d[\d\s().-]{8,}\d/.exec(text);
  if (
    international !== null &&
    digitCount(international[0]) >= 10 &&
    digitCount(international[0]) <= 15
  ) {
    return 'a phone number';
  }
  if (/^[\d\s().-]+$/.test(text) && /[\s().-]/.test(text)) {
    const n = digitCount(text);
    if (n >= 10 && n <= 15 && !/^\d{4}[-.]\d{2}[-.]\d{2}/.test(text)) return 'a phone number';
  }
  if (/^[78]\d{10}$/.test(text)) return 'a phone number';
  return null;
}

const PERSONAL_WHY =
  'Google forbids sending personal data (names, email addresses, phone numbers) to Google Analytics, and whatever is sent would also be stored in GA';

function personalField(ref: Record<string, unknown>): string | null {
  const code = ref.code;
  if (typeof code === 'string' && (/^(phone|email)$/i.test(code.trim()) || isPersonalName(code))) {
    return `the field with code ${code.trim()}`;
  }
  const name = ref.name;
  if (typeof name === 'string' && isPersonalName(name)) return `the field "${name.trim()}"`;
  return null;
}

function ga4NameProblem(
  kind: 'event' | 'parameter',
  name: string,
): { message: string; fix: string } | null {
  const label = kind === 'event' ? 'event name' : 'parameter name';
  const suggestion = suggestGa4Name(name);
  const usable =
    suggestion !== '' && !CONFIG_RESERVED_EVENT_NAMES.has(suggestion) && suggestion !== name
      ? suggestion
      : null;
  if (!GA4_NAME.test(name)) {
    // eslint-disable-next-line no-control-regex
    const letters = /[^\x00-\x7F]/.test(name) ? 'Latin letters (a-z)' : 'letters';
    return {
      message: `${label} "${name}" may contain only ${letters}, digits and underscores and must start with a letter`,
      fix:
        usable !== null
          ? `use ${usable}`
          : `use a name made of Latin letters, digits and underscores, such as ${kind === 'event' ? 'generate_lead' : 'lead_source'}`,
    };
  }
  if (name.length > MAX_NAME_LENGTH) {
    return {
      message: `${label} "${name}" is ${name.length} characters long; GA4 takes at most ${MAX_NAME_LENGTH}`,
      fix: `shorten it, e.g. to ${suggestGa4Name(name)}`,
    };
  }
  const lower = name.toLowerCase();
  const prefixes = kind === 'event' ? RESERVED_EVENT_PREFIXES : RESERVED_PREFIXES;
  const prefix = prefixes.find((p) => lower.startsWith(p));
  if (prefix !== undefined) {
    const rest = name.slice(prefix.length).replace(/^_+/, '');
    return {
      message: `${label}s starting with "${prefix}" are reserved by Google Analytics`,
      fix:
        GA4_NAME.test(rest) && !CONFIG_RESERVED_EVENT_NAMES.has(rest.toLowerCase())
          ? `use ${rest} (the name without "${prefix}")`
          : `use a name that does not start with "${prefix}"`,
    };
  }
  if (kind === 'event' && CONFIG_RESERVED_EVENT_NAMES.has(lower)) {
    return {
      message: `event name "${name}" is reserved by Google Analytics and cannot be sent`,
      fix: `use one of the lead events (${LEAD_EVENTS_HINT}) or a name of your own, such as crm_${lower}`,
    };
  }
  return null;
}

/**
 * Checks that need the meaning of several keys, or GA4's naming rules. Works on the parsed YAML
 * before joi, so it is defensive about shapes (joi reports those). `lineOf` helps point at the
 * other half of a duplicate.
 */
export function checkMeaning(
  raw: unknown,
  lineOf: (path: ConfigPath) => number | null = () => null,
): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const add = (
    path: ConfigPath,
    message: string,
    fix: string,
    code: ErrorCode = 'CONFIG_INVALID',
  ): void => {
    problems.push({ path, message, fix, code });
  };
  if (!isRecord(raw)) return problems;

  const amocrm = raw.amocrm;
  const fields = isRecord(amocrm) ? amocrm.fields : undefined;
  if (isRecord(fields)) {
    for (const key of ['client_id', 'session_id']) {
      const ref = fields[key];
      const which = isRecord(ref) ? personalField(ref) : null;
      if (which !== null) {
        add(
          ['amocrm', 'fields', key],
          `${which} holds personal data, and its value would be sent to GA4 as the ${key === 'client_id' ? 'client ID' : 'session ID'}; ${PERSONAL_WHY}`,
          `point ${key} at the field where the site stores the GA ${key === 'client_id' ? 'client ID, e.g. { code: GCLIENTID }' : 'session ID, e.g. { name: ga_session_id }'}`,
          'CONFIG_PERSONAL_DATA',
        );
      }
    }
  }

  if (isRecord(amocrm)) {
    const filled = (v: unknown): boolean => v !== undefined && v !== null && v !== '';
    const hasToken = filled(amocrm.token);
    const hasOauth = filled(amocrm.oauth);
    if (hasToken && hasOauth) {
      add(
        ['amocrm', 'oauth'],
        'both a long-lived token and OAuth are configured; closeloop would not know which to use',
        'keep one: token: ${AMOCRM_TOKEN:-} for a private integration, or the oauth section, not both',
      );
    }
    if ((hasToken || hasOauth) && !filled(amocrm.subdomain) && !filled(amocrm.base_url)) {
      add(
        ['amocrm', hasToken ? 'token' : 'oauth'],
        'amoCRM credentials are set but closeloop does not know which account to call',
        'set subdomain: ${AMOCRM_SUBDOMAIN:-} (example for example.amocrm.ru) and the AMOCRM_SUBDOMAIN variable',
      );
    }
  }

  const apiConfigured =
    isRecord(amocrm) &&
    [amocrm.subdomain, amocrm.base_url].some((v) => typeof v === 'string' && v.trim() !== '') &&
    [amocrm.token, amocrm.oauth].some((v) => v !== undefined && v !== null && v !== '');
  if (!apiConfigured && Array.isArray(raw.rules)) {
    raw.rules.forEach((rule: unknown, i) => {
      if (!isRecord(rule)) return;
      for (const key of ['pipeline', 'status', 'from_status'] as const) {
        const names = (Array.isArray(rule[key]) ? (rule[key] as unknown[]) : [rule[key]]).filter(
          (v): v is string =>
            typeof v === 'string' &&
            !/^\s*\d+\s*$/.test(v) &&
            !/^\s*any\s*$/i.test(v) &&
            v.trim() !== '',
        );
        if (names.length > 0) {
          add(
            ['rules', i, key],
            `"${names[0]}" is a name; closeloop looks names up in amoCRM, which needs API access (amocrm.subdomain and a token)`,
            'write the id instead (closeloop statuses prints them once API access is set up), or set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN',
          );
        }
      }
    });
  }

  const intake = raw.lead_intake;
  if (isRecord(intake)) {
    const enabled = intake.enabled === true || /^\s*true\s*$/i.test(String(intake.enabled));
    if (enabled && !apiConfigured) {
      add(
        ['lead_intake', 'enabled'],
        'lead intake creates leads through the amoCRM API, and API access is not set up (amocrm.subdomain and a token)',
        'set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN (see the amocrm section of config/closeloop.example.yaml), or write enabled: false',
      );
    }
    const honeypot = intake.honeypot_field;
    if (
      typeof honeypot === 'string' &&
      (LEAD_FORM_FIELDS as readonly string[]).includes(honeypot.trim())
    ) {
      add(
        ['lead_intake', 'honeypot_field'],
        `${honeypot.trim()} is a field of the lead form itself; every real lead fills it, and every lead would be thrown away as spam`,
        'name a field no person fills in and the form hides, e.g. honeypot_field: website',
      );
    }
    // `{ id: 123 }` and `{ id: '123' }` (from ${VAR}) name the same field; so do codes in any case.
    const fieldKey = (ref: unknown): string | null => {
      if (!isRecord(ref)) return null;
      if (typeof ref.id === 'number' || typeof ref.id === 'string')
        return `id:${String(ref.id).trim()}`;
      if (typeof ref.code === 'string') return `code:${ref.code.trim().toUpperCase()}`;
      return null;
    };
    const sessionField = fieldKey(intake.session_id_field);
    if (sessionField !== null && sessionField === fieldKey(intake.comment_field)) {
      add(
        ['lead_intake', 'comment_field'],
        'comment_field names the same field as session_id_field; the comment would overwrite the GA session ID',
        'point comment_field at a text field of its own, or remove it',
      );
    }
  }

  const delivery = raw.delivery;
  if (isRecord(delivery)) {
    const base = Number(delivery.retry_base_seconds);
    const max = Number(delivery.retry_max_delay_minutes);
    if (Number.isFinite(base) && Number.isFinite(max) && base > max * 60) {
      add(
        ['delivery', 'retry_base_seconds'],
        `the first retry delay (${base} seconds) is longer than the longest retry delay (retry_max_delay_minutes: ${max})`,
        'make retry_base_seconds smaller, or retry_max_delay_minutes larger',
      );
    }
  }

  const rules = raw.rules;
  if (!Array.isArray(rules)) return problems;
  const ruleNames = new Map<string, number>();
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    const rulePath = ['rules', i];

    if (typeof rule.name === 'string' && rule.name.trim() !== '') {
      const key = rule.name.trim().toLowerCase();
      const first = ruleNames.get(key);
      if (first === undefined) {
        ruleNames.set(key, i);
      } else {
        const line = lineOf(['rules', first, 'name']);
        add(
          [...rulePath, 'name'],
          `another rule${line === null ? '' : ` (line ${line})`} already has the name "${rule.name.trim()}"; each rule needs its own name so the delivery log can say which rule sent what`,
          'rename one of the two rules',
        );
      }
    }

    if (
      rule.from_status !== undefined &&
      typeof rule.on === 'string' &&
      (RULE_TRIGGERS as readonly string[]).includes(rule.on) &&
      rule.on !== 'status_changed'
    ) {
      add(
        [...rulePath, 'from_status'],
        `from_status works only with on: status_changed (only a status change knows the previous status); this rule is on: ${rule.on}`,
        'remove from_status, or change the rule to on: status_changed',
      );
    }

    const send = rule.send;
    if (!Array.isArray(send)) return;
    const eventNames = new Set<string>();
    send.forEach((item: unknown, j) => {
      if (!isRecord(item)) return;
      const itemPath = [...rulePath, 'send', j];
      const event = item.event;
      if (typeof event === 'string' && event !== '') {
        const bad = ga4NameProblem('event', event);
        if (bad !== null) add([...itemPath, 'event'], bad.message, bad.fix);
        if (eventNames.has(event)) {
          add(
            [...itemPath, 'event'],
            `event "${event}" is listed twice in this rule; closeloop sends each event at most once per lead and status, so the second would never be sent`,
            'remove one of them, or merge their params',
          );
        }
        eventNames.add(event);
      }
      const params = item.params;
      if (!isRecord(params)) return;
      const names = Object.keys(params);
      if (names.length > MAX_PARAMS_PER_EVENT) {
        const extra = names.length - MAX_PARAMS_PER_EVENT;
        add(
          [...itemPath, 'params'],
          `this event has ${names.length} parameters; at most ${MAX_PARAMS_PER_EVENT} are allowed (GA4 takes 25 per event, and closeloop adds engagement_time_msec, session_id and currency itself)`,
          `remove ${extra} parameter${extra === 1 ? '' : 's'}`,
        );
      }
      for (const name of names) {
        checkParam(add, [...itemPath, 'params', name], name, params[name]);
      }
    });
  });
  return problems;
}

function checkParam(
  add: (path: ConfigPath, message: string, fix: string, code?: ErrorCode) => void,
  path: ConfigPath,
  name: string,
  value: unknown,
): void {
  if (isPersonalName(name)) {
    add(
      path,
      `parameter "${name}" looks like personal data; ${PERSONAL_WHY}`,
      'remove this parameter; to tell leads apart in GA, send the lead id instead: { lead: id }',
      'CONFIG_PERSONAL_DATA',
    );
    return;
  }
  const bad = ga4NameProblem('parameter', name);
  if (bad !== null) {
    add(path, bad.message, bad.fix);
  } else {
    const owned = Object.hasOwn(CLOSELOOP_PARAMS, name.toLowerCase())
      ? CLOSELOOP_PARAMS[name.toLowerCase()]
      : undefined;
    if (owned !== undefined) {
      add(
        path,
        `parameter "${name}" cannot be set here: ${owned}`,
        name.toLowerCase() === 'session_id'
          ? 'remove it; to change where the session ID comes from, set amocrm.fields.session_id'
          : 'remove it',
      );
    }
  }

  const literals: [ConfigPath, unknown][] = [];
  if (isRecord(value)) {
    const ref = value.field;
    const which = isRecord(ref) ? personalField(ref) : null;
    if (which !== null) {
      add(
        [...path, 'field'],
        `${which} holds personal data; ${PERSONAL_WHY}`,
        'remove this parameter; send only fields that do not identify a person (for example the product or the program)',
        'CONFIG_PERSONAL_DATA',
      );
    }
    if (value.default !== undefined) literals.push([[...path, 'default'], value.default]);
  } else {
    literals.push([path, value]);
  }

  for (const [where, literal] of literals) {
    const kind = personalValueKind(literal);
    if (kind !== null) {
      add(
        where,
        `the value ${describeValue(literal)} looks like ${kind}; ${PERSONAL_WHY}`,
        'remove it; closeloop cannot tell a company’s phone or email from a person’s, so none may be sent (for your office line, send a label such as main_office instead)',
        'CONFIG_PERSONAL_DATA',
      );
      continue;
    }
    if (
      name === 'currency' &&
      !(typeof literal === 'string' && CURRENCY.test(literal) && isCurrencyCode(literal))
    ) {
      const suggested = typeof literal === 'string' ? suggestCurrency(literal) : null;
      add(
        where,
        `currency ${describeValue(literal)} is not a currency code in use (ISO 4217: three capital letters, such as RUB)`,
        suggested === null
          ? 'use a code such as RUB, USD or EUR'
          : `did you mean ${suggested.code}? use ${suggested.code}${suggested.why === null ? '' : ` (${suggested.why})`}`,
      );
    }
    if (
      name === 'value' &&
      typeof literal === 'string' &&
      !/^\s*-?\d+(?:\.\d+)?\s*$/.test(literal)
    ) {
      add(
        where,
        `value ${describeValue(literal)} must be a number: GA4 adds it up as revenue`,
        'write a number such as 1500, or take it from the deal: value: { lead: price }',
      );
    }
  }
}
