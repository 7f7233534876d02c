/**
 * Bitrix24 end to end: a real service on loopback with the example config's rules, reading deals
 * from the Bitrix24 REST fake (test/helpers/bitrix24-stand-in.ts), sending to the GA4 stand-in.
 * Real transitions only; leads and the deals converted from them; identities from the source lead;
 * names of Bitrix24 stages in rules; many webhooks in few batches, under the bucket; the vendor's
 * limit answers; reconciliation of a move whose webhook never came (and the CLI that runs it);
 * statuses and create-fields; POST /leads creating the lead in Bitrix24.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import { startService, type RunningService } from '../../src/main';
import { runCli } from '../../src/cli';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import {
  outgoingWebhook,
  STAGES,
  startBitrix24StandIn,
  type Bitrix24StandIn,
} from '../helpers/bitrix24-stand-in';
import { loopbackService } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';

const TOKEN = 'b24-application-token-integration-1';
const SECRET = 'bitrix24-integration-secret-0123456789';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const EXAMPLE = fs.readFileSync('config/closeloop.example.yaml', 'utf8');

interface SentEvent {
  name: string;
  params: Record<string, unknown>;
}

describe('Bitrix24 end to end (REST fake, GA4 stand-in)', function () {
  this.timeout(30_000);
  let dir: string;
  let ga4: Ga4StandIn;
  let portal: Bitrix24StandIn;
  let service: RunningService | null;
  let logs: ReturnType<typeof captureLogger>;

  const env = (): Record<string, string> => ({
    GA4_MEASUREMENT_ID: 'G-B24TEST1',
    GA4_API_SECRET: 'b24-test-api-secret',
    GA4_ENDPOINT: ga4.url,
    CLOSELOOP_WEBHOOK_SECRET: SECRET,
    BITRIX24_WEBHOOK_URL: portal.webhookUrl,
    BITRIX24_APPLICATION_TOKEN: TOKEN,
    CLOSELOOP_DATA_DIR: dir,
  });

  async function start(yamlExtra = ''): Promise<RunningService> {
    const file = path.join(dir, 'closeloop.yaml');
    fs.writeFileSync(file, `${EXAMPLE}\n${yamlExtra}`);
    logs = captureLogger();
    service = await startService(
      loopbackService(loadConfig({ path: file, env: env() }), logs, dir, {
        reconcileFirstRunMs: 3_600_000,
      }),
    );
    return service;
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-b24-'));
    ga4 = await startGa4StandIn();
    portal = await startBitrix24StandIn();
    service = null;
  });
  afterEach(async () => {
    await service?.close();
    await portal.close();
    await ga4.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function hook(event: string, id: string, token = TOKEN): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${service!.port}/webhooks/bitrix24/${SECRET}`, {
      method: 'POST',
      headers: FORM,
      body: outgoingWebhook(event, id, token),
    });
    await res.arrayBuffer();
    return res.status;
  }
  const sent = (): SentEvent[] =>
    ga4.collected().flatMap((r) => (r.json as { events: SentEvent[] }).events);
  const drained = (): Promise<void> => waitForDrained(service!.store.queue);

  it('fires rules on real stage moves only: edits, repeats and a reopened won deal send nothing again', async () => {
    await start();
    portal.moveDeal('501', STAGES.newDeal, {
      OPPORTUNITY: '15000.50',
      CURRENCY_ID: 'USD',
      UF_CRM_GA_CLIENT_ID: 'GA1.1.555.666',
    });
    assert.equal(await hook('ONCRMDEALADD', '501'), 200);
    await waitFor(() => sent().length === 1, { message: 'generate_lead' });
    assert.equal(await hook('ONCRMDEALUPDATE', '501'), 200); // an edit in the same stage
    await drained();
    assert.equal(sent().length, 1, 'an edit sends nothing');

    portal.moveDeal('501', STAGES.won);
    for (let i = 0; i < 3; i++) assert.equal(await hook('ONCRMDEALUPDATE', '501'), 200);
    await waitFor(() => sent().length === 3, { message: 'the won deal' });
    await drained();
    const purchase = sent().find((e) => e.name === 'purchase')!;
    assert.equal(purchase.params.value, 15000.5);
    assert.equal(purchase.params.currency, 'USD', "the deal's own CURRENCY_ID");
    assert.equal(purchase.params.transaction_id, '501');

    // Reopened and won again: the ledger keeps the second win from being sent.
    portal.moveDeal('501', STAGES.preparation);
    await hook('ONCRMDEALUPDATE', '501');
    await drained();
    portal.moveDeal('501', STAGES.won);
    await hook('ONCRMDEALUPDATE', '501');
    await drained();
    assert.deepEqual(
      sent().map((e) => e.name),
      ['generate_lead', 'close_convert_lead', 'purchase'],
    );
  });

  it('refuses a wrong application token with 401 and stores nothing; 200 for an event it does not use', async () => {
    await start();
    assert.equal(await hook('ONCRMDEALUPDATE', '1', 'guessed-token-0000000000'), 401);
    assert.equal(await hook('ONCRMCONTACTUPDATE', '7'), 200);
    assert.match(logs.text(), /ONCRMCONTACTUPDATE: closeloop uses ONCRMDEALADD/);
    const counts = await service!.store.queue.counts('inbound');
    assert.equal(counts.waiting + counts.active + counts.delayed, 0);
    assert.equal(logs.text().includes(TOKEN), false, 'the token never reaches a log line');
  });

  it('sends generate_lead once for a lead and its deal, with the identities the lead holds', async () => {
    await start();
    portal.putLead('77', { UF_CRM_GA_CLIENT_ID: 'GA1.1.777.888', UTM_SOURCE: 'yandex' });
    assert.equal(await hook('ONCRMLEADADD', '77'), 200);
    await waitFor(() => sent().length === 1, { message: "the lead's generate_lead" });
    // Converted: the deal has no client ID of its own (UNCONFIRMED whether Bitrix24 copies it).
    portal.moveDeal('9100', STAGES.newDeal, { LEAD_ID: '77', OPPORTUNITY: '990.00' });
    assert.equal(await hook('ONCRMDEALADD', '9100'), 200);
    await drained();
    portal.moveDeal('9100', STAGES.won);
    assert.equal(await hook('ONCRMDEALUPDATE', '9100'), 200);
    await waitFor(() => sent().length === 3, { message: 'the won deal' });
    await drained();
    assert.deepEqual(
      sent().map((e) => e.name),
      ['generate_lead', 'close_convert_lead', 'purchase'],
    );
    const clientIds = ga4.collected().map((r) => (r.json as { client_id: string }).client_id);
    assert.deepEqual([...new Set(clientIds)], ['777.888']);
  });

  it('reads 120 deals in few batches, under the bucket, and rides out injected 503 QUERY_LIMIT_EXCEEDED answers', async () => {
    await start();
    for (let i = 0; i < 120; i++) {
      portal.moveDeal(String(2000 + i), STAGES.won, {
        OPPORTUNITY: '100.00',
        UF_CRM_GA_CLIENT_ID: `${1000 + i}.1700000000`,
      });
    }
    portal.failNext(2, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    await Promise.all(
      Array.from({ length: 120 }, (_, i) => hook('ONCRMDEALUPDATE', String(2000 + i))),
    );
    await waitFor(() => sent().filter((e) => e.name === 'purchase').length === 120, {
      timeoutMs: 20_000,
      message: () => `${sent().length} events`,
    });
    const batches = portal.requests().filter((r) => r.method === 'batch' && r.status === 200);
    assert.ok(batches.length <= 6, `${batches.length} batches for 120 deals`);
    assert.ok(batches.every((b) => b.commands.length <= 50));
    assert.equal(portal.limitAnswers(), 0, "closeloop's own pace never overflows the bucket");
  });

  it('replays a delivery GA4 refused: the move is sent once the cause is fixed', async () => {
    await start();
    ga4.failNext(1, 403);
    portal.moveDeal('901', STAGES.won, { OPPORTUNITY: '70.00', UF_CRM_GA_CLIENT_ID: '9.1' });
    assert.equal(await hook('ONCRMDEALUPDATE', '901'), 200);
    await waitFor(async () => (await service!.store.queue.listFailed('deliver', 10)).length === 1, {
      message: 'the failed delivery',
    });
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    const cliEnv = { ...env(), CLOSELOOP_CONFIG: path.join(dir, 'closeloop.yaml') };
    assert.equal(await runCli(['replay', '--all'], io, cliEnv), 0, out.join('\n'));
    await waitFor(() => sent().filter((e) => e.name === 'purchase').length === 1, {
      message: () => `the replayed purchase: ${out.join(' ')}`,
    });
  });

  it('serves two accounts with a portal each: its own URL, REST, memory and GA4 stream', async () => {
    const shopPortal = await startBitrix24StandIn({ secret: 'shopportalsecret0123456' });
    try {
      await start(`
accounts:
  - name: shop
    webhook_secret: shop-bitrix24-secret-0123456789
    bitrix24:
      webhook_url: ${shopPortal.webhookUrl}
      application_token: shop-application-token-42
    ga4:
      measurement_id: G-SHOP24
      api_secret: shop-api-secret
      endpoint: ${ga4.url}
`);
      // Deal 42 in both portals: two deals, each sent once, to its own stream.
      portal.moveDeal('42', STAGES.won, { OPPORTUNITY: '1.00', UF_CRM_GA_CLIENT_ID: '1.1' });
      shopPortal.moveDeal('42', STAGES.won, { OPPORTUNITY: '2.00', UF_CRM_GA_CLIENT_ID: '2.2' });
      assert.equal(await hook('ONCRMDEALUPDATE', '42'), 200);
      const res = await fetch(
        `http://127.0.0.1:${service!.port}/webhooks/bitrix24/shop-bitrix24-secret-0123456789`,
        {
          method: 'POST',
          headers: FORM,
          body: outgoingWebhook('ONCRMDEALUPDATE', '42', 'shop-application-token-42'),
        },
      );
      assert.equal(res.status, 200);
      // The default account's token is not the shop's.
      const wrong = await fetch(
        `http://127.0.0.1:${service!.port}/webhooks/bitrix24/shop-bitrix24-secret-0123456789`,
        { method: 'POST', headers: FORM, body: outgoingWebhook('ONCRMDEALUPDATE', '42', TOKEN) },
      );
      assert.equal(wrong.status, 401);
      await waitFor(() => sent().filter((e) => e.name === 'purchase').length === 2, {
        message: 'both purchases',
      });
      const byStream = ga4
        .collected()
        .filter((r) =>
          (r.json as { events: SentEvent[] }).events.some((e) => e.name === 'purchase'),
        )
        .map(
          (r) =>
            `${r.query.get('measurement_id')} ${String((r.json as { events: SentEvent[] }).events.find((e) => e.name === 'purchase')!.params.value)}`,
        )
        .sort();
      assert.deepEqual(byStream, ['G-B24TEST1 1', 'G-SHOP24 2']);
    } finally {
      await shopPortal.close();
    }
  });

  it('waits out 429 OPERATION_TIME_LIMIT on crm.deal.get and sends once it is lifted', async () => {
    await start();
    portal.moveDeal('601', STAGES.won, { OPPORTUNITY: '10', UF_CRM_GA_CLIENT_ID: '11.22' });
    portal.holdMethod('crm.deal.get', Math.floor(Date.now() / 1000) + 1);
    assert.equal(await hook('ONCRMDEALUPDATE', '601'), 200);
    await waitFor(() => sent().length === 2, { timeoutMs: 15_000, message: 'the won deal' });
  });

  it('resolves Bitrix24 stage names and ids in rules', async () => {
    const file = path.join(dir, 'named.yaml');
    fs.writeFileSync(
      file,
      `currency: RUB
rules:
  - name: Wholesale paid
    on: status_changed
    pipeline: Опт
    status: Оплачено
    send:
      - event: wholesale_paid
  - name: By id
    on: status_changed
    status: C1:WON
    send:
      - event: by_id
`,
    );
    service = await startService(
      loopbackService(loadConfig({ path: file, env: env() }), captureLogger(), dir),
    );
    portal.moveDeal('701', STAGES.wonWholesale, { UF_CRM_GA_CLIENT_ID: '1.2' });
    assert.equal(await hook('ONCRMDEALUPDATE', '701'), 200);
    await waitFor(() => sent().length === 2, { message: 'both rules' });
    assert.deepEqual(
      sent()
        .map((e) => e.name)
        .sort(),
      ['by_id', 'wholesale_paid'],
    );
    // check-config looks names up the same way, and lists the real ones for a typo.
    fs.writeFileSync(
      file,
      fs.readFileSync(file, 'utf8').replace('status: Оплачено', 'status: Оплочено'),
    );
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };
    assert.equal(await runCli(['check-config', file], io, env()), 1);
    assert.match(err.join('\n'), /Оплочено/);
    assert.match(err.join('\n'), /Оплачено/, 'the real names are listed');
  });

  it('reconciles a move whose webhook never came, once; closeloop reconcile prints it', async () => {
    await start();
    portal.moveDeal('801', STAGES.newDeal, { OPPORTUNITY: '500', UF_CRM_GA_CLIENT_ID: '8.1' });
    portal.moveDeal('801', STAGES.won); // no webhook: Bitrix24 never resends a failed one
    const out: string[] = [];
    const cliEnv = { ...env(), CLOSELOOP_CONFIG: path.join(dir, 'closeloop.yaml') };
    const code = await runCli(
      ['reconcile'],
      { out: (l) => out.push(l), err: (l) => out.push(l) },
      cliEnv,
    );
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.join('\n'), /Bitrix24 \(account default\): 2 read, 2 changes queued/);
    assert.match(out.join('\n'), /deal 801 {2}stage_changed → WON \(won\)/);
    await waitFor(() => sent().filter((e) => e.name === 'purchase').length === 1, {
      message: 'the reconciled purchase',
    });
    // The late webhook, and the next pass, send nothing again.
    assert.equal(await hook('ONCRMDEALUPDATE', '801'), 200);
    const again: string[] = [];
    await runCli(['reconcile'], { out: (l) => again.push(l), err: (l) => again.push(l) }, cliEnv);
    assert.match(again.join('\n'), /0 read, 0 changes queued/);
    await drained();
    assert.equal(sent().filter((e) => e.name === 'purchase').length, 1);
  });

  it('closeloop statuses lists the pipelines with outcomes; create-fields creates the fields once', async () => {
    const cliEnv = {
      BITRIX24_WEBHOOK_URL: portal.webhookUrl,
      CLOSELOOP_CONFIG: 'config/closeloop.example.yaml',
    };
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    assert.equal(await runCli(['statuses'], io, cliEnv), 0, out.join('\n'));
    const text = out.join('\n');
    assert.match(text, /Pipeline "Общая" {2}id 0 {2}\(main\)/);
    assert.match(text, /C1:WON {2}Оплачено {2}\(won\)/);
    assert.match(text, /JUNK {2}Некачественный лид {2}\(lost\)/);
    assert.equal(text.includes(portal.webhookUrl), false);

    out.length = 0;
    assert.equal(await runCli(['bitrix24', 'create-fields'], io, cliEnv), 0, out.join('\n'));
    assert.deepEqual(portal.userFields.deal, [
      'UF_CRM_GA_CLIENT_ID',
      'UF_CRM_GA_SESSION_ID',
      'UF_CRM_YM_CLIENT_ID',
      'UF_CRM_YCLID',
    ]);
    assert.deepEqual(portal.userFields.lead, portal.userFields.deal);
    out.length = 0;
    assert.equal(await runCli(['bitrix24', 'create-fields'], io, cliEnv), 0);
    assert.equal(out.filter((l) => l.endsWith(': exists')).length, 8);
  });

  it('POST /leads creates the lead in Bitrix24 with the identities, and sends generate_lead once', async () => {
    await start(`
lead_intake:
  enabled: true
  status: NEW
`);
    const res = await fetch(`http://127.0.0.1:${service!.port}/leads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Анна Тестова',
        phone: '+7 916 555-12-34',
        ga_client_id: 'GA1.1.1234567890.1700000000',
        ga_session_id: '1747132561',
        utm_source: 'yandex',
        yclid: '123456789',
      }),
    });
    assert.equal(res.status, 202);
    await waitFor(() => sent().length === 1, { message: 'generate_lead' });
    const [created] = portal.created();
    assert.equal(created?.method, 'crm.lead.add');
    assert.equal(created?.fields.UF_CRM_GA_CLIENT_ID, '1234567890.1700000000');
    assert.equal(created?.fields.UF_CRM_GA_SESSION_ID, '1747132561');
    assert.equal(created?.fields.UF_CRM_YCLID, '123456789');
    assert.equal(created?.fields.UTM_SOURCE, 'yandex');
    assert.equal(created?.fields.STATUS_ID, 'NEW');
    // Bitrix24's own ONCRMLEADADD for the same lead sends nothing again.
    const id = [...portal.leads.keys()][0]!;
    assert.equal(await hook('ONCRMLEADADD', id), 200);
    await drained();
    assert.equal(sent().length, 1);
    assert.equal(logs.text().includes('Анна') || logs.text().includes('555-12-34'), false);
  });
});
