/**
 * GenericWebhookIntake.parse, pure: the signature over the raw bytes (missing, wrong, other bytes,
 * upper-case hex, a byte order mark), bodies of one event or a list, and mapped senders' bodies
 * (JSON, a form, the URL's query) with problems named by where their value came from.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { GenericWebhookIntake } from '../../src/adapters/crm/generic/generic-webhook-intake';
import type { GenericMapping, GenericSettings } from '../../src/adapters/crm/generic/config';
import type { IntakeRequest } from '../../src/ports/webhook-intake';
import { AppError } from '../../src/core/errors';
import type { DealEvent } from '../../src/core/deal';

const KEY = 'unit-intake-key-0123456789abcdef';

const ORDERS: GenericMapping = {
  signed: false,
  fields: {
    deal_id: 'order.id',
    stage: 'order.status',
    amount: 'order.totalSumm',
    'identities.ga_client_id': 'order.customFields.ga_client_id',
  },
  fixed: { account: 'shop', currency: 'RUB' },
  outcomes: { complete: 'won', cancel: 'lost' },
};

const CALLS: GenericMapping = {
  signed: false,
  fields: { deal_id: 'callId', 'identities.ga_client_id': 'clientId', amount: 'price' },
  fixed: { account: 'calls', event: 'created' },
  outcomes: {},
};

function settings(over: Partial<GenericSettings> = {}): GenericSettings {
  return {
    secret: KEY,
    accounts: null,
    mappings: { orders: ORDERS, calls: CALLS, signed: { ...ORDERS, signed: true } },
    ...over,
  };
}

function sign(body: string | Buffer, key = KEY): string {
  return `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
}

function req(
  body: string | Buffer,
  over: Partial<Omit<IntakeRequest, 'raw' | 'text'>> = {},
): IntakeRequest {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  return {
    raw,
    text: raw.toString('utf8'),
    headers: { 'content-type': 'application/json', 'x-closeloop-signature': sign(raw) },
    subpath: '',
    query: '',
    receivedAt: 0,
    ...over,
  };
}

function parse(request: IntakeRequest, s: GenericSettings = settings()): DealEvent[] {
  return new GenericWebhookIntake(s).parse(request).events;
}

/** The AppError `parse` throws. */
function refusal(request: IntakeRequest, s: GenericSettings = settings()): AppError {
  try {
    parse(request, s);
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return e;
  }
  assert.fail('the request was taken');
}

function problemsOf(e: AppError): unknown {
  return (e.details as { problems?: unknown } | undefined)?.problems;
}

const EVENT = JSON.stringify({ account: 'shop', deal_id: 'A-77', outcome: 'won', amount: '10' });

describe('GenericWebhookIntake', () => {
  describe('the signature', () => {
    it('takes the HMAC-SHA256 of the bytes, in either case, with spaces around', () => {
      assert.equal(parse(req(EVENT))[0]?.deal.id, 'A-77');
      const upper = `sha256=${sign(EVENT).slice(7).toUpperCase()}`;
      const headers = { 'content-type': 'application/json' };
      assert.equal(
        parse(req(EVENT, { headers: { ...headers, 'x-closeloop-signature': upper } })).length,
        1,
      );
      const spaced = ` ${sign(EVENT)} `;
      assert.equal(
        parse(req(EVENT, { headers: { ...headers, 'x-closeloop-signature': spaced } })).length,
        1,
      );
    });

    it('refuses a missing, malformed or wrong one with 401, before reading the body', () => {
      const missing = refusal(req('not json', { headers: {} }));
      assert.equal(missing.code, 'WEBHOOK_SIGNATURE_INVALID');
      assert.equal(missing.httpStatus, 401);
      assert.match(missing.message, /has no x-closeloop-signature header/);
      const short = refusal(
        req(EVENT, { headers: { 'x-closeloop-signature': sign(EVENT).slice(0, 40) } }),
      );
      assert.match(short.message, /is not sha256=<64 hex digits>/);
      const wrong = refusal(
        req(EVENT, { headers: { 'x-closeloop-signature': sign(EVENT, `${KEY}x`) } }),
      );
      assert.match(wrong.message, /does not match the body/);
      assert.equal(wrong.httpStatus, 401);
    });

    it('is over the raw bytes: a re-encoded body, or one without its byte order mark, fails', () => {
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(EVENT)]);
      assert.equal(parse(req(bom)).length, 1, 'a signed body with a BOM is read');
      const withoutMark = req(bom, {
        headers: { 'x-closeloop-signature': sign(EVENT) },
      });
      assert.equal(refusal(withoutMark).httpStatus, 401);
      const pretty = JSON.stringify(JSON.parse(EVENT), null, 1);
      assert.equal(
        refusal(req(EVENT, { headers: { 'x-closeloop-signature': sign(pretty) } })).httpStatus,
        401,
      );
    });

    it('refuses every signed request when no key is set, saying so', () => {
      const e = refusal(req(EVENT), settings({ secret: null }));
      assert.equal(e.httpStatus, 401);
      assert.match(e.message, /CLOSELOOP_INTAKE_SECRET/);
    });
  });

  describe('signed events', () => {
    it('locates problems of one event without an index, of a list with one', () => {
      const single = refusal(req(JSON.stringify({ account: 'shop' })));
      assert.equal(single.code, 'WEBHOOK_INVALID');
      assert.equal(single.httpStatus, 400);
      assert.deepEqual(problemsOf(single), [{ path: 'deal_id', message: 'is required' }]);
      const list = refusal(req(JSON.stringify([{ account: 'shop' }])));
      assert.deepEqual(problemsOf(list), [{ path: '[0].deal_id', message: 'is required' }]);
    });

    it('refuses a body that is not JSON, a form, an empty list and a list over 1,000', () => {
      assert.match(refusal(req('{"account":')).message, /^the body is not JSON/);
      const form = 'account=shop&deal_id=1';
      assert.match(
        refusal(
          req(form, {
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-closeloop-signature': sign(form),
            },
          }),
        ).message,
        /not a form/,
      );
      assert.equal(refusal(req('[]')).httpStatus, 400);
      const many = JSON.stringify(Array.from({ length: 1001 }, () => JSON.parse(EVENT) as object));
      assert.equal(refusal(req(many)).httpStatus, 413);
    });

    it('shows at most 20 problems in the message and every one in the details', () => {
      const list = JSON.stringify(Array.from({ length: 25 }, () => ({ account: 'shop' })));
      const e = refusal(req(list));
      assert.match(e.message, /^25 problems in the events, nothing was stored: /);
      assert.match(e.message, /; and 5 more$/);
      assert.equal((problemsOf(e) as unknown[]).length, 25);
    });
  });

  describe('mapped senders', () => {
    const order = {
      order: {
        id: 5012,
        status: 'complete',
        totalSumm: 2500.5,
        customFields: { ga_client_id: '111.222' },
      },
    };

    it('maps a JSON body by the mapping, unsigned when it says signed: false', () => {
      const [e] = parse(req(JSON.stringify(order), { subpath: 'orders', headers: {} }));
      assert.equal(e?.account, 'shop');
      assert.equal(e?.deal.id, '5012');
      assert.equal(e?.deal.stageId, 'complete');
      assert.equal(e?.deal.outcome, 'won');
      assert.deepEqual(e?.deal.amount, { amount: '2500.5', currency: 'RUB' });
      assert.equal(e?.deal.identities.gaClientId, '111.222');
    });

    it('needs the signature when the mapping is signed', () => {
      const body = JSON.stringify(order);
      assert.equal(refusal(req(body, { subpath: 'signed', headers: {} })).httpStatus, 401);
      assert.equal(parse(req(body, { subpath: 'signed' })).length, 1);
    });

    it('names a mapped event’s problems without an index, and where each value came from', () => {
      const body = JSON.stringify({ order: { status: 'complete', totalSumm: { v: 1 } } });
      const e = refusal(req(body, { subpath: 'orders', headers: {} }));
      assert.deepEqual(problemsOf(e), [
        { path: 'deal_id', message: 'is required (mapped from order.id, absent in the body)' },
        {
          path: 'amount',
          message: 'must be string or number or null (mapped from order.totalSumm)',
        },
      ]);
    });

    it('maps each item of a list, with indices', () => {
      const body = JSON.stringify([order, { order: { status: 'cancel' } }]);
      const e = refusal(req(body, { subpath: 'orders', headers: {} }));
      assert.deepEqual(problemsOf(e), [
        { path: '[1].deal_id', message: 'is required (mapped from order.id, absent in the body)' },
      ]);
      const ok = JSON.stringify([order, { order: { id: 5013, status: 'cancel' } }]);
      const events = parse(req(ok, { subpath: 'orders', headers: {} }));
      assert.deepEqual(
        events.map((x) => [x.deal.id, x.deal.outcome]),
        [
          ['5012', 'won'],
          ['5013', 'lost'],
        ],
      );
    });

    it('reads a form, and the URL’s query under it (the body’s field wins)', () => {
      const form = 'callId=c-1&clientId=111.222&price=1%20500';
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const [e] = parse(req(form, { subpath: 'calls', headers, query: 'callId=q-9&price=7' }));
      assert.equal(e?.account, 'calls');
      assert.equal(e?.kind, 'created');
      assert.equal(e?.deal.id, 'c-1');
      assert.deepEqual(e?.deal.amount, { amount: '1500', currency: null });
      assert.equal(e?.deal.identities.gaClientId, '111.222');
    });

    it('reads the query alone when the body is empty', () => {
      const [e] = parse(req('', { subpath: 'calls', headers: {}, query: 'callId=q-9' }));
      assert.equal(e?.deal.id, 'q-9');
    });

    it('answers 404 to a mapping it does not have, inherited names included', () => {
      for (const name of ['retailcrm', 'constructor', '__proto__', 'toString']) {
        const e = refusal(req('{}', { subpath: name, headers: {} }));
        assert.equal(e.httpStatus, 404, name);
        assert.match(e.message, /mappings: orders, calls, signed/);
      }
    });
  });
});
