/**
 * Bitrix24ChangeFeed with a fake `crm.stagehistory.list`: the first run looks back, an empty run
 * never sends the next one through the portal's whole history, pages go on by `>ID`, rows already
 * seen through their webhook are left out, and each row's job id names it.
 */
import assert from 'node:assert/strict';
import { Bitrix24ChangeFeed } from '../../src/adapters/crm/bitrix24/bitrix24-change-feed';
import type { B24Envelope } from '../../src/adapters/crm/bitrix24/bitrix24-types';
import type { RememberedStage } from '../../src/ports/deal-stage-memory';

type Row = Record<string, string>;

function feed(
  rows: { deal: Row[]; lead: Row[] },
  remembered: Record<string, RememberedStage> = {},
) {
  const asked: Array<Record<string, unknown>> = [];
  const client = {
    call: (method: string, params: Record<string, unknown> = {}): Promise<B24Envelope> => {
      assert.equal(method, 'crm.stagehistory.list');
      asked.push(params);
      const kind = params.entityTypeId === 1 ? 'lead' : 'deal';
      const filter = params.filter as Record<string, unknown>;
      const after = Number(filter['>ID'] ?? 0);
      const page = rows[kind].filter((r) => Number(r.ID) > after).slice(0, 50);
      return Promise.resolve({ result: { items: page } });
    },
  };
  const memory = { get: (key: string) => Promise.resolve(remembered[key] ?? null) };
  return { feed: new Bitrix24ChangeFeed(client, memory, 'default'), asked };
}

const NOW = Date.parse('2026-12-03T12:00:00Z');
const OPTIONS = { nowMs: NOW, lookBackMs: 600_000, maxPages: 40 };
const row = (id: number, owner: string, stage: string, semantic = 'P', type = '2'): Row => ({
  ID: String(id),
  TYPE_ID: type,
  OWNER_ID: owner,
  CREATED_TIME: '2026-12-03T11:55:00+00:00',
  CATEGORY_ID: stage.startsWith('C1:') ? '1' : '0',
  STAGE_ID: stage,
  STAGE_SEMANTIC_ID: semantic,
});

describe('Bitrix24ChangeFeed', () => {
  it('looks back one interval the first time, and from the same time while nothing came', async () => {
    const { feed: f, asked } = feed({ deal: [], lead: [] });
    const first = await f.changesSince(null, OPTIONS);
    assert.deepEqual(first.changes, []);
    assert.deepEqual(
      asked.map((a) => a.filter),
      [
        { '>=CREATED_TIME': '2026-12-03T11:50:00.000Z' },
        { '>=CREATED_TIME': '2026-12-03T11:50:00.000Z' },
      ],
    );
    asked.length = 0;
    await f.changesSince(first.cursor, { ...OPTIONS, nowMs: NOW + 3_600_000 });
    assert.deepEqual(
      asked.map((a) => a.filter),
      [
        { '>=CREATED_TIME': '2026-12-03T11:50:00.000Z' },
        { '>=CREATED_TIME': '2026-12-03T11:50:00.000Z' },
      ],
      'never >ID 0: that is the whole history',
    );
  });

  it('pages by >ID, names each change by its history id, and moves the cursor on', async () => {
    const deals = Array.from({ length: 60 }, (_, i) =>
      row(i + 1, String(100 + i), 'C1:WON', 'S', '3'),
    );
    const { feed: f, asked } = feed({
      deal: deals,
      lead: [{ ID: '7', TYPE_ID: '2', OWNER_ID: '5', STATUS_ID: 'JUNK', STATUS_SEMANTIC_ID: 'F' }],
    });
    const page = await f.changesSince(
      JSON.stringify({ deal: 0, lead: 6, since: '2026-12-03T11:00:00Z' }),
      OPTIONS,
    );
    assert.equal(page.read, 61);
    assert.equal(page.changes.length, 61);
    assert.equal(page.changes[0]?.jobId, 'bitrix24:reconcile:deal:1');
    const won = page.changes[0].event;
    assert.deepEqual(
      [won.kind, won.deal.id, won.deal.pipelineId, won.deal.stageId, won.deal.outcome],
      ['stage_changed', '100', '1', 'C1:WON', 'won'],
    );
    const lead = page.changes[60]!.event;
    assert.deepEqual(
      [lead.deal.id, lead.deal.pipelineId, lead.deal.outcome],
      ['L5', 'leads', 'lost'],
    );
    assert.deepEqual(JSON.parse(page.cursor), { deal: 60, lead: 7, since: '2026-12-03T11:00:00Z' });
    assert.deepEqual(asked[1]?.filter, { '>ID': 50 });
  });

  it('leaves out moves the memory has already seen, and creations of deals it knows', async () => {
    const { feed: f } = feed(
      {
        deal: [
          row(1, '10', 'WON', 'S', '3'),
          row(2, '11', 'NEW', 'P', '1'),
          row(3, '12', 'WON', 'S', '3'),
        ],
        lead: [],
      },
      {
        'bitrix24:default:10': { pipelineId: '0', stageId: 'WON' },
        'bitrix24:default:11': { pipelineId: '0', stageId: 'PREPARATION' },
      },
    );
    const page = await f.changesSince(JSON.stringify({ deal: 0, lead: 0, since: 'x' }), OPTIONS);
    assert.deepEqual(
      page.changes.map((c) => `${c.event.kind} ${c.event.deal.id}`),
      ['stage_changed 12'],
    );
    assert.equal(page.read, 3);
  });
});
