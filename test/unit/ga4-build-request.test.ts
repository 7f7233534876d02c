import assert from 'node:assert/strict';
import {
  buildDebugUrl,
  buildGa4Requests,
  redactGa4Url,
  TIMESTAMP_SAFETY_MARGIN_MS,
} from '../../src/adapters/destinations/ga4/build-request';
import type { Ga4Settings } from '../../src/adapters/destinations/ga4/ga4-settings';
import { validateGa4Payload } from '../../src/adapters/destinations/ga4/validate-ga4-payload';
import type { ConversionEvent, DeliveryRequest } from '../../src/ports/destination';

const NOW_MS = Date.parse('2025-05-10T12:00:00Z');
const HOUR_MS = 3_600_000;
const SECRET = 'Ab+c/d=e&f?g';

const settings: Ga4Settings = {
  measurementId: 'G-TEST 123',
  apiSecret: SECRET,
  endpoint: 'https://www.google-analytics.com',
  timeoutMs: 5000,
  dryRun: false,
};

function request(overrides: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    account: '29651234',
    dealId: '48213',
    identity: { clientId: '1234567890.1700000000', sessionId: '1746825440' },
    occurredAtMs: NOW_MS - HOUR_MS,
    events: [
      { name: 'close_convert_lead', params: { currency: 'RUB', value: 1500 } },
      { name: 'purchase', params: { currency: 'RUB', value: 1500, transaction_id: '48213' } },
    ],
    ...overrides,
  };
}

function events(n: number): ConversionEvent[] {
  return Array.from({ length: n }, (_, i) => ({ name: `stage_${i}`, params: {} }));
}

describe('buildGa4Requests', () => {
  it('builds one POST /mp/collect with the documented body', () => {
    const [req, ...rest] = buildGa4Requests(settings, request(), NOW_MS);
    assert.equal(rest.length, 0);
    assert.ok(req);
    assert.equal(
      req.url,
      'https://www.google-analytics.com/mp/collect?measurement_id=G-TEST%20123&api_secret=Ab%2Bc%2Fd%3De%26f%3Fg',
    );
    assert.deepEqual(req.headers, { 'Content-Type': 'application/json' });
    assert.deepEqual(req.payload, {
      client_id: '1234567890.1700000000',
      timestamp_micros: (NOW_MS - HOUR_MS) * 1000,
      events: [
        {
          name: 'close_convert_lead',
          params: {
            currency: 'RUB',
            value: 1500,
            engagement_time_msec: 1,
            session_id: '1746825440',
          },
        },
        {
          name: 'purchase',
          params: {
            currency: 'RUB',
            value: 1500,
            transaction_id: '48213',
            engagement_time_msec: 1,
            session_id: '1746825440',
          },
        },
      ],
    });
    assert.equal(req.body, JSON.stringify(req.payload));
    assert.deepEqual(validateGa4Payload(JSON.parse(req.body), { nowMs: NOW_MS }), []);
  });

  it('URL-encodes the credentials so that the secret cannot break the query', () => {
    const [req] = buildGa4Requests(settings, request(), NOW_MS);
    const url = new URL(req!.url);
    assert.equal(url.searchParams.get('api_secret'), SECRET);
    assert.equal(url.searchParams.get('measurement_id'), 'G-TEST 123');
    assert.deepEqual([...url.searchParams.keys()], ['measurement_id', 'api_secret']);
  });

  it('redactedUrl carries no secret', () => {
    const [req] = buildGa4Requests(settings, request(), NOW_MS);
    assert.equal(
      req!.redactedUrl,
      'https://www.google-analytics.com/mp/collect?measurement_id=G-TEST%20123&api_secret=REDACTED',
    );
    assert.ok(!req!.redactedUrl.includes(encodeURIComponent(SECRET)));
    assert.ok(!req!.redactedUrl.includes('Ab'));
  });

  it('chunks at 25 events per request, each with the same client_id', () => {
    for (const [n, sizes] of [
      [25, [25]],
      [26, [25, 1]],
      [51, [25, 25, 1]],
    ] as const) {
      const reqs = buildGa4Requests(settings, request({ events: events(n) }), NOW_MS);
      assert.deepEqual(
        reqs.map((r) => r.payload.events.length),
        sizes,
      );
      assert.ok(reqs.every((r) => r.payload.client_id === '1234567890.1700000000'));
    }
    const reqs = buildGa4Requests(settings, request({ events: events(26) }), NOW_MS);
    assert.equal(reqs[1]!.payload.events[0]!.name, 'stage_25');
  });

  it('keeps an empty event list as one request, for the validator to reject', () => {
    const reqs = buildGa4Requests(settings, request({ events: [] }), NOW_MS);
    assert.equal(reqs.length, 1);
    assert.deepEqual(reqs[0]!.payload.events, []);
  });

  it('adds engagement_time_msec: 1 unless the event has one', () => {
    const reqs = buildGa4Requests(
      settings,
      request({
        events: [
          { name: 'a', params: {} },
          { name: 'b', params: { engagement_time_msec: 250 } },
        ],
      }),
      NOW_MS,
    );
    const params = reqs[0]!.payload.events.map((e) => e.params.engagement_time_msec);
    assert.deepEqual(params, [1, 250]);
  });

  it('adds session_id only when the request has one, never inventing it', () => {
    const without = buildGa4Requests(
      settings,
      request({ identity: { clientId: '1234567890.1700000000' } }),
      NOW_MS,
    );
    assert.ok(without[0]!.payload.events.every((e) => !('session_id' in e.params)));
    const withId = buildGa4Requests(settings, request(), NOW_MS);
    assert.ok(withId[0]!.payload.events.every((e) => e.params.session_id === '1746825440'));
  });

  it('does not change the caller’s event params', () => {
    const req = request();
    buildGa4Requests(settings, req, NOW_MS);
    assert.deepEqual(req.events[0]!.params, { currency: 'RUB', value: 1500 });
  });

  describe('timestamp_micros', () => {
    function timestampFor(occurredAtMs: number | null): number | undefined {
      return buildGa4Requests(settings, request({ occurredAtMs }), NOW_MS)[0]!.payload
        .timestamp_micros;
    }

    it('is integer microseconds when the event is within the last 72 hours', () => {
      assert.equal(timestampFor(NOW_MS - HOUR_MS), (NOW_MS - HOUR_MS) * 1000);
      assert.equal(timestampFor(NOW_MS), NOW_MS * 1000);
      assert.equal(timestampFor(NOW_MS - 0.4), NOW_MS * 1000);
      assert.ok(Number.isSafeInteger(timestampFor(NOW_MS - 1234)));
      assert.equal(String(timestampFor(NOW_MS - 1234)).length, 16);
    });

    it('is omitted within 5 minutes of the 72-hour limit and beyond it', () => {
      const limit = NOW_MS - 72 * HOUR_MS + TIMESTAMP_SAFETY_MARGIN_MS;
      assert.equal(timestampFor(limit + 1), (limit + 1) * 1000);
      assert.equal(timestampFor(limit), undefined);
      assert.equal(timestampFor(NOW_MS - 72 * HOUR_MS), undefined);
      assert.equal(timestampFor(NOW_MS - 30 * 24 * HOUR_MS), undefined);
    });

    it('is omitted for a time in the future (clock skew) and when unknown', () => {
      assert.equal(timestampFor(NOW_MS + 1), undefined);
      assert.equal(timestampFor(NOW_MS + HOUR_MS), undefined);
      assert.equal(timestampFor(null), undefined);
      const [req] = buildGa4Requests(settings, request({ occurredAtMs: null }), NOW_MS);
      assert.ok(!('timestamp_micros' in req!.payload));
      assert.ok(!req!.body.includes('timestamp_micros'));
    });
  });

  it('builds with null credentials (dry run), leaving them empty', () => {
    const dry = { ...settings, measurementId: null, apiSecret: null, dryRun: true };
    const [req] = buildGa4Requests(dry, request(), NOW_MS);
    assert.equal(
      req!.url,
      'https://www.google-analytics.com/mp/collect?measurement_id=&api_secret=',
    );
    assert.equal(
      req!.redactedUrl,
      'https://www.google-analytics.com/mp/collect?measurement_id=&api_secret=REDACTED',
    );
  });

  it('honours another endpoint (EU, proxy), ignoring a trailing slash', () => {
    const eu = { ...settings, endpoint: 'https://region1.google-analytics.com/' };
    const [req] = buildGa4Requests(eu, request(), NOW_MS);
    assert.ok(req!.url.startsWith('https://region1.google-analytics.com/mp/collect?'));
  });
});

describe('buildDebugUrl and redactGa4Url', () => {
  it('points at /debug/mp/collect with the same query', () => {
    assert.equal(
      buildDebugUrl(settings),
      'https://www.google-analytics.com/debug/mp/collect?measurement_id=G-TEST%20123&api_secret=Ab%2Bc%2Fd%3De%26f%3Fg',
    );
    assert.equal(
      redactGa4Url(buildDebugUrl(settings)),
      'https://www.google-analytics.com/debug/mp/collect?measurement_id=G-TEST%20123&api_secret=REDACTED',
    );
  });

  it('redacts api_secret wherever it sits in the query', () => {
    assert.equal(
      redactGa4Url('http://h/mp/collect?api_secret=s3cr3t&measurement_id=G-1'),
      'http://h/mp/collect?api_secret=REDACTED&measurement_id=G-1',
    );
  });
});
