/**
 * A generic deal event, checked against its JSON Schema (ajv) and then for meaning (a currency in
 * use, an amount that reads, a time that parses, an account this URL takes), into the deal model.
 * Pure. Every problem is located (`[3].amount`), so a sender can fix a whole batch at once.
 */
import Ajv from 'ajv';
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

const ajv = new Ajv({ allErrors: true, strict: false });
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
  if (!validate(input)) {
    const problems = (validate.errors ?? []).map((e) => {
      const extra =
        e.keyword === 'additionalProperties'
          ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
          : e.keyword === 'enum'
            ? ` (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).map(String).join(', ')})`
            : '';
      return {
        path: at(prefix, jsonPath(e.instancePath)),
        message: `${e.message ?? 'is invalid'}${extra}`,
      };
    });
    return { problems };
  }
  const wire = input;
  const problems: EventProblem[] = [];
  if (accounts !== null && !accounts.includes(wire.account)) {
    problems.push({
      path: at(prefix, '.account'),
      message: `"${wire.account}" is not an account this URL takes (${accounts.join(', ')})`,
    });
  }
  let amount: string | null = null;
  if (wire.amount !== null && wire.amount !== undefined) {
    const read = readAmount(wire.amount);
    if ('unreadable' in read)
      problems.push({ path: at(prefix, '.amount'), message: read.unreadable });
    else amount = read.amount;
  }
  if (wire.currency && !isCurrencyCode(wire.currency)) {
    problems.push({
      path: at(prefix, '.currency'),
      message: `${wire.currency} is not a currency code in use (ISO 4217)`,
    });
  }
  let occurredAt: number | null = null;
  if (wire.occurred_at !== null && wire.occurred_at !== undefined) {
    occurredAt = readTime(wire.occurred_at);
    if (occurredAt === null) {
      problems.push({
        path: at(prefix, '.occurred_at'),
        message: 'must be ISO 8601 with a time zone (2026-12-01T10:00:00Z) or Unix seconds',
      });
    }
  }
  if (problems.length > 0) return { problems };

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
