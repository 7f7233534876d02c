/**
 * The amoCRM API client over HTTP, with nock answering for the account's origin: exact path,
 * query, headers (the Bearer token) and body. Status handling follows research/amocrm.md §5–§6;
 * the bodies are shaped like the ones quoted there (problem+json, nginx HTML pages, HAL lists).
 *
 * A recording limiter and a fake clock keep every test but the last one instant; the last one
 * paces 20 real requests through the real InProcessRateLimiter (about 2 s).
 */
import assert from 'node:assert/strict';
import nock from 'nock';
import { AmocrmClient, type AmocrmClientDeps } from '../../src/adapters/crm/amocrm/amocrm-client';
import type { AmoApiLead } from '../../src/adapters/crm/amocrm/api-types';
import { LongLivedTokenSource } from '../../src/adapters/crm/amocrm/long-lived-token-source';
import { InProcessRateLimiter } from '../../src/adapters/rate-limit/in-process-rate-limiter';
import { AppError, AuthError, RetryableError } from '../../src/core/errors';
import type { AccessTokenSource } from '../../src/ports/access-token-source';
import type { RateLimiter } from '../../src/ports/rate-limiter';

const ORIGIN = 'https://acme.amocrm.ru';
const TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.old-token.Zq8xW';
const NEW_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.new-token.Kp3vN';
const ACCOUNT = 'acme';
const T0 = Date.parse('2025-03-01T10:00:00Z');

const HAL = { 'Content-Type': 'application/hal+json' };
const PROBLEM = { 'Content-Type': 'application/problem+json' };

/** A 403 page as amoCRM's nginx serves it for a blocked account (amocrm-api-php issue #434). */
const NGINX_403 =
  '<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
const NGINX_429 =
  '<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

class FakeTokens implements AccessTokenSource {
  readonly kind = 'oauth' as const;
  refreshes: string[] = [];
  constructor(
    private current: string,
    private readonly onRefresh: string | null = null,
  ) {}
  get(): Promise<string> {
    return Promise.resolve(this.current);
  }
  refreshAfterUnauthorized(rejected: string): Promise<string | null> {
    this.refreshes.push(rejected);
    if (this.onRefresh !== null) this.current = this.onRefresh;
    return Promise.resolve(this.onRefresh);
  }
}

class RecordingLimiter implements RateLimiter {
  acquired: string[] = [];
  pauses: Array<{ key: string; ms: number }> = [];
  acquire(key: string): Promise<void> {
    this.acquired.push(key);
    return Promise.resolve();
  }
  pause(key: string, ms: number): void {
    this.pauses.push({ key, ms });
  }
}

interface LogLine {
  level: 'warn' | 'error';
  message: string;
  meta: Record<string, unknown> | undefined;
}

function setup(overrides: Partial<AmocrmClientDeps> = {}, timeoutMs = 2000) {
  const clock = { t: T0 };
  const sleeps: number[] = [];
  const logs: LogLine[] = [];
  const limiter = new RecordingLimiter();
  const tokens = new FakeTokens(TOKEN);
  const deps: AmocrmClientDeps = {
    tokens,
    limiter,
    accountKey: ACCOUNT,
    logger: {
      warn: (message, meta) => logs.push({ level: 'warn', message, meta }),
      error: (message, meta) => logs.push({ level: 'error', message, meta }),
    },
    now: () => clock.t,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  };
  const client = new AmocrmClient({ baseUrl: ORIGIN, requestsPerSecond: 7, timeoutMs }, deps);
  return { client, clock, sleeps, logs, limiter, tokens };
}

/** nock for the account's origin, expecting the Bearer token and JSON. */
function api(token = TOKEN): nock.Scope {
  return nock(ORIGIN, {
    reqheaders: { authorization: `Bearer ${token}`, accept: 'application/json' },
  });
}

function lead(id: number, overrides: Partial<AmoApiLead> = {}): AmoApiLead {
  return {
    id,
    name: `Сделка #${id}`,
    price: 1500,
    responsible_user_id: 8744098,
    group_id: 0,
    status_id: 142,
    pipeline_id: 4542166,
    loss_reason_id: null,
    created_by: 0,
    updated_by: 0,
    created_at: 1689256449,
    updated_at: 1689281821,
    closed_at: 1689281821,
    closest_task_at: null,
    is_deleted: false,
    custom_fields_values: [
      {
        field_id: 610955,
        field_name: 'gclientid',
        field_code: 'GCLIENTID',
        field_type: 'tracking_data',
        values: [{ value: `1234567890.${id}` }],
      },
    ],
    score: null,
    account_id: 29638927,
    _links: { self: { href: `${ORIGIN}/api/v4/leads/${id}` } },
    _embedded: { tags: [{ id: 55515, name: 'сайт' }], companies: [] },
    ...overrides,
  };
}

function leadList(leads: AmoApiLead[], next: string | null = null) {
  return {
    _page: 1,
    _links: {
      self: { href: `${ORIGIN}/api/v4/leads?page=1&limit=250` },
      ...(next !== null && { next: { href: next } }),
    },
    _embedded: { leads },
  };
}

/** Every place an error could carry the token to a log line. */
function assertNoToken(value: unknown): void {
  const texts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = value;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    texts.push(current.message, current.stack ?? '', String(current));
    if (current instanceof AppError) texts.push(JSON.stringify(current.details) ?? '');
    current = current.cause;
  }
  texts.push(JSON.stringify(value) ?? '');
  for (const text of texts) {
    for (const token of [TOKEN, NEW_TOKEN]) {
      assert.ok(!text.includes(token), `token leaked: ${text}`);
    }
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    assertNoToken(error);
    return error;
  }
  return assert.fail('expected a rejection');
}

const ENC_ID = 'filter%5Bid%5D%5B%5D';

describe('AmocrmClient (nock)', () => {
  describe('getLeads', () => {
    it('asks for distinct ids in one filter[id][] call and maps the answer', async () => {
      const { client, limiter } = setup();
      const paths: string[] = [];
      api()
        .get('/api/v4/leads')
        .query(true)
        .reply((uri) => {
          paths.push(uri);
          return [200, leadList([lead(5), lead(3), lead(9, { is_deleted: true })]), HAL];
        });
      const leads = await client.getLeads([5, 3, 5, 9]);
      assert.deepEqual(paths, [`/api/v4/leads?${ENC_ID}=5&${ENC_ID}=3&${ENC_ID}=9&limit=250`]);
      assert.deepEqual(
        leads.map((l) => l.id),
        [5, 3],
      );
      assert.deepEqual(leads[0], {
        id: 5,
        statusId: 142,
        pipelineId: 4542166,
        price: '1500',
        responsibleUserId: 8744098,
        createdAt: 1689256449,
        updatedAt: 1689281821,
        customFields: [
          {
            id: 610955,
            name: 'gclientid',
            code: 'GCLIENTID',
            values: [{ value: '1234567890.5', enumId: null }],
          },
        ],
        tags: ['сайт'],
      });
      assert.deepEqual(limiter.acquired, [ACCOUNT]);
    });

    it('turns 204 No Content (nothing matches) into an empty list', async () => {
      const { client } = setup();
      api().get('/api/v4/leads').query({ 'filter[id][]': '77', limit: '250' }).reply(204);
      assert.deepEqual(await client.getLeads([77]), []);
    });

    it('refuses more than 250 distinct ids before sending anything', async () => {
      const { client, limiter } = setup();
      const ids = Array.from({ length: 251 }, (_, i) => i + 1);
      await assert.rejects(client.getLeads(ids), RangeError);
      await assert.rejects(client.getLeads([1, 0]), RangeError);
      assert.deepEqual(await client.getLeads([]), []);
      assert.deepEqual(limiter.acquired, []);
    });

    it('250 ids with repeats are fine', async () => {
      const { client } = setup();
      api().get('/api/v4/leads').query(true).reply(204);
      const ids = [...Array.from({ length: 250 }, (_, i) => i + 1), 1, 2, 3];
      assert.deepEqual(await client.getLeads(ids), []);
    });
  });

  describe('listLeadsUpdatedSince', () => {
    it('asks for the page in updated_at order and sees a next link', async () => {
      const { client } = setup();
      const paths: string[] = [];
      api()
        .get('/api/v4/leads')
        .query(true)
        .reply((uri) => {
          paths.push(uri);
          return [
            200,
            leadList([lead(1), lead(2)], `${ORIGIN}/api/v4/leads?page=3&limit=250`),
            HAL,
          ];
        });
      const page = await client.listLeadsUpdatedSince(1700000000, 2);
      assert.deepEqual(paths, [
        '/api/v4/leads?filter%5Bupdated_at%5D%5Bfrom%5D=1700000000&order%5Bupdated_at%5D=asc&limit=250&page=2',
      ]);
      assert.deepEqual(
        page.leads.map((l) => l.id),
        [1, 2],
      );
      assert.equal(page.hasMore, true);
    });

    it('without a next link it is the last page; 204 is an empty last page', async () => {
      const { client } = setup();
      const query = {
        'filter[updated_at][from]': '1700000000',
        'order[updated_at]': 'asc',
        limit: '250',
      };
      api()
        .get('/api/v4/leads')
        .query({ ...query, page: '1' })
        .reply(200, leadList([lead(1)]), HAL);
      api()
        .get('/api/v4/leads')
        .query({ ...query, page: '2' })
        .reply(204);
      const first = await client.listLeadsUpdatedSince(1700000000, 1);
      assert.deepEqual(
        first.leads.map((l) => l.id),
        [1],
      );
      assert.equal(first.hasMore, false);
      assert.deepEqual(await client.listLeadsUpdatedSince(1700000000, 2), {
        leads: [],
        hasMore: false,
      });
    });

    it('refuses a page below 1', async () => {
      const { client } = setup();
      await assert.rejects(client.listLeadsUpdatedSince(0, 0), RangeError);
    });
  });

  it('getPipelines maps pipelines and their statuses (§3.4)', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/leads/pipelines')
      .reply(
        200,
        {
          _total_items: 1,
          _links: { self: { href: `${ORIGIN}/api/v4/leads/pipelines` } },
          _embedded: {
            pipelines: [
              {
                id: 4542166,
                name: 'Воронка',
                sort: 1,
                is_main: true,
                is_unsorted_on: true,
                is_archive: false,
                account_id: 29638927,
                _embedded: {
                  statuses: [
                    {
                      id: 58141803,
                      name: 'Неразобранное',
                      sort: 10,
                      is_editable: false,
                      pipeline_id: 4542166,
                      color: '#c1c1c1',
                      type: 1,
                      account_id: 29638927,
                    },
                    {
                      id: 142,
                      name: 'Успешно реализовано',
                      sort: 10000,
                      is_editable: false,
                      pipeline_id: 4542166,
                      color: '#CCFF66',
                      type: 0,
                      account_id: 29638927,
                    },
                  ],
                },
              },
              {
                id: 777,
                name: 'Архив',
                sort: 2,
                is_main: false,
                is_unsorted_on: false,
                is_archive: true,
                account_id: 29638927,
                _embedded: { statuses: [] },
              },
            ],
          },
        },
        HAL,
      );
    assert.deepEqual(await client.getPipelines(), [
      {
        id: 4542166,
        name: 'Воронка',
        isMain: true,
        isArchive: false,
        statuses: [
          { id: 58141803, name: 'Неразобранное', type: 1, sort: 10 },
          { id: 142, name: 'Успешно реализовано', type: 0, sort: 10000 },
        ],
      },
      { id: 777, name: 'Архив', isMain: false, isArchive: true, statuses: [] },
    ]);
  });

  it('getAccount reads id and subdomain', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/account')
      .reply(200, { id: 29638927, name: 'Acme', subdomain: 'acme', currency: 'RUB' }, HAL);
    assert.deepEqual(await client.getAccount(), { id: '29638927', subdomain: 'acme' });
  });

  it('createLeadComplex POSTs the JSON array as given and returns the created ids', async () => {
    const { client } = setup();
    const body = [
      {
        price: 0,
        pipeline_id: 4542166,
        custom_fields_values: [
          { field_code: 'GCLIENTID', values: [{ value: '1234567890.1700000000' }] },
          { field_code: 'UTM_SOURCE', values: [{ value: 'yandex' }] },
        ],
        _embedded: {
          contacts: [
            {
              first_name: 'Анна',
              custom_fields_values: [{ field_code: 'PHONE', values: [{ value: '+79990001122' }] }],
            },
          ],
          tags: [{ name: 'сайт' }],
        },
        request_id: '1',
      },
    ];
    api()
      .post('/api/v4/leads/complex', body)
      .matchHeader('content-type', 'application/json')
      .reply(
        200,
        [{ id: 9774766, contact_id: 12117258, company_id: null, request_id: ['1'], merged: false }],
        HAL,
      );
    assert.deepEqual(await client.createLeadComplex(body), [
      { id: 9774766, contact_id: 12117258, company_id: null, request_id: ['1'], merged: false },
    ]);
    await assert.rejects(
      client.createLeadComplex(Array.from({ length: 51 }, () => ({}))),
      RangeError,
    );
  });

  describe('401', () => {
    it('refreshes the token once and retries with the new one', async () => {
      const tokens = new FakeTokens(TOKEN, NEW_TOKEN);
      const { client, limiter } = setup({ tokens });
      api(TOKEN).get('/api/v4/leads/pipelines').reply(
        401,
        {
          title: 'Unauthorized',
          type: 'https://httpstatus.es/401',
          status: 401,
          detail: 'Unauthorized',
        },
        PROBLEM,
      );
      api(NEW_TOKEN)
        .get('/api/v4/leads/pipelines')
        .reply(200, { _embedded: { pipelines: [] } }, HAL);
      assert.deepEqual(await client.getPipelines(), []);
      assert.deepEqual(tokens.refreshes, [TOKEN]);
      // Each HTTP attempt takes its own slot.
      assert.deepEqual(limiter.acquired, [ACCOUNT, ACCOUNT]);
    });

    it('a second 401 after the refresh is AMOCRM_AUTH, with amoCRM’s hint', async () => {
      const tokens = new FakeTokens(TOKEN, NEW_TOKEN);
      const { client } = setup({ tokens });
      const revoked = {
        hint: 'Token has been revoked',
        title: 'Некорректный запрос',
        type: 'https://developers.amocrm.ru/v3/errors/OAuthProblemJson',
        status: 401,
        detail: 'В запросе отсутствует ряд параметров или параметры невалидны',
      };
      api(TOKEN).get('/api/v4/leads/pipelines').reply(401, revoked, PROBLEM);
      api(NEW_TOKEN).get('/api/v4/leads/pipelines').reply(401, revoked, PROBLEM);
      const error = await rejection(client.getPipelines());
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'AMOCRM_AUTH');
      assert.match(error.message, /even after a token refresh/);
      assert.match(error.message, /Token has been revoked/);
      assert.equal(tokens.refreshes.length, 1);
    });

    it('a long-lived token cannot be refreshed: AMOCRM_AUTH after the first 401', async () => {
      const { client } = setup({ tokens: new LongLivedTokenSource(`  ${TOKEN}\n`) });
      api().get('/api/v4/leads/pipelines').reply(
        401,
        {
          title: 'Unauthorized',
          type: 'https://httpstatus.es/401',
          status: 401,
          detail: 'Неверный логин или пароль',
        },
        PROBLEM,
      );
      const error = await rejection(client.getPipelines());
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'AMOCRM_AUTH');
      assert.match(error.message, /AMOCRM_TOKEN/);
      assert.match(error.message, /Неверный логин или пароль/);
      assert.doesNotMatch(error.message, /after a token refresh/);
    });
  });

  describe('429', () => {
    it('pauses the account 1 s, then 2 s, and retries; a success resets the backoff', async () => {
      const { client, limiter, sleeps, logs } = setup();
      const scope = api().get('/api/v4/leads/pipelines');
      scope.reply(429, NGINX_429, { 'Content-Type': 'text/html' });
      api().get('/api/v4/leads/pipelines').reply(429, '');
      api()
        .get('/api/v4/leads/pipelines')
        .reply(200, { _embedded: { pipelines: [] } }, HAL);
      assert.deepEqual(await client.getPipelines(), []);
      assert.deepEqual(limiter.pauses, [
        { key: ACCOUNT, ms: 1000 },
        { key: ACCOUNT, ms: 2000 },
      ]);
      assert.deepEqual(sleeps, [1000, 2000]);
      assert.equal(limiter.acquired.length, 3);
      assert.equal(logs.filter((l) => l.level === 'warn').length, 2);

      api().get('/api/v4/leads/pipelines').reply(429, '');
      api()
        .get('/api/v4/leads/pipelines')
        .reply(200, { _embedded: { pipelines: [] } }, HAL);
      await client.getPipelines();
      assert.deepEqual(limiter.pauses.at(-1), { key: ACCOUNT, ms: 1000 });
    });

    it('after 3 retries it is AMOCRM_UNAVAILABLE, retryable after the last pause', async () => {
      const { client, limiter } = setup();
      api()
        .get('/api/v4/leads/pipelines')
        .times(4)
        .reply(429, NGINX_429, { 'Content-Type': 'text/html' });
      const error = await rejection(client.getPipelines());
      assert.ok(error instanceof RetryableError);
      assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
      assert.equal(error.retryAfterMs, 8000);
      assert.match(error.message, /429/);
      assert.deepEqual(
        limiter.pauses.map((p) => p.ms),
        [1000, 2000, 4000, 8000],
      );
      assert.equal(limiter.acquired.length, 4);
    });

    it('the backoff stops doubling at 60 s', async () => {
      const { client, limiter } = setup();
      api().get('/api/v4/leads/pipelines').times(12).reply(429, '');
      for (let i = 0; i < 3; i++) await rejection(client.getPipelines());
      assert.deepEqual(
        limiter.pauses.map((p) => p.ms),
        [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000, 60000],
      );
    });
  });

  describe('403', () => {
    it('blocks the account: one loud log line, then no HTTP at all for 10 minutes', async () => {
      const { client, clock, limiter, logs } = setup();
      api().get('/api/v4/leads/pipelines').reply(403, NGINX_403, { 'Content-Type': 'text/html' });
      const error = await rejection(client.getPipelines());
      assert.ok(error instanceof AuthError);
      assert.equal(error.code, 'AMOCRM_ACCOUNT_BLOCKED');
      assert.match(error.message, /403 Forbidden/);
      assert.deepEqual(limiter.pauses, [{ key: ACCOUNT, ms: 600_000 }]);

      // No interceptor is left: a request now would fail with nock's "no match".
      clock.t += 9 * 60_000;
      const again = await rejection(client.getLeads([1, 2]));
      assert.ok(again instanceof AuthError);
      assert.equal(again.code, 'AMOCRM_ACCOUNT_BLOCKED');
      assert.match(again.message, /was not sent/);
      await rejection(client.createLeadComplex([{ name: 'x' }]));
      assert.equal(limiter.acquired.length, 1);

      const errors = logs.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /amoCRM blocked API access for this account/);
      assert.match(
        errors[0]!.message,
        /amoCRM blocks accounts that keep exceeding its request limits/,
      );
      assert.match(errors[0]!.message, /its support can unblock them/);
      assert.equal(errors[0]!.meta?.code, 'AMOCRM_ACCOUNT_BLOCKED');

      // Ten minutes on, closeloop tries again.
      clock.t += 60_000 + 1;
      api()
        .get('/api/v4/leads/pipelines')
        .reply(200, { _embedded: { pipelines: [] } }, HAL);
      assert.deepEqual(await client.getPipelines(), []);
    });

    it('calls in flight when the block begins add no second log line', async () => {
      const { client, logs } = setup();
      api()
        .get('/api/v4/leads/pipelines')
        .times(3)
        .reply(403, NGINX_403, { 'Content-Type': 'text/html' });
      const errors = await Promise.all([1, 2, 3].map(() => rejection(client.getPipelines())));
      for (const e of errors) assert.equal((e as AppError).code, 'AMOCRM_ACCOUNT_BLOCKED');
      assert.equal(logs.filter((l) => l.level === 'error').length, 1);
    });
  });

  it('500 with problem+json is AMOCRM_UNAVAILABLE, retryable, with what amoCRM said', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/leads/pipelines')
      .reply(
        500,
        {
          title: 'Internal Server Error',
          type: 'https://httpstatus.es/500',
          status: 500,
          detail: 'Something went wrong',
        },
        { ...PROBLEM, 'x-request-id': 'req-5f2ac962' },
      );
    const error = await rejection(client.getPipelines());
    assert.ok(error instanceof RetryableError);
    assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
    assert.equal(error.retryable, true);
    assert.match(error.message, /HTTP 500 .*Internal Server Error: Something went wrong/);
    assert.equal((error.details as { requestId: string }).requestId, 'req-5f2ac962');
  });

  it('400 with validation-errors is AMOCRM_REQUEST_REJECTED with the detail (§6)', async () => {
    const { client } = setup();
    const body = [{ custom_fields_values: [{ field_id: 1, values: [{ enum_id: 5 }] }] }];
    api()
      .post('/api/v4/leads/complex', body)
      .reply(
        400,
        {
          'validation-errors': [
            {
              request_id: '0',
              errors: [
                {
                  code: 'NotSupportedChoice',
                  path: 'custom_fields_values.0.field_id',
                  detail: 'The value you selected is not a valid choice.',
                },
              ],
            },
          ],
          title: 'Bad Request',
          type: 'https://httpstatus.es/400',
          status: 400,
          detail: 'Request validation failed',
        },
        PROBLEM,
      );
    const error = await rejection(client.createLeadComplex(body));
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'AMOCRM_REQUEST_REJECTED');
    assert.equal(error.retryable, false);
    assert.equal(error.httpStatus, 400);
    assert.match(error.message, /Bad Request: Request validation failed/);
    assert.match(
      error.message,
      // amoCRM's sentence, as a clause of closeloop's message (its final period dropped)
      /custom_fields_values\.0\.field_id: The value you selected is not a valid choice$/,
    );
    const details = error.details as { problem: { validationErrors: unknown[] } };
    assert.deepEqual(details.problem.validationErrors, [
      {
        requestId: '0',
        code: 'NotSupportedChoice',
        path: 'custom_fields_values.0.field_id',
        detail: 'The value you selected is not a valid choice.',
      },
    ]);
  });

  it('404 with an HTML body keeps the first 200 characters of its text', async () => {
    const { client } = setup();
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    api()
      .get('/api/v4/leads/pipelines')
      .reply(404, `<html><body><h1>Not here</h1><p>${words}</p></body></html>`, {
        'Content-Type': 'text/html',
      });
    const error = await rejection(client.getPipelines());
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'AMOCRM_REQUEST_REJECTED');
    assert.match(error.message, /HTTP 404: Not here word0 word1/);
    assert.doesNotMatch(error.message, /<|word79/);
  });

  it('a redirect is not followed (it would take the token along)', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/leads/pipelines')
      .reply(301, '', { Location: 'https://acme.kommo.com/api/v4/leads/pipelines' });
    const error = await rejection(client.getPipelines());
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'AMOCRM_REQUEST_REJECTED');
    assert.match(error.message, /redirected .* to https:\/\/acme\.kommo\.com/);
  });

  it('a 2xx that is not JSON is retryable; JSON of the wrong shape is not', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/leads/pipelines')
      .reply(200, '<html><head><title>Maintenance</title></head></html>', {
        'Content-Type': 'text/html',
      });
    const first = await rejection(client.getPipelines());
    assert.ok(first instanceof RetryableError);
    assert.match(first.message, /not JSON \(Maintenance\)/);
    api().get('/api/v4/leads/pipelines').reply(200, { pipelines: [] }, HAL);
    const second = await rejection(client.getPipelines());
    assert.ok(second instanceof AppError);
    assert.equal(second.code, 'AMOCRM_REQUEST_REJECTED');
    assert.equal(second.retryable, false);
  });

  it('a timeout is AMOCRM_UNAVAILABLE, retryable', async () => {
    const { client } = setup({}, 100);
    api()
      .get('/api/v4/leads/pipelines')
      .delay(1000)
      .reply(200, { _embedded: { pipelines: [] } });
    const error = await rejection(client.getPipelines());
    assert.ok(error instanceof RetryableError);
    assert.equal(error.code, 'AMOCRM_UNAVAILABLE');
    assert.match(error.message, /did not answer GET \/api\/v4\/leads\/pipelines within 100 ms/);
  });

  it('a network error is AMOCRM_UNAVAILABLE, retryable, with the reason', async () => {
    const { client } = setup();
    api()
      .get('/api/v4/leads/pipelines')
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    const error = await rejection(client.getPipelines());
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /socket hang up/);
  });

  it('never lets the token into an error or a log line, even when amoCRM echoes it', async () => {
    const tokens = new FakeTokens(TOKEN, NEW_TOKEN);
    const { client, logs } = setup({ tokens });
    const echo = `{"title":"Bad Request","detail":"token ${TOKEN} is not valid here"}`;
    api(TOKEN)
      .get('/api/v4/leads/pipelines')
      .reply(401, `{"detail":"Bearer ${TOKEN} rejected"}`, PROBLEM);
    api(NEW_TOKEN)
      .get('/api/v4/leads/pipelines')
      .reply(400, echo.replace(TOKEN, NEW_TOKEN), PROBLEM);
    api(NEW_TOKEN).get('/api/v4/leads/pipelines').reply(500, `Bearer ${NEW_TOKEN}`);
    api(NEW_TOKEN)
      .get('/api/v4/leads/pipelines')
      .replyWithError({ code: 'ECONNRESET', message: `reset while sending Bearer ${NEW_TOKEN}` });
    api(NEW_TOKEN).get('/api/v4/leads/pipelines').reply(429, NEW_TOKEN);
    api(NEW_TOKEN).get('/api/v4/leads/pipelines').times(3).reply(429, '');
    api(NEW_TOKEN).get('/api/v4/leads/pipelines').reply(403, `<title>${NEW_TOKEN}</title>`);

    const errors = [];
    for (let i = 0; i < 5; i++) errors.push(await rejection(client.getPipelines()));
    assert.deepEqual(
      errors.map((e) => (e as AppError).code),
      [
        'AMOCRM_REQUEST_REJECTED',
        'AMOCRM_UNAVAILABLE',
        'AMOCRM_UNAVAILABLE',
        'AMOCRM_UNAVAILABLE',
        'AMOCRM_ACCOUNT_BLOCKED',
      ],
    );
    assert.match((errors[0] as AppError).message, /\[REDACTED\]/);
    assert.ok(logs.length >= 2);
    for (const line of logs) assertNoToken(JSON.stringify(line));
  });

  it('paces 20 concurrent look-ups through the real limiter: never more than 7 in any 1000 ms', async function () {
    this.timeout(15_000);
    const limiter = new InProcessRateLimiter(7);
    const { client } = setup({ limiter, sleep: undefined, now: undefined });
    const seen: number[] = [];
    api()
      .get('/api/v4/leads')
      .query(true)
      .times(20)
      .reply(() => {
        seen.push(performance.now());
        return [204, ''];
      });
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.getLeads([i + 1])));
    assert.equal(seen.length, 20);
    const sorted = [...seen].sort((a, b) => a - b);
    for (let i = 7; i < sorted.length; i++) {
      const gap = (sorted[i] as number) - (sorted[i - 7] as number);
      assert.ok(gap >= 1000, `requests ${i - 7} and ${i} were ${gap.toFixed(1)} ms apart`);
    }
    // And no slower than needed: three bursts, two windows apart (with the limiter's margin).
    assert.ok(performance.now() - started < 3000);
  });
});
