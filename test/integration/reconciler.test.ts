/** Reconciliation against the real embedded store: amoCRM's change feed over a scripted client. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Reconciler } from '../../src/worker/reconciler';
import {
  AmocrmChangeFeed,
  readCursor,
  writeCursor,
} from '../../src/adapters/crm/amocrm/amocrm-change-feed';
import { createSqliteStore } from '../../src/adapters/store/sqlite';
import type { Store } from '../../src/ports/store';
import type { LeadPage } from '../../src/adapters/crm/amocrm/crm-client';
import type { LeadSnapshot } from '../../src/adapters/crm/amocrm/amocrm-lead';
import type { InboundJobPayload } from '../../src/ports/job-payloads';
import { field } from '../helpers/builders';
import { waitForDrained } from '../helpers/wait-for-drained';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function lead(id: number, statusId: number, updatedAt: number): LeadSnapshot {
  return {
    id,
    statusId,
    pipelineId: 1,
    price: '1000',
    responsibleUserId: null,
    createdAt: 1,
    updatedAt,
    customFields: [field('GCLIENTID', '1.2')],
    tags: [],
  };
}

describe('Reconciler', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-reconcile-'));
    store = createSqliteStore({ dataDir: dir, deliveryLogMaxRows: 1000 });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function reconciler(pages: LeadPage[], asked: Array<[number, number]>) {
    return new Reconciler({
      feed: new AmocrmChangeFeed({
        getAccount: () => Promise.resolve({ id: '29638927', subdomain: 'example' }),
        listLeadsUpdatedSince: (from: number, page: number) => {
          asked.push([from, page]);
          return Promise.resolve(pages[page - 1] ?? { leads: [], hasMore: false });
        },
      }),
      account: 'default',
      queue: store.queue,
      settings: store,
      intervalMs: 600_000,
      logger: silent,
      now: () => 1_700_000_000_000,
    });
  }

  it('looks back one interval the first time, pages through, queues status events, stores the cursor', async () => {
    const asked: Array<[number, number]> = [];
    const r = reconciler(
      [
        { leads: [lead(1, 142, 1_699_999_500), lead(2, 143, 1_699_999_600)], hasMore: true },
        { leads: [lead(3, 555, 1_699_999_700)], hasMore: false },
      ],
      asked,
    );
    const { found, ...counts } = await r.runOnce();
    assert.deepEqual(counts, { leads: 3, enqueued: 3, cursor: '1699999700 3:555' });
    assert.deepEqual(
      found.map((f) => `${f.dealId} ${f.kind} ${f.stageId} ${f.outcome}`),
      ['1 stage_changed 142 won', '2 stage_changed 143 lost', '3 stage_changed 555 open'],
    );
    assert.deepEqual(asked, [
      [1_699_999_400, 1],
      [1_699_999_400, 2],
    ]);
    assert.equal((await store.queue.counts('inbound')).waiting, 3);
    assert.equal(await store.getSetting('amocrm.reconcile.cursor.29638927'), '1699999700 3:555');

    // The next run starts from the stored cursor; the same lead state is not queued twice.
    const again: Array<[number, number]> = [];
    const r2 = reconciler([{ leads: [lead(3, 555, 1_699_999_700)], hasMore: false }], again);
    await r2.runOnce();
    assert.deepEqual(again, [[1_699_999_700, 1]]);
    assert.equal((await store.queue.counts('inbound')).waiting, 3);
  });

  it('does not read a lead seen in the cursor’s second again, even once its job is gone', async () => {
    const first = reconciler([{ leads: [lead(3, 555, 1_699_999_700)], hasMore: false }], []);
    assert.equal((await first.runOnce()).enqueued, 1);
    // The inbound job was processed and removed: only the cursor can keep the lead out now.
    store.queue.process('inbound', () => Promise.resolve({ status: 'done' }), { concurrency: 1 });
    await waitForDrained(store.queue);
    const page = {
      leads: [
        lead(3, 555, 1_699_999_700), // the same state, in the cursor's second: skipped
        lead(4, 142, 1_699_999_700), // another lead in that second: read
        lead(5, 142, 1_699_999_800), // later: read, and the new cursor's second
      ],
      hasMore: false,
    };
    const { found, ...run } = await reconciler([page], []).runOnce();
    assert.deepEqual(run, { leads: 2, enqueued: 2, cursor: '1699999800 5:142' });
    assert.deepEqual(
      found.map((f) => f.dealId),
      ['4', '5'],
    );
    // A new state of a lead seen in the cursor's second is read.
    const moved = await reconciler(
      [{ leads: [lead(5, 142, 1_699_999_800), lead(5, 143, 1_699_999_800)], hasMore: false }],
      [],
    ).runOnce();
    const { found: foundMoved, ...movedCounts } = moved;
    assert.deepEqual(movedCounts, { leads: 1, enqueued: 1, cursor: '1699999800 5:142,5:143' });
    assert.deepEqual(
      foundMoved.map((f) => `${f.dealId} ${f.stageId}`),
      ['5 143'],
    );
  });

  it('reads a cursor stored before issue 12 (a bare second) as one with nothing seen', () => {
    assert.deepEqual(readCursor('1699999700'), { from: 1_699_999_700, seen: new Set() });
    assert.deepEqual(readCursor('1699999700 3:555,4:'), {
      from: 1_699_999_700,
      seen: new Set(['3:555', '4:']),
    });
    assert.equal(writeCursor(1_699_999_700, new Set()), '1699999700');
    assert.equal(writeCursor(1_699_999_700, new Set(['3:555'])), '1699999700 3:555');
  });

  it('builds events the rules understand: a stage event with the API lead and the account id', async () => {
    await reconciler([{ leads: [lead(9, 142, 1_699_999_900)], hasMore: false }], []).runOnce();
    const seen: InboundJobPayload[] = [];
    store.queue.process<InboundJobPayload>(
      'inbound',
      (job) => {
        seen.push(job.payload);
        return Promise.resolve({ status: 'done' });
      },
      { concurrency: 1 },
    );
    const deadline = Date.now() + 3000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen[0]!.account, 'default');
    const event = seen[0]!.event;
    assert.equal(event.kind, 'stage_changed');
    assert.equal(event.source, 'amocrm');
    assert.equal(event.account, '29638927');
    assert.equal(event.previous, null);
    assert.equal(event.occurredAt, 1_699_999_900);
    assert.equal(event.deal.stageId, '142');
    assert.equal(event.deal.outcome, 'won');
  });
});
