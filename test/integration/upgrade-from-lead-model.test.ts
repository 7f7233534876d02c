/**
 * An upgrade with work in the store: a data folder (SQLite) or a Redis written by closeloop before
 * the deal model, when it spoke of amoCRM leads only. Its ledger keys
 * (`account:lead:event:status`), delivery-log rows and queued jobs must keep meaning what they
 * meant: a conversion sent before is not sent again, a stored webhook is still delivered, and a
 * failed delivery can still be listed and replayed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { MIGRATIONS } from '../../src/adapters/store/sqlite/open-sqlite-database';
import { createRedisStore } from '../../src/adapters/store/redis';
import { startService, type RunningService } from '../../src/main';
import { runCli } from '../../src/cli';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { leadEvent, loopbackService, testConfig } from '../helpers/builders';
import { webhookBody } from '../helpers/amocrm-webhook';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  itNeedsRedis,
  REDIS_URL,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const NOW = Date.now();

/** A job as the version before stored it: a LeadEvent, no `v`, no account. */
function legacyInbound(leadId: number): string {
  return JSON.stringify({ event: leadEvent({ lead: { id: leadId } }), receivedAt: NOW });
}

function legacyDelivery(leadId: number): string {
  const event = leadEvent({ lead: { id: leadId } });
  return JSON.stringify({
    destination: 'ga4',
    accountId: event.accountId,
    leadId,
    action: 'status',
    statusId: 142,
    clientId: '1234567890.1700000000',
    sessionId: null,
    occurredAtMs: null,
    conversions: [
      {
        key: `29638927:${leadId}:purchase:142`,
        rule: 'Deal won',
        event: { name: 'purchase', params: { value: 150000, currency: 'RUB' } },
      },
    ],
    source: { event, receivedAt: NOW },
  });
}

/** A data folder at schema version 2 (the last before the deal model), with work in it. */
function writeLegacyDataFolder(dir: string): void {
  const db = new Database(path.join(dir, 'closeloop.db'));
  db.exec(MIGRATIONS[0]!);
  db.exec(MIGRATIONS[1]!);
  db.pragma('user_version = 2');
  const ledger = db.prepare(
    `INSERT INTO ledger (key, state, owner, updated_at) VALUES (?, 'sent', 'old-job', ?)`,
  );
  ledger.run('29638927:4711:purchase:142', NOW);
  ledger.run('29638927:4711:close_convert_lead:142', NOW);
  db.prepare(
    `INSERT INTO delivery_log (at, account_id, lead_id, action, status_id, job_id, destination,
       outcome, code, reason, events, payload, attempts)
     VALUES (?, '29638927', 4711, 'status', 142, 'old-job', 'ga4', 'sent', NULL, NULL,
       '["close_convert_lead","purchase"]', NULL, 1)`,
  ).run(NOW);
  const job = db.prepare(
    `INSERT INTO jobs (id, queue, state, payload, attempts, run_at, first_attempt_at, last_error,
       created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
  );
  job.run('old-inbound', 'inbound', 'waiting', legacyInbound(4712), NOW, null, null, NOW, NOW);
  job.run(
    'old-deliver',
    'deliver',
    'failed',
    legacyDelivery(4713),
    NOW,
    NOW,
    'GA4 answered 403',
    NOW,
    NOW,
  );
  db.close();
}

describe('upgrade from the lead model: the embedded store', function () {
  this.timeout(20_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let service: RunningService;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-upgrade-'));
    writeLegacyDataFolder(dir);
    ga4 = await startGa4StandIn();
    const base = testConfig();
    service = await startService(
      loopbackService({ ...base, ga4: { ...base.ga4, endpoint: ga4.url } }, captureLogger(), dir),
    );
  });
  afterEach(async () => {
    await service.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const purchasesOf = (id: string): number =>
    ga4
      .collected()
      .flatMap(
        (r) =>
          (r.json as { events: Array<{ name: string; params: { transaction_id?: string } }> })
            .events,
      )
      .filter((e) => e.name === 'purchase' && e.params.transaction_id === id).length;

  it('sends nothing again that was sent before, and delivers the webhook still queued', async () => {
    // The stored webhook of lead 4712 is processed as a deal event.
    await waitFor(() => purchasesOf('4712') === 1, { timeoutMs: 8000, message: 'lead 4712' });
    // amoCRM repeats the webhook of 4711, sent before the upgrade: a duplicate.
    const res = await fetch(`http://127.0.0.1:${service.port}${service.webhookPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: webhookBody('status', [{ id: 4711 }]),
    });
    assert.equal(res.status, 200);
    await waitForDrained(service.store.queue);
    assert.equal(purchasesOf('4711'), 0);
    const rows = await service.store.deliveryLog.list({ dealId: '4711' });
    assert.deepEqual(
      rows.map((r) => [r.outcome, r.source, r.kind, r.stageId, r.account]),
      [
        ['duplicate', 'amocrm', 'stage_changed', '142', 'default'],
        ['sent', 'amocrm', 'stage_changed', '142', 'default'],
      ],
    );
  });

  it('lists and replays a delivery that failed before the upgrade, once', async () => {
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    assert.equal(await runCli(['replay'], io, { CLOSELOOP_DATA_DIR: dir }), 0, out.join('\n'));
    assert.match(out.join('\n'), /old-deliver .* amocrm deal 4713 {2}purchase/);
    assert.equal(await runCli(['replay', 'old-deliver'], io, { CLOSELOOP_DATA_DIR: dir }), 0);
    await waitFor(() => purchasesOf('4713') === 1, { timeoutMs: 8000, message: 'the replay' });
    await waitForDrained(service.store.queue);
    assert.equal(purchasesOf('4713'), 1);
  });
});

describe('upgrade from the lead model: Redis', function () {
  this.timeout(20_000);
  if (REDIS_URL === undefined) {
    itNeedsRedis();
    return;
  }
  const url = REDIS_URL;
  let prefix: string;
  afterEach(async () => deleteRedisKeys(url, prefix));

  it('renames the ledger keys of the version before, once, beside other processes', async () => {
    prefix = uniqueRedisPrefix('upgrade');
    const redis = new Redis(url);
    try {
      await redis.hset(
        `${prefix}:ledger:29638927:4711:purchase:142`,
        'state',
        'sent',
        'owner',
        'x',
      );
      await redis.hset(
        `${prefix}:ledger:example:12:generate_lead:none`,
        'state',
        'sent',
        'owner',
        'x',
      );
      // Two processes open the store at once: each key is renamed once.
      const [a, b] = await Promise.all([
        createRedisStore({ url, prefix, deliveryLogMaxRows: 100 }),
        createRedisStore({ url, prefix, deliveryLogMaxRows: 100 }),
      ]);
      const claims = await a.ledger.claim(
        ['ga4:amocrm:29638927:4711:purchase:142', 'ga4:amocrm:example:12:generate_lead:none'],
        'new-job',
        Date.now(),
      );
      assert.deepEqual([...claims.values()], ['already_sent', 'already_sent']);
      assert.equal(await redis.exists(`${prefix}:ledger:29638927:4711:purchase:142`), 0);
      assert.equal(await redis.hget(`${prefix}:settings`, 'ledger.keys'), 'v2');
      await a.close();
      await b.close();
    } finally {
      redis.disconnect();
    }
  });
});
