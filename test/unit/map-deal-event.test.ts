import assert from 'node:assert/strict';
import { conversionKey, ledgerKey, mapDealEvent } from '../../src/core/map-deal-event';
import type { MappingConfig } from '../../src/core/config-types';
import { NO_IDENTITIES } from '../../src/core/deal';
import { dealEvent, DEFAULT_RULES, field, rule } from '../helpers/builders';

describe('mapDealEvent (rules engine)', () => {
  const config: MappingConfig = { rules: DEFAULT_RULES, currency: 'RUB' };

  it('maps a won deal to close_convert_lead and purchase with value, currency and transaction_id', () => {
    const r = mapDealEvent(dealEvent(), config);
    assert.deepEqual(r.matchedRules, ['Deal won']);
    assert.deepEqual(
      r.conversions.map((c) => [c.key, c.event.name, c.event.params]),
      [
        [
          'amocrm:29638927:30307415:close_convert_lead:142',
          'close_convert_lead',
          { value: 150000, currency: 'RUB' },
        ],
        [
          'amocrm:29638927:30307415:purchase:142',
          'purchase',
          { value: 150000, currency: 'RUB', transaction_id: '30307415' },
        ],
      ],
    );
    assert.deepEqual(r.skipped, []);
  });

  it('keys conversions by source, account, deal, event and stage; the ledger puts the destination first', () => {
    const ev = dealEvent({
      source: 'bitrix24',
      account: 'a1b2',
      deal: { id: '77', stageId: 'C1:WON' },
    });
    assert.equal(conversionKey(ev, 'purchase'), 'bitrix24:a1b2:77:purchase:C1%3AWON');
    assert.equal(
      ledgerKey('shop/ga4', conversionKey(ev, 'purchase')),
      'shop/ga4:bitrix24:a1b2:77:purchase:C1%3AWON',
    );
    assert.equal(
      conversionKey(dealEvent({ deal: { stageId: null } }), 'x'),
      'amocrm:29638927:30307415:x:none',
    );
  });

  it('maps a new lead to generate_lead and a lost deal to close_unconvert_lead', () => {
    const added = mapDealEvent(
      dealEvent({ kind: 'created', previous: null, deal: { stageId: '555', outcome: 'open' } }),
      config,
    );
    assert.deepEqual(
      added.conversions.map((c) => c.event.name),
      ['generate_lead'],
    );
    assert.equal(added.conversions[0]!.key, 'amocrm:29638927:30307415:generate_lead:555');
    const lost = mapDealEvent(dealEvent({ deal: { stageId: '143', outcome: 'lost' } }), config);
    assert.deepEqual(
      lost.conversions.map((c) => c.event.name),
      ['close_unconvert_lead'],
    );
  });

  it('matches nothing for an update, or for a stage no rule names', () => {
    assert.deepEqual(mapDealEvent(dealEvent({ kind: 'updated' }), config).conversions, []);
    const r = mapDealEvent(dealEvent({ deal: { stageId: '777', outcome: 'open' } }), config);
    assert.deepEqual(r.matchedRules, []);
    assert.deepEqual(r.conversions, []);
  });

  it('honours pipeline, stage and from_status filters', () => {
    const c = {
      ...config,
      rules: [
        rule({
          name: 'Qualified in sales',
          on: 'status_changed',
          pipelines: ['100'],
          statuses: ['200', '201'],
          fromStatuses: ['199'],
          send: [{ name: 'qualify_lead', params: {} }],
        }),
      ],
    };
    const hit = dealEvent({
      previous: { pipelineId: null, stageId: '199' },
      deal: { pipelineId: '100', stageId: '201' },
    });
    assert.equal(mapDealEvent(hit, c).conversions.length, 1);
    assert.equal(
      mapDealEvent({ ...hit, deal: { ...hit.deal, pipelineId: '101' } }, c).conversions.length,
      0,
    );
    assert.equal(
      mapDealEvent({ ...hit, previous: { pipelineId: null, stageId: '198' } }, c).conversions
        .length,
      0,
    );
    assert.equal(mapDealEvent({ ...hit, previous: null }, c).conversions.length, 0);
    assert.equal(
      mapDealEvent({ ...hit, deal: { ...hit.deal, stageId: '202' } }, c).conversions.length,
      0,
    );
  });

  it('matches on the outcome in every pipeline and CRM, and on the source when a rule names one', () => {
    const c = {
      ...config,
      rules: [
        rule({
          name: 'won',
          on: 'status_changed',
          outcomes: ['won'],
          send: [{ name: 'purchase', params: {} }],
        }),
        rule({
          name: 'b24 lost',
          on: 'status_changed',
          outcomes: ['lost'],
          sources: ['bitrix24'],
          send: [{ name: 'close_unconvert_lead', params: {} }],
        }),
      ],
    };
    const b24won = dealEvent({
      source: 'bitrix24',
      deal: { stageId: 'C3:WON', pipelineId: '3', outcome: 'won' },
    });
    assert.deepEqual(mapDealEvent(b24won, c).matchedRules, ['won']);
    const amoLost = dealEvent({ deal: { stageId: '143', outcome: 'lost' } });
    assert.deepEqual(mapDealEvent(amoLost, c).matchedRules, []);
    const b24lost = dealEvent({
      source: 'bitrix24',
      deal: { stageId: 'C3:LOSE', outcome: 'lost' },
    });
    assert.deepEqual(mapDealEvent(b24lost, c).matchedRules, ['b24 lost']);
    const unknown = dealEvent({ deal: { outcome: null } });
    assert.deepEqual(
      mapDealEvent(unknown, c).matchedRules,
      [],
      'an unknown outcome matches no outcome rule',
    );
  });

  it('skips an event whose required value is missing, with the reason, and keeps the others', () => {
    const r = mapDealEvent(dealEvent({ deal: { amount: null } }), config);
    assert.deepEqual(
      r.conversions.map((c) => [c.event.name, c.event.params]),
      [['close_convert_lead', {}]],
    );
    assert.equal(r.skipped.length, 1);
    assert.equal(r.skipped[0]!.code, 'RULE_VALUE_MISSING');
    assert.equal(r.skipped[0]!.eventName, 'purchase');
    assert.match(
      r.skipped[0]!.reason,
      /param "value" is required but the deal has no value for deal amount/,
    );
  });

  it('takes the deal’s own currency, else the account’s, and keeps an exact amount', () => {
    const r = mapDealEvent(
      dealEvent({ deal: { amount: { amount: '1500.50', currency: 'USD' } } }),
      config,
    );
    assert.deepEqual(r.conversions[1]!.event.params, {
      value: 1500.5,
      currency: 'USD',
      transaction_id: '30307415',
    });
  });

  it('takes params from fields by code, id and name, from the UTM identities, defaults and literals', () => {
    const r0 = rule({
      name: 'r',
      on: 'status_changed',
      send: [
        {
          name: 'qualify_lead',
          params: {
            program: { kind: 'field', field: { name: 'Тип программы' }, required: false },
            by_id: { kind: 'field', field: { id: 77 }, required: false },
            source: { kind: 'utm', utm: 'source', required: false },
            medium: { kind: 'utm', utm: 'medium', required: false, default: 'none' },
            value: { kind: 'field', field: { code: 'DEAL_SUM' }, required: false },
            channel: { kind: 'literal', value: 'crm' },
            outcome: { kind: 'deal', attribute: 'outcome', required: false },
            empty_optional: { kind: 'field', field: { code: 'NOPE' }, required: false },
          },
        },
      ],
    });
    const ev = dealEvent({
      deal: {
        identities: { ...NO_IDENTITIES, utm: { ...NO_IDENTITIES.utm, source: 'yandex' } },
        fields: [
          field('GCLIENTID', '123.456'),
          { id: 5, name: 'тип программы ', code: null, values: [{ value: 'MBA', enumId: 853027 }] },
          {
            id: 77,
            name: 'x',
            code: null,
            values: [
              { value: '', enumId: null },
              { value: 'second', enumId: null },
            ],
          },
          field('DEAL_SUM', '1 500,50'),
        ],
      },
    });
    const r = mapDealEvent(ev, { ...config, rules: [r0] });
    assert.deepEqual(r.conversions[0]!.event.params, {
      program: 'MBA',
      by_id: 'second',
      source: 'yandex',
      medium: 'none',
      value: 1500.5,
      channel: 'crm',
      outcome: 'won',
      currency: 'RUB',
    });
  });

  it('sends an event once when two rules ask for the same event on the same stage', () => {
    const twice = {
      ...config,
      rules: [...config.rules, { ...config.rules[1]!, name: 'Deal won again' }],
    };
    const r = mapDealEvent(dealEvent(), twice);
    assert.deepEqual(
      r.conversions.map((c) => c.event.name),
      ['close_convert_lead', 'purchase'],
    );
    assert.deepEqual(r.matchedRules, ['Deal won', 'Deal won again']);
  });

  it('keeps an explicit currency param', () => {
    const r0 = {
      ...config.rules[1]!,
      send: [
        {
          name: 'purchase',
          params: {
            value: { kind: 'deal' as const, attribute: 'amount' as const, required: true },
            currency: { kind: 'literal' as const, value: 'USD' },
          },
        },
      ],
    };
    const r = mapDealEvent(dealEvent(), { ...config, rules: [r0] });
    assert.deepEqual(r.conversions[0]!.event.params, { value: 150000, currency: 'USD' });
  });
});

describe('mapDealEvent: money outside a sane range (issue 12)', () => {
  const config: MappingConfig = { rules: DEFAULT_RULES, currency: 'RUB' };
  const won = (amount: string) => dealEvent({ deal: { amount: { amount, currency: null } } });

  it('skips a negative or absurd amount with RULE_VALUE_OUT_OF_RANGE, sending nothing of it', () => {
    for (const amount of ['-1500', '1000000000.01', '1'.padEnd(301, '0')]) {
      const r = mapDealEvent(won(amount), config);
      assert.deepEqual(r.conversions, [], amount);
      assert.deepEqual(
        r.skipped.map((s) => [s.eventName, s.code]),
        [
          ['close_convert_lead', 'RULE_VALUE_OUT_OF_RANGE'],
          ['purchase', 'RULE_VALUE_OUT_OF_RANGE'],
        ],
        amount,
      );
    }
    assert.equal(
      mapDealEvent(won('-1500'), config).skipped[1]!.reason,
      'param "value" is -1500, outside 0 to 1000000000 (delivery.max_value); an amount like that is more likely a mistake or a forgery than revenue',
    );
  });

  it('sends zero and the maximum itself, and takes another maximum from the config', () => {
    assert.equal(mapDealEvent(won('0'), config).conversions.length, 2);
    assert.equal(mapDealEvent(won('1000000000'), config).conversions.length, 2);
    const larger = mapDealEvent(won('5000000000'), { ...config, maxValue: 1e10 });
    assert.equal(larger.conversions[1]!.event.params.value, 5e9);
    const smaller = mapDealEvent(won('1500'), { ...config, maxValue: 1000 });
    assert.equal(smaller.skipped[0]!.code, 'RULE_VALUE_OUT_OF_RANGE');
  });

  it('checks every money parameter, whatever it comes from, and no other number', () => {
    const r = mapDealEvent(dealEvent(), {
      ...config,
      rules: [
        rule({
          name: 'Odd',
          on: 'status_changed',
          send: [
            {
              name: 'refund',
              params: { value: { kind: 'literal', value: 1 }, tax: { kind: 'literal', value: -5 } },
            },
            { name: 'note', params: { quantity: { kind: 'literal', value: -5 } } },
          ],
        }),
      ],
    });
    assert.deepEqual(
      r.skipped.map((s) => [s.eventName, s.code]),
      [['refund', 'RULE_VALUE_OUT_OF_RANGE']],
    );
    assert.deepEqual(
      r.conversions.map((c) => c.event.name),
      ['note'],
    );
  });
});
