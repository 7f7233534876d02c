/**
 * A generic deal event, checked against its JSON Schema (ajv) and then for meaning (a currency in
 * use, an amount that reads, a time that parses, an account this URL takes), into the deal model.
 * Pure. Every problem is located (`[3].amount`), so a sender can fix a whole batch at once.
 */
import Ajv, { type ErrorObject } from 'ajv';
import { readAmount } from '../../../core/amount';
import { isCurrencyCode } from '../../../core/currency';
import type { CustomField, DealEvent, Identities } from '../../../core/deal';
import { UTM_KEYS } from '../../../core/deal';
import { DEAL_EVENT_SCHEMA } from './deal-event-schema';
import type { GenericDealEventWire } from './deal-event-fields';

export const GENERIC_SOURCE = 'generic';

export interface EventProblem {
  /** `[3].amount`, or `amount` for a body of one event. */
  path: string;
  message: string;
}

// Strict: a keyword ajv does not know (a typo in the schema) stops the start instead of checking
// nothing. Union types (`["string", "integer"]`) are the schema's own choice.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile<GenericDealEventWire>(DEAL_EVENT_SCHEMA);

/** `/identities/ga_client_id` → `.identities.ga_client_id`. */
function jsonPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('');
}

function at(prefix: string, rest: string): string {
  const path = `${prefix}${rest}`.replace(/^\./, '');
  return path === '' ? '(the event)' : path;
}

/** ISO 8601 with a zone, or Unix seconds (milliseconds are recognised by their size). */
function readTime(value: string | number): number | null {
  if (typeof value === 'number') return value > 1e12 ? Math.floor(value / 1000) : value;
  if (/^\d+$/.test(value)) return readTime(Number(value));
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** What a value that breaks a field's pattern should look like, in words. */
const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  account:
    'must be a name of letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)',
  currency: 'must be an ISO 4217 code in capitals (RUB, USD, EUR)',
};

/**
 * One ajv error, located at the field it is about: a missing or unknown field's own path
 * (`[2].deal_id: is required`, `[0].price: is not a field of a deal event`), not its parent's.
 */
function describeError(e: ErrorObject, prefix: string): EventProblem {
  const where = jsonPath(e.instancePath);
  const params = e.params as {
    missingProperty?: string;
    additionalProperty?: string;
    allowedValues?: unknown[];
    type?: string | string[];
  };
  switch (e.keyword) {
    case 'required':
      return {
        path: at(prefix, `${where}.${String(params.missingProperty)}`),
        message: 'is required',
      };
    case 'additionalProperties':
      return {
        path: at(prefix, `${where}.${String(params.additionalProperty)}`),
        message: `is not a field of ${where === '' ? 'a deal event' : where.slice(1)} (the schema: GET /schemas/deal-event.json)`,
      };
    case 'enum':
      return {
        path: at(prefix, where),
        message: `must be one of ${(params.allowedValues ?? []).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'type': {
      const types = Array.isArray(params.type) ? params.type : String(params.type).split(',');
      return { path: at(prefix, where), message: `must be ${types.join(' or ')}` };
    }
    case 'maximum':
    case 'minimum':
      // Only ids have bounds: past 2^53 a JSON number is rounded (another deal's id).
      return {
        path: at(prefix, where),
        message: 'is too large a number to be exact; send an id this large as text ("…")',
      };
    case 'pattern':
      return {
        path: at(prefix, where),
        message: PATTERN_MESSAGES[where.slice(where.lastIndexOf('.') + 1)] ?? `${e.message}`,
      };
    default:
      return { path: at(prefix, where), message: e.message ?? 'is invalid' };
  }
}

const str = (v: string | number | null | undefined): string | null =>
  v === null || v === undefined || v === '' ? null : String(v);

/**
 * One event, checked; `prefix` locates its problems (`[3]`). `accounts`: the account names the
 * URL takes (null: any).
 */
export function readDealEvent(
  input: unknown,
  prefix: string,
  accounts: readonly string[] | null,
): { event: DealEvent } | { problems: EventProblem[] } {
  const valid = validate(input);
  const problems = valid ? [] : (validate.errors ?? []).map((e) => describeError(e, prefix));
  if (!valid && problems.length === 0)
    problems.push({ path: at(prefix, ''), message: 'is invalid' });
  // The meaning of every value the schema took, even when another one broke it: a sender fixes
  // a whole event (a whole list) from one answer.
  const broken = new Set(problems.map((p) => p.path));
  const value = (key: string): unknown =>
    typeof input === 'object' && input !== null && !broken.has(at(prefix, `.${key}`))
      ? (input as Record<string, unknown>)[key]
      : undefined;
  const problem = (key: string, message: string): void => {
    problems.push({ path: at(prefix, `.${key}`), message });
  };

  const account = value('account');
  if (accounts !== null && typeof account === 'string' && !accounts.includes(account)) {
    problem('account', `"${account}" is not an account this URL takes (${accounts.join(', ')})`);
  }
  let amount: string | null = null;
  const rawAmount = value('amount');
  if (typeof rawAmount === 'string' || typeof rawAmount === 'number') {
    const read = readAmount(rawAmount);
    if ('unreadable' in read) problem('amount', read.unreadable);
    else amount = read.amount;
  }
  const currency = value('currency');
  if (typeof currency === 'string' && !isCurrencyCode(currency)) {
    problem('currency', `${currency} is not a currency code in use (ISO 4217)`);
  }
  let occurredAt: number | null = null;
  const rawTime = value('occurred_at');
  if (typeof rawTime === 'string' || typeof rawTime === 'number') {
    occurredAt = readTime(rawTime);
    if (occurredAt === null) {
      problem(
        'occurred_at',
        'must be ISO 8601 with a time zone (2026-12-01T10:00:00Z) or Unix seconds',
      );
    }
  }
  if (!valid || problems.length > 0) return { problems };
  const wire = input;

  const ids = wire.identities ?? {};
  const identities: Identities = {
    gaClientId: str(ids.ga_client_id),
    gaSessionId: str(ids.ga_session_id),
    ymClientId: str(ids.ym_client_id),
    yclid: str(ids.yclid),
    gclid: str(ids.gclid),
    utm: Object.fromEntries(UTM_KEYS.map((k) => [k, str(wire.utm?.[k])])) as Identities['utm'],
  };
  const fields: CustomField[] = Object.entries(wire.fields ?? {})
    .filter((e): e is [string, string | number | boolean] => e[1] !== null)
    .map(([name, value]) => ({
      id: null,
      name,
      code: name,
      values: [{ value: String(value), enumId: null }],
    }));
  const previous = str(wire.previous_stage);
  return {
    event: {
      source: GENERIC_SOURCE,
      account: wire.account,
      kind: wire.event ?? 'stage_changed',
      previous: previous === null ? null : { pipelineId: str(wire.pipeline), stageId: previous },
      occurredAt,
      deal: {
        id: String(wire.deal_id),
        pipelineId: str(wire.pipeline),
        stageId: str(wire.stage),
        outcome: wire.outcome ?? null,
        amount: amount === null ? null : { amount, currency: wire.currency ?? null },
        responsibleUserId: null,
        createdAt: null,
        updatedAt: occurredAt,
        identities,
        fields,
        tags: [],
      },
    },
  };
}
