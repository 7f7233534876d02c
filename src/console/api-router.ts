/**
 * The JSON API under /api/v1 (docs/api.md), behind the console's authentication (create-console.ts
 * checks the session or the API token, and the CSRF token of every POST, before these run).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Store } from '../ports/store';
import type { DeliveryLogFilter } from '../ports/delivery-log';
import {
  badRequest,
  listDeliveries,
  parseDeliveryQuery,
  streamDeliveriesCsv,
} from './api-deliveries';
import { dealStory } from './api-deal';
import { buildOverview } from './api-overview';
import { replayDeliveries } from './replay-deliveries';

/** What the console does that needs more than the store: given by the composition root. */
export interface ConsoleActions {
  /** The default currency of the overview when no row says one. */
  currency: string | null;
  /** One test event through GA4's validation server. */
  sendTest(
    event: string | undefined,
  ): Promise<{ valid: boolean; messages: unknown[] } & Record<string, unknown>>;
  /** One reconciliation pass of every CRM that has one. */
  reconcile(): Promise<{ started: boolean } & Record<string, unknown>>;
  /** The setup page's facts; `origin` is this server's as the browser sees it. */
  setup(origin: string): Promise<Record<string, unknown>>;
}

export interface ApiDeps {
  store: Store;
  actions: ConsoleActions;
  now: () => number;
}

/** Async handlers whose rejections reach express's error handler. */
const wrap =
  (fn: (req: Request, res: Response) => Promise<unknown>) =>
  (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch(next);
  };

export function createApiRouter(deps: ApiDeps): Router {
  const { store, actions } = deps;
  const api = express.Router();
  api.use(express.json({ limit: '16kb' }));

  api.get(
    '/deliveries',
    wrap(async (req, res) => {
      res.json(await listDeliveries(store.deliveryLog, parseDeliveryQuery(req.query)));
    }),
  );
  api.get(
    '/deliveries.csv',
    wrap(async (req, res) => {
      const { limit: _limit, ...filter } = parseDeliveryQuery(req.query);
      await streamDeliveriesCsv(store.deliveryLog, filter, res);
    }),
  );
  api.get(
    '/deals/:id',
    wrap(async (req, res) => {
      const id = String(req.params.id);
      if (id.length === 0 || id.length > 100) throw badRequest('a deal id has 1 to 100 characters');
      res.json(await dealStory(id, store.dealTrace, store.deliveryLog));
    }),
  );
  api.get(
    '/overview',
    wrap(async (req, res) => {
      const days = req.query.days === undefined ? 30 : Number(req.query.days);
      if (!Number.isInteger(days) || days < 1 || days > 92)
        throw badRequest('days must be a whole number from 1 to 92');
      res.json(
        await buildOverview(store.deliveryLog, store.dealTrace, days, deps.now(), actions.currency),
      );
    }),
  );
  api.get(
    '/setup',
    wrap(async (req, res) => {
      res.json(await actions.setup(`${req.protocol}://${req.get('host') ?? 'localhost'}`));
    }),
  );
  api.post(
    '/replay',
    wrap(async (req, res) => {
      const body = (req.body ?? {}) as { id?: unknown; ids?: unknown; filter?: unknown };
      res.json(await replayDeliveries(store, parseReplayBody(body), deps.now()));
    }),
  );
  api.post(
    '/send-test',
    wrap(async (req, res) => {
      const event = (req.body as { event?: unknown } | undefined)?.event;
      if (
        event !== undefined &&
        (typeof event !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(event))
      ) {
        throw badRequest(
          'event must be an event name: a letter, then letters, digits or _, at most 40',
        );
      }
      res.json(await actions.sendTest(event));
    }),
  );
  api.post(
    '/reconcile',
    wrap(async (_req, res) => {
      res.json(await actions.reconcile());
    }),
  );
  return api;
}

/** `{ id }`, `{ ids: [...] }` (delivery-log row ids) or `{ filter: { outcome, deal, … } }`. */
function parseReplayBody(body: {
  id?: unknown;
  ids?: unknown;
  filter?: unknown;
}): { ids: number[] } | { filter: DeliveryLogFilter } {
  const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (body.id !== undefined) {
    const id = typeof body.id === 'string' ? Number(body.id) : body.id;
    if (!isId(id)) throw badRequest('id must be a delivery id (a whole number)');
    return { ids: [id] };
  }
  if (body.ids !== undefined) {
    const ids: unknown[] = Array.isArray(body.ids)
      ? (body.ids as unknown[]).map((v) => (typeof v === 'string' ? Number(v) : v))
      : [];
    if (ids.length === 0 || ids.length > 1000 || !ids.every(isId)) {
      throw badRequest('ids must be a list of 1 to 1000 delivery ids');
    }
    return { ids: ids.filter(isId) };
  }
  if (body.filter !== undefined && typeof body.filter === 'object' && body.filter !== null) {
    const query = Object.fromEntries(
      Object.entries(body.filter as Record<string, unknown>).map(([k, v]) => [
        k,
        typeof v === 'string' || typeof v === 'number' ? String(v) : undefined,
      ]),
    );
    const { limit: _l, beforeId: _b, ...filter } = parseDeliveryQuery(query);
    // Only failed rows can be replayed; a filter without an outcome means the failed ones.
    return { filter: { ...filter, outcome: filter.outcome ?? 'failed' } };
  }
  throw badRequest(
    `send { "id": <delivery id> }, { "ids": [...] } or { "filter": { "outcome": "failed", … } }`,
  );
}
