/**
 * Bitrix24 as a CrmCatalog: the deal pipelines (`crm.category.list`, entityTypeId 2) and each
 * one's stages (`crm.status.list`, ENTITY_ID `DEAL_STAGE` for the general pipeline, `DEAL_STAGE_<id>`
 * for the others), with the leads' statuses (`STATUS`) as the pipeline `leads`; research
 * bitrix24.md §3.3. Two `batch` requests. What a stage means comes from its `SEMANTICS` (`S`
 * success, `F` failure, else in progress), so renamed stages keep their meaning.
 */
import type { CatalogPipeline, CrmCatalog } from '../../../ports/crm-catalog';
import { AppError } from '../../../core/errors';
import { batchCommand, MAX_BATCH, type Bitrix24Client } from './bitrix24-client';
import {
  BITRIX24_SOURCE,
  LEAD_PIPELINE,
  outcomeOfSemantic,
  type EntityKind,
} from './bitrix24-deal';
import type { B24Category, B24Status } from './bitrix24-types';

function resultOf(answer: { result: Record<string, unknown> | unknown[] }, key: string): unknown {
  return Array.isArray(answer.result) ? undefined : answer.result[key];
}

/** Pipelines and their stages as closeloop shows them. Pure. */
export function toCatalog(
  categories: readonly B24Category[],
  stagesOf: (entityId: string) => readonly B24Status[],
): CatalogPipeline[] {
  const stages = (entityId: string, kind: EntityKind): CatalogPipeline['stages'] =>
    [...stagesOf(entityId)]
      .sort((a, b) => Number(a.SORT ?? 0) - Number(b.SORT ?? 0))
      .map((s) => {
        const outcome = outcomeOfSemantic(s.SEMANTICS ?? null, kind) ?? 'open';
        const note =
          s.SEMANTICS === 'S'
            ? kind === 'deal'
              ? 'won'
              : 'converted into a deal'
            : s.SEMANTICS === 'F'
              ? 'lost'
              : undefined;
        return { id: s.STATUS_ID, name: s.NAME, outcome, ...(note ? { note } : {}) };
      });
  const pipelines = [...categories]
    .sort((a, b) => Number(a.sort ?? 0) - Number(b.sort ?? 0))
    .map((c) => ({
      id: String(c.id),
      name: c.name,
      isMain: c.isDefault === 'Y' || String(c.id) === '0',
      isArchive: false,
      stages: stages(stageEntityOf(String(c.id)), 'deal'),
    }));
  const leads = stages('STATUS', 'lead');
  if (leads.length > 0) {
    pipelines.push({
      id: LEAD_PIPELINE,
      name: 'Leads',
      isMain: false,
      isArchive: false,
      stages: leads,
    });
  }
  return pipelines;
}

/** The dictionary of a pipeline's stages (§3.3). */
export function stageEntityOf(categoryId: string): string {
  return categoryId === '0' ? 'DEAL_STAGE' : `DEAL_STAGE_${categoryId}`;
}

export class Bitrix24Catalog implements CrmCatalog {
  readonly name = BITRIX24_SOURCE;
  constructor(private readonly client: Pick<Bitrix24Client, 'call' | 'batch'>) {}

  async pipelines(): Promise<CatalogPipeline[]> {
    const first = await this.client.call('crm.category.list', { entityTypeId: 2 });
    const result = first.result as { categories?: unknown } | undefined;
    if (!Array.isArray(result?.categories)) {
      throw new AppError(
        'BITRIX24_REQUEST_REJECTED',
        'Bitrix24 answered crm.category.list without categories',
      );
    }
    const categories = (result.categories as B24Category[]).slice(0, MAX_BATCH - 1);
    const entities = ['STATUS', ...categories.map((c) => stageEntityOf(String(c.id)))];
    const answer = await this.client.batch(
      Object.fromEntries(
        entities.map((e) => [e, batchCommand('crm.status.list', { filter: { ENTITY_ID: e } })]),
      ),
    );
    return toCatalog(categories, (entityId) => {
      const rows = resultOf(answer, entityId);
      return Array.isArray(rows) ? (rows as B24Status[]) : [];
    });
  }
}

/**
 * For names in rules: each stage also answers to its id (`status: C1:WON` is that stage), since
 * Bitrix24's ids are words a marketer reads in the CRM's settings.
 */
export function withStageIdsAsNames(pipelines: readonly CatalogPipeline[]): CatalogPipeline[] {
  return pipelines.map((p) => ({
    ...p,
    stages: [...p.stages, ...p.stages.map((s) => ({ ...s, name: s.id }))],
  }));
}
