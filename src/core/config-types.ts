/**
 * The parts of the validated config the core works with: rules and their event templates, retry
 * settings, and where a setting came from. Vendor-free: each adapter's settings live in its own
 * folder, and src/config composes the whole (`CloseloopConfig`, src/config/config-types.ts).
 */
import type { DealOutcome } from './deal';
import type { UtmKey } from './deal';

export type { UtmKey } from './deal';
export { UTM_KEYS } from './deal';

/** Names one deal field: by code (amoCRM's `GCLIENTID`, Bitrix24's `UF_CRM_…`), numeric id, or name. */
export type FieldRef = { code: string } | { id: number } | { name: string };

/** Where a CRM takes a written value: by id or by code (amoCRM writes no field by name). */
export type WritableFieldRef = { id: number } | { code: string };

/**
 * Deal attributes a parameter may take. The deal's title is deliberately absent: it is free text,
 * often a person's name (personal data).
 */
export const DEAL_ATTRIBUTES = [
  'id',
  'amount',
  'currency',
  'stage_id',
  'pipeline_id',
  'previous_stage_id',
  'previous_pipeline_id',
  'outcome',
  'responsible_user_id',
  'created_at',
  'source',
  'account',
] as const;
export type DealAttribute = (typeof DEAL_ATTRIBUTES)[number];

/**
 * The names the attributes had while closeloop spoke of amoCRM leads only (`{ lead: price }`);
 * they keep working.
 */
export const LEGACY_ATTRIBUTES: Readonly<Record<string, DealAttribute>> = {
  price: 'amount',
  status_id: 'stage_id',
  old_status_id: 'previous_stage_id',
  old_pipeline_id: 'previous_pipeline_id',
};

export type ParamScalar = string | number | boolean;

interface SourceBase {
  /** Used when the deal has no value for the source. */
  default?: ParamScalar;
  /** With no value and no default: skip this event (recorded, with the reason) instead of omitting the param. */
  required: boolean;
}

export type ParamSource =
  | { kind: 'literal'; value: ParamScalar }
  | (SourceBase & { kind: 'deal'; attribute: DealAttribute })
  | (SourceBase & { kind: 'field'; field: FieldRef })
  | (SourceBase & { kind: 'utm'; utm: UtmKey });

export interface EventTemplate {
  /** The event's name (`purchase`, `generate_lead`, or your own snake_case name). */
  name: string;
  params: Readonly<Record<string, ParamSource>>;
}

/** What happened to the deal, in the marketer's words (`on:`). */
export const RULE_TRIGGERS = [
  'lead_added',
  'status_changed',
  'lead_updated',
  'lead_deleted',
  'lead_restored',
] as const;
export type RuleTrigger = (typeof RULE_TRIGGERS)[number];

export interface Rule {
  name: string;
  on: RuleTrigger;
  /** null = any pipeline. Ids as strings, whatever the CRM uses (`4542166`, `C1`). */
  pipelines: readonly string[] | null;
  /** null = any stage. amoCRM calls stages statuses: `status: 142`. */
  statuses: readonly string[] | null;
  /** null = any previous stage. Only `status_changed` events know the previous stage. */
  fromStatuses: readonly string[] | null;
  /** null = any outcome. `won` matches every CRM's success stage in every pipeline. */
  outcomes: readonly DealOutcome[] | null;
  /** null = deals from every source; else only these (`amocrm`, `bitrix24`, `generic`). */
  sources: readonly string[] | null;
  /**
   * Pipeline and stage names written in the YAML instead of ids, looked up through the CRM's API
   * at start (resolveRuleNames adds their ids to the lists above). Absent when the rule uses ids.
   */
  names?: {
    pipelines: readonly string[];
    statuses: readonly string[];
    fromStatuses: readonly string[];
    /** Where the lists are in the file, for a problem with a name. */
    lines?: { pipeline: number | null; status: number | null; from_status: number | null };
  };
  send: readonly EventTemplate[];
}

export interface DeliverySettings {
  /** How long transient failures are retried, from the first attempt. GA4 backdates 72 h at most. */
  retryWindowMs: number;
  /** First retry delay; doubled on each attempt, with jitter. */
  retryBaseMs: number;
  /** Longest single retry delay. */
  retryMaxDelayMs: number;
  concurrency: number;
  /**
   * Events an interrupted send (crash, timeout after the request was written) sends again, when
   * the destination counts them once; every other event is held as uncertain for a person.
   */
  resendUncertain: readonly string[];
  /** The largest money value a rule may send (`delivery.max_value`); above it, or below 0, skipped. */
  maxValue: number;
}

/**
 * The default `delivery.max_value`: a billion in the account's currency. Anyone who holds the
 * webhook URL can post a price (amoCRM's webhooks are unsigned), and real bodies carry negative
 * and absurd ones (issue 12: `-1500`, `1e300`); revenue like that would poison every report.
 */
export const DEFAULT_MAX_VALUE = 1_000_000_000;

/** Where a setting with a documented environment variable came from (src/config/env-bindings.ts). */
export type ValueSource =
  | {
      kind: 'config';
      line: number | null;
      /** Variables the YAML value references (`${GA4_API_SECRET:-}`). */
      references: readonly string[];
      /** Those of them that are not set (the value is the default written after `:-`). */
      unset: readonly string[];
    }
  | { kind: 'env'; variable: string }
  | { kind: 'default' }
  /** The variable is set and does not apply (the config sets `amocrm.oauth`: AMOCRM_TOKEN). */
  | { kind: 'ignored'; variable: string; because: string };

export interface SettingSource {
  /** The setting's key in the YAML (`ga4.api_secret`). */
  key: string;
  /** Its documented environment variable. */
  variable: string;
  /** A secret: shown as `set` or `not set`, never its value. */
  secret: boolean;
  /** The default when neither the config nor the variable sets it; null: none (off). */
  fallback: string | null;
  source: ValueSource;
}

/** `POST /leads`: site forms posted to closeloop, which creates the lead in the account's CRM. */
export interface LeadIntakeSettings {
  enabled: boolean;
  /** The closeloop account whose CRM gets the leads. */
  account: string;
  /** Exact origins (`https://example.com`) whose pages may post from a browser. */
  corsOrigins: readonly string[];
  /** A hidden form field that people leave empty and bots fill in. */
  honeypotField: string;
  perIpPerMinute: number;
  /** null: the CRM's main pipeline. */
  pipeline: string | null;
  /** null: the pipeline's first stage, as the CRM chooses. */
  status: string | null;
  leadName: string;
  sessionIdField: WritableFieldRef | null;
  commentField: WritableFieldRef | null;
  /** A lead creation that failed for good is removed, personal data and all, after this long. */
  keepPersonalDataMs: number;
}

/** The settings of a config without a `lead_intake` section. */
export const LEAD_INTAKE_DISABLED: LeadIntakeSettings = Object.freeze({
  enabled: false,
  account: 'default',
  corsOrigins: Object.freeze([]),
  honeypotField: 'website',
  perIpPerMinute: 10,
  pipeline: null,
  status: null,
  leadName: 'Заявка с сайта',
  sessionIdField: null,
  commentField: null,
  keepPersonalDataMs: 30 * 86_400_000,
});

/**
 * What happens to revenue already sent when the deal's life goes on (`revenue:` in the YAML; see
 * src/core/deal-life.ts): a won deal reopened and won again, a won deal lost, an amount changed.
 */
export const WON_AGAIN_ACTIONS = ['ignore', 'refund_and_resend'] as const;
export const LOST_AFTER_WON_ACTIONS = ['ignore', 'refund'] as const;
export const AMOUNT_CHANGED_ACTIONS = ['record', 'refund_and_resend'] as const;

export interface RevenueSettings {
  /** A won deal reopened and won again: counted once (`ignore`), or refunded and sent anew. */
  wonAgain: (typeof WON_AGAIN_ACTIONS)[number];
  /** A won deal moved to lost: its purchase stays (`ignore`), or is refunded in full. */
  lostAfterWon: (typeof LOST_AFTER_WON_ACTIONS)[number];
  /** A won deal whose amount changed after its purchase was sent: recorded, or corrected. */
  amountChanged: (typeof AMOUNT_CHANGED_ACTIONS)[number];
}

/** Nothing sent twice, nothing taken back: what closeloop did before it knew a deal's life. */
export const DEFAULT_REVENUE_SETTINGS: RevenueSettings = Object.freeze({
  wonAgain: 'ignore',
  lostAfterWon: 'ignore',
  amountChanged: 'record',
});

/** Every correction deal life can make: for a destination that corrects in place. */
export const ALL_REVENUE_CORRECTIONS: RevenueSettings = Object.freeze({
  wonAgain: 'refund_and_resend',
  lostAfterWon: 'refund',
  amountChanged: 'refund_and_resend',
});

/** What the rules engine reads: an account's rules and its currency. */
export interface MappingConfig {
  rules: readonly Rule[];
  /** ISO 4217: sent with every `value` whose deal does not carry its own currency. */
  currency: string;
  /** The largest money value sent; DEFAULT_MAX_VALUE when absent. */
  maxValue?: number;
  /** What happens to revenue already sent; DEFAULT_REVENUE_SETTINGS when absent. */
  revenue?: RevenueSettings;
}
