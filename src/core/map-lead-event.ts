/**
 * The rules engine: a lead event plus the marketer's rules become GA4 conversions. Pure: no I/O,
 * no clock. Each conversion carries its idempotency key (account, lead, event, status), which the
 * ledger uses so that a repeated webhook, a replay or a crash never sends it twice.
 */
import type {
  CloseloopConfig,
  EventTemplate,
  FieldRef,
  ParamScalar,
  ParamSource,
  Rule,
  RuleTrigger,
} from './config-types';
import type { ErrorCode } from './errors';
import type { CustomField, LeadAction, LeadEvent } from './lead';
import { normalizeClientId, parseSessionId } from './ga4/client-id';

export interface ConversionEventOut {
  name: string;
  params: Record<string, ParamScalar>;
}

export interface Conversion {
  /** `account:lead:event:status`: at most one send per key, ever. */
  key: string;
  rule: string;
  event: ConversionEventOut;
}

export interface SkippedConversion {
  rule: string;
  eventName: string;
  code: ErrorCode;
  reason: string;
}

export interface MapResult {
  /** Normalised GA client ID (`123.456`), or null. */
  clientId: string | null;
  /** What the client-ID field held, when it held something that is not a client ID. */
  clientIdInvalid: string | null;
  sessionId: string | null;
  matchedRules: string[];
  conversions: Conversion[];
  skipped: SkippedConversion[];
}

export type MappingConfig = Pick<CloseloopConfig, 'rules' | 'currency' | 'amocrm'>;

const TRIGGER_OF_ACTION: Readonly<Record<LeadAction, RuleTrigger | null>> = {
  add: 'lead_added',
  status: 'status_changed',
  update: 'lead_updated',
  delete: 'lead_deleted',
  restore: 'lead_restored',
  responsible: null,
};

/** GA4 wants these as numbers (revenue), so numeric strings from CRM fields are converted. */
const NUMERIC_PARAMS = new Set(['value', 'tax', 'shipping', 'discount', 'price', 'quantity']);
/** GA4 wants these as strings; a lead id is a number in the CRM. */
const STRING_PARAMS = new Set(['transaction_id', 'currency', 'coupon', 'affiliation', 'item_id']);

export function triggerOf(action: LeadAction): RuleTrigger | null {
  return TRIGGER_OF_ACTION[action];
}

export function idempotencyKey(event: LeadEvent, eventName: string): string {
  return `${event.accountId}:${event.lead.id}:${eventName}:${event.lead.statusId ?? 'none'}`;
}

export function ruleMatches(rule: Rule, event: LeadEvent): boolean {
  if (triggerOf(event.action) !== rule.on) return false;
  if (!inList(rule.pipelines, event.lead.pipelineId)) return false;
  if (!inList(rule.statuses, event.lead.statusId)) return false;
  if (!inList(rule.fromStatuses, event.oldStatusId)) return false;
  return true;
}

export function mapLeadEvent(event: LeadEvent, config: MappingConfig): MapResult {
  const fields = event.lead.customFields;
  const rawClientId = fields ? firstValue(fields, config.amocrm.fields.clientId) : null;
  const clientId = normalizeClientId(rawClientId);
  const sessionRef = config.amocrm.fields.sessionId;
  const sessionId = fields && sessionRef ? parseSessionId(firstValue(fields, sessionRef)) : null;

  const result: MapResult = {
    clientId,
    clientIdInvalid: clientId === null && rawClientId ? rawClientId : null,
    sessionId,
    matchedRules: [],
    conversions: [],
    skipped: [],
  };
  const seen = new Set<string>();
  for (const rule of config.rules) {
    if (!ruleMatches(rule, event)) continue;
    result.matchedRules.push(rule.name);
    for (const template of rule.send) {
      const key = idempotencyKey(event, template.name);
      if (seen.has(key)) continue; // two rules sending the same event for one status: once is enough
      seen.add(key);
      const built = buildEvent(template, event, config.currency);
      if ('missing' in built) {
        result.skipped.push({
          rule: rule.name,
          eventName: template.name,
          code: 'RULE_VALUE_MISSING',
          reason: `param "${built.missing}" is required but the lead has no value for ${built.source}`,
        });
      } else {
        result.conversions.push({ key, rule: rule.name, event: built });
      }
    }
  }
  return result;
}

function buildEvent(
  template: EventTemplate,
  event: LeadEvent,
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
  // Revenue is only computed by GA4 when `currency` comes with `value` (research A5).
  if (params.value !== undefined && params.currency === undefined) params.currency = currency;
  return { name: template.name, params };
}

function resolveSource(source: ParamSource, event: LeadEvent): ParamScalar | null {
  const lead = event.lead;
  switch (source.kind) {
    case 'literal':
      return source.value;
    case 'lead':
      switch (source.attribute) {
        case 'id':
          return lead.id;
        case 'price':
          return lead.price;
        case 'status_id':
          return lead.statusId;
        case 'pipeline_id':
          return lead.pipelineId;
        case 'old_status_id':
          return event.oldStatusId;
        case 'old_pipeline_id':
          return event.oldPipelineId;
        case 'responsible_user_id':
          return lead.responsibleUserId;
        case 'created_at':
          return lead.createdAt;
      }
      return null;
    case 'field':
      return lead.customFields ? firstValue(lead.customFields, source.field) : null;
    case 'utm':
      return lead.customFields
        ? firstValue(lead.customFields, { code: `UTM_${source.utm.toUpperCase()}` })
        : null;
  }
}

function coerce(name: string, value: ParamScalar): ParamScalar | null {
  if (NUMERIC_PARAMS.has(name) && typeof value === 'string') {
    const cleaned = value.replace(/[\s\u00a0]/g, '').replace(',', '.');
    const n = cleaned === '' ? NaN : Number(cleaned);
    return Number.isFinite(n) ? n : null;
  }
  if (STRING_PARAMS.has(name) && typeof value === 'number') return String(value);
  if (typeof value === 'string' && value.trim() === '') return null;
  return value;
}

function describeSource(source: Exclude<ParamSource, { kind: 'literal' }>): string {
  switch (source.kind) {
    case 'lead':
      return `lead ${source.attribute}`;
    case 'utm':
      return `utm_${source.utm} (field UTM_${source.utm.toUpperCase()})`;
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

function inList(list: readonly number[] | null, value: number | null): boolean {
  return list === null || (value !== null && list.includes(value));
}
