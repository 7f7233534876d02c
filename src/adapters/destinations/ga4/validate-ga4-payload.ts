/**
 * Local validation of a GA4 Measurement Protocol payload before it is sent. Pure.
 *
 * Why: `/mp/collect` answers 2xx to anything and silently drops what breaks its limits (research
 * ga4-mp.md A1, A3 "Over-limit handling"), so the only way a marketer learns that an event was
 * lost is a problem we report here. The rules are Part D rules 6–29 of the research, in the
 * production (RELAXED) mode, plus three checks we want even though Google would accept the payload
 * (each marked "our choice" where it is checked): a millisecond `timestamp_micros`, an empty
 * `transaction_id` and `value` without `currency` all lose data quietly.
 *
 * Every problem names where it is (`Event at index: [1] (purchase) param [value] …`) so that a
 * person reading the delivery log can find the rule in the YAML. Where the research records
 * Google's own wording, it is used verbatim. `fieldPath` is `events` or `client_id` where Google's
 * is documented, otherwise our own dotted path ('' for the whole body).
 *
 * This file checks the body and its envelope; the limits and name tables are in
 * ga4-payload-limits.ts, the checks of events, params, items and user properties in
 * ga4-payload-checks.ts.
 */
import {
  CONSENT_KEYS,
  CONSENT_VALUES,
  GA4_MAX_BODY_BYTES,
  MAX_USER_ID_LENGTH,
  PARSE_ERROR,
  SHA256_HEX,
  TOP_LEVEL_KEYS,
  VALIDATION_BEHAVIORS,
} from './ga4-payload-limits';
import {
  describe,
  isObject,
  length,
  validateEvents,
  validateTimestamp,
  validateUserProperties,
  type Ga4ValidationCode,
  type Json,
  type Report,
} from './ga4-payload-checks';

export type { Ga4ValidationCode };

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

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function an(type: string): string {
  return type === 'object' ? 'an object' : `a ${type}`;
}
