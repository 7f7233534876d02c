/**
 * The rules engine: a deal event plus the marketer's rules become conversions. Pure: no I/O, no
 * clock, no vendor. Each conversion carries its idempotency key (source, account, deal, event,
 * stage), to which each destination adds its own id, so that a repeated webhook, a replay or a
 * crash never sends it twice to the same place.
 */
import { DEFAULT_MAX_VALUE } from './config-types';
import type {
  DealAttribute,
  EventTemplate,
  FieldRef,
  MappingConfig,
  ParamScalar,
  ParamSource,
  Rule,
  RuleTrigger,
} from './config-types';
import type { CustomField, DealEvent, DealEventKind } from './deal';
import type { ErrorCode } from './errors';
import { amountOrNull } from './amount';

export interface ConversionEventOut {
  name: string;
  params: Record<string, ParamScalar>;
}

/**
 * What sending a conversion does to the deal's revenue record (deal-life.ts); the delivery applies
 * it once it was sent.
 */
export interface RevenueMark {
  kind: 'purchase' | 'refund';
  /** The purchase's revision: the one sent, or the one refunded. */
  revision: number;
  transactionId: string;
  amount: string;
  currency: string;
  /** Why closeloop sends it, for the delivery log; absent for a deal's first purchase. */
  reason?: string;
}

export interface Conversion {
  /**
   * `source:account:deal:event:stage`: at most one send per key and destination, ever. A refund,
   * or a purchase sent anew after one, is keyed by its revision instead (`revisionKey`).
   */
  key: string;
  /** The rule that sent it, or the `revenue.*` setting that did (a refund). */
  rule: string;
  event: ConversionEventOut;
  /** A purchase or refund whose sending changes what the destination counts for the deal. */
  revenue?: RevenueMark;
}

export interface SkippedConversion {
  rule: string;
  eventName: string;
  code: ErrorCode;
  reason: string;
}

export interface MapResult {
  matchedRules: string[];
  conversions: Conversion[];
  skipped: SkippedConversion[];
}

const TRIGGER_OF_KIND: Readonly<Record<DealEventKind, RuleTrigger | null>> = {
  created: 'lead_added',
  stage_changed: 'status_changed',
  updated: 'lead_updated',
  deleted: 'lead_deleted',
  restored: 'lead_restored',
  reassigned: null,
};

/** Parameters destinations want as numbers (revenue): numeric text from CRM fields is converted. */
const NUMERIC_PARAMS = new Set(['value', 'tax', 'shipping', 'discount', 'price', 'quantity']);
/**
 * Money parameters: sent only from 0 to the configured maximum. A negative `value` would subtract
 * revenue, and a webhook anyone can write may say `1e300` (issue 12).
 */
const MONEY_PARAMS = new Set(['value', 'tax', 'shipping', 'discount', 'price']);
/** Parameters destinations want as strings; a CRM id may be a number. */
const STRING_PARAMS = new Set(['transaction_id', 'currency', 'coupon', 'affiliation', 'item_id']);

export function triggerOf(kind: DealEventKind): RuleTrigger | null {
  return TRIGGER_OF_KIND[kind];
}

/** One part of a key: `:` and `%` are escaped, so no two events share a key. */
function part(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** `source:account:deal:event:stage`. */
export function conversionKey(event: DealEvent, eventName: string): string {
  return [event.source, event.account, event.deal.id, eventName, event.deal.stageId ?? 'none']
    .map(part)
    .join(':');
}

/**
 * `source:account:deal:event:revision:<n>`: the key of a refund of the deal's purchase number n,
 * or of its purchase number n (n ≥ 2) sent after a refund. Six parts, so no stage's key is one.
 */
export function revisionKey(event: DealEvent, eventName: string, revision: number): string {
  return [event.source, event.account, event.deal.id, eventName, 'revision', String(revision)]
    .map(part)
    .join(':');
}

/** The ledger's key: the destination's id, then the conversion's key. */
export function ledgerKey(destinationId: string, key: string): string {
  return `${part(destinationId)}:${key}`;
}

export function ruleMatches(rule: Rule, event: DealEvent): boolean {
  if (triggerOf(event.kind) !== rule.on) return false;
  if (!inList(rule.sources, event.source)) return false;
  if (!inList(rule.pipelines, event.deal.pipelineId)) return false;
  if (!inList(rule.statuses, event.deal.stageId)) return false;
  if (!inList(rule.fromStatuses, event.previous?.stageId ?? null)) return false;
  if (!inList(rule.outcomes, event.deal.outcome)) return false;
  return true;
}

export function mapDealEvent(event: DealEvent, config: MappingConfig): MapResult {
  const result: MapResult = { matchedRules: [], conversions: [], skipped: [] };
  const seen = new Set<string>();
  for (const rule of config.rules) {
    if (!ruleMatches(rule, event)) continue;
    result.matchedRules.push(rule.name);
    for (const template of rule.send) {
      const key = conversionKey(event, template.name);
      if (seen.has(key)) continue; // two rules sending the same event for one stage: once is enough
      seen.add(key);
      const built = buildEvent(template, event, config.currency);
      const outOfRange =
        'missing' in built ? null : moneyOutOfRange(built, config.maxValue ?? DEFAULT_MAX_VALUE);
      if ('missing' in built) {
        result.skipped.push({
          rule: rule.name,
          eventName: template.name,
          code: 'RULE_VALUE_MISSING',
          reason: `param "${built.missing}" is required but the deal has no value for ${built.source}`,
        });
      } else if (outOfRange !== null) {
        result.skipped.push({
          rule: rule.name,
          eventName: template.name,
          code: 'RULE_VALUE_OUT_OF_RANGE',
          reason: outOfRange,
        });
      } else {
        result.conversions.push({ key, rule: rule.name, event: built });
      }
    }
  }
  return result;
}

/** Why a money parameter of the event cannot be sent, or null. */
function moneyOutOfRange(event: ConversionEventOut, max: number): string | null {
  for (const [name, value] of Object.entries(event.params)) {
    if (!MONEY_PARAMS.has(name) || typeof value !== 'number') continue;
    if (Number.isFinite(value) && value >= 0 && value <= max) continue;
    const shown = Number.isFinite(value) ? String(value) : 'not a finite number';
    return `param "${name}" is ${shown}, outside 0 to ${max} (delivery.max_value); an amount like that is more likely a mistake or a forgery than revenue`;
  }
  return null;
}

function buildEvent(
  template: EventTemplate,
  event: DealEvent,
  currency: string,
): ConversionEventOut | { missing: string; source: string } {
  const params: Record<string, ParamScalar> = {};
  for (const [name, source] of Object.entries(template.params)) {
    let value = resolveSource(source, event);
    if (value !== null) value = coerce(name, value);
    if (value === null && source.kind !== 'literal' && source.default !== undefined) {
      value = source.default;
    }
    if (value === null) {
      if (source.kind !== 'literal' && source.required) {
        return { missing: name, source: describeSource(source) };
      }
      continue;
    }
    params[name] = value;
  }
  // Revenue only counts with a currency (GA4 and Metrica alike): the deal's own, else the account's.
  if (params.value !== undefined && params.currency === undefined) {
    params.currency = event.deal.amount?.currency ?? currency;
  }
  return { name: template.name, params };
}

function resolveSource(source: ParamSource, event: DealEvent): ParamScalar | null {
  switch (source.kind) {
    case 'literal':
      return source.value;
    case 'deal':
      return dealAttribute(source.attribute, event);
    case 'field':
      return event.deal.fields ? firstValue(event.deal.fields, source.field) : null;
    case 'utm':
      return event.deal.identities.utm[source.utm];
  }
}

function dealAttribute(attribute: DealAttribute, event: DealEvent): ParamScalar | null {
  const deal = event.deal;
  switch (attribute) {
    case 'id':
      return deal.id;
    case 'amount':
      return deal.amount?.amount ?? null;
    case 'currency':
      return deal.amount?.currency ?? null;
    case 'stage_id':
      return deal.stageId;
    case 'pipeline_id':
      return deal.pipelineId;
    case 'previous_stage_id':
      return event.previous?.stageId ?? null;
    case 'previous_pipeline_id':
      return event.previous?.pipelineId ?? null;
    case 'outcome':
      return deal.outcome;
    case 'responsible_user_id':
      return deal.responsibleUserId;
    case 'created_at':
      return deal.createdAt;
    case 'source':
      return event.source;
    case 'account':
      return event.account;
  }
}

function coerce(name: string, value: ParamScalar): ParamScalar | null {
  if (NUMERIC_PARAMS.has(name) && typeof value === 'string') {
    const amount = amountOrNull(value);
    return amount === null ? null : Number(amount);
  }
  if (STRING_PARAMS.has(name) && typeof value === 'number') return String(value);
  if (typeof value === 'string' && value.trim() === '') return null;
  return value;
}

function describeSource(source: Exclude<ParamSource, { kind: 'literal' }>): string {
  switch (source.kind) {
    case 'deal':
      return `deal ${source.attribute}`;
    case 'utm':
      return `utm_${source.utm}`;
    case 'field':
      return `field ${describeFieldRef(source.field)}`;
  }
}

export function describeFieldRef(ref: FieldRef): string {
  if ('code' in ref) return `with code ${ref.code}`;
  if ('id' in ref) return `with id ${ref.id}`;
  return `named "${ref.name}"`;
}

/** The first non-empty value of the field the reference names, or null. */
export function firstValue(fields: readonly CustomField[], ref: FieldRef): string | null {
  const field = fields.find((f) => fieldMatches(f, ref));
  if (!field) return null;
  for (const v of field.values) {
    const s = v.value.trim();
    if (s !== '') return s;
  }
  return null;
}

function fieldMatches(field: CustomField, ref: FieldRef): boolean {
  if ('code' in ref)
    return field.code !== null && field.code.toUpperCase() === ref.code.toUpperCase();
  if ('id' in ref) return field.id === ref.id;
  return field.name !== null && field.name.trim().toLowerCase() === ref.name.trim().toLowerCase();
}

function inList<T extends string>(list: readonly T[] | null, value: T | null): boolean {
  return list === null || (value !== null && list.includes(value));
}
