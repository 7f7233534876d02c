/**
 * The numbers and name tables GA4's Measurement Protocol holds a payload to, for the validator
 * (validate-ga4-payload.ts) and for whoever shapes a payload to fit (fit-param-values.ts,
 * build-request.ts): size and count limits, name rules, reserved names and prefixes, the keys each
 * part of the body may have, and which params must be numbers. Facts: research ga4-mp.md A1–A3,
 * A5 and the sources cited beside each entry.
 */

import { RESERVED_NAME_PREFIXES } from './reserved-names';

/** "The JSON POST body must be smaller than 130kB"; 1000 vs 1024 is unconfirmed, so the lower (A1). */
export const GA4_MAX_BODY_BYTES = 130_000;
/** "A maximum of 25 events can be sent per request" (A2). */
export const GA4_MAX_EVENTS = 25;
/** Events can be backdated up to 72 hours (A2). */
export const GA4_MAX_BACKDATE_MS = 72 * 60 * 60 * 1000;

export const MAX_PARAMS = 25; // per event (A3)
export const MAX_NAME_LENGTH = 40; // event and parameter names (A3)
export const MAX_VALUE_LENGTH = 100; // parameter values, item values too (A3)
export const MAX_USER_ID_LENGTH = 256; // A2, S7
export const MAX_ITEMS = 200; // S11
export const MAX_CUSTOM_ITEM_PARAMS = 27; // S11
export const MAX_USER_PROPERTIES = 25;
export const MAX_USER_PROPERTY_NAME_LENGTH = 24;
export const MAX_USER_PROPERTY_VALUE_LENGTH = 36;

/** Google's parser wording for a body it cannot map to its schema (research [T2]). */
export const PARSE_ERROR = 'Unable to parse Measurement Protocol JSON payload.';

/** "alpha-numeric characters and underscores, and must start with an alphabetic character" (A3). */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
export const RESERVED_PREFIXES = RESERVED_NAME_PREFIXES;

/** Longer page parameters GA itself collects (research A3 "Exceptions", S10). */
const VALUE_LENGTH_EXCEPTIONS: Readonly<Record<string, number>> = {
  page_title: 300,
  page_referrer: 420,
  page_location: 1000,
};

/** Google removed the length check for these ([C2] #2262); their length is GA's own business. */
const NO_LENGTH_CHECK = new Set(['session_id', 'session_number']);

/**
 * The longest text GA4 takes for an event parameter of this name, in characters (code points);
 * null when GA4 does not check its length.
 */
export function paramValueLimit(name: string): number | null {
  return NO_LENGTH_CHECK.has(name) ? null : (VALUE_LENGTH_EXCEPTIONS[name] ?? MAX_VALUE_LENGTH);
}

/** Measurement Protocol reserved user-property names (research A3 list 1, S5). */
export const RESERVED_USER_PROPERTY_NAMES = new Set([
  'first_open_time',
  'first_visit_time',
  'last_deep_link_referrer',
  'user_id',
  'first_open_after_install',
]);

/**
 * Documented top-level keys (A2). Only the snake_case spelling: Google would also take camelCase
 * (Part D rule 8) but we always send snake_case, so camelCase here means a bug on our side.
 */
export const TOP_LEVEL_KEYS = new Set([
  'client_id',
  'user_id',
  'timestamp_micros',
  'user_properties',
  'user_data',
  'consent',
  'non_personalized_ads',
  'user_location',
  'ip_override',
  'device',
  'validation_behavior',
  'events',
]);

export const EVENT_KEYS = new Set(['name', 'params', 'timestamp_micros']);
export const USER_PROPERTY_KEYS = new Set(['value', 'timestamp_micros']);
export const CONSENT_KEYS = new Set(['ad_user_data', 'ad_personalization']);
export const CONSENT_VALUES = new Set(['GRANTED', 'DENIED']);
export const VALIDATION_BEHAVIORS = new Set(['RELAXED', 'ENFORCE_RECOMMENDATIONS']);

/** Standard item fields (Event Builder `ITEM_FIELDS` [C1]); the rest count as custom (≤ 27). */
export const STANDARD_ITEM_KEYS = new Set([
  'item_id',
  'item_name',
  'affiliation',
  'coupon',
  'currency',
  'discount',
  'index',
  'item_brand',
  'item_category',
  'item_category2',
  'item_category3',
  'item_category4',
  'item_category5',
  'item_list_id',
  'item_list_name',
  'item_variant',
  'location_id',
  'price',
  'quantity',
  'creative_name',
  'creative_slot',
  'promotion_id',
  'promotion_name',
]);

/** Money fields must be numbers (Event Builder types [C1]); a string "1500" is not revenue. */
export const NUMERIC_PARAMS = new Set(['value', 'price', 'tax', 'shipping', 'discount']);
export const NUMERIC_ITEM_PARAMS = new Set(['price', 'discount', 'quantity']);
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function hasReservedPrefix(lowerName: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => lowerName.startsWith(prefix));
}
