/**
 * Bitrix24 as a CrmChangeFeed: the stage history (`crm.stagehistory.list`, research bitrix24.md
 * §3.5) of deals (entityTypeId 2) and leads (1) since the stored cursor, each row one change.
 * Bitrix24 never resends a webhook that failed (§1.5), and a move to another pipeline fires no
 * ONCRMDEALUPDATE at all (§1.2): the history has both.
 *
 * The cursor is the last history `ID` seen per entity type (JSON `{"deal":…,"lead":…,"since":…}`). Pages are
 * read by moving the filter (`>ID` = the last one, `order ID ASC`), not by offset, as the docs
 * advise for big scans (§4.3); whether this method honours `start=-1` is not stated, so `start`
 * stays 0 and a page of fewer than 50 rows is the end either way. The first run (no cursor) looks
 * back from now by `CREATED_TIME`, not through the portal's history.
 *
 * A row whose stage the deal's memory already holds was seen through its webhook: it is left out,
 * so reconciliation adds no delivery-log rows for moves already sent. The others become events
 * that name the stage they reached; the source reads the deal's amount and identities. Each row's
 * job id is its history id, so one change is queued once.
 */
import { emptyDeal, type DealEvent } from '../../../core/deal';
import type { CrmChangeFeed, FeedChange, FeedPage } from '../../../ports/crm-change-feed';
import type { DealStageMemory } from '../../../ports/deal-stage-memory';
import { PAGE_SIZE, type Bitrix24Client } from './bitrix24-client';
import {
  BITRIX24_SOURCE,
  dealIdOf,
  LEAD_PIPELINE,
  outcomeOfSemantic,
  PORTAL_ACCOUNT,
  secondsOf,
  textOf,
  type EntityKind,
} from './bitrix24-deal';
import { stageMemoryKey } from './bitrix24-crm-source';

const ENTITY_TYPE_ID: Readonly<Record<EntityKind, number>> = { deal: 2, lead: 1 };
/** History TYPE_ID 1: the record was created (in that stage). 2, 3, 5: it moved (§3.5). */
const CREATED = 1;

/**
 * The last history id seen per entity type; 0 while none was seen yet, and then `since` (the first
 * run's look-back, ISO) is where the type's history is read from, so an empty first run never makes
 * the next one read the portal's whole history.
 */
type Cursor = Record<EntityKind, number> & { since: string };

function readCursor(cursor: string | null): Cursor | null {
  if (cursor === null) return null;
  try {
    const c = JSON.parse(cursor) as Partial<Cursor>;
    const since = typeof c.since === 'string' ? c.since : new Date(0).toISOString();
    return { deal: Number(c.deal) || 0, lead: Number(c.lead) || 0, since };
  } catch {
    return null;
  }
}

export class Bitrix24ChangeFeed implements CrmChangeFeed {
  readonly name = BITRIX24_SOURCE;

  constructor(
    private readonly client: Pick<Bitrix24Client, 'call'>,
    private readonly memory: Pick<DealStageMemory, 'get'>,
    /** The closeloop account. */
    private readonly account: string,
  ) {}

  cursorKey(): Promise<string> {
    return Promise.resolve(`bitrix24.reconcile.cursor.${this.account}`);
  }

  async changesSince(
    cursor: string | null,
    options: { nowMs: number; lookBackMs: number; maxPages: number },
  ): Promise<FeedPage> {
    const from = readCursor(cursor);
    const since = from?.since ?? new Date(options.nowMs - options.lookBackMs).toISOString();
    const next: Cursor = { deal: from?.deal ?? 0, lead: from?.lead ?? 0, since };
    const changes: FeedChange[] = [];
    let read = 0;
    for (const kind of ['deal', 'lead'] as const) {
      for (let page = 0; page < options.maxPages; page++) {
        const filter: Record<string, unknown> =
          next[kind] === 0 ? { '>=CREATED_TIME': since } : { '>ID': next[kind] };
        const answer = await this.client.call('crm.stagehistory.list', {
          entityTypeId: ENTITY_TYPE_ID[kind],
          order: { ID: 'ASC' },
          filter,
          start: 0,
        });
        const rows = historyRows(answer.result);
        read += rows.length;
        for (const row of rows) {
          const id = Number(row.ID);
          if (Number.isSafeInteger(id) && id > next[kind]) next[kind] = id;
          const change = await this.changeOf(kind, row);
          if (change !== null) changes.push(change);
        }
        if (rows.length < PAGE_SIZE) break;
      }
    }
    return { changes, cursor: JSON.stringify(next), read };
  }

  private async changeOf(
    kind: EntityKind,
    row: Record<string, unknown>,
  ): Promise<FeedChange | null> {
    const owner = textOf(row.OWNER_ID);
    const stageId = textOf(kind === 'deal' ? row.STAGE_ID : row.STATUS_ID);
    if (owner === null || stageId === null) return null;
    const dealId = dealIdOf(kind, owner);
    const created = Number(row.TYPE_ID) === CREATED;
    const known = await this.memory.get(stageMemoryKey(this.account, dealId));
    if (known !== null && (created || known.stageId === stageId)) return null;
    const semantic = kind === 'deal' ? row.STAGE_SEMANTIC_ID : row.STATUS_SEMANTIC_ID;
    const event: DealEvent = {
      source: BITRIX24_SOURCE,
      account: PORTAL_ACCOUNT,
      kind: created ? 'created' : 'stage_changed',
      previous: null,
      occurredAt: secondsOf(row.CREATED_TIME),
      deal: {
        ...emptyDeal(dealId),
        pipelineId: kind === 'deal' ? (textOf(row.CATEGORY_ID) ?? '0') : LEAD_PIPELINE,
        stageId,
        outcome: outcomeOfSemantic(semantic ?? null, kind),
      },
    };
    return { jobId: `bitrix24:reconcile:${kind}:${String(row.ID)}`, event };
  }
}

/** `crm.stagehistory.list` answers `{ items: [...] }` (§3.5); an older shape is a bare list. */
function historyRows(result: unknown): Array<Record<string, unknown>> {
  const items = Array.isArray(result)
    ? result
    : typeof result === 'object' &&
        result !== null &&
        Array.isArray((result as { items?: unknown }).items)
      ? (result as { items: unknown[] }).items
      : [];
  return items.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
}
