import assert from 'node:assert/strict';
import { mapLeadEvent } from '../../src/core/map-lead-event';
import type { Rule } from '../../src/core/config-types';
import { field, leadEvent, testConfig } from '../helpers/builders';

describe('mapLeadEvent (rules engine)', () => {
  const config = testConfig();

  it('maps a won deal to close_convert_lead and purchase with value, currency and transaction_id', () => {
    const r = mapLeadEvent(leadEvent(), config);
    assert.equal(r.clientId, '1234567890.1700000000');
    assert.deepEqual(r.matchedRules, ['Deal won']);
    assert.deepEqual(
      r.conversions.map((c) => [c.key, c.event.name, c.event.params]),
      [
        [
          '29638927:30307415:close_convert_lead:142',
          'close_convert_lead',
          { value: 150000, currency: 'RUB' },
        ],
        [
          '29638927:30307415:purchase:142',
          'purchase',
          { value: 150000, currency: 'RUB', transaction_id: '30307415' },
        ],
      ],
    );
    assert.deepEqual(r.skipped, []);
  });

  it('maps a new lead to generate_lead and a lost deal to close_unconvert_lead', () => {
    const added = mapLeadEvent(
      leadEvent({ action: 'add', oldStatusId: null, lead: { statusId: 555 } }),
      config,
    );
    assert.deepEqual(
      added.conversions.map((c) => c.event.name),
      ['generate_lead'],
    );
    assert.equal(added.conversions[0]!.key, '29638927:30307415:generate_lead:555');
    const lost = mapLeadEvent(leadEvent({ lead: { statusId: 143 } }), config);
    assert.deepEqual(
      lost.conversions.map((c) => c.event.name),
      ['close_unconvert_lead'],
    );
  });

  it('matches nothing for an update, or for a status no rule names', () => {
    assert.deepEqual(mapLeadEvent(leadEvent({ action: 'update' }), config).conversions, []);
    const r = mapLeadEvent(leadEvent({ lead: { statusId: 777 } }), config);
    assert.deepEqual(r.matchedRules, []);
    assert.deepEqual(r.conversions, []);
  });

  it('honours pipeline, status and from_status filters', () => {
    const rule: Rule = {
      name: 'Qualified in sales',
      on: 'status_changed',
      pipelines: [100],
      statuses: [200, 201],
      fromStatuses: [199],
      send: [{ name: 'qualify_lead', params: {} }],
    };
    const c = testConfig({ rules: [rule] });
    const hit = leadEvent({ oldStatusId: 199, lead: { pipelineId: 100, statusId: 201 } });
    assert.equal(mapLeadEvent(hit, c).conversions.length, 1);
    assert.equal(
      mapLeadEvent({ ...hit, lead: { ...hit.lead, pipelineId: 101 } }, c).conversions.length,
      0,
    );
    assert.equal(mapLeadEvent({ ...hit, oldStatusId: 198 }, c).conversions.length, 0);
    assert.equal(mapLeadEvent({ ...hit, oldStatusId: null }, c).conversions.length, 0);
    assert.equal(
      mapLeadEvent({ ...hit, lead: { ...hit.lead, statusId: 202 } }, c).conversions.length,
      0,
    );
  });

  it('skips an event whose required value is missing, with the reason, and keeps the others', () => {
    const r = mapLeadEvent(leadEvent({ lead: { price: null } }), config);
    assert.deepEqual(
      r.conversions.map((c) => [c.event.name, c.event.params]),
      [['close_convert_lead', {}]],
    );
    assert.equal(r.skipped.length, 1);
    assert.equal(r.skipped[0]!.code, 'RULE_VALUE_MISSING');
    assert.equal(r.skipped[0]!.eventName, 'purchase');
    assert.match(
      r.skipped[0]!.reason,
      /param "value" is required but the lead has no value for lead price/,
    );
  });

  it('takes params from custom fields by code, id and name, from UTM fields, defaults and literals', () => {
    const rule: Rule = {
      name: 'r',
      on: 'status_changed',
      pipelines: null,
      statuses: null,
      fromStatuses: null,
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
            empty_optional: { kind: 'field', field: { code: 'NOPE' }, required: false },
          },
        },
      ],
    };
    const ev = leadEvent({
      lead: {
        customFields: [
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
          field('UTM_SOURCE', 'yandex'),
          field('DEAL_SUM', '1 500,50'),
        ],
      },
    });
    const r = mapLeadEvent(ev, testConfig({ rules: [rule] }));
    assert.deepEqual(r.conversions[0]!.event.params, {
      program: 'MBA',
      by_id: 'second',
      source: 'yandex',
      medium: 'none',
      value: 1500.5,
      channel: 'crm',
      currency: 'RUB',
    });
  });

  it('normalises the client ID from cookie form and reads the session ID', () => {
    const ev = leadEvent({
      lead: {
        customFields: [
          field('GCLIENTID', 'GA1.2.987654321.1690000000'),
          field(null, 'GS2.1.s1747132561$o1$g0$t1747132655', { name: 'ga_session_id' }),
        ],
      },
    });
    const r = mapLeadEvent(ev, config);
    assert.equal(r.clientId, '987654321.1690000000');
    assert.equal(r.sessionId, '1747132561');
  });

  it('reports a client-ID field that holds garbage, and null fields (Digital Pipeline hook)', () => {
    const bad = mapLeadEvent(
      leadEvent({ lead: { customFields: [field('GCLIENTID', 'not-a-client-id')] } }),
      config,
    );
    assert.equal(bad.clientId, null);
    assert.equal(bad.clientIdInvalid, 'not-a-client-id');
    const none = mapLeadEvent(leadEvent({ lead: { customFields: null } }), config);
    assert.equal(none.clientId, null);
    assert.equal(none.clientIdInvalid, null);
    assert.equal(
      none.conversions.length,
      2,
      'conversions are still computed; the worker skips them',
    );
  });

  it('sends an event once when two rules ask for the same event on the same status', () => {
    const twice = testConfig({
      rules: [...config.rules, { ...config.rules[1]!, name: 'Deal won again' }],
    });
    const r = mapLeadEvent(leadEvent(), twice);
    assert.deepEqual(
      r.conversions.map((c) => c.event.name),
      ['close_convert_lead', 'purchase'],
    );
    assert.deepEqual(r.matchedRules, ['Deal won', 'Deal won again']);
  });

  it('keeps an explicit currency param', () => {
    const rule: Rule = {
      ...config.rules[1]!,
      send: [
        {
          name: 'purchase',
          params: {
            value: { kind: 'lead', attribute: 'price', required: true },
            currency: { kind: 'literal', value: 'USD' },
          },
        },
      ],
    };
    const r = mapLeadEvent(leadEvent(), testConfig({ rules: [rule] }));
    assert.deepEqual(r.conversions[0]!.event.params, { value: 150000, currency: 'USD' });
  });
});
