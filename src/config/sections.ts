/**
 * The adapters' sections of the config, composed here. A new CRM or destination adds its own
 * `config.ts` (src/ports/config-section.ts) and one line below; the top level of the YAML describes
 * the account named `default`, and each item of `accounts:` may hold the same sections.
 */
import { amocrmSection, type AmocrmSettings } from '../adapters/crm/amocrm/config';
import { bitrix24Section, type Bitrix24Settings } from '../adapters/crm/bitrix24/config';
import { genericSection, type GenericSettings } from '../adapters/crm/generic/config';
import { ga4Section } from '../adapters/destinations/ga4/config';
import type { Ga4Settings } from '../adapters/destinations/ga4/ga4-settings';
import { metricaSection } from '../adapters/destinations/metrica/config';
import type { MetricaSettings } from '../adapters/destinations/metrica/metrica-settings';
import type { ConfigSection } from '../ports/config-section';

export const ACCOUNT_SECTIONS = [
  amocrmSection,
  bitrix24Section,
  ga4Section,
  genericSection,
  metricaSection,
] as const;

/** What the sections of one account become. */
export interface AccountSections {
  amocrm: AmocrmSettings;
  bitrix24: Bitrix24Settings;
  ga4: Ga4Settings;
  generic: GenericSettings | null;
  metrica: MetricaSettings | null;
}

export function sectionByKey(key: string): ConfigSection<unknown> | undefined {
  return (ACCOUNT_SECTIONS as readonly ConfigSection<unknown>[]).find((s) => s.key === key);
}
