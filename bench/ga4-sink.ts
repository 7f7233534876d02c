/**
 * The GA4 stand-in for the end-to-end benchmark, in its own process (forked by bench/e2e.ts with an
 * IPC channel), so that its CPU is counted apart from closeloop's and the load generator's.
 *
 * Like test/helpers/ga4-stand-in.ts it answers `POST /mp/collect` with 204 and validates every
 * payload with the same `validateGa4Payload`; unlike it, it keeps only what the benchmark needs: the
 * arrival time (wall clock, sub-millisecond) of each request, its `transaction_id`s and event count.
 *
 * IPC: sends `{ type: 'ready', port }`; answers `count` with `{ type: 'count', purchases, requests }`,
 * `dump` with `{ type: 'dump', ... }`; `reset` forgets everything recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { validateGa4Payload } from '../src/adapters/destinations/ga4/validate-ga4-payload';

export interface SinkArrival {
  /** Wall clock, ms (performance.timeOrigin + performance.now()). */
  at: number;
  /** transaction_id of each purchase event in the request. */
  purchases: string[];
  events: string[];
  problems: number;
}

export type SinkMessage =
  | { type: 'ready'; port: number }
  | { type: 'count'; purchases: number; requests: number }
  | { type: 'dump'; arrivals: SinkArrival[]; other: number };

let arrivals: SinkArrival[] = [];
let purchases = 0;
/** Requests that were not POST /mp/collect with a JSON body. */
let other = 0;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.timeOrigin + performance.now();
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/mp/collect') {
      other += 1;
      res.writeHead(404);
      res.end();
      return;
    }
    const raw = Buffer.concat(chunks);
    try {
      const json = JSON.parse(raw.toString('utf8')) as {
        events?: Array<{ name?: string; params?: { transaction_id?: unknown } }>;
      };
      const problems = validateGa4Payload(json, { bodyBytes: raw.length, nowMs: Date.now() });
      const events = (json.events ?? []).map((e) => String(e.name));
      const ids = (json.events ?? [])
        .filter((e) => e.name === 'purchase')
        .map((e) => String(e.params?.transaction_id));
      purchases += ids.length;
      arrivals.push({ at, purchases: ids, events, problems: problems.length });
    } catch {
      other += 1;
    }
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;

process.on('message', (m: { type: string }) => {
  if (m.type === 'count') {
    process.send!({ type: 'count', purchases, requests: arrivals.length } satisfies SinkMessage);
  } else if (m.type === 'dump') {
    process.send!({ type: 'dump', arrivals, other } satisfies SinkMessage);
  } else if (m.type === 'reset') {
    arrivals = [];
    purchases = 0;
    other = 0;
  }
});
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () =>
  process.send!({
    type: 'ready',
    port: (server.address() as AddressInfo).port,
  } satisfies SinkMessage),
);
