/**
 * A 2,000-deal run killed with SIGKILL at random moments: won-deal webhooks are posted the way
 * amoCRM posts them (again, until one is answered 200), the processes are killed at random points of
 * intake and delivery and started again, and once every acknowledged deal has settled the run counts
 * what GA4 (the stand-in) received against what was acknowledged:
 * - lost: an acknowledged deal whose purchase never arrived, or whose close_convert_lead neither
 *   arrived nor is held as uncertain (the promise: never);
 * - lead events repeated: a close_convert_lead that arrived twice (never);
 * - purchases repeated: a purchase that arrived again after a kill interrupted its send, always with
 *   the same transaction_id (allowed: GA4 counts one purchase per transaction id);
 * - uncertain: deliveries a kill interrupted, held for a person (`closeloop replay`).
 * GA4 answers after a few milliseconds, so a kill often lands while sends are in flight.
 */
import { spawnSync } from 'node:child_process';
import type { Ga4StandIn } from '../helpers/ga4-stand-in';
import { countEvents, dealOf, eventsOf } from '../helpers/ga4-events';
import { webhookBody } from '../helpers/amocrm-webhook';
import { waitFor } from '../helpers/wait-for';
import {
  BIN,
  kill9,
  postWebhook,
  startCloseloopProcess,
  type CloseloopProcess,
} from '../helpers/closeloop-process';
import type { Random } from './random';

export interface CrashRunOptions {
  rnd: Random;
  ga4: Ga4StandIn;
  /** The environment of every process (store, secrets, GA4 endpoint). */
  env: Record<string, string>;
  /** How many processes serve at once (each `closeloop start`, role all). */
  processes: number;
  deals: number;
  kills: number;
  webhookSecret: string;
  firstDeal: number;
}

export interface CrashRunCounts {
  deals: number;
  kills: number;
  /** Webhook POSTs that got no 200 (connection refused or cut by a kill), then sent again. */
  webhooksRetried: number;
  lost: number;
  leadEventsRepeated: number;
  purchasesRepeated: number;
  /** Purchases that arrived with a transaction_id other than their deal's (never). */
  purchasesWithOtherTransactionId: number;
  uncertain: number;
  /** Events listed as uncertain other than close_convert_lead (purchases are resent instead). */
  uncertainNotLeadEvents: number;
  /** Of the uncertain lead events, how many GA4 had in fact received before the kill. */
  uncertainThatArrived: number;
}

export async function runCrashRun(o: CrashRunOptions): Promise<CrashRunCounts> {
  const live: Array<CloseloopProcess | null> = [];
  const all: CloseloopProcess[] = [];
  const start = async (slot: number): Promise<void> => {
    const child = await startCloseloopProcess(o.env, { timeoutMs: 30_000 });
    all.push(child);
    live[slot] = child;
  };
  try {
    await Promise.all(Array.from({ length: o.processes }, (_, i) => start(i)));
    const pending = Array.from({ length: o.deals }, (_, i) => o.firstDeal + i);
    const acked = new Set<number>();
    let retried = 0;
    const poster = async (): Promise<void> => {
      for (;;) {
        const id = pending.shift();
        if (id === undefined) {
          if (acked.size >= o.deals) return;
          await sleep(20); // another poster's deal may come back
          continue;
        }
        const up = live.filter((c): c is CloseloopProcess => c !== null);
        const target = up.length > 0 ? o.rnd.pick(up) : undefined;
        let status = 0;
        try {
          if (target) {
            status = await postWebhook(
              target.port,
              o.webhookSecret,
              webhookBody('status', [{ id, clientId: `GA1.1.${id}.1700000000` }]),
            );
          }
        } catch {
          status = 0;
        }
        if (status === 200) {
          acked.add(id);
        } else {
          retried++;
          pending.push(id); // amoCRM sends it again
          await sleep(50);
        }
      }
    };
    const posting = Promise.all(Array.from({ length: 16 }, poster));

    const total = 2 * o.deals; // acknowledged webhooks + GA4 requests
    const progress = (): number => acked.size + o.ga4.collected().length;
    const targets = Array.from({ length: o.kills }, () =>
      Math.floor(total * (0.05 + o.rnd.next() * 0.85)),
    ).sort((a, b) => a - b);
    for (const target of targets) {
      await waitFor(() => progress() >= target, { timeoutMs: 120_000, intervalMs: 2 });
      await sleep(o.rnd.int(0, 30));
      const slot = o.rnd.int(0, o.processes - 1);
      const victim = live[slot];
      live[slot] = null;
      if (victim) await kill9(victim);
      await sleep(o.rnd.int(0, 300));
      await start(slot);
    }
    await posting;

    const ids = [...acked].map(String);
    const cli = cliFor(o.env);
    let uncertainRows: UncertainRow[] = [];
    const settled = (): boolean => {
      const purchases = countEvents(o.ga4.collected(), 'purchase');
      if (!ids.every((id) => purchases.has(id))) return false;
      const converts = countEvents(o.ga4.collected(), 'close_convert_lead');
      const missing = ids.filter((id) => !converts.has(id));
      if (missing.length === 0) return true;
      uncertainRows = cli.uncertain();
      const held = new Set(uncertainRows.map((r) => r.dealId));
      return missing.every((id) => held.has(id));
    };
    await waitFor(settled, {
      timeoutMs: 120_000,
      intervalMs: 500,
      message: () =>
        `every acknowledged deal to settle (${countEvents(o.ga4.collected(), 'purchase').size} purchases of ${ids.length})`,
    });
    await sleep(1500); // anything sent twice would arrive now
    uncertainRows = cli.uncertain();

    const requests = o.ga4.collected();
    const purchases = countEvents(requests, 'purchase');
    const converts = countEvents(requests, 'close_convert_lead');
    const held = new Set(
      uncertainRows.filter((r) => r.events.includes('close_convert_lead')).map((r) => r.dealId),
    );
    let otherTransactionIds = 0;
    for (const r of requests) {
      for (const e of eventsOf(r)) {
        if (e.name === 'purchase' && e.params.transaction_id !== dealOf(r)) otherTransactionIds++;
      }
    }
    return {
      deals: o.deals,
      kills: o.kills,
      webhooksRetried: retried,
      lost: ids.filter((id) => !purchases.has(id) || (!converts.has(id) && !held.has(id))).length,
      leadEventsRepeated: sumOver(converts),
      purchasesRepeated: sumOver(purchases),
      purchasesWithOtherTransactionId: otherTransactionIds,
      uncertain: uncertainRows.length,
      uncertainNotLeadEvents: uncertainRows.filter((r) =>
        r.events.some((e) => e !== 'close_convert_lead'),
      ).length,
      uncertainThatArrived: [...held].filter((id) => converts.has(id)).length,
    };
  } finally {
    await Promise.all(all.map((c) => kill9(c)));
  }
}

export function formatCounts(store: string, c: CrashRunCounts, seed: number): string {
  return `${store}: ${c.deals} deals, ${c.kills} SIGKILL (seed ${seed}); webhooks sent again ${c.webhooksRetried}; lost ${c.lost}, lead events repeated ${c.leadEventsRepeated}, purchases repeated ${c.purchasesRepeated} (same transaction_id), uncertain ${c.uncertain} (of them already in GA4 ${c.uncertainThatArrived})`;
}

interface UncertainRow {
  dealId: string;
  events: string[];
}

/** `closeloop deliveries --outcome uncertain --json`, beside the running processes. */
function cliFor(env: Record<string, string>): { uncertain: () => UncertainRow[] } {
  const cliEnv: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const k of ['CLOSELOOP_DATA_DIR', 'REDIS_URL', 'CLOSELOOP_REDIS_PREFIX']) {
    if (env[k] !== undefined) cliEnv[k] = env[k];
  }
  return {
    uncertain: () => {
      const r = spawnSync(
        process.execPath,
        [BIN, 'deliveries', '--json', '--limit', '10000', '--outcome', 'uncertain'],
        { env: cliEnv, encoding: 'utf8', timeout: 30_000 },
      );
      if (r.status !== 0) throw new Error(`closeloop deliveries failed: ${r.stderr}`);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as UncertainRow);
    },
  };
}

/** How many arrived more than once, over all deals. */
function sumOver(counts: Map<string, number>): number {
  let extra = 0;
  for (const n of counts.values()) extra += Math.max(0, n - 1);
  return extra;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
