import assert from 'node:assert/strict';
import { planDealLife, type RevenueRecord } from '../../src/core/deal-life';
import { mapDealEvent } from '../../src/core/map-deal-event';
import {
  DEFAULT_REVENUE_SETTINGS,
  type MappingConfig,
  type RevenueSettings,
} from '../../src/core/config-types';
import type { DealEvent } from '../../src/core/deal';
import { dealEvent, DEFAULT_RULES, rule } from '../helpers/builders';

const SENT_AT = Date.UTC(2026, 11, 1, 10, 0, 0);

/** The record of the deal's first purchase, 150 000 ₽, as the delivery wrote it. */
function record(over: Partial<RevenueRecord> = {}): RevenueRecord {
  return {
    revision: 1,
    state: 'sent',
    key: 'amocrm:29638927:30307415:purchase:142',
    transactionId: '30307415',
    amount: '150000',
    currency: 'RUB',
    sentAt: SENT_AT,
    updatedAt: SENT_AT,
    ...over,
  };
}

function mapping(revenue: Partial<RevenueSettings> = {}): MappingConfig {
  return {
    rules: DEFAULT_RULES,
    currency: 'RUB',
    revenue: { ...DEFAULT_REVENUE_SETTINGS, ...revenue },
  };
}

const won = (amount = '150000'): DealEvent =>
  dealEvent({ deal: { amount: { amount, currency: null } } });
const reopened = (): DealEvent =>
  dealEvent({
    previous: { pipelineId: null, stageId: '142' },
    deal: { stageId: '41893093', outcome: 'open' },
  });
const lost = (): DealEvent =>
  dealEvent({
    previous: { pipelineId: null, stageId: '142' },
    deal: { stageId: '143', outcome: 'lost' },
  });

function plan(event: DealEvent, rec: RevenueRecord | null, config = mapping()) {
  return planDealLife(event, config, mapDealEvent(event, config).conversions, rec);
}

/** key, event name and params of each planned conversion. */
function sent(p: ReturnType<typeof plan>): Array<[string, string, unknown]> {
  return p.conversions.map((c) => [c.key, c.event.name, c.event.params]);
}

/** What the destination gets when the first purchase, 150 000 ₽, is taken back in full. */
const REFUND_OF_1: [string, string, unknown] = [
  'amocrm:29638927:30307415:refund:revision:1',
  'refund',
  { transaction_id: '30307415', value: 150000, currency: 'RUB' },
];
/** The purchase sent anew after it, at 120 000 ₽, with a transaction id of its own. */
const PURCHASE_2_AT_120000: [string, string, unknown] = [
  'amocrm:29638927:30307415:purchase:revision:2',
  'purchase',
  { value: 120000, currency: 'RUB', transaction_id: '30307415-2' },
];

describe('planDealLife (a deal’s whole life, for revenue)', () => {
  it('sends the first win as the rules say, marking its purchase as revision 1', () => {
    const p = plan(won(), null);
    assert.deepEqual(
      p.conversions.map((c) => [c.event.name, c.revenue]),
      [
        ['close_convert_lead', undefined],
        [
          'purchase',
          {
            kind: 'purchase',
            revision: 1,
            transactionId: '30307415',
            amount: '150000',
            currency: 'RUB',
          },
        ],
      ],
    );
    assert.equal(p.conversions[1]!.key, 'amocrm:29638927:30307415:purchase:142');
    assert.deepEqual([p.reopened, p.amountChanged], [null, null]);
  });

  it('follows no purchase of a deal that is not won, nor one without a transaction id', () => {
    const open = plan(reopened(), null);
    assert.equal(
      open.conversions.every((c) => c.revenue === undefined),
      true,
    );
    const noId = mapping();
    noId.rules = [
      rule({
        name: 'Won',
        on: 'status_changed',
        send: [
          {
            name: 'purchase',
            params: { value: { kind: 'deal', attribute: 'amount', required: true } },
          },
        ],
      }),
    ];
    assert.equal(plan(won(), null, noId).conversions[0]!.revenue, undefined);
  });

  it('sends nothing new for a repeat of the win: the rules’ purchase keeps the counted key', () => {
    const p = plan(won(), record({ key: 'amocrm:29638927:30307415:purchase:C1%3AWON' }));
    assert.deepEqual(
      p.conversions.map((c) => [c.key, c.revenue]),
      [
        ['amocrm:29638927:30307415:close_convert_lead:142', undefined],
        ['amocrm:29638927:30307415:purchase:C1%3AWON', undefined],
      ],
    );
    assert.deepEqual([p.reopened, p.amountChanged], [null, null]);
  });

  it('notes a counted deal seen out of won, once', () => {
    assert.equal(plan(reopened(), record()).reopened, 1);
    assert.equal(plan(reopened(), record({ state: 'reopened' })).reopened, null);
    assert.equal(plan(lost(), record({ revision: 3 })).reopened, 3);
    assert.equal(plan(lost(), record({ state: 'refunded' })).reopened, null);
    assert.equal(plan(dealEvent({ deal: { outcome: null } }), record()).reopened, null);
  });

  it('by default, a deal won again is not sent again; a new amount is recorded, not sent', () => {
    const same = plan(won(), record({ state: 'reopened' }));
    assert.deepEqual(
      same.conversions.map((c) => c.key),
      ['amocrm:29638927:30307415:close_convert_lead:142', 'amocrm:29638927:30307415:purchase:142'],
    );
    assert.equal(same.amountChanged, null);

    const cheaper = plan(won('120000'), record({ state: 'reopened' }));
    assert.equal(
      cheaper.conversions.some((c) => c.event.name === 'refund'),
      false,
    );
    assert.equal(
      cheaper.amountChanged?.key,
      'amocrm:29638927:30307415:amount:revision:1:120000 RUB',
    );
    assert.equal(
      cheaper.amountChanged?.reason,
      'purchase 30307415 was sent with 150000 RUB on 2026-12-01T10:00:00.000Z; the deal now says 120000 RUB. ' +
        'It was won again (revenue.won_again: ignore). The destination keeps counting 150000 RUB ' +
        '(revenue.amount_changed: record; refund_and_resend would send a refund and a new purchase)',
    );
  });

  it('with won_again: refund_and_resend, refunds the old amount and sends a new purchase with a new transaction id', () => {
    const config = mapping({ wonAgain: 'refund_and_resend' });
    const p = plan(won('120000'), record({ state: 'reopened' }), config);
    assert.deepEqual(sent(p), [
      [
        'amocrm:29638927:30307415:close_convert_lead:142',
        'close_convert_lead',
        { value: 120000, currency: 'RUB' },
      ],
      REFUND_OF_1,
      PURCHASE_2_AT_120000,
    ]);
    const reason =
      'won again after it was reopened (revenue.won_again: refund_and_resend): ' +
      'refund of purchase 30307415 (150000 RUB), then purchase 30307415-2 (120000 RUB)';
    assert.deepEqual(
      p.conversions.map((c) => c.revenue),
      [
        undefined,
        {
          kind: 'refund',
          revision: 1,
          transactionId: '30307415',
          amount: '150000',
          currency: 'RUB',
          reason,
        },
        {
          kind: 'purchase',
          revision: 2,
          transactionId: '30307415-2',
          amount: '120000',
          currency: 'RUB',
          reason,
        },
      ],
    );
    assert.equal(p.conversions[1]!.rule, 'revenue.won_again');
    // The same event again (a repeated webhook) plans the same keys: the ledger sends them once.
    assert.deepEqual(sent(plan(won('120000'), record({ state: 'reopened' }), config)), sent(p));
    // Once the new purchase is recorded, the win is counted: nothing new.
    const after = plan(
      won('120000'),
      record({
        revision: 2,
        key: 'amocrm:29638927:30307415:purchase:revision:2',
        transactionId: '30307415-2',
        amount: '120000',
      }),
      config,
    );
    assert.deepEqual(
      after.conversions.map((c) => c.key),
      [
        'amocrm:29638927:30307415:close_convert_lead:142',
        'amocrm:29638927:30307415:purchase:revision:2',
      ],
    );
  });

  it('numbers later revisions from the rules’ transaction id', () => {
    const p = plan(
      won('90000'),
      record({ revision: 2, state: 'reopened', transactionId: '30307415-2', amount: '120000' }),
      mapping({ wonAgain: 'refund_and_resend' }),
    );
    assert.deepEqual(
      p.conversions
        .slice(1)
        .map((c) => [c.key, c.event.params.transaction_id, c.event.params.value]),
      [
        ['amocrm:29638927:30307415:refund:revision:2', '30307415-2', 120000],
        ['amocrm:29638927:30307415:purchase:revision:3', '30307415-3', 90000],
      ],
    );
  });

  it('with lost_after_won: refund, refunds a won deal moved to lost, in full; by default sends no refund', () => {
    const p = plan(lost(), record(), mapping({ lostAfterWon: 'refund' }));
    assert.deepEqual(sent(p), [
      ['amocrm:29638927:30307415:close_unconvert_lead:143', 'close_unconvert_lead', {}],
      REFUND_OF_1,
    ]);
    assert.equal(p.conversions[1]!.rule, 'revenue.lost_after_won');
    assert.equal(p.reopened, 1);
    assert.deepEqual(
      plan(lost(), record()).conversions.map((c) => c.event.name),
      ['close_unconvert_lead'],
    );
    // A refunded purchase is not refunded twice.
    const again = plan(lost(), record({ state: 'refunded' }), mapping({ lostAfterWon: 'refund' }));
    assert.deepEqual(
      again.conversions.map((c) => c.event.name),
      ['close_unconvert_lead'],
    );
  });

  it('after a refund, a deal won again sends a new purchase whatever won_again says (it is counted once)', () => {
    const p = plan(won(), record({ state: 'refunded' }));
    assert.deepEqual(sent(p).slice(1), [
      [
        'amocrm:29638927:30307415:purchase:revision:2',
        'purchase',
        { value: 150000, currency: 'RUB', transaction_id: '30307415-2' },
      ],
    ]);
    assert.match(
      p.conversions[1]!.revenue?.reason ?? '',
      /^won again after its purchase 30307415 was refunded: purchase 30307415-2 \(150000 RUB\)$/,
    );
  });

  it('an amount changed on a won deal (an update) is recorded, or corrected with amount_changed: refund_and_resend', () => {
    const edited = dealEvent({
      kind: 'updated',
      previous: null,
      deal: { amount: { amount: '120000', currency: null } },
    });
    const recorded = plan(edited, record());
    assert.deepEqual(recorded.conversions, [], 'no rule sends anything for an update');
    assert.match(
      recorded.amountChanged?.reason ?? '',
      /now says 120000 RUB\. The destination keeps counting 150000 RUB/,
    );

    const corrected = plan(edited, record(), mapping({ amountChanged: 'refund_and_resend' }));
    assert.deepEqual(sent(corrected), [REFUND_OF_1, PURCHASE_2_AT_120000]);
    assert.match(
      corrected.conversions[0]!.revenue?.reason ?? '',
      /^its amount changed from 150000 RUB to 120000 RUB after its purchase was sent \(revenue\.amount_changed: refund_and_resend\)/,
    );
    assert.equal(corrected.amountChanged, null);
    // The same amount, written another way, is no change; another currency is.
    assert.equal(plan(won('150000.00'), record()).amountChanged, null);
    assert.notEqual(
      plan(dealEvent({ deal: { amount: { amount: '150000', currency: 'USD' } } }), record())
        .amountChanged,
      null,
    );
  });

  it('an update of a deal that is not won changes nothing, whatever its amount', () => {
    const p = plan(
      dealEvent({
        kind: 'updated',
        deal: { stageId: '41893093', outcome: 'open', amount: { amount: '1', currency: null } },
      }),
      record({ state: 'reopened' }),
      mapping({ amountChanged: 'refund_and_resend' }),
    );
    assert.deepEqual([p.conversions, p.reopened, p.amountChanged], [[], null, null]);
  });
});
