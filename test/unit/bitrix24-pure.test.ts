/**
 * Bitrix24's pure parts: the leaky bucket, deals and leads as the deal model (outcome from the
 * semantics, exact amounts, identities with the lead's fallback, empty values), batch commands,
 * a command's error, the catalog, the lead writer's commands, and the config section.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { bucketPolicy, MARGIN, takeFromBucket } from '../../src/adapters/crm/bitrix24/leaky-bucket';
import {
  dealSnapshot,
  leadSnapshot,
  outcomeOfSemantic,
  readIdentities,
  textOf,
} from '../../src/adapters/crm/bitrix24/bitrix24-deal';
import { batchCommand, toQuery } from '../../src/adapters/crm/bitrix24/bitrix24-client';
import { commandError } from '../../src/adapters/crm/bitrix24/record-batcher';
import { toCatalog, withStageIdsAsNames } from '../../src/adapters/crm/bitrix24/bitrix24-catalog';
import { createCommands } from '../../src/adapters/crm/bitrix24/bitrix24-lead-writer';
import { DEFAULT_FIELDS, type Bitrix24FieldSettings } from '../../src/adapters/crm/bitrix24/config';
import { parsePhpQuery } from '../helpers/bitrix24-stand-in';
import { parseConfig } from '../../src/config/load-config';
import { ConfigError } from '../../src/core/errors';
import type { LeadForm } from '../../src/core/lead-form';

const FIELDS = DEFAULT_FIELDS as Bitrix24FieldSettings;

describe('Bitrix24: the leaky bucket', () => {
  const limit = { perSecond: 2, burst: 50 };
  const capacity = Math.floor(50 * MARGIN);

  it('lets the burst (less the margin) through at once, then one per 500 ms', () => {
    let state: string | null = null;
    for (let i = 0; i < capacity; i++) {
      const step = takeFromBucket(state, 1000, limit);
      assert.ok('state' in step, `call ${i + 1} goes`);
      state = step.state;
    }
    const blocked = takeFromBucket(state, 1000, limit);
    assert.deepEqual(blocked, { waitMs: 500 });
    assert.ok('state' in takeFromBucket(state, 1500, limit), 'one more after one drain');
  });

  it('drains while idle: an expired or old state is an empty bucket', () => {
    const full = String(1000 + capacity * 500);
    assert.ok('state' in takeFromBucket(full, 1000 + capacity * 500, limit));
    assert.ok('state' in takeFromBucket(null, 0, limit));
    assert.ok('state' in takeFromBucket('not a number', 0, limit));
  });

  it('keeps the state as long as the bucket holds anything, and a second more', () => {
    const step = takeFromBucket(null, 0, limit);
    assert.deepEqual(step, { waitMs: 0, state: '500', ttlMs: 1500 });
  });

  it('paces Enterprise at 5 a second with a burst of 250', () => {
    const policy = bucketPolicy({ perSecond: 5, burst: 250 });
    let state: string | null = null;
    let went = 0;
    for (let i = 0; i < 300; i++) {
      const step = policy.take(state, 0);
      if (!('state' in step)) break;
      state = step.state;
      went++;
    }
    assert.equal(went, Math.floor(250 * MARGIN));
    assert.deepEqual(policy.take(state, 0), { waitMs: 200 });
    assert.throws(() => bucketPolicy({ perSecond: 0, burst: 50 }), RangeError);
  });
});

describe('Bitrix24: deals and leads as the deal model', () => {
  const deal = {
    ID: '410',
    CATEGORY_ID: '1',
    STAGE_ID: 'C1:WON',
    STAGE_SEMANTIC_ID: 'S',
    OPPORTUNITY: '1000000.50',
    CURRENCY_ID: 'EUR',
    LEAD_ID: '7',
    ASSIGNED_BY_ID: '1',
    DATE_CREATE: '2024-08-30T14:29:00+02:00',
    DATE_MODIFY: '2024-08-30T15:00:00+02:00',
    MOVED_TIME: '2024-08-30T14:59:00+02:00',
    UTM_SOURCE: 'google',
    UTM_MEDIUM: 'cpc',
    UF_CRM_GA_CLIENT_ID: false,
    UF_CRM_YCLID: ['', '123456'],
    UF_CRM_PROGRAM: 'Премиум',
  };

  it('takes the outcome from the stage semantics, whatever the stage is called', () => {
    assert.equal(outcomeOfSemantic('S', 'deal'), 'won');
    assert.equal(outcomeOfSemantic('F', 'deal'), 'lost');
    assert.equal(outcomeOfSemantic('P', 'deal'), 'open');
    assert.equal(outcomeOfSemantic(null, 'deal'), 'open', 'a status row without SEMANTICS');
    assert.equal(outcomeOfSemantic('S', 'lead'), 'open', 'a converted lead is no sale yet');
    assert.equal(outcomeOfSemantic('F', 'lead'), 'lost');
    assert.equal(outcomeOfSemantic('X', 'deal'), null);
  });

  it('reads a deal exactly: ids as text, the amount as written, its currency, its times', () => {
    const s = dealSnapshot(deal);
    assert.equal(s.id, '410');
    assert.equal(s.pipelineId, '1');
    assert.equal(s.stageId, 'C1:WON');
    assert.equal(s.outcome, 'won');
    assert.deepEqual(s.amount, { amount: '1000000.50', currency: 'EUR' });
    assert.equal(s.createdAt, Date.parse('2024-08-30T12:29:00Z') / 1000);
    assert.deepEqual(
      s.fields?.find((f) => f.code === 'UF_CRM_PROGRAM')?.values,
      [{ value: 'Премиум', enumId: null }],
      'custom fields by code, for rules',
    );
    assert.deepEqual(dealSnapshot({ ID: '1', OPPORTUNITY: 999.9 }).amount, {
      amount: '999.9',
      currency: null,
    });
    assert.equal(dealSnapshot({ ID: '1' }).pipelineId, '0', 'the general pipeline');
  });

  it('reads a lead as L<id> in the leads pipeline', () => {
    const s = leadSnapshot({ ID: '7', STATUS_ID: 'JUNK', STATUS_SEMANTIC_ID: 'F' });
    assert.deepEqual([s.id, s.pipelineId, s.stageId, s.outcome], ['L7', 'leads', 'JUNK', 'lost']);
  });

  it("reads identities from the configured fields and UTM_*, the lead's where the deal has none", () => {
    const lead = {
      ID: '7',
      UF_CRM_GA_CLIENT_ID: 'GA1.1.111.222',
      UTM_CAMPAIGN: 'spring',
      UTM_SOURCE: 'yandex',
    };
    const ids = readIdentities(deal, FIELDS, lead);
    assert.equal(ids.gaClientId, 'GA1.1.111.222', "the lead's, as the deal's is false");
    assert.equal(ids.yclid, '123456', 'the first value of a multiple field');
    assert.equal(ids.utm.source, 'google', "the deal's own wins");
    assert.equal(ids.utm.campaign, 'spring');
    assert.equal(ids.gclid, null, 'not configured');
    assert.equal(readIdentities(deal, FIELDS, null).gaClientId, null);
  });

  it('treats false, "", null and [] as empty', () => {
    for (const v of [false, '', '  ', null, [], [''], undefined]) assert.equal(textOf(v), null);
    assert.equal(textOf(42), '42');
  });
});

describe('Bitrix24: requests', () => {
  it('writes batch commands as PHP-style queries, which Bitrix24 reads back as the same params', () => {
    assert.equal(batchCommand('crm.deal.get', { id: '42' }), 'crm.deal.get?id=42');
    const params = {
      filter: { '>ID': 5, ENTITY_ID: 'DEAL_STAGE_1' },
      order: { ID: 'ASC' },
      select: ['ID', 'STAGE_ID'],
    };
    const query = toQuery(params);
    assert.deepEqual(parsePhpQuery(query), {
      filter: { '>ID': '5', ENTITY_ID: 'DEAL_STAGE_1' },
      order: { ID: 'ASC' },
      select: { 0: 'ID', 1: 'STAGE_ID' },
    });
    assert.equal(batchCommand('crm.category.list', {}), 'crm.category.list');
  });

  it("reads a command's error: not found is null, limits retryable, access denied the operator's", () => {
    assert.equal(
      commandError('crm.deal.get(1)', { error: '', error_description: 'Not found' }),
      null,
    );
    assert.equal(
      commandError('x', { error: 'NOT_FOUND', error_description: 'Element not found' }),
      null,
    );
    const held = commandError(
      'x',
      { error: 'OPERATION_TIME_LIMIT', error_description: 'Method is blocked' },
      { operating_reset_at: 1_700_000_030 },
      1_700_000_000_000,
    );
    assert.equal(held?.code, 'BITRIX24_UNAVAILABLE');
    assert.equal((held as { retryAfterMs?: number }).retryAfterMs, 30_000);
    assert.equal(
      commandError('x', { error: '', error_description: 'Access denied' })?.code,
      'BITRIX24_AUTH',
    );
    assert.equal(
      commandError('x', { error: 'ERROR_CORE', error_description: 'bad' })?.code,
      'BITRIX24_REQUEST_REJECTED',
    );
  });

  it('creates a lead with the identities in the configured fields and UTM_*, a deal with its contact', () => {
    const form: LeadForm = {
      name: 'Анна',
      phone: '+79165551234',
      email: null,
      comment: null,
      clientId: '123.456',
      sessionId: '1747132561',
      utmSource: 'yandex',
      utmMedium: null,
      utmCampaign: null,
      utmContent: null,
      utmTerm: null,
      gclid: null,
      yclid: '99',
      ymUid: null,
    };
    const settings = {
      fields: FIELDS,
      creates: 'lead' as const,
      leadName: 'Заявка',
      pipeline: null,
      status: 'NEW',
    };
    const lead = parsePhpQuery(createCommands(form, settings).record!.split('?')[1]!);
    assert.deepEqual(lead.fields, {
      TITLE: 'Заявка',
      SOURCE_ID: 'WEB',
      UF_CRM_GA_CLIENT_ID: '123.456',
      UF_CRM_GA_SESSION_ID: '1747132561',
      UF_CRM_YCLID: '99',
      UTM_SOURCE: 'yandex',
      NAME: 'Анна',
      PHONE: { 0: { VALUE: '+79165551234', VALUE_TYPE: 'WORK' } },
      STATUS_ID: 'NEW',
    });
    const deal = createCommands(form, {
      ...settings,
      creates: 'deal',
      pipeline: '1',
      status: 'C1:NEW',
    });
    assert.deepEqual(Object.keys(deal), ['contact', 'record']);
    const dealFields = parsePhpQuery(deal.record!.split('?')[1]!).fields as Record<string, unknown>;
    assert.equal(dealFields.CONTACT_ID, '$result[contact]');
    assert.equal(dealFields.CATEGORY_ID, '1');
    assert.equal(dealFields.NAME, undefined, "the person's data goes to the contact");
  });
});

describe('Bitrix24: the catalog', () => {
  it('sorts pipelines and stages, marks won and lost by semantics, and lists the leads', () => {
    const pipelines = toCatalog(
      [
        { id: 1, name: 'Опт', sort: 200 },
        { id: 0, name: 'Общая', sort: 100, isDefault: 'Y' },
      ],
      (entity) =>
        ({
          DEAL_STAGE: [
            { STATUS_ID: 'WON', NAME: 'Успех', SORT: '60', SEMANTICS: 'S' },
            { STATUS_ID: 'NEW', NAME: 'Новая', SORT: '10', SEMANTICS: null },
          ],
          DEAL_STAGE_1: [{ STATUS_ID: 'C1:LOSE', NAME: 'Отказ', SORT: '70', SEMANTICS: 'F' }],
          STATUS: [{ STATUS_ID: 'CONVERTED', NAME: 'Качественный', SORT: '60', SEMANTICS: 'S' }],
        })[entity] ?? [],
    );
    assert.deepEqual(
      pipelines.map((p) => [p.id, p.isMain, p.stages.map((s) => `${s.id}:${s.outcome}`)]),
      [
        ['0', true, ['NEW:open', 'WON:won']],
        ['1', false, ['C1:LOSE:lost']],
        ['leads', false, ['CONVERTED:open']],
      ],
    );
    const named = withStageIdsAsNames(pipelines)[1]!.stages.map((s) => s.name);
    assert.deepEqual(named, ['Отказ', 'C1:LOSE']);
  });
});

describe('Bitrix24: the config section', () => {
  const load = (yaml: string, env: Record<string, string> = {}) =>
    parseConfig(yaml, 'inline.yaml', env);

  it('takes the two variables with any config, with the defaults of the issue', () => {
    const config = load('currency: RUB\nrules: []\n', {
      BITRIX24_WEBHOOK_URL: 'https://example.bitrix24.ru/rest/1/abc123def456',
      BITRIX24_APPLICATION_TOKEN: 's8gj3kd92jfq0wn4u7x6z1c5v0b2n9m4',
    });
    assert.deepEqual(config.bitrix24.rest, {
      webhookUrl: 'https://example.bitrix24.ru/rest/1/abc123def456/',
      requestsPerSecond: 2,
      burst: 50,
      timeoutMs: 10_000,
      batchWindowMs: 200,
      reconcile: { enabled: true, intervalMs: 600_000 },
    });
    assert.equal(config.bitrix24.applicationToken, 's8gj3kd92jfq0wn4u7x6z1c5v0b2n9m4');
    assert.deepEqual(config.bitrix24.fields, DEFAULT_FIELDS);
    assert.equal(config.bitrix24.creates, 'lead');
  });

  it('refuses a token without the incoming webhook, a bad field name and a personal field', () => {
    assert.throws(
      () =>
        load(
          'currency: RUB\nbitrix24:\n  application_token: s8gj3kd92jfq0wn4\n  fields:\n    ga_client_id: GA_CID\n    yclid: UF_CRM_PHONE\n  burst: 500\nrules: []\n',
        ),
      (e: unknown) => {
        const text = (e as ConfigError).message;
        assert.ok(e instanceof ConfigError);
        assert.match(
          text,
          /bitrix24\.application_token: Bitrix24's webhooks carry only the deal's id/,
        );
        assert.match(text, /bitrix24\.fields\.ga_client_id/);
        assert.match(
          text,
          /bitrix24\.fields\.yclid: the field with code UF_CRM_PHONE holds personal data/,
        );
        assert.match(text, /bitrix24\.burst/);
        assert.equal(text.includes('s8gj3kd92jfq0wn4'), false, 'the token is never echoed');
        return true;
      },
    );
  });

  it('is valid as commented out in the example config, once uncommented', () => {
    const example = fs.readFileSync('config/closeloop.example.yaml', 'utf8');
    const block = example.split('\n# bitrix24:\n')[1]?.split('\n\n')[0];
    assert.ok(block !== undefined, 'the example has a commented-out bitrix24 section');
    const yaml = [
      'currency: RUB',
      'rules: []',
      'bitrix24:',
      ...block.split('\n').map((l) => l.replace(/^# /, '')),
    ].join('\n');
    const config = load(yaml, { BITRIX24_WEBHOOK_URL: 'https://example.bitrix24.ru/rest/1/abc/' });
    assert.equal(config.bitrix24.rest?.burst, 50);
    assert.equal(config.bitrix24.fields.yclid, 'UF_CRM_YCLID');
  });
});
