/**
 * A real closeloop with a month of a Russian marketing team's deals in it, for the console's
 * screenshots and its render timing (bench/console-screenshots.ts). Everything goes through the
 * real paths: the service (embedded store in a temporary data folder) is started from
 * config/closeloop.example.yaml with its variables pointing at the project's HTTP fakes — the
 * amoCRM API and the Bitrix24 portal (deals read from them after each webhook), GA4's
 * Measurement Protocol and Yandex Metrica's Management API — and fed amoCRM, Bitrix24 and
 * signed-intake webhooks over loopback HTTP.
 *
 * Back-dating: the service runs on an injected clock (ServiceOptions.now, the seam every part of
 * the service already takes its time from). Before each webhook the clock is set to the moment
 * the deal moved, then runs on in real time while the service works; so the delivery log, the
 * deal traces and the overview hold 30 days of history, dated as if each conversion had been sent
 * when it happened. At the end the clock stays at SEED_NOW (a fixed moment, so the pictures do
 * not move from run to run). The deals come from a seeded pseudo-random generator: the same
 * month every run.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load-config';
import { startService, type RunningService } from '../src/main';
import { startGa4StandIn, type Ga4StandIn } from '../test/helpers/ga4-stand-in';
import { apiLead, startAmocrmStandIn, type AmocrmStandIn } from '../test/helpers/amocrm-stand-in';
import {
  outgoingWebhook,
  STAGES,
  startBitrix24StandIn,
  type Bitrix24StandIn,
} from '../test/helpers/bitrix24-stand-in';
import { startMetricaStandIn, type MetricaStandIn } from '../test/helpers/metrica-stand-in';
import { captureLogger } from '../test/helpers/capture-logger';
import { waitFor } from '../test/helpers/wait-for';
import { waitForDrained } from '../test/helpers/wait-for-drained';

/** "Now" in the pictures: Thursday 3 December 2026, 15:00 in Moscow. */
export const SEED_NOW = Date.parse('2026-12-03T12:00:00Z');
export const CONSOLE_PASSWORD = 'screenshots: a long console passphrase 2026';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** The fakes' credentials, as the example config's variables take them. */
const KEYS = {
  webhook: 'screenshots-webhook-secret-0123456789',
  intake: 'screenshots-intake-key-5f1c9a7e3b2d',
  amocrm: 'screenshots-amocrm-long-lived-token',
  bitrix24: 'screenshots-b24-application-token',
  metrica: 'y0_screenshots-metrica-token',
  counter: '98765432',
};
/** amoCRM's sales pipeline of the stand-in, and its statuses: open, won, lost. */
const AMO = { pipeline: 4542166, open: 41893093, won: 142, lost: 143 };

type Crm = 'amocrm' | 'bitrix24' | 'site';

/** One lead of the month: where it came from, and what became of it. */
export interface SeedDeal {
  crm: Crm;
  id: string;
  createdAt: number;
  amount: number;
  utm: { source: string; medium: string } | null;
  /** Null: a phone call, no GA or Metrica cookie on the lead. */
  gaClientId: string | null;
  ymClientId: string | null;
  end: { outcome: 'won' | 'lost'; at: number } | null;
  /** What GA4 does with its won event: answers 400, or answers too late (uncertain). */
  ga4Trouble?: 'reject' | 'late';
}

export interface SeededConsole {
  url: string;
  deals: SeedDeal[];
  /** A won deal closeloop skipped (no client id): the trace screenshot's subject. */
  skippedDealId: string;
  service: RunningService;
  close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so the month is the same every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const SOURCES: Array<[weight: number, utm: SeedDeal['utm']]> = [
  [30, { source: 'yandex', medium: 'cpc' }],
  [14, { source: 'google', medium: 'cpc' }],
  [10, { source: 'telegram', medium: 'social' }],
  [8, { source: 'vk', medium: 'cpc' }],
  [7, { source: 'email', medium: 'newsletter' }],
  [6, { source: 'yandex', medium: 'organic' }],
  [8, null],
];

/** The month's leads: 2–6 a working day, fewer at weekends; most won within a week. */
export function seedDeals(now = SEED_NOW): SeedDeal[] {
  const rnd = random(20261203);
  const pick = <T>(options: Array<[number, T]>): T => {
    let r = rnd() * options.reduce((s, [w]) => s + w, 0);
    for (const [w, v] of options) if ((r -= w) < 0) return v;
    return options[options.length - 1]![1];
  };
  const deals: SeedDeal[] = [];
  const ids: Record<Crm, number> = { amocrm: 31_250_001, bitrix24: 1841, site: 70_412 };
  const firstDay = Math.floor(now / DAY) * DAY - 29 * DAY;
  for (let d = 0; d < 30; d++) {
    const weekday = new Date(firstDay + d * DAY).getUTCDay();
    const count =
      weekday === 0 || weekday === 6 ? 1 + Math.floor(rnd() * 2) : 2 + Math.floor(rnd() * 5);
    for (let k = 0; k < count; k++) {
      // Moscow office hours: 09:00–20:00 (UTC+3).
      const createdAt = firstDay + d * DAY + 6 * HOUR + Math.floor(rnd() * 11 * HOUR);
      if (createdAt >= now - HOUR) continue;
      const crm = pick<Crm>([
        [70, 'amocrm'],
        [15, 'bitrix24'],
        [15, 'site'],
      ]);
      const phone = crm !== 'site' && rnd() < 0.1;
      const utm = phone ? null : pick(SOURCES);
      const id = String(ids[crm]++);
      const cookie = 1_764_000_000 + Math.floor(rnd() * 3_000_000);
      const r = rnd();
      // Closed 0–6 days later, in office hours again.
      const closeDay = Math.floor(createdAt / DAY) * DAY + Math.floor(rnd() * 7) * DAY;
      const closesAt = Math.max(
        closeDay + 6 * HOUR + Math.floor(rnd() * 11 * HOUR),
        createdAt + HOUR,
      );
      deals.push({
        crm,
        id,
        createdAt,
        // Sites sell smaller baskets; the sales team's deals are courses and B2B services.
        amount:
          crm === 'site'
            ? 500 * Math.round(5 + rnd() * 40)
            : 500 * Math.round(30 + rnd() * (crm === 'bitrix24' ? 500 : 300)),
        utm,
        gaClientId: phone ? null : `${Math.floor(rnd() * 2e9)}.${cookie}`,
        ymClientId: phone ? null : `${cookie}${String(Math.floor(rnd() * 1e9)).padStart(9, '0')}`,
        end:
          closesAt >= now - HOUR || r > 0.78
            ? null
            : { outcome: r < 0.66 ? 'won' : 'lost', at: closesAt },
      });
    }
  }
  // One won sale GA4 refuses, and one whose answer comes too late: the log's rare outcomes.
  const won = deals.filter((x) => x.crm === 'amocrm' && x.end?.outcome === 'won' && x.gaClientId);
  // Neither visitor had a Metrica cookie (blocked), so GA4 was the only destination for them.
  for (const [at, trouble] of [
    [0.55, 'reject'],
    [0.8, 'late'],
  ] as const) {
    const deal = won[Math.floor(won.length * at)]!;
    deal.ga4Trouble = trouble;
    deal.ymClientId = null;
  }
  return deals;
}

/** amoCRM's status webhook (or a lead added), ids only: the API has the rest. */
function amoHook(action: 'add' | 'status', id: string, statusId: number): string {
  const p = new URLSearchParams();
  const k = `leads[${action}][0]`;
  p.set(`${k}[id]`, id);
  p.set(`${k}[status_id]`, String(statusId));
  p.set(`${k}[pipeline_id]`, String(AMO.pipeline));
  if (action === 'status') p.set(`${k}[old_status_id]`, String(AMO.open));
  p.set('account[id]', '29638927');
  p.set('account[subdomain]', 'example');
  return p.toString();
}

function amoLead(deal: SeedDeal, statusId: number, at: number) {
  const field = (code: string, value: string | null | undefined, id: number) =>
    value
      ? [
          {
            field_id: id,
            field_name: code.toLowerCase(),
            field_code: code,
            field_type: 'tracking_data',
            values: [{ value }],
          },
        ]
      : [];
  return apiLead(Number(deal.id), {
    name: `Заявка с сайта №${deal.id.slice(-4)}`,
    price: deal.amount,
    status_id: statusId,
    created_at: Math.floor(deal.createdAt / 1000),
    updated_at: Math.floor(at / 1000),
    closed_at: statusId === AMO.open ? null : Math.floor(at / 1000),
    custom_fields_values: [
      ...field('GCLIENTID', deal.gaClientId && `GA1.1.${deal.gaClientId}`, 610955),
      ...field('_YM_UID', deal.ymClientId, 610957),
      ...field('UTM_SOURCE', deal.utm?.source, 610961),
      ...field('UTM_MEDIUM', deal.utm?.medium, 610963),
    ],
  });
}

export async function startSeededConsole(
  options: { log?: (line: string) => void } = {},
): Promise<SeededConsole> {
  const log = options.log ?? (() => undefined);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-screenshots-'));
  const clock = { base: SEED_NOW - 30 * DAY, realAt: Date.now() };
  const now = (): number => clock.base + (Date.now() - clock.realAt);
  const setClock = (t: number): void => {
    clock.base = Math.max(t, now()); // never backwards
    clock.realAt = Date.now();
  };

  const deals = seedDeals();
  const ga4: Ga4StandIn = await startGa4StandIn();
  const amo: AmocrmStandIn = await startAmocrmStandIn({ token: KEYS.amocrm });
  const portal: Bitrix24StandIn = await startBitrix24StandIn();
  const metrica: MetricaStandIn = await startMetricaStandIn({
    tokens: { [KEYS.metrica]: { scopes: ['metrika:read', 'metrika:offline_data'] } },
    counters: [KEYS.counter],
  });
  metrica.addGoal(KEYS.counter, 'deal_won');

  const loaded = loadConfig({
    path: 'config/closeloop.example.yaml',
    env: {
      CLOSELOOP_WEBHOOK_SECRET: KEYS.webhook,
      CLOSELOOP_INTAKE_SECRET: KEYS.intake,
      GA4_MEASUREMENT_ID: 'G-7KQ2M9XW3D',
      GA4_API_SECRET: 'screenshots-ga4-api-secret',
      GA4_ENDPOINT: ga4.url,
      AMOCRM_SUBDOMAIN: 'example',
      AMOCRM_TOKEN: KEYS.amocrm,
      AMOCRM_BASE_URL: amo.url,
      BITRIX24_WEBHOOK_URL: portal.webhookUrl,
      BITRIX24_APPLICATION_TOKEN: KEYS.bitrix24,
      METRICA_COUNTER_ID: KEYS.counter,
      METRICA_TOKEN: KEYS.metrica,
      METRICA_ENDPOINT: metrica.url,
      METRICA_FLUSH_SECONDS: '1',
      METRICA_POLL_SECONDS: '1',
    },
  });
  // A GA4 answer later than 1.5 s counts as lost (the example waits 10 s; the seed is in a hurry).
  const config = { ...loaded, ga4: { ...loaded.ga4, timeoutMs: 1500 } };
  const logs = captureLogger();
  const service = await startService({
    config,
    logger: logs.logger,
    redactor: logs.redactor,
    dataDir: dir,
    port: 0,
    host: '127.0.0.1',
    pollIntervalMs: 20,
    metricaTickMs: 50,
    reconcileFirstRunMs: 24 * HOUR,
    now,
    console: { password: CONSOLE_PASSWORD, apiToken: null },
  });
  const url = `http://127.0.0.1:${service.port}`;
  const paths = service.webhookPaths.get('default') ?? {};

  const post = async (source: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${url}${paths[source]}`, { method: 'POST', headers, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${source} webhook answered ${res.status}: ${text}`);
  };
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const happen = async (deal: SeedDeal, end: SeedDeal['end']): Promise<void> => {
    const at = end?.at ?? deal.createdAt;
    // The visit Metrica saw when the lead filled in the form.
    if (end === null && deal.ymClientId)
      metrica.addVisitors(KEYS.counter, { clientIds: [deal.ymClientId] });
    if (deal.crm === 'amocrm') {
      const status = end === null ? AMO.open : end.outcome === 'won' ? AMO.won : AMO.lost;
      amo.leads.set(Number(deal.id), amoLead(deal, status, at));
      await post('amocrm', amoHook(end === null ? 'add' : 'status', deal.id, status), form);
    } else if (deal.crm === 'bitrix24') {
      const stage =
        end === null ? STAGES.newDeal : end.outcome === 'won' ? STAGES.won : STAGES.lost;
      portal.moveDeal(deal.id, stage, {
        TITLE: `Сделка #${deal.id}`,
        OPPORTUNITY: `${deal.amount}.00`,
        CURRENCY_ID: 'RUB',
        ...(deal.gaClientId ? { UF_CRM_GA_CLIENT_ID: `GA1.1.${deal.gaClientId}` } : {}),
        ...(deal.ymClientId ? { UF_CRM_YM_CLIENT_ID: deal.ymClientId } : {}),
        ...(deal.utm ? { UTM_SOURCE: deal.utm.source, UTM_MEDIUM: deal.utm.medium } : {}),
      });
      const event = end === null ? 'ONCRMDEALADD' : 'ONCRMDEALUPDATE';
      await post('bitrix24', outgoingWebhook(event, deal.id, KEYS.bitrix24), form);
    } else {
      const body = JSON.stringify({
        account: 'shop',
        deal_id: deal.id,
        event: end === null ? 'created' : 'stage_changed',
        stage: end === null ? 'new' : end.outcome === 'won' ? 'paid' : 'cancelled',
        outcome: end?.outcome ?? 'open',
        amount: `${deal.amount}.00`,
        currency: 'RUB',
        occurred_at: new Date(at).toISOString(),
        identities: {
          ...(deal.gaClientId ? { ga_client_id: deal.gaClientId } : {}),
          ...(deal.ymClientId ? { ym_client_id: deal.ymClientId } : {}),
        },
        ...(deal.utm ? { utm: deal.utm } : {}),
      });
      const signature = `sha256=${createHmac('sha256', KEYS.intake).update(body).digest('hex')}`;
      await post('generic', body, {
        'content-type': 'application/json',
        'x-closeloop-signature': signature,
      });
    }
  };

  /**
   * The day's uploads to Metrica, followed till PROCESSED: its statuses move on with its own clock,
   * 40 minutes at each look.
   */
  const metricaProcessed = async (dealIds: string[]) => {
    const done = async (dealId: string) =>
      (await service.store.deliveryLog.list({ dealId, destination: 'metrica' })).some((r) =>
        /status PROCESSED/.test(r.reason ?? ''),
      );
    await waitFor(
      async () => {
        metrica.advance(40 * 60_000);
        return (await Promise.all(dealIds.map(done))).every(Boolean);
      },
      { timeoutMs: 20_000, intervalMs: 100, message: `Metrica to process ${dealIds.join(', ')}` },
    );
  };

  const moments = deals
    .flatMap((deal) => [
      { at: deal.createdAt, deal, end: null },
      ...(deal.end ? [{ at: deal.end.at, deal, end: deal.end }] : []),
    ])
    .sort((a, b) => a.at - b.at);
  const started = Date.now();
  let uploads: string[] = [];
  for (const m of moments) {
    if (uploads.length > 0 && Math.floor(m.at / DAY) !== Math.floor(now() / DAY)) {
      await metricaProcessed(uploads);
      uploads = [];
    }
    setClock(m.at);
    if (m.end?.outcome === 'won' && m.deal.ga4Trouble === 'reject') ga4.failNext(1, 400);
    if (m.end?.outcome === 'won' && m.deal.ga4Trouble === 'late') ga4.hangNext(1, 3000);
    await happen(m.deal, m.end);
    await waitForDrained(service.store.queue, 30_000);
    if (m.end?.outcome === 'won' && m.deal.ymClientId) uploads.push(m.deal.id);
  }
  await metricaProcessed(uploads);
  setClock(SEED_NOW);
  log(
    `seeded ${deals.length} deals (${moments.length} webhooks) in ${((Date.now() - started) / 1000).toFixed(1)} s; GA4 got ${ga4.collected().length} requests, Metrica ${metrica.uploads().length} uploads`,
  );

  // The last week's won deal that reached no one: what a marketer would open.
  const skipped = deals.findLast(
    (d) => d.crm === 'amocrm' && d.end?.outcome === 'won' && !d.gaClientId,
  );
  return {
    url,
    deals,
    skippedDealId: skipped?.id ?? deals[0]!.id,
    service,
    close: async () => {
      await service.close();
      await Promise.all([ga4.close(), amo.close(), portal.close(), metrica.close()]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
