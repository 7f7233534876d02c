/**
 * Local validation of a GA4 Measurement Protocol payload before it is sent. Pure.
 *
 * Why: `/mp/collect` answers 2xx to anything and silently drops what breaks its limits (research
 * ga4-mp.md A1, A3 "Over-limit handling"), so the only way a marketer learns that an event was
 * lost is a problem we report here. The rules are Part D rules 6–29 of the research, in the
 * production (RELAXED) mode, plus three checks we want even though Google would accept the payload
 * (each marked "our choice" below): a millisecond `timestamp_micros`, an empty `transaction_id`
 * and `value` without `currency` all lose data quietly.
 *
 * Every problem names where it is (`Event at index: [1] (purchase) param [value] …`) so that a
 * person reading the delivery log can find the rule in the YAML. Where the research records
 * Google's own wording, it is used verbatim. `fieldPath` is `events` or `client_id` where Google's
 * is documented, otherwise our own dotted path ('' for the whole body).
 */

import { MP_RESERVED_EVENT_NAMES, RESERVED_NAME_PREFIXES } from './reserved-names';

export type Ga4ValidationCode =
  | 'VALUE_INVALID'
  | 'VALUE_REQUIRED'
  | 'NAME_INVALID'
  | 'NAME_RESERVED'
  | 'VALUE_OUT_OF_BOUNDS'
  | 'EXCEEDED_MAX_ENTITIES'
  /** Part of Google's enum; never produced here: a parsed object cannot hold a key twice. */
  | 'NAME_DUPLICATED';

/** Same shape as a `validationMessages[]` entry of `/debug/mp/collect` (research A1). */
export interface Ga4Problem {
  validationCode: Ga4ValidationCode;
  fieldPath: string;
  description: string;
}

export interface ValidateGa4Options {
  /** Size of the serialised body in bytes (UTF-8). */
  bodyBytes?: number;
  /** Now, Unix milliseconds: enables the 72-hour check on `timestamp_micros`. */
  nowMs?: number;
}

/** "The JSON POST body must be smaller than 130kB"; 1000 vs 1024 is unconfirmed, so the lower (A1). */
export const GA4_MAX_BODY_BYTES = 130_000;
/** "A maximum of 25 events can be sent per request" (A2). */
export const GA4_MAX_EVENTS = 25;
/** Events can be backdated up to 72 hours (A2). */
export const GA4_MAX_BACKDATE_MS = 72 * 60 * 60 * 1000;

const MAX_PARAMS = 25; // per event (A3)
const MAX_NAME_LENGTH = 40; // event and parameter names (A3)
const MAX_VALUE_LENGTH = 100; // parameter values, item values too (A3)
const MAX_USER_ID_LENGTH = 256; // A2, S7
const MAX_ITEMS = 200; // S11
const MAX_CUSTOM_ITEM_PARAMS = 27; // S11
const MAX_USER_PROPERTIES = 25;
const MAX_USER_PROPERTY_NAME_LENGTH = 24;
const MAX_USER_PROPERTY_VALUE_LENGTH = 36;

/** Google's parser wording for a body it cannot map to its schema (research [T2]). */
const PARSE_ERROR = 'Unable to parse Measurement Protocol JSON payload.';

/** "alpha-numeric characters and underscores, and must start with an alphabetic character" (A3). */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]*$/;
const RESERVED_PREFIXES = RESERVED_NAME_PREFIXES;

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
const RESERVED_USER_PROPERTY_NAMES = new Set([
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
const TOP_LEVEL_KEYS = new Set([
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
const EVENT_KEYS = new Set(['name', 'params', 'timestamp_micros']);
const USER_PROPERTY_KEYS = new Set(['value', 'timestamp_micros']);
const CONSENT_KEYS = new Set(['ad_user_data', 'ad_personalization']);
const CONSENT_VALUES = new Set(['GRANTED', 'DENIED']);
const VALIDATION_BEHAVIORS = new Set(['RELAXED', 'ENFORCE_RECOMMENDATIONS']);

/** Standard item fields (Event Builder `ITEM_FIELDS` [C1]); the rest count as custom (≤ 27). */
const STANDARD_ITEM_KEYS = new Set([
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
const NUMERIC_PARAMS = new Set(['value', 'price', 'tax', 'shipping', 'discount']);
const NUMERIC_ITEM_PARAMS = new Set(['price', 'discount', 'quantity']);
const CURRENCY_PATTERN = /^[A-Z]{3}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

type Json = Record<string, unknown>;

export function validateGa4Payload(
  payload: unknown,
  options: ValidateGa4Options = {},
): Ga4Problem[] {
  const problems: Ga4Problem[] = [];
  const report = (validationCode: Ga4ValidationCode, fieldPath: string, description: string) => {
    problems.push({ validationCode, fieldPath, description });
  };

  // Rule 6: body size.
  if (options.bodyBytes !== undefined && options.bodyBytes >= GA4_MAX_BODY_BYTES) {
    report(
      'VALUE_OUT_OF_BOUNDS',
      '',
      `The request body is ${options.bodyBytes} bytes; it must be smaller than ${GA4_MAX_BODY_BYTES} bytes. Send fewer events or shorter parameter values.`,
    );
  }

  // Rule 7: a JSON object.
  if (!isObject(payload)) {
    report(
      'VALUE_INVALID',
      '',
      `${PARSE_ERROR} The body must be a JSON object, got ${describe(payload)}.`,
    );
    return problems;
  }

  // Rule 8: unknown top-level keys.
  for (const key of Object.keys(payload)) {
    if (!TOP_LEVEL_KEYS.has(key))
      report('VALUE_INVALID', key, `${PARSE_ERROR} ${key}: Cannot find field.`);
  }

  validateIdentity(payload, report);
  validateTimestamp(payload.timestamp_micros, 'timestamp_micros', 'Request', options.nowMs, report);
  validateEnvelope(payload, report);
  validateEvents(payload, options.nowMs, report);
  validateUserProperties(payload.user_properties, options.nowMs, report);
  return problems;
}

type Report = (code: Ga4ValidationCode, fieldPath: string, description: string) => void;

/** Rules 10 and 11. */
function validateIdentity(payload: Json, report: Report): void {
  const clientId = payload.client_id;
  if (clientId === undefined || clientId === null || clientId === '') {
    report('VALUE_REQUIRED', 'client_id', 'Measurement requires a client_id.'); // Google's words [T3]
  } else if (typeof clientId !== 'string') {
    report(
      'VALUE_INVALID',
      'client_id',
      `${PARSE_ERROR} client_id must be a string, got ${describe(clientId)}.`,
    );
  }

  const userId = payload.user_id;
  if (userId === undefined) return;
  if (typeof userId !== 'string') {
    report(
      'VALUE_INVALID',
      'user_id',
      `${PARSE_ERROR} user_id must be a string, got ${describe(userId)}.`,
    );
  } else if (length(userId) > MAX_USER_ID_LENGTH) {
    report(
      'VALUE_OUT_OF_BOUNDS',
      'user_id',
      `user_id is ${length(userId)} characters long; the limit is ${MAX_USER_ID_LENGTH}.`,
    );
  }
}

/**
 * Rule 12, for the request, an event or a user property. `where` starts the description
 * (`Request`, `Event at index: [0] (purchase)`).
 */
function validateTimestamp(
  value: unknown,
  fieldPath: string,
  where: string,
  nowMs: number | undefined,
  report: Report,
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    report(
      'VALUE_INVALID',
      fieldPath,
      `${where} timestamp_micros must be a whole number of microseconds, got ${describe(value)}.`,
    );
    return;
  }
  // Our choice: Google would take a 13-digit value as a 1970 date and drop or clamp the event;
  // `Date.now()` instead of `Date.now() * 1000` is the classic mistake (research A2, [P4]).
  if (value >= 1e12 && value < 1e13) {
    report(
      'VALUE_INVALID',
      fieldPath,
      `${where} timestamp_micros ${value} looks like milliseconds, not microseconds: multiply by 1000.`,
    );
    return;
  }
  if (value < 1e15 || value >= 1e16) {
    report(
      'VALUE_INVALID',
      fieldPath,
      `${where} timestamp_micros ${value} is not a Unix time in microseconds (16 digits).`,
    );
    return;
  }
  if (nowMs !== undefined && value < (nowMs - GA4_MAX_BACKDATE_MS) * 1000) {
    report(
      'VALUE_OUT_OF_BOUNDS',
      fieldPath,
      `${where} timestamp_micros ${value} is more than 72 hours in the past; GA4 backdates events by at most 72 hours.`,
    );
  }
}

/** Rules 9, 13, 14, 15: the optional top-level keys we never send, checked for shape only. */
function validateEnvelope(payload: Json, report: Report): void {
  const expectType = (key: string, type: 'string' | 'boolean' | 'object') => {
    const value = payload[key];
    if (value === undefined) return;
    const ok = type === 'object' ? isObject(value) : typeof value === type;
    if (!ok) {
      report(
        'VALUE_INVALID',
        key,
        `${PARSE_ERROR} ${key} must be ${an(type)}, got ${describe(value)}.`,
      );
    }
  };
  expectType('non_personalized_ads', 'boolean');
  expectType('ip_override', 'string');
  expectType('user_location', 'object');
  expectType('device', 'object');
  expectType('user_data', 'object');
  expectType('consent', 'object');
  expectType('user_properties', 'object');

  const behavior = payload.validation_behavior;
  if (
    behavior !== undefined &&
    (typeof behavior !== 'string' || !VALIDATION_BEHAVIORS.has(behavior))
  ) {
    report(
      'VALUE_INVALID',
      'validation_behavior',
      `validation_behavior must be RELAXED or ENFORCE_RECOMMENDATIONS, got ${describe(behavior)}.`,
    );
  }

  const consent = payload.consent;
  if (isObject(consent)) {
    for (const [key, value] of Object.entries(consent)) {
      if (!CONSENT_KEYS.has(key)) {
        report(
          'VALUE_INVALID',
          `consent.${key}`,
          `${PARSE_ERROR} (consent) ${key}: Cannot find field.`,
        );
      } else if (typeof value !== 'string' || !CONSENT_VALUES.has(value)) {
        report(
          'VALUE_INVALID',
          `consent.${key}`,
          `consent.${key} must be GRANTED or DENIED, got ${describe(value)}.`,
        );
      }
    }
  }

  const userData = payload.user_data;
  if (isObject(userData)) validateUserData(userData, report);
}

/** Rule 15: user-provided data must be SHA-256 hex (research A2, S6); raw personal data never. */
function validateUserData(userData: Json, report: Report): void {
  const checkHashes = (value: unknown, path: string) => {
    for (const [i, hash] of asList(value).entries()) {
      if (typeof hash !== 'string' || !SHA256_HEX.test(hash)) {
        report(
          'VALUE_INVALID',
          Array.isArray(value) ? `${path}[${i}]` : path,
          `${path} must be a SHA-256 hash in lower-case hex (64 characters), got ${describe(hash)}.`,
        );
      }
    }
  };
  for (const [key, value] of Object.entries(userData)) {
    if (key.startsWith('sha256_')) checkHashes(value, `user_data.${key}`);
  }
  for (const [i, address] of asList(userData.address).entries()) {
    if (!isObject(address)) continue;
    for (const [key, value] of Object.entries(address)) {
      if (key.startsWith('sha256_')) checkHashes(value, `user_data.address[${i}].${key}`);
    }
  }
}

/** Rules 16–27. */
function validateEvents(payload: Json, nowMs: number | undefined, report: Report): void {
  const events = payload.events;
  if (events === undefined || (Array.isArray(events) && events.length === 0)) {
    report('VALUE_REQUIRED', 'events', 'Measurement requires at least one event.');
    return;
  }
  if (!Array.isArray(events)) {
    report(
      'VALUE_INVALID',
      'events',
      `${PARSE_ERROR} events must be an array, got ${describe(events)}.`,
    );
    return;
  }
  if (events.length > GA4_MAX_EVENTS) {
    report(
      'EXCEEDED_MAX_ENTITIES',
      'events',
      `The request has ${events.length} events; a request can carry at most ${GA4_MAX_EVENTS}.`,
    );
  }
  events.forEach((event: unknown, index) => validateEvent(event, index, nowMs, report));
}

function validateEvent(
  event: unknown,
  index: number,
  nowMs: number | undefined,
  report: Report,
): void {
  const at = `Event at index: [${index}]`;
  if (!isObject(event)) {
    report(
      'VALUE_INVALID',
      `events[${index}]`,
      `${PARSE_ERROR} ${at} must be an object, got ${describe(event)}.`,
    );
    return;
  }
  for (const key of Object.keys(event)) {
    if (!EVENT_KEYS.has(key)) {
      report(
        'VALUE_INVALID',
        `events[${index}].${key}`,
        `${PARSE_ERROR} (events[${index}]) ${key}: Cannot find field.`,
      );
    }
  }

  const name = event.name;
  let where = at;
  if (name === undefined || name === null || name === '') {
    report('VALUE_REQUIRED', 'events', `${at} has no name.`);
  } else if (typeof name !== 'string') {
    report(
      'VALUE_INVALID',
      'events',
      `${PARSE_ERROR} ${at} name must be a string, got ${describe(name)}.`,
    );
  } else {
    where = `${at} (${name})`;
    validateEventName(name, at, report);
  }

  validateTimestamp(
    event.timestamp_micros,
    `events[${index}].timestamp_micros`,
    where,
    nowMs,
    report,
  );

  const params = event.params;
  if (params === undefined) return;
  if (!isObject(params)) {
    report(
      'VALUE_INVALID',
      `events[${index}].params`,
      `${PARSE_ERROR} ${where} params must be an object, got ${describe(params)}.`,
    );
    return;
  }
  validateParams(params, index, where, report);
}

/** Rules 19–21, with Google's descriptions ([S3], [T4]). */
function validateEventName(name: string, at: string, report: Report): void {
  if (!NAME_PATTERN.test(name)) {
    const reason = /^[A-Za-z]/.test(name)
      ? 'Only alphanumeric characters and underscores are allowed.'
      : 'Names must start with an alphabetic character.';
    report('NAME_INVALID', 'events', `${at} has invalid name [${name}]. ${reason}`);
  } else if (name.length > MAX_NAME_LENGTH) {
    report(
      'NAME_INVALID',
      'events',
      `${at} has invalid name [${name}]. Names must be at most ${MAX_NAME_LENGTH} characters long.`,
    );
  }
  const lower = name.toLowerCase();
  if (MP_RESERVED_EVENT_NAMES.has(lower)) {
    report(
      'NAME_RESERVED',
      'events',
      `${at} has reserved name [${name}]. Choose another event name.`,
    );
  } else if (hasReservedPrefix(lower)) {
    report(
      'NAME_RESERVED',
      'events',
      `${at} has reserved name [${name}]. Names must not start with ${RESERVED_PREFIXES.join(', ')}.`,
    );
  }
}

/** Rules 22–27 for one event's params. */
function validateParams(params: Json, index: number, where: string, report: Report): void {
  const path = `events[${index}].params`;
  const names = Object.keys(params);
  if (names.length > MAX_PARAMS) {
    report(
      'EXCEEDED_MAX_ENTITIES',
      path,
      `${where} has ${names.length} params; an event can have at most ${MAX_PARAMS}.`,
    );
  }

  for (const [name, value] of Object.entries(params)) {
    const paramPath = `${path}.${name}`;
    validateParamName(name, paramPath, `${where} param [${name}]`, MAX_NAME_LENGTH, report);
    if (name === 'items') {
      validateItems(value, paramPath, where, report);
      continue;
    }
    validateParamValue(name, value, paramPath, `${where} param [${name}]`, NUMERIC_PARAMS, report);
  }

  // Our choice (Google accepts both): "Set currency when sending value (revenue) data to ensure
  // revenue metrics are calculated correctly" (research A5, [S11]).
  if (params.value !== undefined && params.currency === undefined) {
    report(
      'VALUE_REQUIRED',
      `${path}.currency`,
      `${where} param [value] is set without param [currency]; GA4 computes revenue only with a currency.`,
    );
  }
  // Our choice: GA deduplicates all purchases with `transaction_id=""` into one (research A5, [S9]).
  const transactionId = params.transaction_id;
  if (typeof transactionId === 'string' && transactionId.trim() === '') {
    report(
      'VALUE_INVALID',
      `${path}.transaction_id`,
      `${where} param [transaction_id] is empty; GA4 would merge every purchase with an empty transaction_id into one.`,
    );
  }
}

/** Rule 23 (and 25 for item keys). `what` is e.g. `Event at index: [0] (purchase) param [x]`. */
function validateParamName(
  name: string,
  fieldPath: string,
  what: string,
  maxLength: number,
  report: Report,
): void {
  if (!NAME_PATTERN.test(name)) {
    const reason = /^[A-Za-z]/.test(name)
      ? 'Only alphanumeric characters and underscores are allowed.'
      : 'Names must start with an alphabetic character.';
    report('NAME_INVALID', fieldPath, `${what} has an invalid name. ${reason}`);
  } else if (name.length > maxLength) {
    report(
      'NAME_INVALID',
      fieldPath,
      `${what} has an invalid name. Names must be at most ${maxLength} characters long.`,
    );
  }
  if (hasReservedPrefix(name.toLowerCase())) {
    report(
      'NAME_RESERVED',
      fieldPath,
      `${what} has a reserved name. Names must not start with ${RESERVED_PREFIXES.join(', ')}.`,
    );
  }
}

/** Rules 24 and 26 for a scalar value (of an event or an item). */
function validateParamValue(
  name: string,
  value: unknown,
  fieldPath: string,
  what: string,
  numeric: ReadonlySet<string>,
  report: Report,
): void {
  if (numeric.has(name)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      report('VALUE_INVALID', fieldPath, `${what} must be a number, got ${describe(value)}.`);
    }
    return;
  }
  const isScalar =
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value));
  if (!isScalar) {
    report(
      'VALUE_INVALID',
      fieldPath,
      `${what} must be a string, a number or a boolean, got ${describe(value)}.`,
    );
    return;
  }
  if (name === 'currency' && (typeof value !== 'string' || !CURRENCY_PATTERN.test(value))) {
    report(
      'VALUE_INVALID',
      fieldPath,
      `${what} must be a 3-letter ISO 4217 code in capitals (RUB, USD, EUR), got ${describe(value)}.`,
    );
    return;
  }
  const limit = typeof value === 'string' ? paramValueLimit(name) : null;
  if (typeof value === 'string' && limit !== null) {
    if (length(value) > limit) {
      report(
        'VALUE_OUT_OF_BOUNDS',
        fieldPath,
        `${what} is ${length(value)} characters long; the limit is ${limit}.`,
      );
    }
  }
}

/** Rule 25. */
function validateItems(items: unknown, path: string, where: string, report: Report): void {
  if (!Array.isArray(items)) {
    report(
      'VALUE_INVALID',
      path,
      `${where} param [items] must be an array of objects, got ${describe(items)}.`,
    );
    return;
  }
  if (items.length > MAX_ITEMS) {
    report(
      'EXCEEDED_MAX_ENTITIES',
      path,
      `${where} param [items] has ${items.length} items; the limit is ${MAX_ITEMS}.`,
    );
  }
  items.forEach((item: unknown, i) => {
    const itemPath = `${path}[${i}]`;
    const itemWhere = `${where} item at index: [${i}]`;
    if (!isObject(item)) {
      report('VALUE_INVALID', itemPath, `${itemWhere} must be an object, got ${describe(item)}.`);
      return;
    }
    if (item.item_id === undefined && item.item_name === undefined) {
      report('VALUE_REQUIRED', itemPath, `${itemWhere} needs item_id or item_name.`);
    }
    let custom = 0;
    for (const [key, value] of Object.entries(item)) {
      if (!STANDARD_ITEM_KEYS.has(key)) custom += 1;
      const what = `${itemWhere} param [${key}]`;
      validateParamName(key, `${itemPath}.${key}`, what, MAX_NAME_LENGTH, report);
      validateParamValue(key, value, `${itemPath}.${key}`, what, NUMERIC_ITEM_PARAMS, report);
    }
    if (custom > MAX_CUSTOM_ITEM_PARAMS) {
      report(
        'EXCEEDED_MAX_ENTITIES',
        itemPath,
        `${itemWhere} has ${custom} custom params; the limit is ${MAX_CUSTOM_ITEM_PARAMS}.`,
      );
    }
  });
}

/** Rules 28 and 29 (research A2, A3, S5). */
function validateUserProperties(
  properties: unknown,
  nowMs: number | undefined,
  report: Report,
): void {
  if (!isObject(properties)) return; // a wrong type was reported with the envelope
  const entries = Object.entries(properties);
  if (entries.length > MAX_USER_PROPERTIES) {
    report(
      'EXCEEDED_MAX_ENTITIES',
      'user_properties',
      `The request has ${entries.length} user properties; the limit is ${MAX_USER_PROPERTIES}.`,
    );
  }
  for (const [name, property] of entries) {
    const path = `user_properties.${name}`;
    const what = `User property [${name}]`;
    if (!NAME_PATTERN.test(name) || name.length > MAX_USER_PROPERTY_NAME_LENGTH) {
      report(
        'NAME_INVALID',
        path,
        `${what} has an invalid name. Names start with a letter, hold only letters, digits and underscores, and are at most ${MAX_USER_PROPERTY_NAME_LENGTH} characters long.`,
      );
    }
    if (RESERVED_USER_PROPERTY_NAMES.has(name) || hasReservedPrefix(name.toLowerCase())) {
      report('NAME_RESERVED', path, `${what} has a reserved name.`);
    }
    if (!isObject(property)) {
      report(
        'VALUE_INVALID',
        path,
        `${what} must be an object with a value, got ${describe(property)}.`,
      );
      continue;
    }
    for (const key of Object.keys(property)) {
      if (!USER_PROPERTY_KEYS.has(key)) {
        report(
          'VALUE_INVALID',
          `${path}.${key}`,
          `${PARSE_ERROR} (user_properties.${name}) ${key}: Cannot find field.`,
        );
      }
    }
    const value = property.value;
    if (value === undefined) {
      report('VALUE_REQUIRED', `${path}.value`, `${what} has no value.`);
    } else if (typeof value === 'string') {
      if (length(value) > MAX_USER_PROPERTY_VALUE_LENGTH) {
        report(
          'VALUE_OUT_OF_BOUNDS',
          `${path}.value`,
          `${what} value is ${length(value)} characters long; the limit is ${MAX_USER_PROPERTY_VALUE_LENGTH}.`,
        );
      }
    } else if (
      typeof value !== 'boolean' &&
      !(typeof value === 'number' && Number.isFinite(value))
    ) {
      report(
        'VALUE_INVALID',
        `${path}.value`,
        `${what} value must be a string, a number or a boolean, got ${describe(value)}.`,
      );
    }
    validateTimestamp(property.timestamp_micros, `${path}.timestamp_micros`, what, nowMs, report);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasReservedPrefix(lowerName: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => lowerName.startsWith(prefix));
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** GA counts characters, not bytes (research A3 "Counting characters"); count code points. */
function length(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

function an(type: string): string {
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** `string "1500"`, `number NaN`, `null`, `array`: short enough for a log line. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = length(value) > 40 ? `${[...value].slice(0, 40).join('')}…` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean')
    return `${typeof value} ${String(value)}`;
  if (typeof value === 'object') return 'an object';
  return typeof value;
}
