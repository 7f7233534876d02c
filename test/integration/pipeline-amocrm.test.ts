/**
 * End to end with the amoCRM API: field-less Digital Pipeline hooks completed from a local amoCRM
 * stand-in (batched), status names resolved at start, and reconciliation of a status change whose
 * webhook never came — each conversion reaching the GA4 stand-in once. On SQLite always, and on
 * Redis when REDIS_URL is set (there: the shared rate limiter, the reconciliation lease, BullMQ's
 * create_lead queue).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import type { Rule } from '../../src/core/config-types';
import type { CloseloopConfig } from '../../src/config/config-types';
import { ConfigError } from '../../src/core/errors';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { apiLead, startAmocrmStandIn, type AmocrmStandIn } from '../helpers/amocrm-stand-in';
import { digitalPipelineBody } from '../helpers/amocrm-webhook';
import { DEFAULT_RULES, loopbackService, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { runCli } from '../../src/cli';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const TOKEN = 'stand-in-long-lived-token';

type GaEvent = { name: string; params: Record<string, unknown> };

describeOnEachStore('pipeline with the amoCRM API', describePipelineWithApi);

function describePipelineWithApi(storeName: string, redisUrl: string | null): void {
  describe(`pipeline with the amoCRM API (${storeName})`, function () {
    this.timeout(30_000);
    let prefix: string;
    let dir: string;
    let ga4: Ga4StandIn;
    let amo: AmocrmStandIn;
    let service: RunningService | null;

    async function start(
      over: { rules?: Rule[]; reconcile?: boolean; leadIntake?: boolean } = {},
    ): Promise<RunningService> {
      const base = testConfig();
      const config: CloseloopConfig = {
        ...base,
        leadIntake: over.leadIntake
          ? { ...base.leadIntake, enabled: true, sessionIdField: { id: 700001 } }
          : base.leadIntake,
        rules: over.rules ?? DEFAULT_RULES,
        ga4: { ...base.ga4, endpoint: ga4.url },
        amocrm: {
          ...base.amocrm,
          subdomain: 'example',
          fields: { clientId: { code: 'GCLIENTID' }, sessionId: { id: 700001 } },
          api: {
            baseUrl: amo.url,
            auth: { kind: 'long-lived', token: TOKEN },
            requestsPerSecond: 7,
            timeoutMs: 2000,
            batchWindowMs: 100,
            reconcile: { enabled: over.reconcile ?? false, intervalMs: 600_000 },
          },
        },
      };
      const log = captureLogger();
      service = await startService(
        loopbackService(config, log, dir, {
          reconcileFirstRunMs: 50,
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
        }),
      );
      return service;
    }

    async function post(body: string): Promise<void> {
      const res = await fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      assert.equal(res.status, 200);
    }

    const purchases = (): GaEvent[] =>
      ga4
        .collected()
        .flatMap((r) => (r.json as { events: GaEvent[] }).events)
        .filter((e) => e.name === 'purchase');

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-amocrm-'));
      ga4 = await startGa4StandIn();
      amo = await startAmocrmStandIn({ token: TOKEN });
      service = null;
      prefix = uniqueRedisPrefix('amocrm');
    });
    afterEach(async () => {
      await service?.close();
      await ga4.close();
      await amo.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    it('completes field-less Digital Pipeline hooks from the API, 60 leads in a few calls', async () => {
      for (let id = 1; id <= 60; id++) amo.leads.set(id, apiLead(id, { price: 1000 * id }));
      await start();
      await post(digitalPipelineBody(Array.from({ length: 30 }, (_, i) => ({ id: i + 1 }))));
      await post(digitalPipelineBody(Array.from({ length: 30 }, (_, i) => ({ id: i + 31 }))));
      await waitFor(() => purchases().length === 60, {
        timeoutMs: 10_000,
        message: () => `${purchases().length} of 60 purchases`,
      });
      const byId = new Map(purchases().map((e) => [e.params.transaction_id, e.params.value]));
      assert.equal(byId.get('7'), 7000);
      assert.equal(byId.get('60'), 60_000);
      const leadCalls = amo.requests().filter((r) => r.path === '/api/v4/leads');
      assert.ok(leadCalls.length <= 4, `${leadCalls.length} lead look-ups for 60 leads`);
      assert.equal(amo.tooMany(), 0);
      assert.ok(amo.requests().every((r) => r.auth === `Bearer ${TOKEN}`));
    });

    it('resolves status names at start, and refuses to start with an unknown name, listing the real ones', async () => {
      amo.leads.set(5, apiLead(5, { status_id: 41893093 }));
      const qualified: Rule = {
        name: 'Qualified',
        on: 'status_changed',
        pipelines: [],
        statuses: [],
        fromStatuses: null,
        outcomes: null,
        sources: null,
        names: { pipelines: ['продажи'], statuses: ['Квалифицирован'], fromStatuses: [] },
        send: [{ name: 'qualify_lead', params: {} }],
      };
      await start({ rules: [qualified] });
      await post(digitalPipelineBody([{ id: 5, statusId: 41893093 }]));
      await waitFor(() => ga4.collected().length === 1, {
        timeoutMs: 5000,
        message: 'qualify_lead not sent',
      });
      assert.equal(
        (ga4.collected()[0]!.json as { events: GaEvent[] }).events[0]!.name,
        'qualify_lead',
      );
      await service!.close();
      service = null;

      await assert.rejects(
        start({
          rules: [
            { ...qualified, names: { pipelines: [], statuses: ['Оплачен'], fromStatuses: [] } },
          ],
        }),
        (e: unknown) =>
          e instanceof ConfigError &&
          /there is no status named "Оплачен"; the statuses are: "Неразобранное" \(41893090\), "Квалифицирован" \(41893093\)/.test(
            e.message,
          ),
      );
    });

    it('takes a site form, creates the lead in amoCRM, sends generate_lead with the session once', async () => {
      await start({ leadIntake: true });
      const sessionStart = Math.floor(Date.now() / 1000) - 120;
      const res = await fetch(`http://127.0.0.1:${service!.port}/leads`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'Анна',
          phone: '+7 900 123-45-67',
          ga_client_id: 'GA1.1.555666777.1700000000',
          ga_session_id: `GS2.1.s${sessionStart}$o3$g1$t${sessionStart + 60}`,
          utm_source: 'yandex',
          utm_medium: 'cpc',
        }),
      });
      assert.equal(res.status, 202);
      await waitFor(() => ga4.collected().length === 1, {
        timeoutMs: 8000,
        message: 'no generate_lead',
      });
      const body = ga4.collected()[0]!.json as { client_id: string; events: GaEvent[] };
      assert.equal(body.client_id, '555666777.1700000000');
      assert.deepEqual(
        body.events.map((e) => [e.name, e.params.session_id]),
        [['generate_lead', String(sessionStart)]],
      );
      assert.equal(amo.complexCalls().length, 1);

      // amoCRM's own add webhook for the new lead arrives: a duplicate, nothing more is sent
      const leadId = [...amo.leads.keys()].at(-1)!;
      const p = new URLSearchParams({
        'leads[add][0][id]': String(leadId),
        'leads[add][0][status_id]': String(amo.leads.get(leadId)!.status_id),
        'leads[add][0][pipeline_id]': '4542166',
        'account[id]': '29638927',
        'account[subdomain]': 'example',
      });
      await post(p.toString());
      await waitFor(
        async () =>
          (await service!.store.deliveryLog.list({ dealId: String(leadId), outcome: 'duplicate' }))
            .length === 1,
        { timeoutMs: 5000, message: 'the add webhook was not recognised as a duplicate' },
      );
      assert.equal(ga4.collected().length, 1);
    });

    it('reconciles a won deal whose webhook never came, once, and a late webhook is a duplicate', async () => {
      const nowS = Math.floor(Date.now() / 1000);
      amo.leads.set(77, apiLead(77, { updated_at: nowS - 60, price: 420_000 }));
      await start({ reconcile: true });
      await waitFor(() => purchases().length === 1, {
        timeoutMs: 10_000,
        message: 'reconciliation sent nothing',
      });
      assert.equal(purchases()[0]!.params.value, 420_000);
      // the webhook finally arrives: nothing more is sent
      await post(digitalPipelineBody([{ id: 77 }]));
      await waitFor(
        async () =>
          (await service!.store.deliveryLog.list({ dealId: '77', outcome: 'duplicate' })).length ===
          1,
        { timeoutMs: 5000, message: 'no duplicate recorded' },
      );
      assert.equal(purchases().length, 1);
    });
  });
}

describe('closeloop statuses', function () {
  this.timeout(10_000);
  it('prints every pipeline and its statuses with ids, as a table', async () => {
    const amo = await startAmocrmStandIn({ token: TOKEN });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-statuses-'));
    try {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(
        ['statuses'],
        { out: (l) => out.push(l), err: (l) => err.push(l) },
        {
          CLOSELOOP_CONFIG: 'config/closeloop.example.yaml',
          CLOSELOOP_DATA_DIR: dir,
          AMOCRM_SUBDOMAIN: 'example',
          AMOCRM_BASE_URL: amo.url,
          AMOCRM_TOKEN: TOKEN,
        },
      );
      assert.equal(code, 0, err.join('\n'));
      assert.deepEqual(out.slice(0, 6), [
        'Pipeline "Продажи"  id 4542166  (main)',
        '  41893090  Неразобранное  (incoming leads)',
        '  41893093  Квалифицирован',
        '       142  Успешно реализовано  (won, every pipeline)',
        '       143  Закрыто и не реализовано  (lost, every pipeline)',
        '',
      ]);
      const noApi = await runCli(
        ['statuses'],
        { out: () => undefined, err: (l) => err.push(l) },
        {
          CLOSELOOP_CONFIG: 'config/closeloop.example.yaml',
          CLOSELOOP_DATA_DIR: dir,
        },
      );
      assert.equal(noApi, 1);
      assert.match(err.join('\n'), /needs amoCRM API access/);
      const unknown = await runCli(
        ['statuses', '--account', 'shop'],
        { out: () => undefined, err: (l) => err.push(l) },
        { CLOSELOOP_CONFIG: 'config/closeloop.example.yaml', CLOSELOOP_DATA_DIR: dir },
      );
      assert.equal(unknown, 1);
      assert.match(
        err.join('\n'),
        /there is no account named shop in the config; the accounts are: default/,
      );
    } finally {
      await amo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('check-config with pipeline and status names', function () {
  this.timeout(10_000);
  it('resolves the names through the API, and lists the real ones for a typo', async () => {
    const amo = await startAmocrmStandIn({ token: TOKEN });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-names-'));
    const file = path.join(dir, 'closeloop.yaml');
    const yaml = (status: string): string =>
      [
        'currency: RUB',
        'amocrm:',
        '  subdomain: example',
        '  base_url: ${AMOCRM_BASE_URL}',
        '  token: ${AMOCRM_TOKEN}',
        'rules:',
        '  - name: Qualified',
        '    on: status_changed',
        '    pipeline: Продажи',
        `    status: ${status}`,
        '    send:',
        '      - event: qualify_lead',
        '',
      ].join('\n');
    const env = { CLOSELOOP_DATA_DIR: dir, AMOCRM_BASE_URL: amo.url, AMOCRM_TOKEN: TOKEN };
    try {
      fs.writeFileSync(file, yaml('Квалифицирован'));
      const out: string[] = [];
      const err: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
      assert.equal(await runCli(['check-config', file], io, env), 0, err.join('\n'));
      assert.ok(
        out.includes(
          '  Qualified: status_changed, pipeline 4542166, status 41893093 → qualify_lead',
        ),
        out.join('\n'),
      );

      fs.writeFileSync(file, yaml('Квалифицированный'));
      err.length = 0;
      assert.equal(await runCli(['check-config', file], io, env), 1);
      assert.match(
        err.join('\n'),
        /rules\[0\]\.status: there is no status named "Квалифицированный" in the rule’s pipeline; the statuses are: "Неразобранное" \(41893090\), "Квалифицирован" \(41893093\)/,
      );
    } finally {
      await amo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
