/**
 * The contract every CRM source runs: its real webhooks, posted to a real service on loopback with
 * the example config (rules by outcome, so they hold for every CRM), on each store. A source
 * plugs in with a driver that knows how its CRM says "deal won", "deal lost", "deal created", and
 * what a forged and a malformed request look like.
 *
 * What every source must do: a won deal is sent as close_convert_lead + purchase (value = the
 * amount, exact; currency; transaction_id = the deal id) exactly once however often the CRM
 * repeats itself; a lost deal as close_unconvert_lead; a new one as generate_lead; a deal without
 * a GA client ID is skipped with the reason; a forged request and a malformed one store nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load-config';
import type { CloseloopConfig } from '../../src/config/config-types';
import { startService, type RunningService } from '../../src/main';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';
import { loopbackService } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import { waitFor } from '../helpers/wait-for';
import { waitForDrained } from '../helpers/wait-for-drained';
import {
  deleteRedisKeys,
  describeOnEachStore,
  uniqueRedisPrefix,
} from '../helpers/redis-test-prefix';

/** One HTTP request a CRM makes, against the service's webhook paths by source. */
export interface WireRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface DealFacts {
  id: string;
  /** As the CRM writes it: `1500.50`. */
  amount: string;
  /** null: the deal has no GA client ID. */
  clientId: string | null;
}

export interface SourceDriver {
  /** The source name (`amocrm`): the first part of the webhook path after /webhooks/. */
  source: string;
  /** What the CRM posts when the deal reaches a won or lost stage. */
  stageChanged(outcome: 'won' | 'lost', deal: DealFacts, paths: SourcePaths): WireRequest;
  /** What it posts when the deal is created. */
  created(deal: DealFacts, paths: SourcePaths): WireRequest;
  /** A request as an attacker would send it; `refusedWith`: the status it gets. */
  forged(deal: DealFacts, paths: SourcePaths): WireRequest;
  refusedWith: number;
  /** A body that is not what this CRM sends. */
  malformed(paths: SourcePaths): WireRequest;
  /** The id the CRM's deal has in closeloop (amoCRM's are numbers: `C-1001` is 1001 there). */
  dealId(deal: DealFacts): string;
  /**
   * What the CRM's repeat of the won webhook leaves in the delivery log: `duplicate` where a
   * webhook says what happened (amoCRM), `skipped` where it only says "changed" and the repeat is
   * an edit of a deal already won (Bitrix24: no rule matches an edit).
   */
  repeatLeaves?: 'duplicate' | 'skipped';
  /** A CRM the service reads (Bitrix24's REST fake): started per test, its variables added. */
  setUp?: () => Promise<{ env: Record<string, string>; tearDown: () => Promise<void> }>;
}

/** The service's webhook paths of the default account, by source. */
export type SourcePaths = Readonly<Record<string, string>>;

const ENV = {
  GA4_MEASUREMENT_ID: 'G-CONTRACT1',
  GA4_API_SECRET: 'contract-api-secret',
  CLOSELOOP_WEBHOOK_SECRET: 'contract-webhook-secret-0123456789',
  CLOSELOOP_INTAKE_SECRET: 'contract-intake-secret-9f8e7d6c5b4a3210',
};

export const CONTRACT_INTAKE_SECRET = ENV.CLOSELOOP_INTAKE_SECRET;

interface SentEvent {
  name: string;
  params: Record<string, unknown>;
}

export function describeSourceContract(driver: SourceDriver): void {
  describeOnEachStore(`CrmSource contract: ${driver.source}`, (storeName, redisUrl) => {
    describe(`CrmSource contract: ${driver.source} (${storeName})`, function () {
      this.timeout(20_000);
      let dir: string;
      let prefix: string;
      let ga4: Ga4StandIn;
      let service: RunningService;
      let paths: SourcePaths;
      let tearDown: () => Promise<void> = () => Promise.resolve();

      beforeEach(async () => {
        const crm = await driver.setUp?.();
        tearDown = crm?.tearDown ?? tearDown;
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `closeloop-contract-${driver.source}-`));
        prefix = uniqueRedisPrefix(`contract-${driver.source}`);
        ga4 = await startGa4StandIn();
        const config: CloseloopConfig = loadConfig({
          path: 'config/closeloop.example.yaml',
          env: { ...ENV, GA4_ENDPOINT: ga4.url, ...crm?.env },
        });
        service = await startService(
          loopbackService(config, captureLogger(), dir, {
            redis: redisUrl ? { url: redisUrl, prefix } : undefined,
          }),
        );
        paths = service.webhookPaths.get('default') ?? {};
      });
      afterEach(async () => {
        await service.close();
        await ga4.close();
        await tearDown();
        fs.rmSync(dir, { recursive: true, force: true });
        if (redisUrl) await deleteRedisKeys(redisUrl, prefix);
      });

      async function send(req: WireRequest): Promise<{ status: number; body: string }> {
        const res = await fetch(`http://127.0.0.1:${service.port}${req.path}`, {
          method: 'POST',
          headers: req.headers,
          body: req.body,
        });
        return { status: res.status, body: await res.text() };
      }

      const sent = (): SentEvent[] =>
        ga4.collected().flatMap((r) => (r.json as { events: SentEvent[] }).events);

      async function settled(): Promise<void> {
        await waitForDrained(service.store.queue);
      }

      it('sends a won deal as close_convert_lead and purchase, exact to the cent, once', async () => {
        const deal = { id: 'C-1001', amount: '1500.50', clientId: '1234567890.1700000000' };
        const req = driver.stageChanged('won', deal, paths);
        assert.equal((await send(req)).status, 200);
        assert.equal((await send(req)).status, 200, 'the CRM repeats itself');
        await waitFor(() => sent().length === 2, { timeoutMs: 8000, message: 'the won deal' });
        await settled();
        assert.deepEqual(
          sent().map((e) => e.name),
          ['close_convert_lead', 'purchase'],
        );
        const purchase = sent()[1]!.params;
        assert.equal(purchase.value, 1500.5);
        assert.equal(purchase.currency, 'RUB');
        assert.equal(purchase.transaction_id, driver.dealId(deal));
        assert.equal((ga4.collected()[0]!.json as { client_id: string }).client_id, deal.clientId);
        const outcomes = (await service.store.deliveryLog.list({ dealId: driver.dealId(deal) }))
          .map((r) => r.outcome)
          .sort();
        assert.deepEqual(outcomes, [driver.repeatLeaves ?? 'duplicate', 'sent'].sort());
      });

      it('sends a lost deal as close_unconvert_lead and a new one as generate_lead', async () => {
        const deal = { id: 'C-1002', amount: '10', clientId: '111.222' };
        assert.equal((await send(driver.created(deal, paths))).status, 200);
        assert.equal((await send(driver.stageChanged('lost', deal, paths))).status, 200);
        await waitFor(() => sent().length === 2, { timeoutMs: 8000, message: 'both events' });
        await settled();
        assert.deepEqual(
          sent()
            .map((e) => e.name)
            .sort(),
          ['close_unconvert_lead', 'generate_lead'],
        );
        const lead = sent().find((e) => e.name === 'generate_lead')!;
        assert.equal(lead.params.lead_source, driver.source);
      });

      it('skips a deal without a GA client ID, saying why, and sends nothing', async () => {
        const deal = { id: 'C-1003', amount: '99', clientId: null };
        assert.equal((await send(driver.stageChanged('won', deal, paths))).status, 200);
        await settled();
        await waitFor(
          async () =>
            (await service.store.deliveryLog.list({ dealId: driver.dealId(deal) })).length > 0,
          { timeoutMs: 5000 },
        );
        const [row] = await service.store.deliveryLog.list({ dealId: driver.dealId(deal) });
        assert.equal(row?.outcome, 'skipped');
        assert.equal(row?.code, 'LEAD_NO_CLIENT_ID');
        assert.equal(row?.source, driver.source);
        assert.equal(ga4.collected().length, 0);
      });

      it('stores nothing from a forged request or a malformed one', async () => {
        const deal = { id: 'C-1004', amount: '1', clientId: '1.2' };
        const forged = await send(driver.forged(deal, paths));
        assert.equal(forged.status, driver.refusedWith);
        const malformed = await send(driver.malformed(paths));
        assert.equal(malformed.status, 400);
        assert.equal(
          typeof (JSON.parse(malformed.body) as { error: { code: string } }).error.code,
          'string',
        );
        const counts = await service.store.queue.counts('inbound');
        assert.equal(counts.waiting + counts.active + counts.delayed, 0);
        assert.deepEqual(await service.store.deliveryLog.list(), []);
      });
    });
  });
}
