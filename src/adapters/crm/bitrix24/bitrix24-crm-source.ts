/**
 * Bitrix24 as a CrmSource. Its webhooks carry nothing but an id (research bitrix24.md §1.3), so
 * every event is read through REST (RecordBatcher: 50 reads per request), and what happened is
 * decided here:
 *
 * - Real transitions only. ONCRMDEALUPDATE fires for every edit, often several times per move
 *   (§1.5), so the deal's stage is compared with the one remembered (DealStageMemory): a new
 *   stage is a `stage_changed` from the remembered one; the same stage is an `updated` (an edit),
 *   so a repeated update of a won deal fires no stage rule again. A deal seen for the first time
 *   counts as moved only when it entered its stage recently (MOVED_TIME within FIRST_SIGHT_MS):
 *   an old deal edited after closeloop was installed is not won again today.
 * - A deal converted from a lead (`LEAD_ID`, §3.4) is no new request: its ONCRMDEALADD is a
 *   `stage_changed` from the leads' pipeline, so `generate_lead` goes once, for the lead.
 * - A `created` event is not remembered: the deal read may already be in a later stage, whose own
 *   ONCRMDEALUPDATE must still count as the move. So the first update of a deal counts as its
 *   move into the stage it is in (once: the ledger and the memory see to that).
 * - Reconciliation's events (from the stage history) say the stage they reached: it is kept, and
 *   the deal's amount and identities are read as they are now.
 * - Identities from the configured UF_CRM_ fields and UTM_*; an empty one from the deal's source
 *   lead when `lead_fallback` is on (§5.4, UNCONFIRMED whether conversion copies the field).
 * - The time: the deal's MOVED_TIME (when it entered its stage, §3.2), not the webhook's `ts`.
 */
import type { DealEvent, StageRef } from '../../../core/deal';
import type { CompletionContext, CrmSource } from '../../../ports/crm-source';
import type { DealStageMemory } from '../../../ports/deal-stage-memory';
import type { Bitrix24FieldSettings } from './config';
import {
  BITRIX24_SOURCE,
  dealSnapshot,
  entityOf,
  lacksIdentity,
  LEAD_PIPELINE,
  leadSnapshot,
  readIdentities,
  secondsOf,
  textOf,
} from './bitrix24-deal';
import type { B24Lead } from './bitrix24-types';
import type { RecordBatcher } from './record-batcher';

/** A deal first seen counts as having moved if it moved this recently (GA4 backdates 72 h). */
export const FIRST_SIGHT_MS = 72 * 3_600_000;

export interface Bitrix24SourceDeps {
  reader: Pick<RecordBatcher, 'loadDeal' | 'loadLead'>;
  memory: DealStageMemory;
  fields: Bitrix24FieldSettings;
  leadFallback: boolean;
  /** The closeloop account: part of the memory's keys. */
  account: string;
  now: () => number;
}

/** The memory's key of a deal: one per closeloop account and Bitrix24 record. */
export function stageMemoryKey(account: string, dealId: string): string {
  return `${BITRIX24_SOURCE}:${account}:${dealId}`;
}

export class Bitrix24CrmSource implements CrmSource {
  readonly name = BITRIX24_SOURCE;

  constructor(private readonly deps: Bitrix24SourceDeps) {}

  async complete(event: DealEvent, context?: CompletionContext): Promise<DealEvent> {
    // A deleted record cannot be read (§1.2: "Not found" after delete): the id is all there is.
    if (event.kind === 'deleted') return event;
    const { deps } = this;
    const entity = entityOf(event.deal.id);
    const record =
      entity.kind === 'deal'
        ? await deps.reader.loadDeal(entity.id)
        : await deps.reader.loadLead(entity.id);
    if (record === null) return { ...event, lookup: 'not_found' };
    const leadId = entity.kind === 'deal' ? textOf(record.LEAD_ID) : null;
    let lead: B24Lead | null = null;
    if (leadId !== null && deps.leadFallback && lacksIdentity(record, deps.fields)) {
      lead = await deps.reader.loadLead(leadId);
    }
    const snapshot = entity.kind === 'deal' ? dealSnapshot(record) : leadSnapshot(record);
    const fromHistory = event.deal.stageId !== null;
    const deal = {
      ...snapshot,
      identities: readIdentities(record, deps.fields, lead),
      ...(fromHistory
        ? {
            stageId: event.deal.stageId,
            pipelineId: event.deal.pipelineId ?? snapshot.pipelineId,
            outcome: event.deal.outcome ?? snapshot.outcome,
          }
        : {}),
    };
    const movedAt = secondsOf(record.MOVED_TIME);
    const completed: DealEvent = {
      ...event,
      occurredAt: event.occurredAt ?? movedAt ?? snapshot.updatedAt,
      deal,
      lookup: 'read',
    };
    if (event.kind === 'created') {
      // Not remembered: by the time it is read the deal may have moved on, and that move's own
      // update must still see a change (its first sight of the deal).
      return leadId === null
        ? completed
        : {
            ...completed,
            kind: 'stage_changed',
            previous: { pipelineId: LEAD_PIPELINE, stageId: null },
          };
    }
    if (deal.stageId === null || (event.kind !== 'updated' && event.kind !== 'stage_changed')) {
      return completed;
    }
    const seen = await deps.memory.observe(
      stageMemoryKey(deps.account, deal.id),
      { pipelineId: deal.pipelineId, stageId: deal.stageId },
      context?.jobId ?? `event:${JSON.stringify(event)}`,
      deps.now(),
    );
    const previous: StageRef | null = seen.changed ? seen.previous : null;
    if (event.kind === 'stage_changed') {
      return { ...completed, previous: previous ?? completed.previous };
    }
    const recent = movedAt === null || deps.now() - movedAt * 1000 <= FIRST_SIGHT_MS;
    const moved = seen.changed && (seen.previous !== null || recent);
    return moved ? { ...completed, kind: 'stage_changed', previous } : completed;
  }
}
