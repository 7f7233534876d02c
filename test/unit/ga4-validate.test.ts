/**
 * One test per rule of research ga4-mp.md Part D (rules 6–29, production mode). Only `events` and
 * `client_id` field paths are Google's; other paths are ours and are not pinned here.
 */
import assert from 'node:assert/strict';
import {
  validateGa4Payload,
  type Ga4Problem,
} from '../../src/adapters/destinations/ga4/validate-ga4-payload';

const NOW_MS = Date.parse('2025-05-10T12:00:00Z');
const HOUR_MS = 3_600_000;

type Payload = Record<string, unknown> & { events: Array<Record<string, unknown>> };

function validPayload(): Payload {
  return {
    client_id: '1234567890.1700000000',
    timestamp_micros: (NOW_MS - HOUR_MS) * 1000,
    events: [
      {
        name: 'close_convert_lead',
        params: { currency: 'RUB', value: 1500, engagement_time_msec: 1, session_id: '1746825440' },
      },
      {
        name: 'purchase',
        params: {
          transaction_id: '48213',
          value: 1500,
          currency: 'RUB',
          engagement_time_msec: 1,
          items: [{ item_id: 'deal', item_name: 'Сделка', price: 1500, quantity: 1 }],
        },
      },
    ],
  };
}

function check(payload: unknown, options = {}): Ga4Problem[] {
  return validateGa4Payload(payload, { nowMs: NOW_MS, ...options });
}

function codes(problems: Ga4Problem[]): string[] {
  return problems.map((p) => p.validationCode);
}

function params(payload: Payload, index: number): Record<string, unknown> {
  return payload.events[index]!.params as Record<string, unknown>;
}

function many(n: number, make: (i: number) => [string, unknown]): Record<string, unknown> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => make(i)));
}

describe('validateGa4Payload', () => {
  it('finds nothing wrong with a valid payload', () => {
    assert.deepEqual(check(validPayload(), { bodyBytes: 500 }), []);
    assert.deepEqual(check({ client_id: '1.2', events: [{ name: 'generate_lead' }] }), []);
  });

  it('accepts the documented optional top-level keys', () => {
    const payload = {
      ...validPayload(),
      user_id: 'u-1',
      non_personalized_ads: false,
      ip_override: '203.0.113.7',
      user_location: { city: 'Moscow' },
      device: { category: 'desktop' },
      validation_behavior: 'RELAXED',
      consent: { ad_user_data: 'GRANTED', ad_personalization: 'DENIED' },
      user_data: { sha256_email_address: ['a'.repeat(64)] },
      user_properties: { customer_tier: { value: 'gold' } },
    };
    assert.deepEqual(check(payload), []);
  });

  it('rule 6: a body of 130000 bytes or more is out of bounds', () => {
    assert.deepEqual(check(validPayload(), { bodyBytes: 129_999 }), []);
    assert.deepEqual(codes(check(validPayload(), { bodyBytes: 130_000 })), ['VALUE_OUT_OF_BOUNDS']);
  });

  it('rule 7: a body that is not a JSON object cannot be parsed', () => {
    for (const body of [null, 'text', 42, [validPayload()]]) {
      const problems = check(body);
      assert.deepEqual(codes(problems), ['VALUE_INVALID']);
      assert.match(
        problems[0]!.description,
        /^Unable to parse Measurement Protocol JSON payload\./,
      );
    }
  });

  it('rule 8: unknown keys, including camelCase spellings, are not fields', () => {
    const payload: Payload = { ...validPayload(), clientId: 'x', names: 1 };
    payload.events[0]!.parameters = {};
    payload.user_properties = { tier: { value: 'a', label: 'b' } };
    payload.consent = { ad_storage: 'GRANTED' };
    const problems = check(payload);
    assert.deepEqual(codes(problems), Array(5).fill('VALUE_INVALID'));
    assert.ok(problems.some((p) => p.description.endsWith('clientId: Cannot find field.')));
    assert.ok(
      problems.some((p) => p.description.includes('(events[0]) parameters: Cannot find field.')),
    );
  });

  it('rule 9: documented keys with the wrong type are invalid', () => {
    const payload = {
      ...validPayload(),
      non_personalized_ads: 'yes',
      ip_override: 1,
      user_properties: [],
      consent: 'GRANTED',
    };
    assert.deepEqual(codes(check(payload)), Array(4).fill('VALUE_INVALID'));
    assert.deepEqual(codes(check({ ...validPayload(), events: {} })), ['VALUE_INVALID']);
    const badParams = validPayload();
    badParams.events[0]!.params = ['currency'];
    assert.deepEqual(codes(check(badParams)), ['VALUE_INVALID']);
  });

  it('rule 10: client_id is required, non-empty, a string', () => {
    for (const clientId of [undefined, '', null]) {
      const problems = check({ ...validPayload(), client_id: clientId });
      assert.deepEqual(problems, [
        {
          validationCode: 'VALUE_REQUIRED',
          fieldPath: 'client_id',
          description: 'Measurement requires a client_id.',
        },
      ]);
    }
    const numeric = check({ ...validPayload(), client_id: 123.456 });
    assert.deepEqual(codes(numeric), ['VALUE_INVALID']);
    assert.equal(numeric[0]!.fieldPath, 'client_id');
  });

  it('rule 11: user_id is a string of at most 256 characters', () => {
    assert.deepEqual(check({ ...validPayload(), user_id: 'я'.repeat(256) }), []);
    assert.deepEqual(codes(check({ ...validPayload(), user_id: 'u'.repeat(257) })), [
      'VALUE_OUT_OF_BOUNDS',
    ]);
    assert.deepEqual(codes(check({ ...validPayload(), user_id: 7 })), ['VALUE_INVALID']);
  });

  describe('rule 12: timestamp_micros', () => {
    it('must be a whole number', () => {
      for (const ts of ['1746878400000000', 1746878400000000.5, -1]) {
        assert.deepEqual(codes(check({ ...validPayload(), timestamp_micros: ts })), [
          'VALUE_INVALID',
        ]);
      }
    });

    it('flags milliseconds (13 digits) with a clear description', () => {
      const problems = check({ ...validPayload(), timestamp_micros: NOW_MS });
      assert.deepEqual(codes(problems), ['VALUE_INVALID']);
      assert.match(problems[0]!.description, /milliseconds, not microseconds/);
    });

    it('flags other values that are not 16 digits (seconds, nanoseconds)', () => {
      for (const ts of [NOW_MS / 1000, NOW_MS * 1_000_000]) {
        assert.deepEqual(codes(check({ ...validPayload(), timestamp_micros: ts })), [
          'VALUE_INVALID',
        ]);
      }
    });

    it('is out of bounds when older than 72 hours before nowMs', () => {
      const at72h = (NOW_MS - 72 * HOUR_MS) * 1000;
      assert.deepEqual(check({ ...validPayload(), timestamp_micros: at72h }), []);
      const problems = check({ ...validPayload(), timestamp_micros: at72h - 1 });
      assert.deepEqual(codes(problems), ['VALUE_OUT_OF_BOUNDS']);
      assert.match(problems[0]!.description, /72 hours/);
      // Without nowMs there is no clock to compare with.
      assert.deepEqual(validateGa4Payload({ ...validPayload(), timestamp_micros: at72h - 1 }), []);
    });

    it('applies to event and user-property timestamps too', () => {
      const payload = validPayload();
      payload.events[1]!.timestamp_micros = NOW_MS;
      payload.user_properties = { tier: { value: 'a', timestamp_micros: NOW_MS } };
      const problems = check(payload);
      assert.deepEqual(codes(problems), ['VALUE_INVALID', 'VALUE_INVALID']);
      assert.match(
        problems[0]!.description,
        /^Event at index: \[1\] \(purchase\) timestamp_micros/,
      );
    });
  });

  it('rule 13: validation_behavior is RELAXED or ENFORCE_RECOMMENDATIONS', () => {
    assert.deepEqual(
      check({ ...validPayload(), validation_behavior: 'ENFORCE_RECOMMENDATIONS' }),
      [],
    );
    assert.deepEqual(codes(check({ ...validPayload(), validation_behavior: 'STRICT' })), [
      'VALUE_INVALID',
    ]);
  });

  it('rule 14: consent values are GRANTED or DENIED', () => {
    assert.deepEqual(codes(check({ ...validPayload(), consent: { ad_user_data: 'yes' } })), [
      'VALUE_INVALID',
    ]);
  });

  it('rule 15: user_data hashes are 64 lower-case hex characters', () => {
    const payload = {
      ...validPayload(),
      user_data: {
        sha256_email_address: ['someone@example.com', 'a'.repeat(64)],
        sha256_phone_number: 'A'.repeat(64),
        address: [{ sha256_first_name: 'Ivan', city: 'moscow' }],
      },
    };
    assert.deepEqual(codes(check(payload)), Array(3).fill('VALUE_INVALID'));
  });

  it('rule 16: events are required', () => {
    for (const events of [undefined, []]) {
      const problems = check({ client_id: '1.2', events });
      assert.deepEqual(codes(problems), ['VALUE_REQUIRED']);
      assert.equal(problems[0]!.fieldPath, 'events');
    }
  });

  it('rule 17: at most 25 events', () => {
    const event = { name: 'generate_lead' };
    assert.deepEqual(check({ client_id: '1.2', events: Array(25).fill(event) }), []);
    const problems = check({ client_id: '1.2', events: Array(26).fill(event) });
    assert.deepEqual(codes(problems), ['EXCEEDED_MAX_ENTITIES']);
    assert.equal(problems[0]!.fieldPath, 'events');
  });

  it('rule 18: an event needs a name', () => {
    const problems = check({
      client_id: '1.2',
      events: [{ params: {} }, { name: '' }, 'purchase'],
    });
    assert.deepEqual(codes(problems), ['VALUE_REQUIRED', 'VALUE_REQUIRED', 'VALUE_INVALID']);
    assert.equal(problems[0]!.fieldPath, 'events');
  });

  it("rule 19: event names follow Google's character rules, with Google's wording", () => {
    const problems = check({
      client_id: '1.2',
      events: [{ name: '_bad' }, { name: 'campaign@details' }, { name: 'сделка' }],
    });
    assert.deepEqual(problems, [
      {
        validationCode: 'NAME_INVALID',
        fieldPath: 'events',
        description:
          'Event at index: [0] has invalid name [_bad]. Names must start with an alphabetic character.',
      },
      {
        validationCode: 'NAME_INVALID',
        fieldPath: 'events',
        description:
          'Event at index: [1] has invalid name [campaign@details]. Only alphanumeric characters and underscores are allowed.',
      },
      {
        validationCode: 'NAME_INVALID',
        fieldPath: 'events',
        description:
          'Event at index: [2] has invalid name [сделка]. Names must start with an alphabetic character.',
      },
    ]);
  });

  it('rule 20: event names are at most 40 characters', () => {
    assert.deepEqual(check({ client_id: '1.2', events: [{ name: 'e'.repeat(40) }] }), []);
    const problems = check({ client_id: '1.2', events: [{ name: 'e'.repeat(41) }] });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.description, /^Event at index: \[0\] has invalid name/);
  });

  it('rule 21: reserved event names and prefixes; purchase, page_view and lead events are fine', () => {
    const reserved = [
      'session_start',
      'first_visit',
      'user_engagement',
      'error',
      'google_x',
      'ga_x',
      'firebase_x',
    ];
    const problems = check({ client_id: '1.2', events: reserved.map((name) => ({ name })) });
    assert.deepEqual(codes(problems), Array(reserved.length).fill('NAME_RESERVED'));
    assert.match(
      problems[0]!.description,
      /^Event at index: \[0\] has reserved name \[session_start\]/,
    );

    const allowed = [
      'purchase',
      'refund',
      'page_view',
      'screen_view',
      'ad_impression',
      'generate_lead',
      'qualify_lead',
      'close_unconvert_lead',
    ];
    assert.deepEqual(check({ client_id: '1.2', events: allowed.map((name) => ({ name })) }), []);
  });

  it('rule 22: at most 25 params per event', () => {
    const ok = { client_id: '1.2', events: [{ name: 'x', params: many(25, (i) => [`p${i}`, i]) }] };
    assert.deepEqual(check(ok), []);
    const tooMany = {
      client_id: '1.2',
      events: [{ name: 'x', params: many(26, (i) => [`p${i}`, i]) }],
    };
    const problems = check(tooMany);
    assert.deepEqual(codes(problems), ['EXCEEDED_MAX_ENTITIES']);
    assert.match(problems[0]!.description, /Event at index: \[0\] \(x\) has 26 params/);
  });

  it('rule 23: param names follow the character rules, 40 characters, no reserved prefixes', () => {
    const payload = validPayload();
    Object.assign(params(payload, 0), {
      '1st': 1,
      'lead-source': 'a',
      ['p'.repeat(41)]: 1,
      google_x: 1,
      ga_source: 'x',
      firebase_y: 1,
    });
    const problems = check(payload);
    assert.deepEqual(codes(problems), [
      'NAME_INVALID',
      'NAME_INVALID',
      'NAME_INVALID',
      'NAME_RESERVED',
      'NAME_RESERVED',
      'NAME_RESERVED',
    ]);
    assert.ok(
      problems.every((p) =>
        p.description.startsWith('Event at index: [0] (close_convert_lead) param ['),
      ),
    );
  });

  describe('rule 24: param values', () => {
    it('are strings, finite numbers or booleans', () => {
      const payload = validPayload();
      Object.assign(params(payload, 0), {
        a: null,
        b: { x: 1 },
        c: [1],
        d: NaN,
        e: Infinity,
        f: true,
        g: 0,
      });
      const problems = check(payload);
      assert.deepEqual(codes(problems), Array(5).fill('VALUE_INVALID'));
      assert.equal(
        problems[0]!.description,
        'Event at index: [0] (close_convert_lead) param [a] must be a string, a number or a boolean, got null.',
      );
    });

    it('are at most 100 characters, counted as characters not bytes', () => {
      const payload = validPayload();
      Object.assign(params(payload, 0), {
        lead_source: 'ы'.repeat(100),
        campaign: 'c'.repeat(101),
      });
      const problems = check(payload);
      assert.deepEqual(codes(problems), ['VALUE_OUT_OF_BOUNDS']);
      assert.match(
        problems[0]!.description,
        /param \[campaign\] is 101 characters long; the limit is 100/,
      );
    });

    it('page_title 300, page_referrer 420, page_location 1000; session ids unchecked', () => {
      const ok = validPayload();
      Object.assign(params(ok, 0), {
        page_title: 't'.repeat(300),
        page_referrer: 'r'.repeat(420),
        page_location: 'l'.repeat(1000),
        session_id: '1'.repeat(150),
        session_number: '2'.repeat(150),
      });
      assert.deepEqual(check(ok), []);
      const bad = validPayload();
      Object.assign(params(bad, 0), {
        page_title: 't'.repeat(301),
        page_referrer: 'r'.repeat(421),
        page_location: 'l'.repeat(1001),
      });
      assert.deepEqual(codes(check(bad)), Array(3).fill('VALUE_OUT_OF_BOUNDS'));
    });
  });

  describe('rule 25: items', () => {
    it('at most 200', () => {
      const payload = validPayload();
      params(payload, 1).items = Array.from({ length: 201 }, (_, i) => ({ item_id: `i${i}` }));
      assert.deepEqual(codes(check(payload)), ['EXCEEDED_MAX_ENTITIES']);
    });

    it('an array of objects, each with item_id or item_name', () => {
      const payload = validPayload();
      params(payload, 1).items = [{ item_name: 'only name' }, { price: 1 }, 'sku-1'];
      const problems = check(payload);
      assert.deepEqual(codes(problems), ['VALUE_REQUIRED', 'VALUE_INVALID']);
      assert.match(
        problems[0]!.description,
        /^Event at index: \[1\] \(purchase\) item at index: \[1\]/,
      );
      const notArray = validPayload();
      params(notArray, 1).items = { item_id: 'x' };
      assert.deepEqual(codes(check(notArray)), ['VALUE_INVALID']);
    });

    it('item keys follow the name rules and item values the value rules', () => {
      const payload = validPayload();
      params(payload, 1).items = [
        {
          item_id: 'x',
          'bad-key': 1,
          google_tag: 'x',
          item_brand: 'b'.repeat(101),
          item_variant: { a: 1 },
        },
      ];
      assert.deepEqual(codes(check(payload)), [
        'NAME_INVALID',
        'NAME_RESERVED',
        'VALUE_OUT_OF_BOUNDS',
        'VALUE_INVALID',
      ]);
    });

    it('at most 27 custom item params', () => {
      const ok = validPayload();
      params(ok, 1).items = [{ item_id: 'x', ...many(27, (i) => [`custom${i}`, 'v']) }];
      assert.deepEqual(check(ok), []);
      const bad = validPayload();
      params(bad, 1).items = [{ item_id: 'x', ...many(28, (i) => [`custom${i}`, 'v']) }];
      assert.deepEqual(codes(check(bad)), ['EXCEEDED_MAX_ENTITIES']);
    });
  });

  describe('rule 26: currency and money', () => {
    it('currency is three capital letters', () => {
      for (const currency of ['rub', 'RUR1', 'руб', 643, '']) {
        const payload = validPayload();
        params(payload, 0).currency = currency;
        assert.deepEqual(codes(check(payload)), ['VALUE_INVALID'], String(currency));
      }
    });

    it('value, tax, shipping, price and discount are numbers, named in the description', () => {
      const payload = validPayload();
      Object.assign(params(payload, 1), { value: '1500', tax: null, shipping: '0' });
      params(payload, 1).items = [{ item_id: 'x', price: '1500', discount: false }];
      const problems = check(payload);
      assert.deepEqual(codes(problems), Array(5).fill('VALUE_INVALID'));
      assert.equal(
        problems[0]!.description,
        'Event at index: [1] (purchase) param [value] must be a number, got string "1500".',
      );
    });

    it('value without currency is VALUE_REQUIRED (revenue is computed only with a currency)', () => {
      const payload = validPayload();
      delete params(payload, 0).currency;
      const problems = check(payload);
      assert.deepEqual(codes(problems), ['VALUE_REQUIRED']);
      assert.match(
        problems[0]!.description,
        /^Event at index: \[0\] \(close_convert_lead\) param \[value\]/,
      );
    });
  });

  it('rule 27: an empty transaction_id is invalid (it would merge every purchase)', () => {
    for (const id of ['', '  ']) {
      const payload = validPayload();
      params(payload, 1).transaction_id = id;
      const problems = check(payload);
      assert.deepEqual(codes(problems), ['VALUE_INVALID']);
      assert.match(problems[0]!.description, /param \[transaction_id\] is empty/);
    }
  });

  it('rule 28: at most 25 user properties', () => {
    const ok = { ...validPayload(), user_properties: many(25, (i) => [`up${i}`, { value: i }]) };
    assert.deepEqual(check(ok), []);
    const bad = { ...validPayload(), user_properties: many(26, (i) => [`up${i}`, { value: i }]) };
    const problems = check(bad);
    assert.deepEqual(codes(problems), ['EXCEEDED_MAX_ENTITIES']);
    assert.equal(problems[0]!.fieldPath, 'user_properties');
  });

  it('rule 29: user property names, reserved names, values', () => {
    const payload = {
      ...validPayload(),
      user_properties: {
        ['u'.repeat(25)]: { value: 'a' },
        '9lives': { value: 'a' },
        user_id: { value: 'a' },
        ga_tier: { value: 'a' },
        tier: { timestamp_micros: (NOW_MS - HOUR_MS) * 1000 },
        plan: 'gold',
        note: { value: 'n'.repeat(37) },
        fine: { value: 'n'.repeat(36) },
      },
    };
    assert.deepEqual(codes(check(payload)), [
      'NAME_INVALID',
      'NAME_INVALID',
      'NAME_RESERVED',
      'NAME_RESERVED',
      'VALUE_REQUIRED',
      'VALUE_INVALID',
      'VALUE_OUT_OF_BOUNDS',
    ]);
  });

  it('reports every problem at once, in a stable order', () => {
    const payload = {
      client_id: '',
      events: [
        { name: '_bad', params: { value: '1' } },
        { name: 'purchase', params: { transaction_id: '', currency: 'rub' } },
      ],
    };
    assert.deepEqual(codes(check(payload, { bodyBytes: 200_000 })), [
      'VALUE_OUT_OF_BOUNDS',
      'VALUE_REQUIRED',
      'NAME_INVALID',
      'VALUE_INVALID',
      'VALUE_REQUIRED',
      'VALUE_INVALID',
      'VALUE_INVALID',
    ]);
  });
});
