/**
 * The validator's checks for the parts of a GA4 payload that repeat: each event (its name, params
 * and items), the user properties, and a `timestamp_micros` wherever it stands. The whole body
 * and its envelope are checked in validate-ga4-payload.ts, which calls these. Pure; rule numbers
 * are Part D of research ga4-mp.md.
 */

import { MP_RESERVED_EVENT_NAMES } from './reserved-names';
import {
  GA4_MAX_BACKDATE_MS,
  GA4_MAX_EVENTS,
  MAX_CUSTOM_ITEM_PARAMS,
  MAX_ITEMS,
  MAX_NAME_LENGTH,
  MAX_PARAMS,
  MAX_USER_PROPERTIES,
  MAX_USER_PROPERTY_NAME_LENGTH,
  MAX_USER_PROPERTY_VALUE_LENGTH,
  CURRENCY_PATTERN,
  EVENT_KEYS,
  NAME_PATTERN,
  NUMERIC_ITEM_PARAMS,
  NUMERIC_PARAMS,
  PARSE_ERROR,
  RESERVED_PREFIXES,
  RESERVED_USER_PROPERTY_NAMES,
  STANDARD_ITEM_KEYS,
  USER_PROPERTY_KEYS,
  hasReservedPrefix,
  paramValueLimit,
} from './ga4-payload-limits';

/** Google's `validationCode` values (research A1); validate-ga4-payload.ts exports it. */
export type Ga4ValidationCode =
  | 'VALUE_INVALID'
  | 'VALUE_REQUIRED'
  | 'NAME_INVALID'
  | 'NAME_RESERVED'
  | 'VALUE_OUT_OF_BOUNDS'
  | 'EXCEEDED_MAX_ENTITIES'
  /** Part of Google's enum; never produced here: a parsed object cannot hold a key twice. */
  | 'NAME_DUPLICATED';

export type Json = Record<string, unknown>;

export type Report = (code: Ga4ValidationCode, fieldPath: string, description: string) => void;

/**
 * Rule 12, for the request, an event or a user property. `where` starts the description
 * (`Request`, `Event at index: [0] (purchase)`).
 */
export function validateTimestamp(
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

/** Rules 16–27. */
export function validateEvents(payload: Json, nowMs: number | undefined, report: Report): void {
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
export function validateUserProperties(
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

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** GA counts characters, not bytes (research A3 "Counting characters"); count code points. */
export function length(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

/** `string "1500"`, `number NaN`, `null`, `array`: short enough for a log line. */
export function describe(value: unknown): string {
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
