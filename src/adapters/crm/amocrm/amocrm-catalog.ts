/**
 * amoCRM as a CrmCatalog: its pipelines and statuses (`GET /api/v4/leads/pipelines`), with what
 * each status means: 142 won and 143 lost in every pipeline, the rest open (research §3.4).
 */
import type { CatalogPipeline, CrmCatalog } from '../../../ports/crm-catalog';
import { AMOCRM_SOURCE, LOST_STATUS, outcomeOf, WON_STATUS } from './amocrm-lead';
import type { CrmClient, Pipeline } from './crm-client';

export function toCatalog(pipelines: readonly Pipeline[]): CatalogPipeline[] {
  return pipelines.map((p) => ({
    id: String(p.id),
    name: p.name,
    isMain: p.isMain,
    isArchive: p.isArchive,
    stages: [...p.statuses]
      .sort((a, b) => a.sort - b.sort)
      .map((s) => ({
        id: String(s.id),
        name: s.name,
        outcome: outcomeOf(s.id) ?? 'open',
        ...(s.id === WON_STATUS
          ? { note: 'won, every pipeline' }
          : s.id === LOST_STATUS
            ? { note: 'lost, every pipeline' }
            : s.type === 1
              ? { note: 'incoming leads' }
              : {}),
      })),
  }));
}

export class AmocrmCatalog implements CrmCatalog {
  readonly name = AMOCRM_SOURCE;
  constructor(private readonly client: Pick<CrmClient, 'getPipelines'>) {}
  async pipelines(): Promise<CatalogPipeline[]> {
    return toCatalog(await this.client.getPipelines());
  }
}
