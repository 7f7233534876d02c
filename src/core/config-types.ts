/**
 * The validated, frozen configuration the rest of the program sees. The YAML spelling (snake_case)
 * lives in src/config; this is the internal model.
 */

/** Names one CRM field: by code (tracking fields: `GCLIENTID`), by numeric id, or by its name. */
export type FieldRef = { code: string } | { id: number } | { name: string };

/** Lead attributes a parameter may take. The lead's name is deliberately absent (personal data). */
export const LEAD_ATTRIBUTES = [
  'id',
  'price',
  'status_id',
  'pipeline_id',
  'old_status_id',
  'old_pipeline_id',
  'responsible_user_id',
  'created_at',
] as const;
export type LeadAttribute = (typeof LEAD_ATTRIBUTES)[number];

export const UTM_KEYS = ['source', 'medium', 'campaign', 'content', 'term'] as const;
export type UtmKey = (typeof UTM_KEYS)[number];

export type ParamScalar = string | number | boolean;

interface SourceBase {
  /** Used when the lead has no value for the source. */
  default?: ParamScalar;
  /** With no value and no default: skip this event (recorded, with the reason) instead of omitting the param. */
  required: boolean;
}

export type ParamSource =
  | { kind: 'literal'; value: ParamScalar }
  | (SourceBase & { kind: 'lead'; attribute: LeadAttribute })
  | (SourceBase & { kind: 'field'; field: FieldRef })
  | (SourceBase & { kind: 'utm'; utm: UtmKey });

export interface EventTemplate {
  /** GA4 event name (`purchase`, `generate_lead`, or your own snake_case name). */
  name: string;
  params: Readonly<Record<string, ParamSource>>;
}

/** What happened to the lead, in the marketer's words. */
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
  /** null = any pipeline. */
  pipelines: readonly number[] | null;
  /** null = any status. */
  statuses: readonly number[] | null;
  /** null = any previous status. Only `status_changed` events know the previous status. */
  fromStatuses: readonly number[] | null;
  /**
   * Pipeline and status names written in the YAML instead of ids, looked up through the amoCRM API
   * at start (resolveRuleNames adds their ids to the lists above). Absent when the rule uses ids only.
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

export interface Ga4Settings {
  measurementId: string | null;
  apiSecret: string | null;
  /** Base URL without a trailing slash: `https://www.google-analytics.com`. */
  endpoint: string;
  timeoutMs: number;
  /** True when credentials are missing: validate and record, never send. */
  dryRun: boolean;
}

export interface DeliverySettings {
  /** How long transient failures are retried, from the first attempt. GA4 backdates 72 h at most. */
  retryWindowMs: number;
  /** First retry delay; doubled on each attempt, with jitter. */
  retryBaseMs: number;
  /** Longest single retry delay. */
  retryMaxDelayMs: number;
  concurrency: number;
}

export type AmocrmAuth =
  | { kind: 'long-lived'; token: string }
  | { kind: 'oauth'; clientId: string; clientSecret: string; redirectUri: string };

/** Reading and writing leads through the amoCRM API. */
export interface AmocrmApiSettings {
  /** `https://<subdomain>.amocrm.ru`, a full domain, or AMOCRM_BASE_URL (proxy, test server). */
  baseUrl: string;
  auth: AmocrmAuth;
  /** amoCRM allows about 7 per second per integration and blocks accounts that keep exceeding it. */
  requestsPerSecond: number;
  timeoutMs: number;
  /** How long lead look-ups are gathered into one `filter[id][]` call (up to 250 ids). */
  batchWindowMs: number;
  reconcile: { enabled: boolean; intervalMs: number };
}

/**
 * Where lead intake writes a value in amoCRM. The API takes a field by `field_id` or `field_code`
 * only (research amocrm.md §3.2: "you need to pass its ID or character code"), so not by name.
 */
export type WritableFieldRef = { id: number } | { code: string };

/** `POST /leads`: site forms posted to closeloop, which creates the lead in amoCRM. */
export interface LeadIntakeSettings {
  enabled: boolean;
  /** Exact origins (`https://example.com`) whose pages may post from a browser. */
  corsOrigins: readonly string[];
  /** A hidden form field that people leave empty and bots fill in. */
  honeypotField: string;
  perIpPerMinute: number;
  /** null: amoCRM's main pipeline. */
  pipeline: number | null;
  /** null: the pipeline's first status, as amoCRM chooses. */
  status: number | null;
  leadName: string;
  sessionIdField: WritableFieldRef | null;
  commentField: WritableFieldRef | null;
}

/** The settings of a config without a `lead_intake` section. */
export const LEAD_INTAKE_DISABLED: LeadIntakeSettings = Object.freeze({
  enabled: false,
  corsOrigins: Object.freeze([]),
  honeypotField: 'website',
  perIpPerMinute: 10,
  pipeline: null,
  status: null,
  leadName: 'Заявка с сайта',
  sessionIdField: null,
  commentField: null,
});

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

export interface CloseloopConfig {
  /** The file the config came from (for messages). */
  file: string;
  /** Where each setting with a documented environment variable came from, for check-config. */
  sources: readonly SettingSource[];
  /** ISO 4217 code sent with every `value`. */
  currency: string;
  amocrm: {
    subdomain: string | null;
    /** null: no API access configured (webhook data only). */
    api: AmocrmApiSettings | null;
    fields: {
      clientId: FieldRef;
      sessionId: FieldRef | null;
    };
  };
  ga4: Ga4Settings;
  webhook: {
    /** Secret path segment. null: one is generated and kept in the data folder. */
    secret: string | null;
    maxBodyBytes: number;
  };
  delivery: DeliverySettings;
  /** Keep at most this many delivery-log rows (newest kept). */
  deliveryLogMaxRows: number;
  rules: readonly Rule[];
  /** Lead intake from site forms (`POST /leads`); LEAD_INTAKE_DISABLED without the section. */
  leadIntake: LeadIntakeSettings;
}
