/**
 * A local Yandex Metrica Management API on a real `node:http` server (127.0.0.1, a free port), for
 * tests and the Metrica benchmark, built from research yandex-metrica.md §8.6 and as strict as it.
 *
 *   const metrica = await startMetricaStandIn({ tokens: { t1: { scopes: ['metrika:read',
 *     'metrika:offline_data'] } }, counters: ['12345678'] });
 *   metrica.addVisitors('12345678', { clientIds: ['133591247640966458'] });
 *   metrica.addGoal('12345678', 'deal_won');
 *   … the code under test uses metrica.url as METRICA_ENDPOINT …
 *   metrica.advance(30 * 60_000);           // the fake clock: uploads move on to PROCESSED
 *   metrica.uploads()[0].linked_quantity;   // what Metrica made of the file
 *   metrica.requests.length;                // every request, for counting
 *   metrica.setFault({ kind: 'status', status: 503 });
 *   metrica.setFault({ kind: 'drop', endpoint: 'upload' }); // taken in, then the connection cut
 *   await metrica.close();
 *
 * Endpoints (`{id}` = counter): `POST /management/v1/counter/{id}/offline_conversions/upload`
 * (multipart part `file`, query `client_id_type`, `type`, `comment`), `GET …/uploadings?limit=
 * &offset=` (newest first), `GET …/uploading/{uploadingId}`, `GET …/visit_join_threshold`,
 * `GET|POST /management/v1/counter/{id}/goals`, `POST /cdp/api/v1/counter/{id}/data/simple_orders`.
 * The CSV rules are in metrica-stand-in-csv.ts, goals in metrica-stand-in-goals.ts, CRM orders in
 * metrica-stand-in-orders.ts.
 *
 * Rules, in the order they apply:
 * 1. `Authorization: OAuth <token>` (word, one space) [doc]; missing or another scheme → 401
 *    `unauthorized` "Неавторизованный пользователь"; an unknown token → 403 `invalid_token`
 *    "Invalid oauth_token" (research §4; `unknownTokenStatus: 401` for the auth page's version);
 *    a token without the scope or the counter → 403 `access_denied` "Access is denied" — Metrica
 *    names no scope [code, n8n note]. Scopes: uploads need `metrika:offline_data` or
 *    `metrika:write`; reads need `metrika:read` (whether offline_data reads is unconfirmed, so the
 *    stand-in says no); creating a goal needs `metrika:write` [doc].
 * 2. Quotas, per token as the Yandex login [doc]: `perSecond` requests a second from one IP (30,
 *    `quota_requests_by_ip`), `parallel` in flight (3, `quota_parallel_requests`), `daily` a day
 *    until 00:00 GMT on the fake clock (5000, `quota_requests_by_uid`) → 429 with Metrica's body.
 * 3. Programmed faults (`setFault`): a status with Metrica's body (503 `backend_error`, 504
 *    `timeout`, 429 …), a delay, or a dropped connection after the whole body was read — for an
 *    upload the file was taken in (the ambiguous timeout the client must resolve by `comment`).
 * 4. The endpoint; an unknown counter → 404 `not_found`; other paths → 404, other methods → 405.
 *
 * Statuses advance on the fake clock (`advance(ms)`; it starts at the real time): `UPLOADED` at
 * once [code], `EXPORTED` after `stepMs`, `MATCHED` after 2, and after 3 steps `PROCESSED`, or
 * `LINKAGE_FAILURE` when no row's identifier is a known visitor [doc]. Counts then: a row links
 * when its identifier was registered with `addVisitors` (last visit ≤ 21 days before processing
 * [doc §1.5]) and its `Target` is an `action` goal with an `exact` condition [doc §5];
 * `goal_not_found_quantity` counts known visitors whose Target is no such goal,
 * `user_not_found_quantity` the rest [inf: the fields' meaning is from their names].
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseMetricaCsv, type IdColumn } from './metrica-stand-in-csv';
import {
  metricaError,
  readGoal,
  type MetricaGoal,
  type StandInAnswer,
} from './metrica-stand-in-goals';
import { saveSimpleOrders, type OrdersUpload } from './metrica-stand-in-orders';
import {
  endpointOf,
  readBody,
  uploadingAt,
  wire,
  type MetricaEndpoint,
  type MetricaFault,
  type MetricaRequest,
  type MetricaStandIn,
  type MetricaStandInOptions,
  type MetricaUploading,
  type Stored,
  type Visitors,
} from './metrica-stand-in-wire';

export type * from './metrica-stand-in-wire';

const DAY = 86_400_000;
const ID_TYPES: Record<string, IdColumn> = {
  CLIENT_ID: 'ClientId',
  USER_ID: 'UserId',
  YCLID: 'Yclid',
};
const TYPE_OF_COLUMN: Record<IdColumn, string> = {
  ClientId: 'CLIENT_ID',
  UserId: 'USER_ID',
  Yclid: 'YCLID',
  PurchaseId: 'PURCHASE_ID',
};
const FAULT_TYPES: Record<number, string> = {
  429: 'quota_requests_by_uid',
  503: 'backend_error',
  504: 'timeout',
};
/** Comment: ≤ 255, letters, digits, punctuation and spaces; an emoji is refused [code]. */
const COMMENT = /^[\p{L}\p{N}\p{P}\p{Zs}]{0,255}$/u;
const ROUTE =
  /^\/(?:management\/v1|cdp\/api\/v1)\/counter\/(\d+)\/(offline_conversions\/upload|offline_conversions\/uploadings|offline_conversions\/uploading\/(\d+)|offline_conversions\/visit_join_threshold|goals|data\/simple_orders)$/;

export async function startMetricaStandIn(
  options: MetricaStandInOptions = {},
): Promise<MetricaStandIn> {
  const tokens = options.tokens ?? {
    'metrica-token': { scopes: ['metrika:read', 'metrika:offline_data'] },
  };
  const counters = new Set(options.counters ?? ['12345678']);
  const stepMs = options.stepMs ?? 10 * 60_000;
  const perSecond = options.quotas?.perSecond ?? 30;
  const parallel = options.quotas?.parallel ?? 3;
  const daily = options.quotas?.daily ?? 5000;
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const requests: MetricaRequest[] = [];
  const stored: Stored[] = [];
  const visitors = new Map<string, Visitors>();
  const goals = new Map<string, MetricaGoal[]>();
  const orders = new Map<string, Map<string, Record<string, string>>>();
  const orderUploads: Array<OrdersUpload & { counterId: string }> = [];
  const utcOffsetMs = (options.utcOffsetMinutes ?? 180) * 60_000;
  const thresholds = new Map<string, number>();
  const faults: Array<{ fault: MetricaFault; endpoint?: MetricaEndpoint }> = [];
  const inFlight = new Map<string, number>();
  const dailyCount = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let recent: number[] = [];
  let maxInFlight = 0;
  let offset = 0;
  let nextId = 1000;
  let nextGoalId = 5000;
  const now = (): number => Date.now() + offset;

  const visitorsOf = (counterId: string): Visitors => {
    let v = visitors.get(counterId);
    if (!v) {
      v = { clientIds: new Map(), yclids: new Map(), userIds: new Map() };
      visitors.set(counterId, v);
    }
    return v;
  };
  const goalsOf = (counterId: string): MetricaGoal[] => {
    let g = goals.get(counterId);
    if (!g) goals.set(counterId, (g = []));
    return g;
  };
  const ordersOf = (counterId: string): Map<string, Record<string, string>> => {
    let o = orders.get(counterId);
    if (!o) orders.set(counterId, (o = new Map()));
    return o;
  };

  /** The uploading as it stands at fake time `at`. */
  const view = (s: Stored, at: number): MetricaUploading =>
    uploadingAt(s, at, stepMs, visitorsOf(s.meta.counterId), goalsOf(s.meta.counterId));

  /** The rules 1–2 for a request to `endpoint` of `counterId`; undefined when it may go on. */
  const admit = (
    req: http.IncomingMessage,
    endpoint: MetricaEndpoint,
    method: string,
    counterId: string,
  ): { answer: StandInAnswer } | { token: string } => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^OAuth ([^\s]+)$/.exec(header);
    if (!match?.[1]) {
      return { answer: metricaError(401, 'unauthorized', 'Неавторизованный пользователь') };
    }
    const token = match[1];
    const grant = tokens[token];
    if (!grant) {
      const status = options.unknownTokenStatus ?? 403;
      return {
        answer:
          status === 401
            ? metricaError(401, 'unauthorized', 'Неавторизованный пользователь')
            : metricaError(403, 'invalid_token', 'Invalid oauth_token'),
      };
    }
    const has = (s: string): boolean => grant.scopes.includes(s);
    const needed =
      endpoint === 'upload' || endpoint === 'simple_orders'
        ? has('metrika:offline_data') || has('metrika:write')
        : endpoint === 'goals' && method === 'POST'
          ? has('metrika:write')
          : has('metrika:read');
    if (!needed || (grant.counters && !grant.counters.includes(counterId))) {
      return { answer: metricaError(403, 'access_denied', 'Access is denied') };
    }
    const t = Date.now();
    recent = recent.filter((r) => t - r < 1000);
    if (recent.length >= perSecond) {
      return { answer: quota('quota_requests_by_ip', 'Превышена квота на количество запросов') };
    }
    if ((inFlight.get(token) ?? 0) >= parallel) {
      return {
        answer: quota('quota_parallel_requests', 'Превышена квота на число параллельных запросов'),
      };
    }
    const dayKey = `${token}|${Math.floor(now() / DAY)}`;
    const used = dailyCount.get(dayKey) ?? 0;
    if (used >= daily) {
      return {
        answer: quota('quota_requests_by_uid', 'Превышена квота на количество запросов за сутки'),
      };
    }
    recent.push(t);
    dailyCount.set(dayKey, used + 1);
    return { token };
  };
  const quota = (type: string, message: string): StandInAnswer => metricaError(429, type, message);

  const upload = (counterId: string, query: URLSearchParams, file: Buffer): StandInAnswer => {
    const idType = query.get('client_id_type');
    const idColumn = idType === null ? undefined : ID_TYPES[idType];
    if (idType !== null && !idColumn) {
      return metricaError(
        400,
        'invalid_parameter',
        `Wrong parameter value: client_id_type=${idType}`,
      );
    }
    const type = query.get('type') ?? 'BASIC';
    if (type !== 'BASIC') {
      return metricaError(400, 'invalid_parameter', `The stand-in takes type=BASIC only: ${type}`);
    }
    const comment = query.get('comment');
    if (comment !== null && !COMMENT.test(comment)) {
      return metricaError(400, 'invalid_parameter', 'Комментарий содержит недопустимые символы.');
    }
    const threshold = thresholds.get(counterId);
    if (threshold !== undefined && now() < threshold) {
      const when = new Date(threshold).toISOString().replace('T', ' ').slice(0, 19);
      return metricaError(
        400,
        'invalid_uploading',
        `Загрузить данные сейчас невозможно. Загрузка станет доступна ${when}`,
      );
    }
    const csv = parseMetricaCsv(file, Math.floor(now() / 1000), idColumn);
    if ('refused' in csv) return metricaError(400, 'invalid_uploading', csv.refused);
    const firstId = csv.columns.find((c): c is IdColumn => c in TYPE_OF_COLUMN);
    const s: Stored = {
      createdMs: now(),
      meta: {
        id: nextId++,
        create_time: new Date(now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        source_quantity: csv.sourceQuantity,
        line_quantity: csv.rows.length,
        ...(comment === null ? {} : { comment }),
        type,
        client_id_type: idType ?? (firstId ? TYPE_OF_COLUMN[firstId] : 'CLIENT_ID'),
        counterId,
        rows: csv.rows,
        problems: csv.problems,
        csv: file.toString('utf8'),
        answerLost: false,
      },
    };
    stored.push(s);
    return { status: 200, body: { uploading: wire(view(s, now())) } };
  };

  const route = (
    endpoint: MetricaEndpoint,
    method: string,
    counterId: string,
    uploadingId: string | undefined,
    query: URLSearchParams,
    body: { raw: Buffer; file?: Buffer; multipartError?: StandInAnswer },
  ): StandInAnswer => {
    const needsFile = endpoint === 'upload' || endpoint === 'simple_orders';
    if (needsFile) {
      if (body.multipartError) return body.multipartError;
      if (!body.file) return metricaError(400, 'missing_parameter', 'Не найден параметр запроса.');
    }
    const file = body.file ?? Buffer.alloc(0);
    switch (endpoint) {
      case 'upload':
        return upload(counterId, query, file);
      case 'uploadings': {
        const limit = Number(query.get('limit') ?? 10000);
        const off = Number(query.get('offset') ?? 0);
        if (!Number.isInteger(limit) || limit < 1 || !Number.isInteger(off) || off < 0) {
          return metricaError(400, 'invalid_parameter', 'Wrong parameter value: limit/offset');
        }
        const list = stored
          .filter((s) => s.meta.counterId === counterId)
          .reverse()
          .slice(off, off + limit)
          .map((s) => wire(view(s, now())));
        return { status: 200, body: { uploadings: list } };
      }
      case 'uploading': {
        const s = stored.find(
          (x) => x.meta.counterId === counterId && String(x.meta.id) === uploadingId,
        );
        if (!s) return metricaError(404, 'not_found', 'Entity not found');
        return { status: 200, body: { uploading: wire(view(s, now())) } };
      }
      case 'visit_join_threshold': {
        const at = thresholds.get(counterId) ?? now() - 30 * DAY;
        return {
          status: 200,
          body: { date: new Date(at).toISOString().replace('T', ' ').slice(0, 19) },
        };
      }
      case 'goals': {
        if (method === 'GET') return { status: 200, body: { goals: goalsOf(counterId) } };
        const made = readGoal(body.raw.toString('utf8'), goalsOf(counterId).length);
        if ('status' in made) return made;
        const goal: MetricaGoal = { id: nextGoalId++, ...made };
        goalsOf(counterId).push(goal);
        return { status: 200, body: { goal } };
      }
      case 'simple_orders': {
        // A status may be a JavaScript-event goal's identifier (research §2: status type OTHER).
        const goalIds = new Set(
          goalsOf(counterId).flatMap((g) =>
            g.conditions.filter(() => g.type === 'action').map((c) => c.url),
          ),
        );
        const saved = saveSimpleOrders(query, file, ordersOf(counterId), {
          uploadingId: `cdp-${nextId++}`,
          goalIds,
          nowCounterMs: now() + utcOffsetMs,
        });
        if (saved.upload) orderUploads.push({ ...saved.upload, counterId });
        return saved.answer;
      }
      default:
        return metricaError(404, 'not_found', 'Entity not found');
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = req.method ?? '';
    const m = ROUTE.exec(url.pathname);
    const endpoint = endpointOf(m?.[2]);
    const entry: MetricaRequest = {
      at: Date.now(),
      method,
      path: url.pathname,
      query: url.searchParams,
      endpoint,
      ...(m?.[1] ? { counterId: m[1] } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      bodyBytes: 0,
      status: 0,
      dropped: false,
    };
    requests.push(entry);
    const allowed =
      endpoint === 'goals'
        ? ['GET', 'POST']
        : endpoint === 'upload' || endpoint === 'simple_orders'
          ? ['POST']
          : ['GET'];
    const send = (a: StandInAnswer, headers: Record<string, string> = {}): void => {
      entry.status = a.status;
      const errors = (a.body as { errors?: Array<{ error_type?: string }> }).errors;
      if (errors?.[0]?.error_type) entry.errorType = errors[0].error_type;
      if (res.destroyed) return;
      res.writeHead(a.status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(a.body));
    };
    if (!m || endpoint === 'unknown') {
      req.resume();
      send(metricaError(404, 'not_found', 'Entity not found'));
      return;
    }
    if (!allowed.includes(method)) {
      req.resume();
      send(metricaError(405, 'not_acceptable', 'Method not allowed'), {
        Allow: allowed.join(', '),
      });
      return;
    }
    const counterId = m[1] as string;
    const admitted = admit(req, endpoint, method, counterId);
    if ('answer' in admitted) {
      req.resume();
      send(admitted.answer);
      return;
    }
    const token = admitted.token;
    const running = (inFlight.get(token) ?? 0) + 1;
    inFlight.set(token, running);
    maxInFlight = Math.max(maxInFlight, running);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      inFlight.set(token, (inFlight.get(token) ?? 1) - 1);
    };
    res.once('close', release);

    void readBody(req, maxBody, endpoint === 'upload' || endpoint === 'simple_orders').then(
      (body) => {
        entry.bodyBytes = body.raw.length;
        if (body.tooLarge) {
          send(metricaError(413, 'invalid_uploading', 'Слишком большой запрос'), {
            Connection: 'close',
          });
          return;
        }
        const i = faults.findIndex((f) => !f.endpoint || f.endpoint === endpoint);
        const fault = i < 0 ? undefined : faults.splice(i, 1)[0]?.fault;
        if (fault?.kind === 'status') {
          send(
            metricaError(
              fault.status,
              fault.errorType ?? FAULT_TYPES[fault.status] ?? 'backend_error',
              fault.message ?? 'Попробуйте позже',
            ),
          );
          return;
        }
        if (!counters.has(counterId)) {
          send(metricaError(404, 'not_found', `Object with id = ${counterId} not found`));
          return;
        }
        const answer = route(endpoint, method, counterId, m[3], url.searchParams, body);
        if (fault?.kind === 'drop') {
          entry.dropped = true;
          entry.status = answer.status;
          const uploaded = (answer.body as { uploading?: { id?: number } }).uploading?.id;
          const s = stored.find((x) => x.meta.id === uploaded);
          if (s) s.meta.answerLost = true;
          req.socket.destroy();
          return;
        }
        const delay = (fault?.kind === 'delay' ? fault.ms : 0) + (options.latencyMs ?? 0);
        if (delay === 0) {
          send(answer);
          return;
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(answer);
        }, delay);
        timers.add(timer);
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    uploads: (counterId) =>
      stored.filter((s) => !counterId || s.meta.counterId === counterId).map((s) => view(s, now())),
    setFault(fault, o = {}) {
      for (let i = 0; i < (o.count ?? 1); i += 1) {
        faults.push({ fault, ...(o.endpoint ? { endpoint: o.endpoint } : {}) });
      }
    },
    advance(ms) {
      offset += ms;
    },
    now,
    addVisitors(counterId, ids) {
      const v = visitorsOf(counterId);
      const at = ids.lastVisitMs ?? now();
      for (const id of ids.clientIds ?? []) v.clientIds.set(id, at);
      for (const id of ids.yclids ?? []) v.yclids.set(id, at);
      for (const id of ids.userIds ?? []) v.userIds.set(id, at);
    },
    addGoal(counterId, identifier, goal = {}) {
      const made: MetricaGoal = {
        id: nextGoalId++,
        name: `Сделка выиграна (${identifier})`,
        type: 'action',
        is_retargeting: 0,
        conditions: [{ type: 'exact', url: identifier }],
        ...goal,
      };
      goalsOf(counterId).push(made);
      return made;
    },
    goals: (counterId) => [...goalsOf(counterId)],
    setVisitJoinThreshold(counterId, atMs) {
      thresholds.set(counterId, atMs);
    },
    orders: (counterId) => ordersOf(counterId),
    orderUploads: (counterId) =>
      orderUploads.filter((u) => !counterId || u.counterId === counterId),
    maxInFlight: () => maxInFlight,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      );
    },
  };
}
