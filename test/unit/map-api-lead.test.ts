import assert from 'node:assert/strict';
import type { AmoApiLead } from '../../src/adapters/crm/amocrm/api-types';
import { mapApiLead } from '../../src/adapters/crm/amocrm/map-api-lead';

/**
 * A lead as `GET /api/v4/leads` returns it: the field shapes are those of the real response in
 * research/amocrm.md §3.2 (a select with enum_id/enum_code, tracking fields with a code and
 * without enums), plus the other value types the API gives (numbers, dates, checkboxes).
 */
function apiLead(overrides: Partial<AmoApiLead> = {}): AmoApiLead {
  return {
    id: 30307415,
    name: 'Иванов Иван, заявка с сайта',
    price: 150000,
    responsible_user_id: 8744098,
    group_id: 0,
    status_id: 142,
    pipeline_id: 4542166,
    loss_reason_id: null,
    created_by: 0,
    updated_by: 8421298,
    created_at: 1689256449,
    updated_at: 1689281821,
    closed_at: 1689281821,
    closest_task_at: null,
    is_deleted: false,
    custom_fields_values: [
      {
        field_id: 921871,
        field_name: 'stack',
        field_code: null,
        field_type: 'select',
        values: [{ value: 'frontend', enum_id: 497443, enum_code: null }],
      },
      {
        field_id: 610955,
        field_name: 'gclientid',
        field_code: 'GCLIENTID',
        field_type: 'tracking_data',
        values: [{ value: 'GA1.1.1234567890.1700000000' }],
      },
      {
        field_id: 316923,
        field_name: 'utm_referrer',
        field_code: 'UTM_REFERRER',
        field_type: 'tracking_data',
        values: [{ value: 'https://ru.hexlet.io/programs/frontend?utm_source=a&utm_medium=b' }],
      },
      {
        field_id: 72333,
        field_name: 'Дата проведения',
        field_code: null,
        field_type: 'date',
        values: [{ value: 1542067200 }],
      },
      {
        field_id: 497267,
        field_name: 'Заявка оплачена',
        field_code: null,
        field_type: 'checkbox',
        values: [{ value: true }],
      },
      {
        field_id: 566027,
        field_name: 'Подтвердил участие',
        field_code: null,
        field_type: 'checkbox',
        values: [{ value: false }],
      },
      {
        field_id: 644901,
        field_name: 'Сумма предоплаты',
        field_code: null,
        field_type: 'numeric',
        values: [{ value: 1500.5 }],
      },
      {
        field_id: 644902,
        field_name: 'Услуги',
        field_code: null,
        field_type: 'multiselect',
        values: [
          { value: 'MBA', enum_id: 853027 },
          { value: 'EMBA', enum_id: 853029 },
        ],
      },
    ],
    score: null,
    account_id: 29638927,
    _links: { self: { href: 'https://example.amocrm.ru/api/v4/leads/30307415' } },
    _embedded: {
      tags: [
        { id: 55515, name: 'новаязаявка' },
        { id: 80147, name: 'повторное обращение' },
      ],
      companies: [],
    },
    ...overrides,
  };
}

describe('mapApiLead', () => {
  it('maps the lead: ids stay numbers, the price exact text, fields and tags carried over', () => {
    assert.deepEqual(mapApiLead(apiLead()), {
      id: 30307415,
      statusId: 142,
      pipelineId: 4542166,
      price: '150000',
      responsibleUserId: 8744098,
      createdAt: 1689256449,
      updatedAt: 1689281821,
      customFields: [
        {
          id: 921871,
          name: 'stack',
          code: null,
          values: [{ value: 'frontend', enumId: 497443 }],
        },
        {
          id: 610955,
          name: 'gclientid',
          code: 'GCLIENTID',
          values: [{ value: 'GA1.1.1234567890.1700000000', enumId: null }],
        },
        {
          id: 316923,
          name: 'utm_referrer',
          code: 'UTM_REFERRER',
          values: [
            {
              value: 'https://ru.hexlet.io/programs/frontend?utm_source=a&utm_medium=b',
              enumId: null,
            },
          ],
        },
        {
          id: 72333,
          name: 'Дата проведения',
          code: null,
          values: [{ value: '1542067200', enumId: null }],
        },
        {
          id: 497267,
          name: 'Заявка оплачена',
          code: null,
          values: [{ value: '1', enumId: null }],
        },
        {
          id: 566027,
          name: 'Подтвердил участие',
          code: null,
          values: [{ value: '0', enumId: null }],
        },
        {
          id: 644901,
          name: 'Сумма предоплаты',
          code: null,
          values: [{ value: '1500.5', enumId: null }],
        },
        {
          id: 644902,
          name: 'Услуги',
          code: null,
          values: [
            { value: 'MBA', enumId: 853027 },
            { value: 'EMBA', enumId: 853029 },
          ],
        },
      ],
      tags: ['новаязаявка', 'повторное обращение'],
    });
  });

  it('drops the lead name: it is free text, often a person’s name', () => {
    const mapped = mapApiLead(apiLead());
    assert.ok(!JSON.stringify(mapped).includes('Иванов'));
    assert.ok(!('name' in mapped));
  });

  it('custom_fields_values null means the lead has no values: an empty list, not "unknown"', () => {
    assert.deepEqual(mapApiLead(apiLead({ custom_fields_values: null })).customFields, []);
  });

  it('a lead without _embedded or tags has no tags', () => {
    assert.deepEqual(mapApiLead(apiLead({ _embedded: undefined })).tags, []);
    assert.deepEqual(mapApiLead(apiLead({ _embedded: {} })).tags, []);
  });

  it('keeps price 0 as 0 (the API says so), and a missing number as null, never 0', () => {
    assert.equal(mapApiLead(apiLead({ price: 0 })).price, '0');
    assert.equal(mapApiLead(apiLead({ price: null })).price, null);
    assert.equal(mapApiLead(apiLead({ responsible_user_id: null })).responsibleUserId, null);
  });

  it('leaves API text as it is: only webhooks HTML-escape values', () => {
    const lead = apiLead({
      custom_fields_values: [
        {
          field_id: 1,
          field_name: 'url',
          field_code: 'UTM_REFERRER',
          field_type: 'tracking_data',
          values: [{ value: 'https://x.example/?a=1&amp;b=2' }],
        },
      ],
    });
    assert.equal(
      mapApiLead(lead).customFields?.[0]?.values[0]?.value,
      'https://x.example/?a=1&amp;b=2',
    );
  });

  it('drops null values and keeps object values as JSON text', () => {
    const lead = apiLead({
      custom_fields_values: [
        {
          field_id: 2,
          field_name: 'file',
          field_code: null,
          field_type: 'file',
          values: [{ value: { file_uuid: 'b6a9', file_name: 'contract.pdf' } }, { value: null }],
        },
      ],
    });
    assert.deepEqual(mapApiLead(lead).customFields?.[0]?.values, [
      { value: '{"file_uuid":"b6a9","file_name":"contract.pdf"}', enumId: null },
    ]);
  });
});
