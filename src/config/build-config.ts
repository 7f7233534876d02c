/**
 * The validated YAML (schema.ts spelling, defaults applied) as the internal model
 * (config-types.ts): rules with their ids as strings, and each adapter section built by its own
 * `build`, for the top level and every account.
 */
import {
  LEGACY_ATTRIBUTES,
  type DealAttribute,
  type EventTemplate,
  type FieldRef,
  type LeadIntakeSettings,
  type ParamSource,
  type Rule,
  type WritableFieldRef,
} from '../core/config-types';
import { amocrmSection } from '../adapters/crm/amocrm/config';
import { bitrix24Section } from '../adapters/crm/bitrix24/config';
import { genericSection } from '../adapters/crm/generic/config';
import { ga4Section } from '../adapters/destinations/ga4/config';
import { metricaSection } from '../adapters/destinations/metrica/config';
import type { AccountConfig, CloseloopConfig } from './config-types';
import type {
  ConfigPath,
  RawConfig,
  RawFieldRef,
  RawParam,
  RawRule,
  RawSections,
  RawWritableFieldRef,
} from './schema';

type LineOf = (path: ConfigPath) => number | null;

function fieldRef(ref: RawFieldRef): FieldRef {
  if (ref.code !== undefined) return { code: ref.code };
  if (ref.id !== undefined) return { id: ref.id };
  return { name: ref.name ?? '' };
}

function attribute(name: string): DealAttribute {
  return LEGACY_ATTRIBUTES[name] ?? (name as DealAttribute);
}

function paramSource(param: RawParam): ParamSource {
  if (typeof param !== 'object') return { kind: 'literal', value: param };
  const base = {
    required: param.required,
    ...(param.default === undefined ? {} : { default: param.default }),
  };
  const deal = param.deal ?? param.lead;
  if (deal !== undefined) return { kind: 'deal', attribute: attribute(deal), ...base };
  if (param.field !== undefined) return { kind: 'field', field: fieldRef(param.field), ...base };
  return { kind: 'utm', utm: param.utm ?? 'source', ...base };
}

/** Every id as a string; a name stays in the list too, as an id a sender may use as it is. */
function idsOf(list: Array<number | string> | null | undefined): string[] | null {
  return list === undefined || list === null ? null : list.map(String);
}

function namesOf(rule: RawRule, at: ConfigPath, lineOf: LineOf): Pick<Rule, 'names'> {
  const names = (list: Array<number | string> | null | undefined): string[] =>
    (list ?? []).filter((v): v is string => typeof v === 'string');
  const result = {
    pipelines: names(rule.pipeline),
    statuses: names(rule.status),
    fromStatuses: names(rule.from_status),
  };
  const any = result.pipelines.length + result.statuses.length + result.fromStatuses.length > 0;
  const lines = {
    pipeline: lineOf([...at, 'pipeline']),
    status: lineOf([...at, 'status']),
    from_status: lineOf([...at, 'from_status']),
  };
  return any ? { names: { ...result, lines } } : {};
}

function buildRules(raw: readonly RawRule[], at: ConfigPath, lineOf: LineOf): Rule[] {
  return raw.map((rule, index) => ({
    name: rule.name,
    on: rule.on,
    pipelines: idsOf(rule.pipeline),
    statuses: idsOf(rule.status),
    fromStatuses: idsOf(rule.from_status),
    outcomes: rule.outcome === undefined ? null : [...new Set(rule.outcome)],
    sources: rule.source === undefined ? null : [...new Set(rule.source)],
    ...namesOf(rule, [...at, index], lineOf),
    send: rule.send.map((event): EventTemplate => ({
      name: event.event,
      params: Object.fromEntries(
        Object.entries(event.params).map(([name, param]) => [name, paramSource(param)]),
      ),
    })),
  }));
}

function writableFieldRef(ref: RawWritableFieldRef | null): WritableFieldRef | null {
  if (ref === null) return null;
  return ref.id !== undefined ? { id: ref.id } : { code: ref.code ?? '' };
}

function buildLeadIntake(l: RawConfig['lead_intake']): LeadIntakeSettings {
  return {
    enabled: l.enabled,
    account: l.account,
    // The same site listed twice (`https://example.com` and `https://example.com/`) is one origin.
    corsOrigins: [...new Set(l.cors_origins)],
    honeypotField: l.honeypot_field,
    perIpPerMinute: l.per_ip_per_minute,
    pipeline: l.pipeline === null ? null : String(l.pipeline),
    status: l.status === null ? null : String(l.status),
    leadName: l.lead_name,
    sessionIdField: writableFieldRef(l.session_id_field),
    commentField: writableFieldRef(l.comment_field),
    keepPersonalDataMs: l.keep_personal_data_days * 86_400_000,
  };
}

/** The adapters' sections of one account (the top level or an item of `accounts`). */
function buildSections(
  raw: RawSections,
): Pick<AccountConfig, 'amocrm' | 'bitrix24' | 'ga4' | 'generic' | 'metrica'> {
  return {
    amocrm: amocrmSection.build(raw.amocrm),
    bitrix24: bitrix24Section.build(raw.bitrix24),
    ga4: ga4Section.build(raw.ga4),
    generic: genericSection.build(raw.generic),
    metrica: metricaSection.build(raw.metrica),
  };
}

export function buildConfig(
  raw: RawConfig,
  file: string,
  lineOf: LineOf,
): Omit<CloseloopConfig, 'sources'> {
  const { delivery } = raw;
  const rules = buildRules(raw.rules, ['rules'], lineOf);
  return {
    file,
    currency: raw.currency,
    ...buildSections(raw),
    webhook: { secret: raw.webhook.secret, maxBodyBytes: raw.webhook.max_body },
    delivery: {
      retryWindowMs: delivery.retry_window_hours * 3_600_000,
      retryBaseMs: delivery.retry_base_seconds * 1000,
      retryMaxDelayMs: delivery.retry_max_delay_minutes * 60_000,
      concurrency: delivery.concurrency,
      resendUncertain: delivery.resend_uncertain,
      maxValue: delivery.max_value,
    },
    revenue: {
      wonAgain: raw.revenue.won_again,
      lostAfterWon: raw.revenue.lost_after_won,
      amountChanged: raw.revenue.amount_changed,
    },
    deliveryLogMaxRows: raw.delivery_log.max_rows,
    deliveryLogMaxAgeMs: raw.delivery_log.max_age_days * 86_400_000,
    rules,
    leadIntake: buildLeadIntake(raw.lead_intake),
    accounts: raw.accounts.map((account, i): AccountConfig => ({
      name: account.name,
      currency: account.currency ?? raw.currency,
      rules:
        account.rules === undefined
          ? rules
          : buildRules(account.rules, ['accounts', i, 'rules'], lineOf),
      webhookSecret: account.webhook_secret,
      ...buildSections(account),
    })),
  };
}
