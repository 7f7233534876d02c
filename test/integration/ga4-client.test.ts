/**
 * The GA4 client and destination over HTTP: nock for Google's origin (exact origin, path, query
 * and body), and the local stand-in over real loopback.
 */
import assert from 'node:assert/strict';
import nock from 'nock';
import { Ga4Destination } from '../../src/adapters/destinations/ga4';
import {
  buildGa4Requests,
  type Ga4HttpRequest,
} from '../../src/adapters/destinations/ga4/build-request';
import { sendGa4Request, type PostImpl } from '../../src/adapters/destinations/ga4/ga4-client';
import type { Ga4Settings } from '../../src/adapters/destinations/ga4/ga4-settings';
import { AppError, DeliveryError, RetryableError } from '../../src/core/errors';
import type { Ga4Problem } from '../../src/adapters/destinations/ga4/validate-ga4-payload';
import type { ConversionEvent, DeliveryRequest } from '../../src/ports/destination';
import { startGa4StandIn, type Ga4StandIn } from '../helpers/ga4-stand-in';

const ORIGIN = 'https://www.google-analytics.com';
const SECRET = 'xK9-s3cr3t+API/key';
const MEASUREMENT_ID = 'G-ABC123XYZ';
const QUERY = { measurement_id: MEASUREMENT_ID, api_secret: SECRET };
const HOUR_MS = 3_600_000;

const settings: Ga4Settings = {
  measurementId: MEASUREMENT_ID,
  apiSecret: SECRET,
  endpoint: ORIGIN,
  timeoutMs: 2000,
  dryRun: false,
};

function deliveryRequest(overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    account: '29651234',
    dealId: '48213',
    identity: { clientId: '1234567890.1700000000', sessionId: '1746825440' },
    occurredAtMs: Date.now() - HOUR_MS,
    events: [
      { name: 'close_convert_lead', params: { currency: 'RUB', value: 1500 } },
      { name: 'purchase', params: { currency: 'RUB', value: 1500, transaction_id: '48213' } },
    ],
    ...overrides,
  };
}

function built(s: Ga4Settings = settings, req = deliveryRequest()): Ga4HttpRequest {
  const [first] = buildGa4Requests(s, req, Date.now());
  assert.ok(first);
  return first;
}

function events(n: number): ConversionEvent[] {
  return Array.from({ length: n }, (_, i) => ({ name: `stage_${i}`, params: {} }));
}

/** Every way an error could carry the secret to a log line. */
function assertNoSecret(error: unknown): void {
  const seen = new Set<unknown>();
  const texts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    texts.push(current.message, current.stack ?? '', String(current));
    if (current instanceof AppError) texts.push(JSON.stringify(current.details) ?? '');
    current = current.cause;
  }
  texts.push(JSON.stringify(error) ?? '');
  for (const text of texts) {
    assert.ok(!text.includes(SECRET), `secret leaked: ${text}`);
    assert.ok(!text.includes(encodeURIComponent(SECRET)), `encoded secret leaked: ${text}`);
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('sendGa4Request (nock)', () => {
  it('(the leak check itself catches a secret in a cause or in details)', () => {
    assert.throws(() => assertNoSecret(new Error('x', { cause: new Error(`k=${SECRET}`) })));
    assert.throws(() =>
      assertNoSecret(
        new DeliveryError('GA4_REJECTED', 'x', { details: { url: encodeURIComponent(SECRET) } }),
      ),
    );
  });

  it('POSTs the exact body to the exact URL and resolves on 204', async () => {
    const req = built();
    const scope = nock(ORIGIN)
      .post('/mp/collect', JSON.parse(req.body) as nock.RequestBodyMatcher)
      .query(QUERY)
      .matchHeader('content-type', 'application/json')
      .reply(204);
    const result = await sendGa4Request(req, { timeoutMs: 2000 });
    assert.equal(result.status, 204);
    assert.ok(result.durationMs >= 0);
    scope.done();
  });

  for (const status of [500, 503]) {
    it(`treats ${status} as retryable`, async () => {
      nock(ORIGIN).post('/mp/collect').query(QUERY).reply(status, 'Service Unavailable');
      const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
      assert.ok(error instanceof RetryableError);
      assert.equal(error.code, 'GA4_UNAVAILABLE');
      assert.equal(error.retryAfterMs, null);
      assert.deepEqual((error.details as { status: number }).status, status);
      assertNoSecret(error);
    });
  }

  it('treats 429 as retryable and honours Retry-After in seconds', async () => {
    nock(ORIGIN).post('/mp/collect').query(QUERY).reply(429, '', { 'Retry-After': '120' });
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.retryAfterMs, 120_000);
    assertNoSecret(error);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    nock(ORIGIN).post('/mp/collect').query(QUERY).reply(503, '', { 'Retry-After': at });
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof RetryableError);
    assert.ok(
      error.retryAfterMs !== null && error.retryAfterMs > 55_000 && error.retryAfterMs <= 60_000,
    );
  });

  for (const status of [400, 403]) {
    it(`treats ${status} as a permanent refusal, with status and body in details`, async () => {
      const body = `{"error":{"code":${status},"message":"bad request for api_secret=${SECRET}"}}`;
      nock(ORIGIN).post('/mp/collect').query(QUERY).reply(status, body);
      const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
      assert.ok(error instanceof DeliveryError);
      assert.equal(error.code, 'GA4_REJECTED');
      assert.equal(error.retryable, false);
      const details = error.details as { status: number; body: string; url: string };
      assert.equal(details.status, status);
      assert.match(details.body, /"code":/);
      assert.match(details.body, /api_secret=REDACTED/);
      assert.match(details.url, /api_secret=REDACTED$/);
      assertNoSecret(error);
    });
  }

  it('keeps only the first 500 characters of an error body', async () => {
    nock(ORIGIN).post('/mp/collect').query(QUERY).reply(400, 'x'.repeat(5000));
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof DeliveryError);
    assert.equal((error.details as { body: string }).body.length, 500);
  });

  it('does not follow a redirect (it would carry the secret elsewhere)', async () => {
    nock(ORIGIN)
      .post('/mp/collect')
      .query(QUERY)
      .reply(302, '', { Location: 'https://elsewhere.example/' });
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof DeliveryError);
    assert.equal((error.details as { status: number }).status, 302);
  });

  it('treats a timeout as retryable', async () => {
    nock(ORIGIN).post('/mp/collect').query(QUERY).delay(1000).reply(204);
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 50 }));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.code, 'GA4_UNAVAILABLE');
    assert.match(error.message, /did not answer .* within 50 ms/);
    assertNoSecret(error);
  });

  it('treats a network error as retryable, with the cause message', async () => {
    nock(ORIGIN)
      .post('/mp/collect')
      .query(QUERY)
      // An Error instance: nock 14 drops a plain-object error on node:http requests.
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /socket hang up/);
    assertNoSecret(error);
  });

  it('scrubs the secret from a network error that quotes the URL', async () => {
    // No interceptor: nock refuses the connection with an error naming the full URL.
    const error = await rejection(sendGa4Request(built(), { timeoutMs: 2000 }));
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /Disallowed net connect/);
    assert.match(error.message, /api_secret=REDACTED/);
    assert.ok(error.cause instanceof Error);
    assertNoSecret(error);
  });

  it('scrubs the secret from errors thrown by an injected transport, raw or encoded', async () => {
    const req = built();
    const postImpl: PostImpl = () =>
      Promise.reject(
        new TypeError('fetch failed', {
          cause: new Error(`connect to ${req.url} failed; secret ${SECRET}`),
        }),
      );
    const error = await rejection(sendGa4Request(req, { timeoutMs: 2000, postImpl }));
    assert.ok(error instanceof RetryableError);
    assert.match(
      error.message,
      /fetch failed: connect to .*api_secret=REDACTED failed; secret REDACTED/,
    );
    assertNoSecret(error);
  });
});

describe('Ga4Destination (nock)', () => {
  it('sends and returns the redacted URL, payload and status', async () => {
    const request = deliveryRequest();
    const nowMs = Date.now();
    const [expected] = buildGa4Requests(settings, request, nowMs);
    const scope = nock(ORIGIN)
      .post('/mp/collect', JSON.parse(expected!.body) as nock.RequestBodyMatcher)
      .query(QUERY)
      .reply(204);
    const result = await new Ga4Destination(settings).deliver(request, nowMs);
    scope.done();
    assert.equal(result.outcome, 'sent');
    assert.deepEqual(result.requests, [
      {
        url: `${ORIGIN}/mp/collect?measurement_id=${MEASUREMENT_ID}&api_secret=REDACTED`,
        payload: expected!.payload,
        status: 204,
      },
    ]);
    assert.ok(!JSON.stringify(result).includes(SECRET));
  });

  it('in dry run, sends nothing and returns what it would send', async () => {
    // No interceptor and no network: any request would fail this test.
    const destination = new Ga4Destination({ ...settings, dryRun: true });
    assert.equal(destination.dryRun, true);
    const result = await destination.deliver(deliveryRequest(), Date.now());
    assert.equal(result.outcome, 'dry_run');
    assert.equal(result.requests.length, 1);
    assert.equal(result.requests[0]!.status, null);
    assert.match(result.requests[0]!.url, /api_secret=REDACTED$/);
  });

  it('is a dry run when credentials are missing', async () => {
    const destination = new Ga4Destination({ ...settings, apiSecret: null, dryRun: false });
    assert.equal(destination.dryRun, true);
    const result = await destination.deliver(deliveryRequest(), Date.now());
    assert.equal(result.outcome, 'dry_run');
  });

  it('never sends an invalid payload and lists every problem', async () => {
    const request = deliveryRequest({
      events: [
        { name: '_bad', params: {} },
        { name: 'purchase', params: { value: '1500', transaction_id: '' } },
      ],
    });
    for (const dryRun of [false, true]) {
      const error = await rejection(
        new Ga4Destination({ ...settings, dryRun }).deliver(request, Date.now()),
      );
      assert.ok(error instanceof DeliveryError);
      assert.equal(error.code, 'GA4_PAYLOAD_INVALID');
      assert.equal(error.retryable, false);
      const details = error.details as { problems: Ga4Problem[]; payload: { events: unknown[] } };
      assert.deepEqual(
        details.problems.map((p) => p.validationCode),
        ['NAME_INVALID', 'VALUE_INVALID', 'VALUE_REQUIRED', 'VALUE_INVALID'],
      );
      assert.equal(details.payload.events.length, 2);
      // Each of Google's sentences as a clause, with its code: no ". (" in the middle.
      for (const problem of details.problems)
        assert.ok(
          error.message.includes(
            `${problem.description.replace(/\.$/, '')} (${problem.validationCode})`,
          ),
          error.message,
        );
      assert.doesNotMatch(error.message, /\.[ ;]*[.;(]/);
      assert.match(error.message, /param \[value\] must be a number, got string "1500"/);
      assertNoSecret(error);
    }
  });

  it('sends 26 events as two requests', async () => {
    const scope = nock(ORIGIN)
      .post('/mp/collect', (body: { events: unknown[] }) => body.events.length === 25)
      .query(QUERY)
      .reply(204)
      .post('/mp/collect', (body: { events: unknown[] }) => body.events.length === 1)
      .query(QUERY)
      .reply(204);
    const result = await new Ga4Destination(settings).deliver(
      deliveryRequest({ events: events(26) }),
      Date.now(),
    );
    scope.done();
    assert.deepEqual(
      result.requests.map((r) => r.status),
      [204, 204],
    );
  });

  it('says which request a problem is in when events were split', async () => {
    const many = events(26);
    many[25] = { name: 'bad-name', params: {} };
    const error = await rejection(
      new Ga4Destination(settings).deliver(deliveryRequest({ events: many }), Date.now()),
    );
    assert.ok(error instanceof DeliveryError);
    assert.match(
      error.message,
      /Request 2 of 2: Event at index: \[0\] has invalid name \[bad-name\]/,
    );
  });

  it('throws the retryable error of a failing chunk (the whole delivery is retried)', async () => {
    nock(ORIGIN)
      .post('/mp/collect')
      .query(QUERY)
      .reply(204)
      .post('/mp/collect')
      .query(QUERY)
      .reply(503);
    const error = await rejection(
      new Ga4Destination(settings).deliver(deliveryRequest({ events: events(26) }), Date.now()),
    );
    assert.ok(error instanceof RetryableError);
  });
});

describe('sendGa4Request against the local GA4 stand-in (loopback)', () => {
  let standIn: Ga4StandIn;
  let local: Ga4Settings;

  before(async () => {
    standIn = await startGa4StandIn();
    local = { ...settings, endpoint: standIn.url };
  });
  afterEach(() => standIn.reset());
  after(async () => {
    await standIn.close();
  });

  it('gets 204 and the stand-in records the request with no problems', async () => {
    const req = built(local);
    const result = await sendGa4Request(req, { timeoutMs: 2000 });
    assert.equal(result.status, 204);
    const [got] = standIn.collected();
    assert.ok(got);
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/mp/collect');
    assert.deepEqual(Object.fromEntries(got.query), QUERY);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.rawBody, req.body);
    assert.deepEqual(got.json, req.payload);
    assert.deepEqual(got.problems, []);
  });

  it('answers 204 to an invalid payload too, and records what GA4 would drop', async () => {
    const req = built(local);
    const bad = { ...req, body: JSON.stringify({ client_id: '1.2', events: [{ name: '_bad' }] }) };
    assert.equal((await sendGa4Request(bad, { timeoutMs: 2000 })).status, 204);
    assert.deepEqual(
      standIn.collected()[0]!.problems.map((p) => p.validationCode),
      ['NAME_INVALID'],
    );
  });

  it('failNext(503) gives a RetryableError, recorded as a failed attempt', async () => {
    standIn.failNext(1, 503, { 'Retry-After': '7' });
    const error = await rejection(sendGa4Request(built(local), { timeoutMs: 2000 }));
    assert.ok(error instanceof RetryableError);
    assert.equal(error.retryAfterMs, 7000);
    assertNoSecret(error);
    assert.equal(standIn.collected().length, 0);
    assert.deepEqual(
      standIn.attempts().map((a) => [a.status, a.accepted]),
      [[503, false]],
    );
    // The next one goes through.
    assert.equal((await sendGa4Request(built(local), { timeoutMs: 2000 })).status, 204);
    assert.equal(standIn.collected().length, 1);
  });

  it('hangNext beyond the timeout gives a RetryableError', async () => {
    standIn.hangNext(1, 500);
    const error = await rejection(sendGa4Request(built(local), { timeoutMs: 50 }));
    assert.ok(error instanceof RetryableError);
    assert.match(error.message, /within 50 ms/);
  });

  it('serves /debug/mp/collect with validationMessages', async () => {
    const req = built(local);
    const debugUrl = req.url.replace('/mp/collect', '/debug/mp/collect');
    const ok = await fetch(debugUrl, { method: 'POST', body: req.body });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { validationMessages: [] });

    const bad = await fetch(debugUrl, { method: 'POST', body: '{"events":[]}' });
    const answer = (await bad.json()) as { validationMessages: Ga4Problem[] };
    assert.deepEqual(
      answer.validationMessages.map((m) => [m.fieldPath, m.validationCode]),
      [
        ['client_id', 'VALUE_REQUIRED'],
        ['events', 'VALUE_REQUIRED'],
      ],
    );
    assert.equal(standIn.collected().length, 0);
  });

  it('answers 405 to other methods and reports a body that is not JSON', async () => {
    const get = await fetch(`${standIn.url}/mp/collect`);
    assert.equal(get.status, 405);
    await get.arrayBuffer();
    const notJson = await fetch(`${standIn.url}/debug/mp/collect`, {
      method: 'POST',
      body: 'events=1',
    });
    const answer = (await notJson.json()) as { validationMessages: Ga4Problem[] };
    assert.match(
      answer.validationMessages[0]!.description,
      /^Unable to parse Measurement Protocol JSON payload\./,
    );
  });

  it('Ga4Destination delivers through the stand-in', async () => {
    const result = await new Ga4Destination(local).deliver(
      deliveryRequest({ events: events(30) }),
      Date.now(),
    );
    assert.equal(result.outcome, 'sent');
    assert.deepEqual(
      standIn.collected().map((r) => (r.json as { events: unknown[] }).events.length),
      [25, 5],
    );
  });
});
