/**
 * What a valid closeloop config looks like: the core's keys (currency, rules, webhook, delivery,
 * revenue, the delivery log, lead intake, accounts) and, composed in, each adapter's section
 * (src/config/sections.ts). Two passes, both collecting every problem: this joi schema (shape,
 * types, ranges, required and unknown keys, defaults; its errors become plain language in
 * describe-problem.ts), then the meaning checks (check-meaning.ts).
 */
import Joi from 'joi';
import { isCurrencyCode } from '../core/currency';
import { DEFAULT_MAX_VALUE } from '../core/config-types';
import {
  AMOUNT_CHANGED_ACTIONS,
  DEAL_ATTRIBUTES,
  DEFAULT_REVENUE_SETTINGS,
  LOST_AFTER_WON_ACTIONS,
  WON_AGAIN_ACTIONS,
  LEGACY_ATTRIBUTES,
  RULE_TRIGGERS,
  UTM_KEYS,
  type ParamScalar,
  type RevenueSettings,
  type RuleTrigger,
  type UtmKey,
} from '../core/config-types';
import { DEAL_OUTCOMES, type DealOutcome } from '../core/deal';
import { fieldRef, wholeNumber, writableFieldRef } from '../adapters/config-kit';
import { ACCOUNT_SECTIONS } from './sections';

export type { ConfigPath, SchemaProblem } from '../ports/config-section';

/** Parameter values are at most 100 characters in GA4 (research ga4-mp.md A3). */
export const MAX_TEXT_VALUE_LENGTH = 100;
export const MAX_EVENTS_PER_RULE = 10;
export const CURRENCY = /^[A-Z]{3}$/;
/** The secret becomes a URL path segment, so only URL-safe characters, and long enough not to guess. */
const WEBHOOK_SECRET = /^[A-Za-z0-9_-]{16,200}$/;
/** An account's name: part of ledger keys and log rows, so short and plain. */
export const ACCOUNT_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** The source names rules may name. */
export const SOURCE_NAMES = ['amocrm', 'bitrix24', 'generic'] as const;

/**
 * A form field name as sites write it in HTML (`<input name="website">`): the honeypot must be one
 * the form can carry under that exact name.
 */
const FORM_FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** The largest `delivery.max_value`: beyond 2^53 a JSON number no longer holds whole units. */
const MAX_MAX_VALUE = Number.MAX_SAFE_INTEGER;

const KB = 1024;
const MB = 1024 * KB;
const MIN_BODY = KB;
const MAX_BODY = 50 * MB;

/**
 * `142`, `[142, 143]`, `any`, or names and text ids (`Квалифицирован`, `C1:WON`, `complete`): a
 * number is an id; text is looked up as a name through the CRM's API at start, and also matches a
 * stage whose id is that text (Bitrix24's `C1:WON`, a generic sender's `complete`).
 */
export function parseIdList(value: unknown): Array<number | string> | null | undefined {
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

const origin = Joi.any()
  .custom((value: unknown, helpers) => parseOrigin(value) ?? helpers.error('origin.invalid'))
  .messages({ 'origin.invalid': '{{#label}} is not an origin' });

/** One value or a list of them (`outcome: won`, `outcome: [won, lost]`). */
const oneOrMany = (...values: readonly string[]): Joi.ArraySchema =>
  Joi.array()
    .items(
      Joi.string()
        .trim()
        .valid(...values),
    )
    .single()
    .min(1);

const literal = Joi.alternatives().try(
  Joi.string().max(MAX_TEXT_VALUE_LENGTH),
  Joi.number(),
  Joi.boolean(),
);

const DEAL_ATTRIBUTE_NAMES = [...DEAL_ATTRIBUTES, ...Object.keys(LEGACY_ATTRIBUTES)];

export const sourceKeys = {
  deal: Joi.string().valid(...DEAL_ATTRIBUTE_NAMES),
  // The name of `deal:` while closeloop spoke of amoCRM leads only; it keeps working.
  lead: Joi.string().valid(...DEAL_ATTRIBUTE_NAMES),
  field: fieldRef,
  utm: Joi.string().valid(...UTM_KEYS),
  default: literal,
  required: Joi.boolean().default(false),
};
const source = Joi.object(sourceKeys).xor('deal', 'lead', 'field', 'utm');

const param = Joi.alternatives().conditional(Joi.object(), { then: source, otherwise: literal });

export const sendKeys = {
  event: Joi.string().required(),
  // The count limit is checked by the meaning checks: joi skips object rules once a child failed.
  params: Joi.object().pattern(Joi.string().allow(''), param).empty(null).default({}),
};

export const ruleKeys = {
  name: Joi.string().trim().min(1).max(100).required(),
  on: Joi.string()
    .valid(...RULE_TRIGGERS)
    .required(),
  source: oneOrMany(...SOURCE_NAMES),
  pipeline: idList,
  status: idList,
  from_status: idList,
  outcome: oneOrMany(...DEAL_OUTCOMES),
  send: Joi.array().items(Joi.object(sendKeys)).min(1).max(MAX_EVENTS_PER_RULE).required(),
};
const rules = Joi.array().items(Joi.object(ruleKeys));

export const webhookKeys = {
  secret: Joi.string().trim().pattern(WEBHOOK_SECRET).allow(null).empty('').default(null),
  max_body: byteSize.empty(Joi.valid('', null)).default(MB),
};
export const deliveryKeys = {
  retry_window_hours: wholeNumber(1, 720, 72),
  retry_base_seconds: wholeNumber(1, 3600, 5),
  retry_max_delay_minutes: wholeNumber(1, 1440, 60),
  concurrency: wholeNumber(1, 256, 8),
  resend_uncertain: Joi.array()
    .items(Joi.string().pattern(/^[A-Za-z][A-Za-z0-9_]{0,39}$/))
    .unique()
    .empty(null)
    .default(['purchase', 'refund']),
  max_value: Joi.number()
    .positive()
    .max(MAX_MAX_VALUE)
    .empty(Joi.valid('', null))
    .default(DEFAULT_MAX_VALUE),
};
/** One of a setting's words; empty means the default. */
const choice = (values: readonly string[], fallback: string): Joi.StringSchema =>
  Joi.string()
    .trim()
    .valid(...values)
    .empty(Joi.valid('', null))
    .default(fallback);
export const revenueKeys = {
  won_again: choice(WON_AGAIN_ACTIONS, DEFAULT_REVENUE_SETTINGS.wonAgain),
  lost_after_won: choice(LOST_AFTER_WON_ACTIONS, DEFAULT_REVENUE_SETTINGS.lostAfterWon),
  amount_changed: choice(AMOUNT_CHANGED_ACTIONS, DEFAULT_REVENUE_SETTINGS.amountChanged),
};
export const deliveryLogKeys = {
  max_rows: wholeNumber(1000, 10_000_000, 100_000),
  max_age_days: wholeNumber(1, 3650, 90),
};
/**
 * A pipeline or stage id of the CRM that gets the leads: a whole number, as amoCRM (the one CRM
 * that writes leads today) has them.
 */
const crmId = Joi.number().integer().positive().allow(null).empty('').default(null);
export const leadIntakeKeys = {
  enabled: Joi.boolean().empty(Joi.valid('', null)).default(false),
  account: Joi.string().trim().pattern(ACCOUNT_NAME).empty(Joi.valid('', null)).default('default'),
  cors_origins: Joi.array().items(origin).single().empty(Joi.valid('', null)).default([]),
  honeypot_field: Joi.string()
    .trim()
    .pattern(FORM_FIELD_NAME)
    .empty(Joi.valid('', null))
    .default('website'),
  per_ip_per_minute: wholeNumber(1, 1000, 10),
  pipeline: crmId,
  // amoCRM's statuses are numbers; Bitrix24's are text (`NEW`, `C1:NEW`; research bitrix24.md §3.3).
  status: Joi.alternatives()
    .try(
      Joi.number().integer().positive(),
      Joi.string()
        .trim()
        .pattern(/^[A-Za-z0-9_:]{1,50}$/),
    )
    .allow(null)
    .empty('')
    .default(null),
  lead_name: Joi.string()
    .trim()
    .min(1)
    .max(255)
    .empty(Joi.valid('', null))
    .default('Заявка с сайта'),
  session_id_field: writableFieldRef.allow(null).empty('').default(null),
  comment_field: writableFieldRef.allow(null).empty('').default(null),
  keep_personal_data_days: wholeNumber(1, 365, 30),
};

const currency = Joi.string()
  .pattern(CURRENCY)
  .custom((code: string, helpers) => (isCurrencyCode(code) ? code : helpers.error('any.invalid')));

/** Each adapter's section, with its defaults when the YAML leaves it out. */
const sectionKeys = Object.fromEntries(
  ACCOUNT_SECTIONS.map((s) => [s.key, Joi.object(s.keys).empty(null).default()]),
);

/** One more account: an agency's client, with its own CRM, destinations and webhook URL. */
export const accountKeys = {
  name: Joi.string().trim().pattern(ACCOUNT_NAME).invalid('default').required(),
  currency,
  webhook_secret: webhookKeys.secret,
  rules,
  ...sectionKeys,
};

export const topKeys = {
  currency: currency.required(),
  ...sectionKeys,
  webhook: Joi.object(webhookKeys).empty(null).default(),
  delivery: Joi.object(deliveryKeys).empty(null).default(),
  revenue: Joi.object(revenueKeys).empty(null).default(),
  delivery_log: Joi.object(deliveryLogKeys).empty(null).default(),
  rules: rules.required(),
  lead_intake: Joi.object(leadIntakeKeys).empty(null).default(),
  accounts: Joi.array().items(Joi.object(accountKeys)).empty(null).default([]),
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
  deal?: string;
  lead?: string;
  field?: RawFieldRef;
  utm?: UtmKey;
  default?: ParamScalar;
  required: boolean;
}
export type RawParam = ParamScalar | RawSource;
export interface RawRule {
  name: string;
  on: RuleTrigger;
  source?: string[];
  pipeline?: Array<number | string> | null;
  status?: Array<number | string> | null;
  from_status?: Array<number | string> | null;
  outcome?: DealOutcome[];
  send: { event: string; params: Record<string, RawParam> }[];
}
/** The adapters' sections as joi returned them; each section's `build` reads its own. */
export type RawSections = Record<string, unknown>;
export interface RawAccount extends RawSections {
  name: string;
  currency?: string;
  webhook_secret: string | null;
  rules?: RawRule[];
}
export interface RawConfig extends RawSections {
  currency: string;
  webhook: { secret: string | null; max_body: number };
  delivery: {
    retry_window_hours: number;
    retry_base_seconds: number;
    retry_max_delay_minutes: number;
    concurrency: number;
    resend_uncertain: string[];
    max_value: number;
  };
  revenue: {
    won_again: RevenueSettings['wonAgain'];
    lost_after_won: RevenueSettings['lostAfterWon'];
    amount_changed: RevenueSettings['amountChanged'];
  };
  delivery_log: { max_rows: number; max_age_days: number };
  rules: RawRule[];
  lead_intake: {
    enabled: boolean;
    account: string;
    cors_origins: string[];
    honeypot_field: string;
    per_ip_per_minute: number;
    pipeline: number | null;
    status: number | string | null;
    lead_name: string;
    session_id_field: RawWritableFieldRef | null;
    comment_field: RawWritableFieldRef | null;
    keep_personal_data_days: number;
  };
  accounts: RawAccount[];
}
