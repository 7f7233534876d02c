/**
 * Bitrix24CrmSource with a reader and a stage memory in memory: real transitions only, a deal
 * first seen, a job's re-run, a deal converted from a lead, reconciliation's events, deletes.
 */
import assert from 'node:assert/strict';
import {
  Bitrix24CrmSource,
  FIRST_SIGHT_MS,
} from '../../src/adapters/crm/bitrix24/bitrix24-crm-source';
import { DEFAULT_FIELDS, type Bitrix24FieldSettings } from '../../src/adapters/crm/bitrix24/config';
import type { B24Deal, B24Lead } from '../../src/adapters/crm/bitrix24/bitrix24-types';
import { emptyDeal, type DealEvent } from '../../src/core/deal';
import type { DealStageMemory, RememberedStage } from '../../src/ports/deal-stage-memory';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const RECENT = '2026-12-03T11:59:00+00:00';

/** The port's semantics in a Map, as the contract suite holds the stores to them. */
function memoryInMemory(): DealStageMemory {
  const rows = new Map<
    string,
    { stage: RememberedStage; previous: RememberedStage | null; observer: string }
  >();
  return {
    observe: (key, stage, observer) => {
      const row = rows.get(key);
      if (row !== undefined && row.stage.stageId === stage.stageId) {
        return Promise.resolve(
          row.observer === observer
            ? { changed: true, previous: row.previous }
            : { changed: false, previous: row.stage },
        );
      }
      const previous = row?.stage ?? null;
      rows.set(key, { stage, previous, observer });
      return Promise.resolve({ changed: true, previous });
    },
    get: (key) => Promise.resolve(rows.get(key)?.stage ?? null),
  };
}

function setUp(fields: Bitrix24FieldSettings = DEFAULT_FIELDS) {
  const deals = new Map<string, B24Deal>();
  const leads = new Map<string, B24Lead>();
  const reads: string[] = [];
  const source = new Bitrix24CrmSource({
    reader: {
      loadDeal: (id) => (reads.push(`deal ${id}`), Promise.resolve(deals.get(id) ?? null)),
      loadLead: (id) => (reads.push(`lead ${id}`), Promise.resolve(leads.get(id) ?? null)),
    },
    memory: memoryInMemory(),
    fields,
    leadFallback: true,
    account: 'default',
    now: () => NOW,
  });
  const put = (id: string, stage: string, semantic: string, over: Partial<B24Deal> = {}) =>
    deals.set(id, {
      ID: id,
      CATEGORY_ID: '0',
      STAGE_ID: stage,
      STAGE_SEMANTIC_ID: semantic,
      OPPORTUNITY: '100.00',
      CURRENCY_ID: 'RUB',
      MOVED_TIME: RECENT,
      UF_CRM_GA_CLIENT_ID: '1.2',
      ...over,
    });
  return { source, deals, leads, reads, put };
}

const event = (kind: DealEvent['kind'], id: string): DealEvent => ({
  source: 'bitrix24',
  account: 'portal',
  kind,
  previous: null,
  occurredAt: null,
  deal: emptyDeal(id),
});

describe('Bitrix24CrmSource', () => {
  it('calls an update a stage move only when the stage changed', async () => {
    const { source, put } = setUp();
    put('1', 'NEW', 'P');
    const first = await source.complete(event('updated', '1'), { jobId: 'j1' });
    assert.equal(first.kind, 'stage_changed', 'first sight of a deal that just moved');
    assert.equal(first.lookup, 'read');
    const edit = await source.complete(event('updated', '1'), { jobId: 'j2' });
    assert.equal(edit.kind, 'updated');
    put('1', 'WON', 'S');
    const won = await source.complete(event('updated', '1'), { jobId: 'j3' });
    assert.equal(won.kind, 'stage_changed');
    assert.deepEqual(won.previous, { pipelineId: '0', stageId: 'NEW' });
    assert.equal(won.deal.outcome, 'won');
    assert.equal(won.occurredAt, Date.parse(RECENT) / 1000, 'MOVED_TIME, not the webhook');
    const again = await source.complete(event('updated', '1'), { jobId: 'j4' });
    assert.equal(again.kind, 'updated', 'a repeated update of a won deal');
    const rerun = await source.complete(event('updated', '1'), { jobId: 'j3' });
    assert.equal(rerun.kind, 'stage_changed', "a job's re-run sees its own move again");
    assert.deepEqual(rerun.previous, { pipelineId: '0', stageId: 'NEW' });
  });

  it('does not call an old deal, first seen now, a move', async () => {
    const { source, put } = setUp();
    put('2', 'WON', 'S', { MOVED_TIME: new Date(NOW - FIRST_SIGHT_MS - 60_000).toISOString() });
    assert.equal((await source.complete(event('updated', '2'), { jobId: 'j' })).kind, 'updated');
  });

  it("keeps a created event's kind and does not remember it, so a move read late still counts", async () => {
    const { source, put } = setUp();
    put('3', 'LOSE', 'F'); // created, and lost before the job ran
    assert.equal((await source.complete(event('created', '3'), { jobId: 'a' })).kind, 'created');
    const lost = await source.complete(event('updated', '3'), { jobId: 'b' });
    assert.equal(lost.kind, 'stage_changed');
    assert.equal(lost.deal.outcome, 'lost');
  });

  it("makes a converted deal's add a move from the leads, and reads the lead only when needed", async () => {
    const { source, put, leads, reads } = setUp();
    leads.set('7', { ID: '7', UF_CRM_GA_CLIENT_ID: 'GA1.1.7.8', UF_CRM_YCLID: '55' });
    put('4', 'NEW', 'P', { LEAD_ID: '7', UF_CRM_GA_CLIENT_ID: false });
    const added = await source.complete(event('created', '4'), { jobId: 'a' });
    assert.equal(added.kind, 'stage_changed');
    assert.deepEqual(added.previous, { pipelineId: 'leads', stageId: null });
    assert.equal(added.deal.identities.gaClientId, 'GA1.1.7.8');
    assert.equal(added.deal.identities.yclid, '55');
    assert.deepEqual(reads, ['deal 4', 'lead 7']);
    reads.length = 0;
    put('5', 'NEW', 'P', {
      LEAD_ID: '7',
      UF_CRM_GA_SESSION_ID: '1',
      UF_CRM_YM_CLIENT_ID: '1',
      UF_CRM_YCLID: '1',
    });
    await source.complete(event('updated', '5'), { jobId: 'b' });
    assert.deepEqual(reads, ['deal 5'], 'every field filled: no lead read');
  });

  it("keeps the stage reconciliation's event reached, and reads the rest", async () => {
    const { source, put } = setUp();
    put('6', 'LOSE', 'F'); // won, then lost: the history row says WON
    const fromHistory: DealEvent = {
      ...event('stage_changed', '6'),
      occurredAt: 1_764_763_000,
      deal: { ...emptyDeal('6'), pipelineId: '0', stageId: 'WON', outcome: 'won' },
    };
    const done = await source.complete(fromHistory, { jobId: 'r' });
    assert.equal(done.kind, 'stage_changed');
    assert.deepEqual([done.deal.stageId, done.deal.outcome], ['WON', 'won']);
    assert.deepEqual(done.deal.amount, { amount: '100.00', currency: 'RUB' });
    assert.equal(done.occurredAt, 1_764_763_000);
  });

  it('takes a deleted or missing record as it came, without reading', async () => {
    const { source, reads } = setUp();
    const deleted = event('deleted', '9');
    assert.deepEqual(await source.complete(deleted, { jobId: 'x' }), deleted);
    assert.deepEqual(reads, []);
    const missing = event('updated', '10');
    assert.deepEqual(await source.complete(missing, { jobId: 'y' }), {
      ...missing,
      lookup: 'not_found',
    });
  });
});
