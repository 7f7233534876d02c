/**
 * readDealEvent: a generic event checked for shape (the schema) and meaning (an amount that reads,
 * a currency in use, a time with a zone, an account the URL takes), every problem located at its
 * field, and the deal model it becomes.
 */
import assert from 'node:assert/strict';
import { readDealEvent, type EventProblem } from '../../src/adapters/crm/generic/read-deal-event';
import type { DealEvent } from '../../src/core/deal';

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

function read(input: unknown, accounts: readonly string[] | null = null): DealEvent {
  const r = readDealEvent(input, '', accounts);
  assert.ok('event' in r, JSON.stringify(r));
  return r.event;
}

function problems(input: unknown, prefix = '', accounts: string[] | null = null): EventProblem[] {
  const r = readDealEvent(input, prefix, accounts);
  assert.ok('problems' in r, 'expected problems');
  return r.problems;
}

describe('readDealEvent (generic intake)', () => {
  it('reads the spec’s example into the deal model', () => {
    assert.deepEqual(read(EXAMPLE), {
      source: 'generic',
      account: 'shop',
      kind: 'stage_changed',
      previous: null,
      occurredAt: 1_796_119_200,
      deal: {
        id: 'A-77',
        pipelineId: null,
        stageId: 'complete',
        outcome: 'won',
        amount: { amount: '2500.00', currency: 'RUB' },
        responsibleUserId: null,
        createdAt: null,
        updatedAt: 1_796_119_200,
        identities: {
          gaClientId: '111.222',
          gaSessionId: null,
          ymClientId: '1764583200123456789',
          yclid: '12345',
          gclid: null,
          utm: { source: null, medium: null, campaign: null, content: null, term: null },
        },
        fields: [],
        tags: [],
      },
    });
  });

  it('takes ids as numbers, the previous stage, UTM tags and fields', () => {
    const e = read({
      account: 'shop',
      deal_id: 77,
      event: 'created',
      pipeline: 3,
      stage: 142,
      previous_stage: 'new',
      utm: { source: 'yandex', campaign: null },
      fields: { product: 'course', seats: 3, paid: true, empty: null },
    });
    assert.equal(e.kind, 'created');
    assert.equal(e.deal.id, '77');
    assert.equal(e.deal.stageId, '142');
    assert.deepEqual(e.previous, { pipelineId: '3', stageId: 'new' });
    assert.equal(e.deal.outcome, null);
    assert.equal(e.deal.amount, null);
    assert.equal(e.deal.identities.utm.source, 'yandex');
    assert.equal(e.deal.identities.utm.campaign, null);
    assert.deepEqual(
      e.deal.fields?.map((f) => [f.name, f.values[0]?.value]),
      [
        ['product', 'course'],
        ['seats', '3'],
        ['paid', 'true'],
      ],
    );
  });

  it('reads amounts exactly, as people write them', () => {
    const amount = (a: string | number) => read({ ...EXAMPLE, amount: a }).deal.amount?.amount;
    assert.equal(amount('2 500,00'), '2500.00');
    assert.equal(amount('2\u00a0500,50'), '2500.50');
    assert.equal(amount('1,500.10'), '1500.10');
    assert.equal(amount(2500), '2500');
    assert.equal(amount(0.1), '0.1');
    assert.equal(read({ account: 's', deal_id: 1, amount: '10' }).deal.amount?.currency, null);
  });

  it('reads times with a zone, and Unix seconds or milliseconds', () => {
    const at = (t: string | number) => read({ ...EXAMPLE, occurred_at: t }).occurredAt;
    assert.equal(at('2026-12-01T13:00:00+03:00'), 1_796_119_200);
    assert.equal(at('2026-12-01T13:00:00+0300'), 1_796_119_200);
    assert.equal(at(1_796_119_200), 1_796_119_200);
    assert.equal(at(1_796_119_200_123), 1_796_119_200);
    assert.equal(at('1796119200'), 1_796_119_200);
    assert.deepEqual(problems({ ...EXAMPLE, occurred_at: '2026-12-01 10:00:00' }), [
      {
        path: 'occurred_at',
        message: 'must be ISO 8601 with a time zone (2026-12-01T10:00:00Z) or Unix seconds',
      },
    ]);
  });

  it('locates each problem at its field, with the prefix of its place in a list', () => {
    assert.deepEqual(problems({ account: 'shop' }), [{ path: 'deal_id', message: 'is required' }]);
    assert.deepEqual(problems({ account: 'shop' }, '[2]'), [
      { path: '[2].deal_id', message: 'is required' },
    ]);
    assert.deepEqual(problems({ ...EXAMPLE, price: 1 }, '[0]'), [
      {
        path: '[0].price',
        message: 'is not a field of a deal event (the schema: GET /schemas/deal-event.json)',
      },
    ]);
    assert.deepEqual(problems({ ...EXAMPLE, identities: { email: 'x' } }), [
      {
        path: 'identities.email',
        message: 'is not a field of identities (the schema: GET /schemas/deal-event.json)',
      },
    ]);
    assert.deepEqual(problems({ ...EXAMPLE, outcome: 'WON' }), [
      { path: 'outcome', message: 'must be one of "open", "won", "lost", null' },
    ]);
    assert.deepEqual(problems({ ...EXAMPLE, amount: {} }), [
      { path: 'amount', message: 'must be string or number or null' },
    ]);
    assert.deepEqual(problems('A-77', '[1]'), [{ path: '[1]', message: 'must be object' }]);
    assert.deepEqual(problems(null), [{ path: '(the event)', message: 'must be object' }]);
  });

  it('says in words what a pattern wants, and that a huge numeric id must come as text', () => {
    assert.deepEqual(
      problems({ ...EXAMPLE, account: 'my shop', currency: 'rub', deal_id: 2 ** 60 }),
      [
        {
          path: 'account',
          message:
            'must be a name of letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)',
        },
        {
          path: 'deal_id',
          message: 'is too large a number to be exact; send an id this large as text ("…")',
        },
        { path: 'currency', message: 'must be an ISO 4217 code in capitals (RUB, USD, EUR)' },
      ],
    );
  });

  it('checks meaning too, alongside shape problems, so one answer lists everything', () => {
    assert.deepEqual(
      problems(
        { ...EXAMPLE, amount: 'two', currency: 'XYZ', occurred_at: 'yesterday', extra: 1 },
        '[1]',
        ['other'],
      ),
      [
        {
          path: '[1].extra',
          message: 'is not a field of a deal event (the schema: GET /schemas/deal-event.json)',
        },
        { path: '[1].account', message: '"shop" is not an account this URL takes (other)' },
        { path: '[1].amount', message: '"two" is not an amount' },
        { path: '[1].currency', message: 'XYZ is not a currency code in use (ISO 4217)' },
        {
          path: '[1].occurred_at',
          message: 'must be ISO 8601 with a time zone (2026-12-01T10:00:00Z) or Unix seconds',
        },
      ],
    );
  });

  it('takes any account without a list, and only the listed ones with one', () => {
    assert.equal(read({ ...EXAMPLE, account: 'anything' }).account, 'anything');
    assert.equal(read(EXAMPLE, ['shop', 'other']).account, 'shop');
    assert.equal(problems(EXAMPLE, '', ['other'])[0]?.path, 'account');
  });
});
