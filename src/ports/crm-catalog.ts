/**
 * CrmCatalog: the CRM's pipelines and their stages with ids, names and what each stage means, for
 * names in rules (`status: Квалифицирован`) and for `closeloop statuses`.
 *
 * Contract: ids are strings as events carry them; every stage says its outcome (`open`, `won`,
 * `lost`). Transient failures throw `RetryableError`; no API access throws `AuthError`.
 */
import type { DealOutcome } from '../core/deal';

export interface CatalogStage {
  id: string;
  name: string;
  outcome: DealOutcome;
  /** A word for people: "incoming leads", "won, every pipeline". */
  note?: string;
}

export interface CatalogPipeline {
  id: string;
  name: string;
  isMain: boolean;
  isArchive: boolean;
  stages: CatalogStage[];
}

export interface CrmCatalog {
  readonly name: string;
  pipelines(): Promise<CatalogPipeline[]>;
}
