/**
 * The document served at GET /schemas/deal-event.json: a valid draft-07 schema (ajv compiles it
 * strictly and its meta-schema takes it), built without undefined keys, that takes the spec's
 * example (one event and a list) and refuses what the intake refuses for its shape, so the served
 * document and the check agree.
 */
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import {
  DEAL_EVENT_DOCUMENT,
  DEAL_EVENT_SCHEMA,
  MAX_EVENTS_PER_REQUEST,
} from '../../src/adapters/crm/generic/deal-event-schema';
import { readDealEvent } from '../../src/adapters/crm/generic/read-deal-event';

const EXAMPLE = {
  account: 'shop',
  deal_id: 'A-77',
  stage: 'complete',
  outcome: 'won',
  amount: '2500.00',
  currency: 'RUB',
  occurred_at: '2026-12-01T10:00:00Z',
  identities: { ga_client_id: '111.222', ym_client_id: '1764583200123456789', yclid: '12345' },
};

/** Every path in a value at which something is undefined (JSON would drop it silently). */
function undefinedPaths(value: unknown, at = ''): string[] {
  if (value === undefined) return [at];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => undefinedPaths(v, `${at}/${k}`));
}

describe('DEAL_EVENT_DOCUMENT (GET /schemas/deal-event.json)', () => {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(DEAL_EVENT_DOCUMENT);

  it('is a draft-07 schema that its meta-schema takes, with no undefined keys', () => {
    assert.equal(DEAL_EVENT_DOCUMENT.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.equal(new Ajv().validateSchema(DEAL_EVENT_DOCUMENT), true);
    assert.deepEqual(undefinedPaths(DEAL_EVENT_DOCUMENT), []);
    assert.deepEqual(undefinedPaths(DEAL_EVENT_SCHEMA), []);
    // The event it defines is the schema the intake checks each event with.
    const { $schema: _s, $id: _i, ...event } = DEAL_EVENT_SCHEMA;
    assert.deepEqual(DEAL_EVENT_DOCUMENT.definitions.event, event);
    assert.equal(DEAL_EVENT_DOCUMENT.oneOf[1].maxItems, MAX_EVENTS_PER_REQUEST);
  });

  it('takes the spec’s example, alone and in a list of 1 to 1,000', () => {
    assert.equal(validate(EXAMPLE), true, JSON.stringify(validate.errors));
    assert.equal(validate([EXAMPLE]), true);
    assert.equal(validate(Array.from({ length: 1000 }, () => EXAMPLE)), true);
    assert.equal(validate({ account: 'shop', deal_id: 77 }), true, 'only account and deal_id');
  });

  const bad: Array<[string, unknown]> = [
    ['an empty list', []],
    ['a list of 1,001', Array.from({ length: 1001 }, () => EXAMPLE)],
    ['no deal_id', { ...EXAMPLE, deal_id: undefined }],
    ['no account', { ...EXAMPLE, account: undefined }],
    ['an empty deal_id', { ...EXAMPLE, deal_id: '' }],
    ['a deal_id past 2^53', { ...EXAMPLE, deal_id: 2 ** 53 + 2 }],
    ['a fractional deal_id', { ...EXAMPLE, deal_id: 7.5 }],
    ['an unknown field', { ...EXAMPLE, price: 2500 }],
    ['an unknown identity', { ...EXAMPLE, identities: { email: 'a@b.c' } }],
    ['an outcome in capitals', { ...EXAMPLE, outcome: 'WON' }],
    ['a currency in lower case', { ...EXAMPLE, currency: 'rub' }],
    ['an amount as an object', { ...EXAMPLE, amount: { value: 2500 } }],
    ['an account with a space', { ...EXAMPLE, account: 'my shop' }],
    ['an unknown event kind', { ...EXAMPLE, event: 'won' }],
    ['a list holding a bad event', [EXAMPLE, { ...EXAMPLE, outcome: 'maybe' }]],
    ['text', 'A-77'],
  ];
  for (const [what, body] of bad) {
    it(`refuses ${what}, as the intake does`, () => {
      const json = JSON.parse(JSON.stringify(body)) as unknown;
      assert.equal(validate(json), false);
      const items = Array.isArray(json) ? json : [json];
      const refused =
        items.length === 0 ||
        items.length > MAX_EVENTS_PER_REQUEST ||
        items.some((item) => 'problems' in readDealEvent(item, '', null));
      assert.ok(refused, 'the intake takes what the document refuses');
    });
  }

  it('takes what the intake takes', () => {
    const taken = [
      EXAMPLE,
      { account: 'a.b-c_1', deal_id: 1, event: 'created', stage: 142, pipeline: null },
      { ...EXAMPLE, fields: { product: 'course', paid: true, seats: 3 }, utm: { source: 'ya' } },
      { ...EXAMPLE, amount: 2500, occurred_at: 1_764_583_200, previous_stage: 'new' },
    ];
    for (const event of taken) {
      assert.ok('event' in readDealEvent(event, '', null), JSON.stringify(event));
      assert.equal(validate(event), true, JSON.stringify(validate.errors));
    }
  });
});
