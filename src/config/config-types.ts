/**
 * The validated, frozen configuration the rest of the program sees: the core's settings, and each
 * adapter's, composed. The YAML spelling (snake_case) lives in schema.ts; this is the model.
 *
 * The top level describes the account named `default` (its CRM, destinations, webhook secret and
 * rules); `accounts` are the others, for an agency that serves several clients in one process.
 * `accountsOf` lists them all.
 */
import type {
  DeliverySettings,
  LeadIntakeSettings,
  RevenueSettings,
  Rule,
  SettingSource,
} from '../core/config-types';
import type { AmocrmSettings } from '../adapters/crm/amocrm/config';
import type { Bitrix24Settings } from '../adapters/crm/bitrix24/config';
import type { GenericSettings } from '../adapters/crm/generic/config';
import type { Ga4Settings } from '../adapters/destinations/ga4/ga4-settings';
import type { MetricaSettings } from '../adapters/destinations/metrica/metrica-settings';

export type { AmocrmApiSettings, AmocrmAuth, AmocrmSettings } from '../adapters/crm/amocrm/config';
export type { Ga4Settings } from '../adapters/destinations/ga4/ga4-settings';
export type { GenericSettings } from '../adapters/crm/generic/config';
export type { Bitrix24Settings } from '../adapters/crm/bitrix24/config';
export type { MetricaSettings } from '../adapters/destinations/metrica/metrica-settings';

/** One account: its CRM sources, its destinations, its rules and its webhook address. */
export interface AccountConfig {
  /** `default` for the top level of the file. */
  name: string;
  /** ISO 4217: sent with every `value` whose deal does not carry its own currency. */
  currency: string;
  /** The account's own rules, or the top level's. */
  rules: readonly Rule[];
  /** Secret path segment of the account's webhook URLs. null: one is generated (default only). */
  webhookSecret: string | null;
  amocrm: AmocrmSettings;
  bitrix24: Bitrix24Settings;
  ga4: Ga4Settings;
  /** null: this account takes no signed events. */
  generic: GenericSettings | null;
  /** The account's Yandex Metrica counter; null or absent: Metrica is off. */
  metrica?: MetricaSettings | null;
}

export interface CloseloopConfig {
  /** The file the config came from (for messages). */
  file: string;
  /** Where each setting with a documented environment variable came from, for check-config. */
  sources: readonly SettingSource[];
  /** The default account's currency. */
  currency: string;
  amocrm: AmocrmSettings;
  bitrix24: Bitrix24Settings;
  ga4: Ga4Settings;
  generic: GenericSettings | null;
  /** The default account's Yandex Metrica counter; null or absent: off. */
  metrica?: MetricaSettings | null;
  webhook: {
    /** The default account's secret path segment. null: generated and kept in the store. */
    secret: string | null;
    maxBodyBytes: number;
  };
  delivery: DeliverySettings;
  /** What happens to revenue already sent when a deal is reopened, lost or changes its amount. */
  revenue: RevenueSettings;
  /** Keep at most this many settled delivery-log rows (newest kept; pending rows always kept). */
  deliveryLogMaxRows: number;
  /** Settled delivery-log rows not updated for this long are pruned. */
  deliveryLogMaxAgeMs: number;
  /** The default account's rules, and every account's without rules of its own. */
  rules: readonly Rule[];
  /** Lead intake from site forms (`POST /leads`); LEAD_INTAKE_DISABLED without the section. */
  leadIntake: LeadIntakeSettings;
  /** The accounts besides `default`. */
  accounts: readonly AccountConfig[];
}

/** Every account: `default` first, then the others in file order. */
export function accountsOf(config: CloseloopConfig): AccountConfig[] {
  return [
    {
      name: 'default',
      currency: config.currency,
      rules: config.rules,
      webhookSecret: config.webhook.secret,
      amocrm: config.amocrm,
      bitrix24: config.bitrix24,
      ga4: config.ga4,
      generic: config.generic,
      metrica: config.metrica ?? null,
    },
    ...config.accounts,
  ];
}
