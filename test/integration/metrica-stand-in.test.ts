/**
 * The Metrica stand-in enforces what research yandex-metrica.md says Metrica enforces, so a client
 * that gets a rule wrong fails against it. [doc] = Yandex documentation, [code] = Yandex's own API
 * tests, [inf] = the stand-in's own choice where nothing is documented.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { startMetricaStandIn, type MetricaStandIn } from '../helpers/metrica-stand-in';

const COUNTER = '12345678';
const TOKEN = 'metrica-token';
const CID = '133591247640966458';

type Answer = { status: number; body: Record<string, unknown> };

async function call(
  base: string,
  path: string,
  init: {
    method?: string;
    token?: string | null;
    auth?: string;
    body?: string | FormData;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.auth !== undefined) headers.authorization = init.auth;
  else if (init.token !== null) headers.authorization = `OAuth ${init.token ?? TOKEN}`;
  const res = await fetch(base + path, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function form(csv: string, part = 'file', filename: string | null = 'conversions.csv'): FormData {
  const f = new FormData();
  if (filename === null) f.append(part, csv);
  else f.append(part, new Blob([csv], { type: 'text/csv' }), filename);
  return f;
}

const now = (): number => Math.floor(Date.now() / 1000) - 60;
const UPLOAD = `/management/v1/counter/${COUNTER}/offline_conversions/upload`;

function upload(
  m: MetricaStandIn,
  csv: string,
  query = 'client_id_type=CLIENT_ID',
  token?: string,
) {
  return call(m.url, `${UPLOAD}?${query}`, {
    method: 'POST',
    body: form(csv),
    ...(token === undefined ? {} : { token }),
  });
}

const errorType = (a: Answer): unknown =>
  (a.body.errors as Array<{ error_type: string }> | undefined)?.[0]?.error_type;

describe('Metrica stand-in', function () {
  this.timeout(10_000);
  let m: MetricaStandIn;
  beforeEach(async () => {
    m = await startMetricaStandIn({
      tokens: {
        [TOKEN]: { scopes: ['metrika:read', 'metrika:offline_data'] },
        readonly: { scopes: ['metrika:read'] },
        writer: { scopes: ['metrika:read', 'metrika:write'] },
      },
      counters: [COUNTER],
    });
  });
  afterEach(() => m.close());

  describe('authorization [doc §3, §4]', () => {
    it('401 unauthorized without a header, with Bearer, or without the space', async () => {
      for (const auth of [undefined, `Bearer ${TOKEN}`, `OAuth${TOKEN}`]) {
        const a = await call(m.url, `/management/v1/counter/${COUNTER}/goals`, {
          ...(auth === undefined ? { token: null } : { auth }),
        });
        assert.equal(a.status, 401, String(auth));
        assert.deepEqual(a.body, {
          errors: [{ error_type: 'unauthorized', message: 'Неавторизованный пользователь' }],
          code: 401,
          message: 'Неавторизованный пользователь',
        });
      }
    });

    it('403 invalid_token for an unknown token; 403 access_denied for a missing scope', async () => {
      const unknown = await upload(
        m,
        `ClientId,Target,DateTime\n${CID},deal_won,${now()}`,
        '',
        'nope',
      );
      assert.equal(unknown.status, 403);
      assert.equal(errorType(unknown), 'invalid_token');
      assert.equal(unknown.body.message, 'Invalid oauth_token');
      const readOnly = await upload(
        m,
        `ClientId,Target,DateTime\n${CID},deal_won,${now()}`,
        '',
        'readonly',
      );
      assert.equal(readOnly.status, 403);
      assert.equal(errorType(readOnly), 'access_denied');
      assert.equal(readOnly.body.message, 'Access is denied');
      const noWrite = await call(m.url, `/management/v1/counter/${COUNTER}/goals`, {
        method: 'POST',
        body: JSON.stringify({
          goal: { name: 'x', type: 'action', conditions: [{ type: 'exact', url: 'x' }] },
        }),
      });
      assert.equal(errorType(noWrite), 'access_denied');
      assert.equal(m.uploads().length, 0);
    });

    it('404 for a counter it does not know', async () => {
      const a = await call(m.url, '/management/v1/counter/999/offline_conversions/uploadings');
      assert.equal(a.status, 404);
      assert.equal(errorType(a), 'not_found');
    });
  });

  describe('upload [doc §1.2, §1.3; code]', () => {
    it('takes a valid file: UPLOADED, counts, comment, Cyrillic comment kept', async () => {
      const csv = `ClientId,Target,DateTime,Price,Currency\n${CID},deal_won,${now()},123.45,RUB\n`;
      const a = await upload(
        m,
        csv,
        'client_id_type=CLIENT_ID&type=BASIC&comment=closeloop batch Пакет-1',
      );
      assert.equal(a.status, 200);
      const u = a.body.uploading as Record<string, unknown>;
      assert.equal(u.status, 'UPLOADED');
      assert.equal(u.source_quantity, 1);
      assert.equal(u.line_quantity, 1);
      assert.equal(u.comment, 'closeloop batch Пакет-1');
      assert.equal(u.client_id_type, 'CLIENT_ID');
      assert.equal(typeof u.id, 'number');
      assert.deepEqual(Object.keys(u).sort(), [
        'client_id_type',
        'comment',
        'create_time',
        'goal_not_found_quantity',
        'id',
        'line_quantity',
        'linked_quantity',
        'source_quantity',
        'status',
        'type',
        'user_not_found_quantity',
      ]);
      assert.equal(m.uploads()[0]?.rows[0]?.price, '123.45');
    });

    it('matches headers loosely, ignores blank lines and a BOM, keeps fractions [code]', async () => {
      const csv = `\uFEFF" clientid ",[Target],Date Time\n\n${CID},deal_won,${now()}.12345\n\n`;
      const a = await upload(m, csv);
      assert.equal(a.status, 200);
      assert.equal((a.body.uploading as { line_quantity: number }).line_quantity, 1);
    });

    const refused: Array<[string, string, string, string]> = [
      ['an empty file', '', '', 'Неверный формат данных, ошибка в строке номер 1'],
      [
        'a header-only file',
        'ClientId,Target,DateTime\n',
        '',
        'Неверный формат данных, ошибка в строке номер 2',
      ],
      [
        'no Target column',
        `ClientId,DateTime\n${CID},1`,
        '',
        'Неверный формат данных, ошибка в строке номер 1',
      ],
      [
        'no id column',
        `Target,DateTime\ndeal_won,1`,
        '',
        'Неверный формат данных, ошибка в строке номер 1',
      ],
      [
        'an unknown column [inf]',
        `ClientId,Target,DateTime,Deal\n${CID},g,1,5`,
        '',
        'Неверный формат данных, ошибка в строке номер 1',
      ],
      [
        'a price with an unquoted comma',
        `ClientId,Target,DateTime,Price\n${CID},g,1,1234,50`,
        '',
        'Неверный формат данных, ошибка в строке номер 2',
      ],
      [
        'a broken quote',
        `ClientId,Target,DateTime\n"${CID},g,1`,
        '',
        'Неверный формат данных, ошибка в строке номер 2',
      ],
      [
        'DateTime in milliseconds (the future) in every row',
        `ClientId,Target,DateTime\n${CID},g,${Date.now()}`,
        '',
        'Неверный формат данных, ошибка в строке номер 2',
      ],
      [
        'the YCLID column missing for client_id_type=YCLID',
        `ClientId,Target,DateTime\n${CID},g,1`,
        'client_id_type=YCLID',
        'Неверный формат данных, ошибка в строке номер 1',
      ],
      [
        'a bad currency',
        `ClientId,Target,DateTime,Currency\n${CID},g,1,рубли`,
        '',
        'Неверный код валюты: рубли',
      ],
    ];
    for (const [what, csv, query, message] of refused) {
      it(`refuses ${what} with 400 invalid_uploading`, async () => {
        const a = await upload(m, csv, query);
        assert.equal(a.status, 400);
        assert.deepEqual(a.body, {
          errors: [{ error_type: 'invalid_uploading', message }],
          code: 400,
          message,
        });
        assert.equal(m.uploads().length, 0);
      });
    }

    it('drops bad rows next to good ones and says why [code]', async () => {
      const t = now();
      const csv = [
        'ClientId,Target,DateTime,Price',
        `${CID},deal_won,${t},10.5`,
        `notNumber,deal_won,${t},1`,
        `${CID},deal_won,2147483647,1`,
        `${CID},,${t},1`,
        `${CID},deal_won,${t},"10,5"`,
      ].join('\n');
      const a = await upload(m, csv);
      const u = a.body.uploading as { source_quantity: number; line_quantity: number };
      assert.deepEqual([u.source_quantity, u.line_quantity], [5, 2]);
      const problems = m.uploads()[0]?.problems.join('\n') ?? '';
      assert.match(problems, /line 3: ClientId "notNumber"/);
      assert.match(problems, /line 4: DateTime 2147483647 has not arrived yet/);
      assert.match(problems, /line 6: Price "10,5" ignored/);
    });

    it('refuses a body that is not multipart, a missing part, a field instead of a file', async () => {
      const plain = await call(m.url, UPLOAD, {
        method: 'POST',
        body: 'ClientId,Target,DateTime',
        headers: { 'content-type': 'text/csv' },
      });
      assert.equal(plain.status, 400);
      assert.equal(plain.body.message, 'Некорректный формат multipart запроса.');
      const other = await call(m.url, UPLOAD, {
        method: 'POST',
        body: form(`ClientId\n1`, 'data'),
      });
      assert.equal(other.body.message, 'Не найден параметр запроса.');
      const field = await call(m.url, UPLOAD, {
        method: 'POST',
        body: form(`ClientId\n1`, 'file', null),
      });
      assert.equal(field.body.message, 'Не найден параметр запроса.');
      const torn = await call(m.url, UPLOAD, {
        method: 'POST',
        body: '--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nClientId',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
      });
      assert.equal(torn.body.message, 'Некорректный формат multipart запроса.');
    });

    it('refuses a bad client_id_type and an emoji in the comment with invalid_parameter [code]', async () => {
      const csv = `ClientId,Target,DateTime\n${CID},deal_won,${now()}`;
      const bad = await upload(m, csv, 'client_id_type=EMAIL');
      assert.equal(errorType(bad), 'invalid_parameter');
      assert.match(String(bad.body.message), /^Wrong parameter value/);
      const emoji = await upload(m, csv, 'comment=batch 🚀');
      assert.equal(emoji.body.message, 'Комментарий содержит недопустимые символы.');
    });
  });

  describe('statuses and counts [doc §1.4, §1.6]', () => {
    it('advances to PROCESSED with linked, user-not-found and goal-not-found counts', async () => {
      m.addGoal(COUNTER, 'deal_won');
      m.addVisitors(COUNTER, { clientIds: [CID, '174260678848581554'] });
      const t = now();
      const csv = `ClientId,Target,DateTime\n${CID},deal_won,${t}\n174260678848581554,other,${t}\n16711067211040563817,deal_won,${t}`;
      const id = ((await upload(m, csv)).body.uploading as { id: number }).id;
      const path = `/management/v1/counter/${COUNTER}/offline_conversions/uploading/${id}`;
      assert.equal((await call(m.url, path)).body.uploading && m.uploads()[0]?.status, 'UPLOADED');
      m.advance(10 * 60_000);
      assert.equal(
        ((await call(m.url, path)).body.uploading as { status: string }).status,
        'EXPORTED',
      );
      m.advance(20 * 60_000);
      const done = (await call(m.url, path)).body.uploading as Record<string, unknown>;
      assert.equal(done.status, 'PROCESSED');
      assert.deepEqual(
        [
          done.line_quantity,
          done.linked_quantity,
          done.goal_not_found_quantity,
          done.user_not_found_quantity,
        ],
        [3, 1, 1, 1],
      );
      const missing = await call(
        m.url,
        `/management/v1/counter/${COUNTER}/offline_conversions/uploading/1`,
      );
      assert.equal(missing.status, 404);
    });

    it('LINKAGE_FAILURE when no visitor is known, or the last visit is over 21 days old', async () => {
      m.addGoal(COUNTER, 'deal_won');
      m.addVisitors(COUNTER, { clientIds: [CID], lastVisitMs: Date.now() - 22 * 86_400_000 });
      await upload(m, `ClientId,Target,DateTime\n${CID},deal_won,${now()}`);
      m.advance(60 * 60_000);
      assert.equal(m.uploads()[0]?.status, 'LINKAGE_FAILURE');
      assert.equal(m.uploads()[0]?.user_not_found_quantity, 1);
    });

    it('lists uploadings newest first with their comments, limit and offset', async () => {
      const csv = `ClientId,Target,DateTime\n${CID},deal_won,${now()}`;
      await upload(m, csv, 'comment=first');
      await upload(m, csv, 'comment=second');
      const list = await call(
        m.url,
        `/management/v1/counter/${COUNTER}/offline_conversions/uploadings`,
      );
      const comments = (list.body.uploadings as Array<{ comment: string }>).map((u) => u.comment);
      assert.deepEqual(comments, ['second', 'first']);
      const page = await call(
        m.url,
        `/management/v1/counter/${COUNTER}/offline_conversions/uploadings?limit=1&offset=1`,
      );
      assert.deepEqual(
        (page.body.uploadings as Array<{ comment: string }>).map((u) => u.comment),
        ['first'],
      );
    });

    it('refuses uploads before the visit-join threshold', async () => {
      m.setVisitJoinThreshold(COUNTER, Date.now() + 86_400_000);
      const a = await upload(m, `ClientId,Target,DateTime\n${CID},deal_won,${now()}`);
      assert.equal(a.status, 400);
      assert.match(
        String(a.body.message),
        /^Загрузить данные сейчас невозможно\. Загрузка станет доступна \d{4}-/,
      );
    });
  });

  describe('quotas and faults [doc §4]', () => {
    it('429 quota_parallel_requests past 3 in flight; 429 quota_requests_by_uid past the day', async () => {
      await m.close();
      m = await startMetricaStandIn({ latencyMs: 200, quotas: { daily: 5 } });
      const path = `/management/v1/counter/${COUNTER}/goals`;
      const answers = await Promise.all([1, 2, 3, 4].map(() => call(m.url, path)));
      assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 429]);
      assert.equal(answers.map(errorType).find(Boolean), 'quota_parallel_requests');
      assert.equal(m.maxInFlight(), 3);
      assert.equal((await call(m.url, path)).status, 200);
      await call(m.url, path);
      const over = await call(m.url, path);
      assert.equal(over.status, 429);
      assert.equal(errorType(over), 'quota_requests_by_uid');
      m.advance(86_400_000);
      assert.equal((await call(m.url, path)).status, 200, 'a new day at 00:00 GMT');
    });

    it('429 quota_requests_by_ip past the per-second limit', async () => {
      await m.close();
      m = await startMetricaStandIn({ quotas: { perSecond: 2 } });
      const path = `/management/v1/counter/${COUNTER}/goals`;
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push(await call(m.url, path));
      assert.deepEqual(
        statuses.map((a) => a.status),
        [200, 200, 429],
      );
      assert.equal(errorType(statuses[2] as Answer), 'quota_requests_by_ip');
    });

    it('answers programmed 503 backend_error and 504 timeout, then recovers', async () => {
      m.setFault({ kind: 'status', status: 503 }, { endpoint: 'upload' });
      m.setFault({ kind: 'status', status: 504 }, { endpoint: 'upload' });
      const csv = `ClientId,Target,DateTime\n${CID},deal_won,${now()}`;
      const first = await upload(m, csv);
      assert.deepEqual([first.status, errorType(first)], [503, 'backend_error']);
      const second = await upload(m, csv);
      assert.deepEqual([second.status, errorType(second)], [504, 'timeout']);
      assert.equal((await upload(m, csv)).status, 200);
      assert.equal(m.uploads().length, 1);
    });

    it('drops the connection after the body was read, the upload taken in', async () => {
      m.setFault({ kind: 'drop' }, { endpoint: 'upload' });
      await assert.rejects(upload(m, `ClientId,Target,DateTime\n${CID},deal_won,${now()}`));
      assert.equal(m.uploads().length, 1);
      assert.equal(m.uploads()[0]?.answerLost, true);
      const last = m.requests.at(-1);
      assert.equal(last?.dropped, true);
      assert.ok((last?.bodyBytes ?? 0) > 0);
    });

    it('records every request with its endpoint, status and error type', async () => {
      await call(m.url, `/management/v1/counter/${COUNTER}/goals`, { token: null });
      await call(m.url, `/management/v1/counter/${COUNTER}/goals`);
      assert.deepEqual(
        m.requests.map((r) => [r.endpoint, r.status, r.errorType ?? '']),
        [
          ['goals', 401, 'unauthorized'],
          ['goals', 200, ''],
        ],
      );
    });
  });

  describe('goals and CRM orders [doc §5, §2]', () => {
    it('creates a JavaScript-event goal and lists it; refuses an empty name', async () => {
      const goal = {
        name: 'Сделка выиграна',
        type: 'action',
        conditions: [{ type: 'exact', url: 'deal_won' }],
      };
      const made = await call(m.url, `/management/v1/counter/${COUNTER}/goals`, {
        method: 'POST',
        token: 'writer',
        body: JSON.stringify({ goal }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(made.status, 200);
      assert.equal(typeof (made.body.goal as { id: number }).id, 'number');
      const list = await call(m.url, `/management/v1/counter/${COUNTER}/goals`);
      assert.deepEqual(
        (list.body.goals as Array<{ conditions: unknown }>)[0]?.conditions,
        goal.conditions,
      );
      const empty = await call(m.url, `/management/v1/counter/${COUNTER}/goals`, {
        method: 'POST',
        token: 'writer',
        body: JSON.stringify({ goal: { ...goal, name: ' ' } }),
      });
      assert.equal(empty.body.message, 'Имя цели не должно быть пустым');
    });

    it('keeps simple orders by id with merge_mode=SAVE; requires merge_mode', async () => {
      const path = `/cdp/api/v1/counter/${COUNTER}/data/simple_orders`;
      const csv = `id,create_date_time,client_ids,order_status,revenue\nd-1,2026-12-01 10:00:00,${CID},PAID,1500\n`;
      const none = await call(m.url, path, { method: 'POST', body: form(csv) });
      assert.equal(errorType(none), 'missing_parameter');
      const ok = await call(m.url, `${path}?merge_mode=SAVE`, { method: 'POST', body: form(csv) });
      assert.equal(
        (ok.body.uploading as { api_validation_status: string }).api_validation_status,
        'PASSED',
      );
      await call(m.url, `${path}?merge_mode=SAVE`, {
        method: 'POST',
        body: form(csv.replace('PAID,1500', 'CANCELLED,1500').replace('10:00:00', '11:00:00')),
      });
      assert.equal(m.orders(COUNTER).get('d-1')?.order_status, 'CANCELLED');
      assert.equal(m.orders(COUNTER).get('d-1')?.create_date_time, '2026-12-01 10:00:00');
    });

    it('checks simple orders as research §2 says: part file, columns, values → 400 or FAILED', async () => {
      const path = `/cdp/api/v1/counter/${COUNTER}/data/simple_orders?merge_mode=SAVE`;
      const head = 'id,create_date_time,client_ids,order_status,revenue,currency';
      const post = (csv: string, part = 'file') =>
        call(m.url, path, { method: 'POST', body: form(csv, part, 'orders.csv') });
      const validation = (a: Answer) =>
        (a.body.uploading as { api_validation_status?: string } | undefined)?.api_validation_status;
      const good = `d-2,01.12.2025 10:00,${CID},PAID,100,RUB`;
      assert.equal(errorType(await post(`${head}\n${good}\n`, 'data')), 'missing_parameter');
      const wrongMode = await call(m.url, path.replace('SAVE', 'REPLACE'), {
        method: 'POST',
        body: form(`${head}\n${good}\n`),
      });
      assert.equal(errorType(wrongMode), 'invalid_parameter');
      assert.equal(errorType(await post(`${head},Price\n${good},1\n`)), 'invalid_uploading');
      assert.equal(errorType(await post(`${head}\n`)), 'invalid_uploading');
      assert.equal(errorType(await post(`id,client_ids\nd-2,${CID}\n`)), 'invalid_uploading');
      for (const bad of [
        `d-2,1733307600,${CID},PAID,100,RUB`, // Unix seconds: not a documented format
        `d-2,2026-13-01 10:00,${CID},PAID,100,RUB`,
        `d-2,2099-01-01,${CID},PAID,100,RUB`, // in the future
        `d-2,2025-12-01,${CID},WON,100,RUB`, // no status, no goal
        `d-2,2025-12-01,${CID},PAID,"100,5",RUB`,
        `d-2,2025-12-01,${CID},PAID,100,rub`,
        `d-2,2025-12-01,ym-${CID},PAID,100,RUB`,
      ]) {
        const a = await post(`${head}\n${bad}\n`);
        assert.equal(a.status, 200, bad);
        assert.equal(validation(a), 'FAILED', bad);
      }
      assert.equal(m.orders(COUNTER).has('d-2'), false, 'nothing of a FAILED file is kept');
      m.addGoal(COUNTER, 'oplata_cash');
      const ok = await post(`${head}\n${good}\n${good.replace('PAID', 'oplata_cash')}\n`);
      assert.equal(validation(ok), 'PASSED');
      // Two rows of one id apply in random order [doc]: the stand-in takes them last to first.
      assert.equal(m.orders(COUNTER).get('d-2')?.order_status, 'PAID');
      assert.deepEqual(
        m.orderUploads(COUNTER).map((u) => u.status),
        ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'FAILED', 'FAILED', 'FAILED', 'PASSED'],
      );
    });
  });

  it('closes with keep-alive connections open', async () => {
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve) =>
      http.get(`${m.url}/management/v1/counter/${COUNTER}/goals`, { agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      }),
    );
    await m.close();
    m = await startMetricaStandIn();
    agent.destroy();
  });
});
