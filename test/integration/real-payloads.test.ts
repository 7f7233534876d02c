/**
 * Issue 12 end to end, with real-shaped amoCRM bodies (test/fixtures/amocrm/webhooks), a local
 * amoCRM stand-in and the GA4 stand-in, on each store: with API access the deal is amoCRM's own
 * (a forged "won" sends and claims nothing), keys take amoCRM's account id whatever the body
 * carries (so a 2018-shape body and reconciliation send one purchase), a body for another account
 * is a 400, an id-only hook is read through the API, and skips say what was tried. Without API
 * access: an over-long value is cut (the purchase goes, and a replay too), a stage move reported
 * as leads[update] fires the status rules, and the ledger holds a conversion only once sent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { runCli } from '../../src/cli';
import type { Rule } from '../../src/core/config-types';
import type { CloseloopConfig } from '../../src/config/config-types';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { apiLead, startAmocrmStandIn, type AmocrmStandIn } from '../helpers/amocrm-stand-in';
import { DEFAULT_RULES, loopbackService, rule, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

const TOKEN = 'stand-in-long-lived-token';
const FIXTURES = path.resolve('test/fixtures/amocrm/webhooks');
const fixture = (file: string): string => fs.readFileSync(path.join(FIXTURES, file), 'utf8');

type GaEvent = { name: string; params: Record<string, unknown> };

describeOnEachStore('real payloads end to end', (storeName, redisUrl) => {
  describe(`real payloads end to end (${storeName})`, function () {
    this.timeout(30_000);
    let prefix: string;
    let dir: string;
    let ga4: Ga4StandIn;
    let amo: AmocrmStandIn | null;
    let service: RunningService | null;

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-real-'));
      ga4 = await startGa4StandIn();
      amo = null;
      service = null;
      prefix = uniqueRedisPrefix('real');
    });
    afterEach(async () => {
      await service?.close();
      await ga4.close();
      await amo?.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
    });

    /** The service; with `api`, amoCRM API access to a stand-in answering for that account. */
    async function start(
      over: {
        api?: { id: number; subdomain: string };
        rules?: Rule[];
        reconcile?: boolean;
        subdomain?: string | null;
      } = {},
    ): Promise<RunningService> {
      const base = testConfig();
      if (over.api) amo = await startAmocrmStandIn({ token: TOKEN, account: over.api });
      const config: CloseloopConfig = {
        ...base,
        rules: over.rules ?? DEFAULT_RULES,
        ga4: { ...base.ga4, endpoint: ga4.url },
        amocrm: {
          ...base.amocrm,
          subdomain: over.subdomain === undefined ? (over.api?.subdomain ?? null) : over.subdomain,
          api:
            amo === null
              ? null
              : {
                  baseUrl: amo.url,
                  auth: { kind: 'long-lived', token: TOKEN },
                  requestsPerSecond: 7,
                  timeoutMs: 2000,
                  batchWindowMs: 20,
                  reconcile: { enabled: over.reconcile ?? false, intervalMs: 600_000 },
                },
        },
      };
      service = await startService(
        loopbackService(config, captureLogger(), dir, {
          reconcileFirstRunMs: 50,
          redis: redisUrl ? { url: redisUrl, prefix } : undefined,
        }),
      );
      return service;
    }

    async function post(body: string): Promise<{ status: number; json: unknown }> {
      const res = await fetch(`http://127.0.0.1:${service!.port}${service!.webhookPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      return { status: res.status, json: await res.json() };
    }

    const sent = (): GaEvent[] =>
      ga4.collected().flatMap((r) => (r.json as { events: GaEvent[] }).events);
    const purchases = (): GaEvent[] => sent().filter((e) => e.name === 'purchase');
    const rows = async (dealId: string) => service!.store.deliveryLog.list({ dealId });

    it('keys a 2018-shape body (account[subdomain] only) by the account id, as reconciliation does: one purchase', async () => {
      // research amocrm.md §1.6 ex. 1: lead 10701093 of the account apfitness, won.
      const nowS = Math.floor(Date.now() / 1000);
      await start({ api: { id: 17769199, subdomain: 'apfitness' }, reconcile: true });
      amo!.leads.set(10701093, apiLead(10701093, { price: 22500, updated_at: nowS - 60 }));
      assert.equal((await post(fixture('status-won-2018.txt'))).status, 200);
      await waitFor(async () => (await rows('10701093')).some((r) => r.outcome === 'duplicate'), {
        timeoutMs: 10_000,
        message: 'the webhook and reconciliation did not both arrive',
      });
      await waitForDrained(service!.store.queue);
      assert.equal(purchases().length, 1);
      assert.equal(purchases()[0]!.params.value, 22500);
      const crmAccounts = new Set((await rows('10701093')).map((r) => r.crmAccount));
      assert.deepEqual([...crmAccounts], ['17769199']);
    });

    it('sends nothing and claims nothing for a forged won deal; the real one is sent afterwards', async () => {
      await start({ api: { id: 29638927, subdomain: 'mbamoscow' } });
      // amoCRM has the lead at an open stage; the webhook says it is won.
      amo!.leads.set(30307416, apiLead(30307416, { status_id: 41893093, price: 22500 }));
      const forged = fixture('constructed-status-won-price-text.txt');
      assert.equal((await post(forged)).status, 200);
      await waitFor(async () => (await rows('30307416')).length > 0, { timeoutMs: 5000 });
      await waitForDrained(service!.store.queue);
      const [row] = await rows('30307416');
      assert.equal(row?.outcome, 'skipped');
      assert.equal(row?.stageId, '41893093');
      assert.match(
        row?.reason ?? '',
        /no rule matches status_changed in pipeline 4542166, stage 41893093 \(open\); the deal was read through the CRM’s API/,
      );
      assert.equal(ga4.attempts().length, 0);

      // The deal is really won now: the same webhook sends it, nothing in the ledger blocks it.
      amo!.leads.set(30307416, apiLead(30307416, { status_id: 142, price: 22500 }));
      assert.equal((await post(forged)).status, 200);
      await waitFor(() => purchases().length === 1, { timeoutMs: 5000, message: 'no purchase' });
      assert.equal(purchases()[0]!.params.value, 22500);
    });

    it('answers 400 for a body naming another account, and records one the worker finds out', async () => {
      await start({ api: { id: 29638927, subdomain: 'example' } });
      const other = new URLSearchParams({
        'account[subdomain]': 'someoneelse',
        'account[id]': '11111111',
        'leads[status][0][id]': '5',
        'leads[status][0][status_id]': '142',
      });
      const refused = await post(other.toString());
      assert.equal(refused.status, 400);
      const error = (refused.json as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'WEBHOOK_ACCOUNT_MISMATCH');
      assert.match(
        error.message,
        /"someoneelse" \(account\[subdomain\]\), and this URL is for "example"/,
      );

      // By id only: the web side cannot know the id before the API was read; the worker can.
      other.delete('account[subdomain]');
      assert.equal((await post(other.toString())).status, 200);
      await waitFor(async () => (await rows('5')).length > 0, { timeoutMs: 5000 });
      const [row] = await rows('5');
      assert.equal(row?.code, 'WEBHOOK_ACCOUNT_MISMATCH');
      assert.equal(row?.outcome, 'skipped');
      assert.deepEqual(
        amo!.requests().map((r) => r.path),
        ['/api/v4/account'],
        'the deal of another account is not read',
      );
      // Now the account id is known: the same body is refused at once.
      const again = await post(other.toString());
      assert.equal(again.status, 400);
      assert.match(JSON.stringify(again.json), /account\[id\] 11111111.*29638927/);
      assert.equal(ga4.attempts().length, 0);
    });

    it('reads an id-only hook through the API, and says what was tried when it finds nothing', async () => {
      await start({ api: { id: 29638927, subdomain: 'mbamoscow' } });
      amo!.leads.set(30307417, apiLead(30307417, { price: 48000 }));
      assert.equal((await post(fixture('constructed-status-id-only.txt'))).status, 200);
      await waitFor(() => purchases().length === 1, { timeoutMs: 5000, message: 'no purchase' });
      assert.equal(purchases()[0]!.params.value, 48000);
      assert.equal(purchases()[0]!.params.transaction_id, '30307417');

      // Not in amoCRM (deleted, or made up): nothing of the webhook is taken for it.
      const missing = fixture('constructed-status-id-only.txt').replace('30307417', '30307418');
      assert.equal((await post(missing)).status, 200);
      await waitFor(async () => (await rows('30307418')).length > 0, { timeoutMs: 5000 });
      const [row] = await rows('30307418');
      assert.equal(row?.outcome, 'skipped');
      assert.match(
        row?.reason ?? '',
        /stage \?; the deal was not found through the CRM’s API \(deleted, or not in this account\)/,
      );

      // Read, and no client ID in amoCRM either: the reason says it was read.
      amo!.leads.set(30307419, apiLead(30307419, { custom_fields_values: null }));
      const noId = fixture('constructed-status-id-only.txt').replace('30307417', '30307419');
      assert.equal((await post(noId)).status, 200);
      await waitFor(async () => (await rows('30307419')).length > 0, { timeoutMs: 5000 });
      const [skipped] = await rows('30307419');
      assert.equal(skipped?.code, 'LEAD_NO_CLIENT_ID');
      assert.equal(
        skipped?.reason,
        'the deal, read through the CRM’s API, has no GA client ID (is the form snippet on the site?)',
      );
    });

    it('without API access: says so when a hook has no fields', async () => {
      await start({ subdomain: 'impactcapital' });
      // research amocrm.md §1.4, moved to won: a rule acts on it, and nothing could read its fields.
      const won = fixture('digital-pipeline-status.txt').replace(
        '%5Bstatus_id%5D=34354531',
        '%5Bstatus_id%5D=142',
      );
      assert.equal((await post(won)).status, 200);
      await waitFor(async () => (await rows('25431551')).length > 0, { timeoutMs: 5000 });
      const [row] = await rows('25431551');
      assert.equal(row?.outcome, 'skipped');
      assert.equal(row?.code, 'LEAD_NO_CLIENT_ID');
      assert.equal(
        row?.reason,
        'the webhook carried no deal fields and closeloop has no API access to read them, so there is no GA client ID',
      );
    });

    it('cuts an over-long value so the purchase goes, and a replay of a failed one goes too', async () => {
      const landing: Rule = rule({
        name: 'Deal won',
        on: 'status_changed',
        statuses: ['142'],
        send: [
          {
            name: 'purchase',
            params: {
              value: { kind: 'deal', attribute: 'amount', required: true },
              transaction_id: { kind: 'deal', attribute: 'id', required: false },
              landing_page: { kind: 'field', field: { name: 'Ссылка на сайт' }, required: false },
            },
          },
        ],
      });
      await start({ rules: [landing], subdomain: 'mbamoscow' });
      ga4.failNext(1, 400);
      assert.equal((await post(fixture('constructed-status-won-long-url.txt'))).status, 200);
      await waitFor(
        async () => (await service!.store.queue.listFailed('deliver', 10)).length === 1,
        {
          timeoutMs: 5000,
          message: 'the delivery did not fail',
        },
      );
      const env: NodeJS.ProcessEnv = redisUrl
        ? { REDIS_URL: redisUrl, CLOSELOOP_REDIS_PREFIX: prefix }
        : { CLOSELOOP_DATA_DIR: dir };
      const out: string[] = [];
      const code = await runCli(
        ['replay', '--all'],
        { out: (l) => out.push(l), err: (l) => out.push(l) },
        env,
      );
      assert.equal(code, 0, out.join('\n'));
      await waitFor(() => purchases().length === 1, { timeoutMs: 5000, message: 'no purchase' });
      const url = String(purchases()[0]!.params.landing_page);
      assert.equal(url.length, 100);
      assert.ok(url.startsWith('https://moscow.mba/promo?utm_source=salid&utm_medium=offer1234'));
      await waitFor(async () => (await rows('30307415')).some((r) => r.outcome === 'sent'), {
        timeoutMs: 5000,
      });
      const sentRow = (await rows('30307415')).find((r) => r.outcome === 'sent');
      assert.deepEqual((sentRow?.payload as Array<{ warnings?: string[] }>)[0]?.warnings, [
        "event 0 (purchase) param [landing_page] was 118 characters; cut to GA4's limit of 100",
      ]);
    });

    it('fires the status rules for a stage move reported as leads[update], once', async () => {
      await start({ subdomain: 'appgpt' });
      const move = fixture('constructed-update-status-move.txt');
      assert.equal((await post(move)).status, 200);
      await waitFor(() => purchases().length === 1, { timeoutMs: 5000, message: 'no purchase' });
      assert.equal(purchases()[0]!.params.value, 1500);
      // amoCRM may report the same move as leads[status] too: it is a duplicate.
      const asStatus = move.replaceAll('leads%5Bupdate%5D', 'leads%5Bstatus%5D');
      assert.equal((await post(asStatus)).status, 200);
      await waitFor(async () => (await rows('27754599')).some((r) => r.outcome === 'duplicate'), {
        timeoutMs: 5000,
      });
      assert.equal(purchases().length, 1);
    });

    it('records a conversion as sent only once it was sent: a refused one goes on the next webhook', async () => {
      await start({ subdomain: 'mbamoscow' });
      ga4.failNext(1, 400);
      const won = fixture('constructed-status-won-price-text.txt');
      assert.equal((await post(won)).status, 200);
      await waitFor(async () => (await rows('30307416')).some((r) => r.outcome === 'failed'), {
        timeoutMs: 5000,
      });
      assert.equal((await post(won)).status, 200);
      await waitFor(() => purchases().length === 1, { timeoutMs: 5000, message: 'no purchase' });
      await waitForDrained(service!.store.queue);
      assert.deepEqual(
        (await rows('30307416')).map((r) => r.outcome),
        ['sent', 'failed'],
      );
      assert.equal(purchases()[0]!.params.value, 22500);
    });
  });
});
