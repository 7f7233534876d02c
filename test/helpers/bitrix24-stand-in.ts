/**
 * A local Bitrix24 portal on loopback for tests and the Bitrix24 benchmark: the REST API behind an
 * incoming webhook (`/rest/<user>/<secret>/<method>[.json]`, JSON or form-encoded bodies), with
 * what closeloop calls: `batch` (≤ 50 commands, `result`/`result_error` by key, 200 even when a
 * command fails), `crm.deal.get`, `crm.lead.get`, `crm.stagehistory.list` (filter `>ID` /
 * `>=CREATED_TIME`, pages of 50 with `next`), `crm.category.list`, `crm.status.list`,
 * `crm.lead.add`, `crm.contact.add`, `crm.deal.add`, `crm.{deal,lead}.userfield.{list,add}`.
 *
 * Strict where Bitrix24 is (research bitrix24.md): a wrong secret is `401 NO_AUTH_FOUND`; the
 * portal's leaky bucket (2 a second drained, 50 held) answers `503 QUERY_LIMIT_EXCEEDED` /
 * "Too many requests" when it overflows (§4.1); `crm.deal.get` of a missing deal is a 400 with an
 * empty code and "Not found" (§3.6); more than 50 commands is `ERROR_BATCH_LENGTH_EXCEEDED`
 * (§4.3). Switches: `failNext(n, status, error)` for faults, `holdMethod(method, resetAt)` for
 * `429 OPERATION_TIME_LIMIT` (§4.2).
 *
 * `outgoingWebhook(...)` writes the form body Bitrix24's queue server posts for an event, exactly
 * as §1.3 shows it: `event`, `event_handler_id`, `data[FIELDS][ID]`, `ts`, `auth[...]`.
 */
import http from 'node:http';
import type { B24Deal, B24Lead } from '../../src/adapters/crm/bitrix24/bitrix24-types';
import { listenOnLoopback } from './listen-on-loopback';

export const PORTAL_MEMBER_ID = 'a223c6b3710f85df22e9377d6c4f7553';
export const PORTAL_DOMAIN = 'example.bitrix24.ru';

export interface HistoryRow {
  ID: string;
  TYPE_ID: string;
  OWNER_ID: string;
  CREATED_TIME: string;
  CATEGORY_ID?: string;
  STAGE_SEMANTIC_ID?: string;
  STAGE_ID?: string;
  STATUS_ID?: string;
  STATUS_SEMANTIC_ID?: string;
}

export interface Bitrix24StandIn {
  /** The incoming webhook URL, with its trailing slash. */
  webhookUrl: string;
  deals: Map<string, B24Deal>;
  leads: Map<string, B24Lead>;
  history: { deal: HistoryRow[]; lead: HistoryRow[] };
  userFields: { deal: string[]; lead: string[] };
  /** Every HTTP request, with its method and, for a batch, its commands. */
  requests: () => Array<{ at: number; method: string; status: number; commands: string[] }>;
  /** 503 QUERY_LIMIT_EXCEEDED answers so far. */
  limitAnswers: () => number;
  /** Created records' fields, in order: what crm.lead.add / crm.deal.add / crm.contact.add got. */
  created: () => Array<{ method: string; fields: Record<string, unknown> }>;
  /** Puts a deal in a stage (a new deal, or a move), with a history row, as the CRM would. */
  moveDeal: (id: string, stage: DealStage, over?: Partial<B24Deal>) => B24Deal;
  putLead: (id: string, over?: Partial<B24Lead>) => B24Lead;
  failNext: (n: number, status: number, error: string, description?: string) => void;
  holdMethod: (method: string, resetAtSeconds: number) => void;
  close: () => Promise<void>;
}

export interface DealStage {
  categoryId: string;
  stageId: string;
  semantic: 'P' | 'S' | 'F';
}

export const STAGES = {
  newDeal: { categoryId: '0', stageId: 'NEW', semantic: 'P' },
  preparation: { categoryId: '0', stageId: 'PREPARATION', semantic: 'P' },
  won: { categoryId: '0', stageId: 'WON', semantic: 'S' },
  lost: { categoryId: '0', stageId: 'LOSE', semantic: 'F' },
  wonWholesale: { categoryId: '1', stageId: 'C1:WON', semantic: 'S' },
} as const satisfies Record<string, DealStage>;

/** The outgoing webhook's form body for `event` about `id` (§1.3). */
export function outgoingWebhook(
  event: string,
  id: string,
  token: string,
  extra: Record<string, string> = {},
): string {
  const p = new URLSearchParams();
  p.set('event', event);
  p.set('event_handler_id', '17');
  p.set('data[FIELDS][ID]', id);
  p.set('ts', String(Math.floor(Date.now() / 1000)));
  p.set('auth[domain]', PORTAL_DOMAIN);
  p.set('auth[client_endpoint]', `https://${PORTAL_DOMAIN}/rest/`);
  p.set('auth[server_endpoint]', 'https://oauth.bitrix.info/rest/');
  p.set('auth[member_id]', PORTAL_MEMBER_ID);
  p.set('auth[application_token]', token);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

/** A PHP-style query (`filter[>ID]=5&cmd[d1]=…`) as nested objects, as Bitrix24 reads it. */
export function parsePhpQuery(query: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const parts = key.split(/\[|\]\[|\]$/).filter((s, i) => i === 0 || s !== '');
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = (node[part] ??= {}) as Record<string, unknown>;
    });
  }
  return root;
}

/** A request parameter as text (Bitrix24 reads every value as a string). */
const str = (v: unknown, fallback = ''): string =>
  typeof v === 'string' || typeof v === 'number' ? String(v) : fallback;

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

const STATUS_LISTS: Readonly<Record<string, Array<Record<string, unknown>>>> = {
  DEAL_STAGE: [
    { STATUS_ID: 'NEW', NAME: 'Новая', SORT: '10', SEMANTICS: null },
    { STATUS_ID: 'PREPARATION', NAME: 'Подготовка документов', SORT: '20', SEMANTICS: null },
    { STATUS_ID: 'WON', NAME: 'Сделка успешна', SORT: '60', SEMANTICS: 'S' },
    { STATUS_ID: 'LOSE', NAME: 'Сделка провалена', SORT: '70', SEMANTICS: 'F' },
  ],
  DEAL_STAGE_1: [
    { STATUS_ID: 'C1:NEW', NAME: 'Новая', SORT: '10', SEMANTICS: null },
    { STATUS_ID: 'C1:WON', NAME: 'Оплачено', SORT: '60', SEMANTICS: 'S' },
    { STATUS_ID: 'C1:LOSE', NAME: 'Отказ', SORT: '70', SEMANTICS: 'F' },
  ],
  STATUS: [
    { STATUS_ID: 'NEW', NAME: 'Не обработан', SORT: '10', SEMANTICS: null },
    { STATUS_ID: 'IN_PROCESS', NAME: 'В работе', SORT: '20', SEMANTICS: null },
    { STATUS_ID: 'CONVERTED', NAME: 'Качественный лид', SORT: '60', SEMANTICS: 'S' },
    { STATUS_ID: 'JUNK', NAME: 'Некачественный лид', SORT: '70', SEMANTICS: 'F' },
  ],
};

type Answer = { status: number; body: unknown };

export async function startBitrix24StandIn(
  options: { perSecond?: number; burst?: number; secret?: string } = {},
): Promise<Bitrix24StandIn> {
  const perSecond = options.perSecond ?? 2;
  const burst = options.burst ?? 50;
  const secret = options.secret ?? 'b24secret0123456789ab';
  const deals = new Map<string, B24Deal>();
  const leads = new Map<string, B24Lead>();
  const history = { deal: [] as HistoryRow[], lead: [] as HistoryRow[] };
  const userFields = { deal: [] as string[], lead: [] as string[] };
  const log: Array<{ at: number; method: string; status: number; commands: string[] }> = [];
  const created: Array<{ method: string; fields: Record<string, unknown> }> = [];
  const faults: Array<{ status: number; error: string; description: string }> = [];
  const held = new Map<string, number>();
  let level = 0;
  let drainedAt = Date.now();
  let limited = 0;
  let nextHistoryId = 1;
  let nextId = 9001;

  const addHistory = (
    kind: 'deal' | 'lead',
    row: Omit<HistoryRow, 'ID' | 'CREATED_TIME'>,
  ): void => {
    history[kind].push({ ...row, ID: String(nextHistoryId++), CREATED_TIME: iso(Date.now()) });
  };

  const moveDeal = (id: string, stage: DealStage, over: Partial<B24Deal> = {}): B24Deal => {
    const before = deals.get(id);
    const now = iso(Date.now());
    const deal: B24Deal = {
      ID: id,
      TITLE: `Сделка #${id}`,
      OPPORTUNITY: '0.00',
      CURRENCY_ID: 'RUB',
      LEAD_ID: null,
      ASSIGNED_BY_ID: '1',
      DATE_CREATE: now,
      UTM_SOURCE: null,
      UTM_MEDIUM: null,
      UTM_CAMPAIGN: null,
      UTM_CONTENT: null,
      UTM_TERM: null,
      UF_CRM_GA_CLIENT_ID: false,
      ...before,
      ...over,
      CATEGORY_ID: stage.categoryId,
      STAGE_ID: stage.stageId,
      STAGE_SEMANTIC_ID: stage.semantic,
      CLOSED: stage.semantic === 'P' ? 'N' : 'Y',
      DATE_MODIFY: now,
      MOVED_TIME: before?.STAGE_ID === stage.stageId ? (before.MOVED_TIME ?? now) : now,
    };
    deals.set(id, deal);
    if (before?.STAGE_ID !== stage.stageId) {
      addHistory('deal', {
        TYPE_ID: before === undefined ? '1' : stage.semantic === 'P' ? '2' : '3',
        OWNER_ID: id,
        CATEGORY_ID: stage.categoryId,
        STAGE_ID: stage.stageId,
        STAGE_SEMANTIC_ID: stage.semantic,
      });
    }
    return deal;
  };

  const putLead = (id: string, over: Partial<B24Lead> = {}): B24Lead => {
    const before = leads.get(id);
    const now = iso(Date.now());
    const lead: B24Lead = {
      ID: id,
      TITLE: 'Заявка с сайта',
      STATUS_ID: 'NEW',
      STATUS_SEMANTIC_ID: 'P',
      OPPORTUNITY: '0.00',
      CURRENCY_ID: 'RUB',
      DATE_CREATE: now,
      ...before,
      ...over,
      DATE_MODIFY: now,
    };
    leads.set(id, lead);
    if (before?.STATUS_ID !== lead.STATUS_ID) {
      addHistory('lead', {
        TYPE_ID: before === undefined ? '1' : '2',
        OWNER_ID: id,
        STATUS_ID: String(lead.STATUS_ID),
        STATUS_SEMANTIC_ID: String(lead.STATUS_SEMANTIC_ID),
      });
    }
    return lead;
  };

  const notFound: Answer = { status: 400, body: { error: '', error_description: 'Not found' } };
  const ok = (result: unknown, extra: Record<string, unknown> = {}): Answer => ({
    status: 200,
    body: { result, ...extra, time: { start: Date.now() / 1000, operating: 0 } },
  });

  const listHistory = (params: Record<string, unknown>): Answer => {
    const kind = Number(params.entityTypeId) === 1 ? 'lead' : 'deal';
    const filter = (params.filter ?? {}) as Record<string, unknown>;
    const start = Number(params.start ?? 0) || 0;
    const rows = history[kind].filter(
      (r) =>
        (filter['>ID'] === undefined || Number(r.ID) > Number(filter['>ID'])) &&
        (filter['>=CREATED_TIME'] === undefined ||
          Date.parse(r.CREATED_TIME) >= Date.parse(str(filter['>=CREATED_TIME']))),
    );
    const page = rows.slice(start, start + 50);
    return ok(
      { items: page },
      {
        total: rows.length,
        ...(start + 50 < rows.length ? { next: start + 50 } : {}),
      },
    );
  };

  const add = (method: string, fields: Record<string, unknown>): Answer => {
    const id = String(nextId++);
    created.push({ method, fields });
    if (method === 'crm.lead.add') {
      putLead(id, { ...(fields as Partial<B24Lead>), ID: id });
    } else if (method === 'crm.deal.add') {
      moveDeal(
        id,
        {
          categoryId: str(fields.CATEGORY_ID, '0'),
          stageId: str(fields.STAGE_ID, 'NEW'),
          semantic: 'P',
        },
        fields,
      );
    }
    return ok(Number(id));
  };

  /** One method, as its own request or as a batch command. */
  const run = (method: string, params: Record<string, unknown>): Answer => {
    const until = held.get(method);
    if (until !== undefined && until * 1000 > Date.now()) {
      return {
        status: 429,
        body: {
          error: 'OPERATION_TIME_LIMIT',
          error_description: 'Method is blocked due to operation time limit.',
          time: { operating: 480.5, operating_reset_at: until },
        },
      };
    }
    switch (method) {
      case 'crm.deal.get': {
        const deal = deals.get(String(params.id ?? params.ID));
        return deal === undefined ? notFound : ok(deal);
      }
      case 'crm.lead.get': {
        const lead = leads.get(String(params.id ?? params.ID));
        return lead === undefined ? notFound : ok(lead);
      }
      case 'crm.stagehistory.list':
        return listHistory(params);
      case 'crm.category.list':
        return ok({
          categories: [
            { id: 0, name: 'Общая', sort: 100, entityTypeId: 2, isDefault: 'Y' },
            { id: 1, name: 'Опт', sort: 200, entityTypeId: 2, isDefault: 'N' },
          ],
        });
      case 'crm.status.list': {
        const entity = str((params.filter as Record<string, unknown> | undefined)?.ENTITY_ID);
        return ok(STATUS_LISTS[entity] ?? []);
      }
      case 'crm.lead.add':
      case 'crm.deal.add':
      case 'crm.contact.add':
        return add(method, (params.fields ?? {}) as Record<string, unknown>);
      case 'crm.deal.userfield.list':
      case 'crm.lead.userfield.list': {
        const kind = method.includes('.deal.') ? 'deal' : 'lead';
        return ok(
          userFields[kind].map((name, i) => ({
            ID: String(i + 1),
            FIELD_NAME: name,
            USER_TYPE_ID: 'string',
          })),
        );
      }
      case 'crm.deal.userfield.add':
      case 'crm.lead.userfield.add': {
        const kind = method.includes('.deal.') ? 'deal' : 'lead';
        const fields = (params.fields ?? {}) as Record<string, unknown>;
        const name = `UF_CRM_${str(fields.FIELD_NAME).replace(/^UF_CRM_|^UF_/, '')}`;
        if (userFields[kind].includes(name)) {
          return {
            status: 400,
            body: { error: 'ERROR_CORE', error_description: 'Поле с таким кодом уже существует' },
          };
        }
        userFields[kind].push(name);
        return ok(userFields[kind].length);
      }
      default:
        return {
          status: 404,
          body: { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' },
        };
    }
  };

  const batch = (params: Record<string, unknown>): Answer => {
    const cmd = (params.cmd ?? {}) as Record<string, string>;
    const keys = Object.keys(cmd);
    if (keys.length > 50) {
      return {
        status: 400,
        body: {
          error: 'ERROR_BATCH_LENGTH_EXCEEDED',
          error_description: 'Max batch length exceeded',
        },
      };
    }
    const result: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    const times: Record<string, unknown> = {};
    for (const key of keys) {
      const text = cmd[key]!.replace(/\$result\[(\w+)\]/g, (_, k: string) => str(result[k]));
      const [method = '', query = ''] = text.split('?', 2) as [string, string];
      const answer = run(method, parsePhpQuery(query));
      const body = answer.body as { result?: unknown; error?: string; error_description?: string };
      if (answer.status === 200) result[key] = body.result;
      else errors[key] = { error: body.error, error_description: body.error_description };
      times[key] = (body as { time?: unknown }).time ?? { operating: 0 };
    }
    // PHP encodes an empty array as [] and a keyed one as an object (§4.3).
    return ok({
      result: keys.length === 0 ? [] : result,
      result_error: Object.keys(errors).length ? errors : [],
      result_total: [],
      result_next: [],
      result_time: keys.length === 0 ? [] : times,
    });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const match = /^\/rest\/(\d+)\/([^/]+)\/([a-z0-9_.]+?)(?:\.json)?(?:\?.*)?$/i.exec(
        req.url ?? '',
      );
      const method = match?.[3] ?? '';
      let answer: Answer;
      let commands: string[] = [];
      const now = Date.now();
      level = Math.max(0, level - ((now - drainedAt) / 1000) * perSecond);
      drainedAt = now;
      if (match === null || match[2] !== secret) {
        answer = {
          status: 401,
          body: { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' },
        };
      } else if (level + 1 > burst) {
        limited++;
        answer = {
          status: 503,
          body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' },
        };
      } else {
        level += 1;
        const fault = faults.shift();
        if (fault !== undefined) {
          answer = {
            status: fault.status,
            body: { error: fault.error, error_description: fault.description },
          };
        } else {
          const text = Buffer.concat(chunks).toString('utf8');
          const type = req.headers['content-type'] ?? '';
          const params = (
            type.includes('json') ? JSON.parse(text || '{}') : parsePhpQuery(text)
          ) as Record<string, unknown>;
          if (method === 'batch')
            commands = Object.values((params.cmd ?? {}) as Record<string, string>);
          answer = method === 'batch' ? batch(params) : run(method, params);
        }
      }
      log.push({ at: now, method, status: answer.status, commands });
      const body = JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  const { url } = await listenOnLoopback(server);
  return {
    webhookUrl: `${url}/rest/1/${secret}/`,
    deals,
    leads,
    history,
    userFields,
    requests: () => [...log],
    limitAnswers: () => limited,
    created: () => [...created],
    moveDeal,
    putLead,
    failNext: (n, status, error, description = '') => {
      for (let i = 0; i < n; i++) faults.push({ status, error, description });
    },
    holdMethod: (method, resetAt) => held.set(method, resetAt),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
