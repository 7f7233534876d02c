/**
 * The Bitrix24 REST client against the REST fake and a few raw answers on loopback: what each
 * answer means (research bitrix24.md §4, §2.5, §3.6), that it never follows a redirect, that it has
 * a timeout and a size limit, and that the webhook's secret path is in no message.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bitrix24Client } from '../../src/adapters/crm/bitrix24/bitrix24-client';
import { AppError, AuthError, RetryableError } from '../../src/core/errors';
import { startBitrix24StandIn, type Bitrix24StandIn } from '../helpers/bitrix24-stand-in';

const SECRET_PATH = 'rest/1/clientsecret0123456';

/** The portal's pauses, as the limiter was asked for them (the limiter itself waits for none). */
let pauses: number[] = [];

function client(webhookUrl: string, timeoutMs = 2000): Bitrix24Client {
  return new Bitrix24Client(
    { webhookUrl, timeoutMs },
    {
      limiter: {
        acquire: () => Promise.resolve(),
        pause: (_key, ms) => void pauses.push(ms),
      },
      portalKey: 'bitrix24:test',
      logger: { warn: () => undefined, error: () => undefined },
      sleep: () => Promise.resolve(),
    },
  );
}

/** A server that answers every request with `answer`. */
async function rawServer(
  answer: (res: http.ServerResponse) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${SECRET_PATH}/`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function refusal(call: Promise<unknown>): Promise<AppError> {
  try {
    await call;
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.message.includes(SECRET_PATH), false, `the secret in: ${e.message}`);
    return e;
  }
  assert.fail('the call was expected to fail');
}

describe('Bitrix24Client', function () {
  this.timeout(10_000);
  let portal: Bitrix24StandIn;
  beforeEach(async () => {
    portal = await startBitrix24StandIn();
    pauses = [];
  });
  afterEach(() => portal.close());

  it('retries 503 QUERY_LIMIT_EXCEEDED and answers; gives up after five in a row', async () => {
    const c = client(portal.webhookUrl);
    portal.failNext(3, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    const answer = await c.call('crm.category.list', { entityTypeId: 2 });
    assert.ok(Array.isArray((answer.result as { categories: unknown[] }).categories));
    assert.equal(c.stats.limitAnswers, 3);
    assert.deepEqual(
      pauses,
      [1000, 2000, 4000],
      'every call to the portal waits, longer each time',
    );
    portal.failNext(6, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    const e = await refusal(c.call('crm.category.list'));
    assert.ok(e instanceof RetryableError);
    assert.equal(e.code, 'BITRIX24_UNAVAILABLE');
  });

  it('takes the old 429 spelling of QUERY_LIMIT_EXCEEDED the same way', async () => {
    const c = client(portal.webhookUrl);
    portal.failNext(1, 429, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    await c.call('crm.category.list');
    assert.equal(c.stats.limitAnswers, 1);
  });

  it('holds a method refused with OPERATION_TIME_LIMIT until operating_reset_at, and only it', async () => {
    const c = client(portal.webhookUrl);
    portal.holdMethod('crm.category.list', Math.floor(Date.now() / 1000) + 30);
    const e = await refusal(c.call('crm.category.list'));
    assert.ok(e instanceof RetryableError);
    assert.ok((e.retryAfterMs ?? 0) > 20_000, `retry after ${e.retryAfterMs} ms`);
    const before = portal.requests().length;
    await refusal(c.call('crm.category.list'));
    assert.equal(portal.requests().length, before, 'not sent again while held');
    await c.call('crm.status.list', { filter: { ENTITY_ID: 'STATUS' } });
  });

  it('refuses a wrong webhook for good, without its secret in the message', async () => {
    const wrong = portal.webhookUrl.replace(/\/rest\/1\/[^/]+\//, `/${SECRET_PATH}/`);
    const e = await refusal(client(wrong).call('crm.category.list'));
    assert.ok(e instanceof AuthError);
    assert.equal(e.code, 'BITRIX24_AUTH');
    assert.match(e.message, /NO_AUTH_FOUND/);
  });

  it('answers a batch of 50 commands, each with its own result or error, and refuses 51', async () => {
    portal.moveDeal('1', { categoryId: '0', stageId: 'NEW', semantic: 'P' });
    const c = client(portal.webhookUrl);
    const commands = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`d${i + 1}`, `crm.deal.get?id=${i + 1}`]),
    );
    const answer = await c.batch(commands);
    assert.equal((answer.result as Record<string, { ID: string }>).d1?.ID, '1');
    assert.deepEqual((answer.result_error as Record<string, unknown>).d2, {
      error: '',
      error_description: 'Not found',
    });
    await assert.rejects(c.batch({ ...commands, d51: 'crm.deal.get?id=51' }), RangeError);
  });

  it('never follows a redirect (a renamed portal), and says what to do', async () => {
    const server = await rawServer((res) => {
      res.writeHead(302, { location: 'https://new.bitrix24.ru/rest/1/x/crm.category.list.json' });
      res.end();
    });
    try {
      const e = await refusal(client(server.url).call('crm.category.list'));
      assert.equal(e.code, 'BITRIX24_REQUEST_REJECTED');
      assert.match(e.message, /BITRIX24_WEBHOOK_URL/);
    } finally {
      await server.close();
    }
  });

  it('retries an HTML 502 page and a timeout; refuses a 400 with its code', async () => {
    const html = await rawServer((res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head></html>');
    });
    const silent = await rawServer(() => undefined);
    const bad = await rawServer((res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":"INVALID_ARG_VALUE","error_description":"Invalid filter"}');
    });
    try {
      const e1 = await refusal(client(html.url).call('crm.category.list'));
      assert.ok(e1 instanceof RetryableError);
      assert.match(e1.message, /502 Bad Gateway/);
      const e2 = await refusal(client(silent.url, 200).call('crm.category.list'));
      assert.ok(e2 instanceof RetryableError);
      assert.match(e2.message, /within 200 ms/);
      const e3 = await refusal(client(bad.url).call('crm.category.list'));
      assert.equal(e3.code, 'BITRIX24_REQUEST_REJECTED');
      assert.match(e3.message, /INVALID_ARG_VALUE: Invalid filter/);
    } finally {
      await Promise.all([html.close(), silent.close(), bad.close()]);
    }
  });

  it('refuses an answer over the size limit instead of reading it', async () => {
    const huge = await rawServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 9 * 1024 * 1024 });
      res.end();
    });
    try {
      const e = await refusal(client(huge.url).call('crm.category.list'));
      assert.match(e.message, /over 8388608 bytes/);
    } finally {
      await huge.close();
    }
  });

  it('stops when Bitrix24 blocked REST for the portal by hand (OVERLOAD_LIMIT)', async () => {
    portal.failNext(1, 503, 'OVERLOAD_LIMIT', 'REST API is blocked due to overload');
    const e = await refusal(client(portal.webhookUrl).call('crm.category.list'));
    assert.ok(e instanceof RetryableError);
    assert.equal(e.code, 'BITRIX24_OVERLOAD_BLOCKED');
    assert.ok((e.retryAfterMs ?? 0) >= 15 * 60_000);
  });
});
