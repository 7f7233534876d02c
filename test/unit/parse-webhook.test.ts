import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import {
  decodeForm,
  MAX_FORM_DEPTH,
  type FormTree,
} from '../../src/adapters/crm/amocrm/decode-form';
import { htmlUnescape } from '../../src/adapters/crm/amocrm/html-unescape';
import { parseWebhook, type ParsedWebhook } from '../../src/adapters/crm/amocrm/parse-webhook';
import { PayloadError } from '../../src/core/errors';
import {
  LEAD_ACTIONS,
  type CustomField,
  type LeadEvent,
} from '../../src/adapters/crm/amocrm/amocrm-lead';

const DIR = path.resolve('test/fixtures/amocrm/webhooks');
const INDEX = JSON.parse(fs.readFileSync(path.join(DIR, 'index.json'), 'utf8')) as Record<
  string,
  string
>;
const FIXTURES = fs
  .readdirSync(DIR)
  .filter((f) => f !== 'index.json')
  .sort();
const VALID = FIXTURES.filter((f) => !f.startsWith('invalid-'));
const INVALID = FIXTURES.filter((f) => f.startsWith('invalid-'));

function body(file: string): string {
  return fs.readFileSync(path.join(DIR, file), 'utf8');
}

function parse(file: string): ParsedWebhook {
  return parseWebhook(body(file));
}

function only(parsed: ParsedWebhook): LeadEvent {
  assert.equal(parsed.events.length, 1, 'expected exactly one event');
  return parsed.events[0]!;
}

function fieldById(event: LeadEvent, id: number): CustomField {
  const field = event.lead.customFields?.find((f) => f.id === id);
  assert.ok(field, `custom field ${id} not found`);
  return field;
}

function fieldByCode(event: LeadEvent, code: string): CustomField {
  const field = event.lead.customFields?.find((f) => f.code === code);
  assert.ok(field, `custom field with code ${code} not found`);
  return field;
}

/** Asserts `fn` throws PayloadError WEBHOOK_NOT_AMOCRM whose message contains every `parts`. */
function assertNotAmo(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PayloadError, `expected PayloadError, got ${String(e)}`);
    assert.equal(e.code, 'WEBHOOK_NOT_AMOCRM');
    assert.equal(e.httpStatus, 400);
    for (const part of parts) assert.ok(e.message.includes(part), `"${e.message}" lacks "${part}"`);
    return true;
  });
}

/** A form body from readable pairs, encoded the way amoCRM encodes (brackets as %5B/%5D). */
function form(pairs: Array<[string, string]>): string {
  return new URLSearchParams(pairs).toString();
}

const ACCOUNT: Array<[string, string]> = [
  ['account[subdomain]', 'demo'],
  ['account[id]', '31000001'],
];

/** Null-prototype trees compared as plain JSON values. */
function plain(tree: FormTree): unknown {
  return JSON.parse(JSON.stringify(tree));
}

describe('amoCRM webhook fixtures', () => {
  it('lists every fixture file in index.json, and only existing files', () => {
    assert.deepEqual(Object.keys(INDEX).sort(), FIXTURES);
  });

  it('describes every fixture in one line that names its source', () => {
    for (const [file, what] of Object.entries(INDEX)) {
      assert.ok(what.trim().length > 20, `${file}: description too short`);
      assert.ok(!what.includes('\n'), `${file}: description spans lines`);
      assert.match(what, /research|constructed/, `${file}: description names no source`);
    }
  });

  it('has no trailing newline in any fixture body', () => {
    for (const file of FIXTURES) assert.ok(!body(file).endsWith('\n'), file);
  });

  for (const file of VALID) {
    it(`parses ${file}, with or without a trailing newline`, () => {
      const parsed = parse(file);
      assert.deepEqual(parseWebhook(`${body(file)}\n`), parsed);
      assert.deepEqual(parseWebhook(`${body(file)}\r\n`), parsed);
      for (const event of parsed.events) {
        // `null` means unknown; a NaN would slip through every comparison downstream.
        for (const v of Object.values(event.lead)) assert.ok(!Number.isNaN(v), file);
        assert.ok(!('name' in event.lead), 'the lead name is personal data and must not be kept');
      }
    });
  }

  for (const file of INVALID) {
    it(`rejects ${file} as WEBHOOK_NOT_AMOCRM`, () => {
      assertNotAmo(() => parse(file));
    });
  }
});

describe('parseWebhook: real bodies (research/amocrm.md §1.6)', () => {
  it('ex. 1 (2018): status → 142, Cyrillic, enums, a bare date value, subdomain-only account', () => {
    const parsed = parse('status-won-2018.txt');
    assert.deepEqual(parsed.account, { id: null, subdomain: 'apfitness' });
    assert.deepEqual(parsed.ignored, []);
    const event = only(parsed);
    assert.equal(event.crm, 'amocrm');
    assert.equal(event.accountId, 'apfitness');
    assert.equal(event.subdomain, 'apfitness');
    assert.equal(event.action, 'status');
    assert.equal(event.oldStatusId, 20067736);
    assert.equal(event.oldPipelineId, null);
    // No created_at/updated_at in 2018: the legacy date_create/last_modified stand in.
    assert.equal(event.occurredAt, 1539782664);
    assert.deepEqual(
      { ...event.lead, customFields: undefined },
      {
        id: 10701093,
        statusId: 142,
        pipelineId: 9217056,
        price: '22500',
        responsibleUserId: 2079676,
        createdAt: 1539782209,
        updatedAt: 1539782664,
        customFields: undefined,
        tags: ['повторное обращение'],
      },
    );
    assert.equal(event.lead.customFields?.length, 8);
    assert.deepEqual(fieldById(event, 66339), {
      id: 66339,
      name: 'Источник',
      code: null,
      values: [{ value: 'Сайт', enumId: 139517 }],
    });
    assert.deepEqual(fieldById(event, 66349).values, [
      { value: 'Пропитание в фитнесе на результат', enumId: 153667 },
    ]);
    assert.deepEqual(fieldById(event, 72333), {
      id: 72333,
      name: 'Дата проведения',
      code: null,
      values: [{ value: '1542067200', enumId: null }],
    });
    // The form link keeps its own percent-escapes: form decoding happens once, not twice.
    assert.equal(
      fieldById(event, 566891).values[0]?.value,
      'https://forms.amocrm.ru/tvzdtx?dp=Q1zaSQHqO%2BhHArUG1UMtpby%2FFHdWZSZgNIHZ%2BvJ%2FRAgB60%2FhsT%2F4Zwi%2F4qY37M3f',
    );
  });

  it('ex. 2 (2023): ROISTAT tracking field, &amp; decoded in a URL, sparse field indices', () => {
    const parsed = parse('status-won-roistat-2023.txt');
    assert.deepEqual(parsed.account, { id: '29638927', subdomain: 'mbamoscow' });
    const event = only(parsed);
    assert.equal(event.accountId, '29638927');
    assert.equal(event.lead.id, 30307415);
    assert.equal(event.lead.statusId, 142);
    assert.equal(event.oldStatusId, 41893093);
    assert.equal(event.lead.price, '1');
    assert.equal(event.lead.createdAt, 1689256449);
    assert.equal(event.lead.updatedAt, 1689281821);
    assert.equal(event.occurredAt, 1689281821);
    assert.deepEqual(event.lead.tags, ['новаязаявка']);
    assert.deepEqual(
      event.lead.customFields?.map((f) => f.id),
      [432373, 644897, 715391, 645087, 1363223],
    );
    assert.deepEqual(fieldByCode(event, 'ROISTAT'), {
      id: 432373,
      name: 'roistat',
      code: 'ROISTAT',
      values: [{ value: '139919', enumId: null }],
    });
    assert.deepEqual(fieldById(event, 644897).values, [{ value: 'MBA', enumId: 853027 }]);
    assert.equal(
      fieldById(event, 715391).values[0]?.value,
      'https://moscow.mba/promo?utm_source=salid&utm_medium=offer1234&utm_campaign=wm112233&utm_term=423432345654345423456743',
    );
    assert.deepEqual(fieldById(event, 645087).values, [{ value: '1689282000', enumId: null }]);
    // Longer than a safe integer: values stay strings, so nothing is rounded.
    assert.equal(fieldById(event, 1363223).values[0]?.value, '1680699095677241273');
  });

  it('ex. 3 (2022): add of a full lead without custom fields → customFields []', () => {
    const parsed = parse('add-2022.txt');
    assert.deepEqual(parsed.account, { id: '30739638', subdomain: '121273hvv' });
    const event = only(parsed);
    assert.equal(event.action, 'add');
    assert.equal(event.lead.id, 1190401);
    assert.equal(event.lead.statusId, 53861254);
    assert.equal(event.lead.pipelineId, 6254262);
    assert.equal(event.lead.price, '34343');
    assert.equal(event.lead.responsibleUserId, 9040358);
    assert.equal(event.oldStatusId, null);
    assert.equal(event.occurredAt, 1672189247);
    assert.deepEqual(event.lead.customFields, []);
    assert.deepEqual(event.lead.tags, []);
  });

  it('ex. 4 (2023): update without a price key → price null, not 0', () => {
    const event = only(parse('update-no-price-2023.txt'));
    assert.equal(event.action, 'update');
    assert.equal(event.lead.id, 27754599);
    assert.equal(event.lead.price, null);
    assert.equal(event.lead.statusId, 59936194);
    assert.equal(event.lead.responsibleUserId, 0);
    assert.equal(event.occurredAt, 1694590926);
    assert.deepEqual(event.lead.customFields, []);
  });

  it('ex. 5 (2020): a note is a valid webhook with no event, listed as ignored', () => {
    const parsed = parse('note-2020.txt');
    assert.deepEqual(parsed.events, []);
    assert.deepEqual(parsed.ignored, [{ entity: 'leads', action: 'note', count: 1 }]);
    assert.deepEqual(parsed.account, { id: '15109720', subdomain: 'makeprofit' });
  });

  it('ex. 6 (anonymized): a present price "0" stays 0', () => {
    const event = only(parse('status-anonymized.txt'));
    assert.equal(event.lead.id, 11111111);
    assert.equal(event.lead.statusId, 11111111);
    assert.equal(event.lead.price, '0');
    assert.deepEqual(event.lead.customFields, []);
  });

  it('Digital Pipeline body (§1.4): no field data → customFields null', () => {
    const event = only(parse('digital-pipeline-status.txt'));
    assert.equal(event.accountId, '23681254');
    assert.equal(event.subdomain, 'impactcapital');
    assert.equal(event.action, 'status');
    assert.equal(event.lead.id, 25431551);
    assert.equal(event.lead.statusId, 34354531);
    assert.equal(event.lead.pipelineId, 3273697);
    assert.equal(event.oldStatusId, 35108005);
    assert.equal(event.oldPipelineId, 3273697);
    assert.equal(event.lead.customFields, null);
    assert.equal(event.lead.price, null);
    assert.equal(event.lead.createdAt, null);
    assert.equal(event.occurredAt, null);
    assert.deepEqual(event.lead.tags, []);
  });
});

describe('parseWebhook: constructed bodies', () => {
  it('several actions and indices → one event each, in body order', () => {
    const parsed = parse('constructed-multi-leads-multi-actions.txt');
    assert.deepEqual(
      parsed.events.map((e) => [e.action, e.lead.id, e.lead.statusId]),
      [
        ['add', 40000001, 61000001],
        ['add', 40000002, 61000001],
        ['status', 40000003, 142],
        ['status', 40000004, 143],
        ['status', 40000005, 61000003],
      ],
    );
    const [add0, add1, won, lost] = parsed.events;
    assert.equal(add0?.lead.price, '5000');
    assert.equal(add1?.lead.price, null);
    // `add` happened when the lead was created, even if it was touched again before the hook left.
    assert.equal(add1?.occurredAt, 1700000200);
    assert.equal(won?.occurredAt, 1700000300);
    assert.equal(won?.lead.price, '12000');
    assert.equal(lost?.oldStatusId, 61000002);
    assert.ok(parsed.events.every((e) => e.accountId === '31000001'));
  });

  it('GCLIENTID, UTM tracking fields, ga_session_id, decimal price, multiselect', () => {
    const event = only(parse('constructed-status-won-gclientid.txt'));
    assert.equal(event.lead.id, 40000010);
    assert.equal(event.lead.statusId, 142);
    assert.equal(event.lead.price, '1500.50');
    assert.equal(event.occurredAt, 1700003600);
    assert.deepEqual(fieldByCode(event, 'GCLIENTID').values, [
      { value: 'GA1.1.1234567890.1700000000', enumId: null },
    ]);
    assert.equal(fieldByCode(event, 'UTM_SOURCE').values[0]?.value, 'google');
    assert.equal(fieldByCode(event, 'UTM_MEDIUM').values[0]?.value, 'cpc');
    assert.equal(fieldByCode(event, 'UTM_CAMPAIGN').values[0]?.value, 'brand_ru');
    assert.deepEqual(fieldById(event, 800005), {
      id: 800005,
      name: 'ga_session_id',
      code: null,
      values: [{ value: '1700000000', enumId: null }],
    });
    assert.deepEqual(fieldById(event, 800006).values, [
      { value: 'Консультация', enumId: 900001 },
      { value: 'Аудит', enumId: 900002 },
    ]);
    assert.deepEqual(event.lead.tags, ['google ads', 'повторная заявка']);
  });

  it('HTML entities in values, names and tags are decoded once', () => {
    const event = only(parse('constructed-html-escaped-quot.txt'));
    assert.deepEqual(fieldById(event, 800010), {
      id: 800010,
      name: 'Компания "клиента"',
      code: null,
      values: [{ value: `ООО "Ромашка" <опт> 'Юг'`, enumId: null }],
    });
    assert.equal(fieldById(event, 800011).values[0]?.value, 'цена 5&nbsp;000 &amp; скидка 10%+');
    assert.deepEqual(event.lead.tags, ['B2B & опт']);
  });

  it('leads[delete] → a delete event without field data', () => {
    const event = only(parse('constructed-delete.txt'));
    assert.equal(event.action, 'delete');
    assert.equal(event.lead.id, 40000030);
    assert.equal(event.lead.statusId, 143);
    assert.equal(event.lead.customFields, null);
  });

  it('contacts[update] only → no events, listed as ignored', () => {
    const parsed = parse('constructed-contacts-update-only.txt');
    assert.deepEqual(parsed.events, []);
    assert.deepEqual(parsed.ignored, [{ entity: 'contacts', action: 'update', count: 1 }]);
    assert.deepEqual(parsed.account, { id: '31000001', subdomain: 'closeloopdemo' });
  });
});

describe('parseWebhook: rejected bodies', () => {
  it('says why a JSON body is refused', () => {
    assertNotAmo(() => parse('invalid-json-body.txt'), 'JSON', 'form-encoded');
  });

  it('names the missing account keys', () => {
    assertNotAmo(() => parse('invalid-no-account.txt'), 'account[id]', 'account[subdomain]');
    assertNotAmo(() => parse('invalid-empty-form.txt'), 'account[id]', 'account[subdomain]');
  });

  it('says that no entity section was found', () => {
    assertNotAmo(() => parse('invalid-no-entity.txt'), 'no entity section', 'leads[…]');
  });

  it('names the key of a missing or malformed lead id', () => {
    assertNotAmo(() => parse('invalid-lead-without-id.txt'), 'leads[status][0][id]', 'missing');
    assertNotAmo(() => parse('invalid-lead-id-abc.txt'), 'leads[status][0][id]', '"abc"');
  });

  it('rejects an empty or blank body', () => {
    assertNotAmo(() => parseWebhook(''), 'empty');
    assertNotAmo(() => parseWebhook(' \r\n'), 'empty');
  });

  for (const id of ['0', '-5', '1.5', '', ' 12', '1e3', '99999999999999999999']) {
    it(`rejects lead id ${JSON.stringify(id)}`, () => {
      const b = form([...ACCOUNT, ['leads[update][2][id]', id]]);
      assertNotAmo(() => parseWebhook(b), 'leads[update][2][id]', 'positive integer');
    });
  }

  it('rejects a lead entry that is a plain value, naming its key', () => {
    assertNotAmo(
      () => parseWebhook(form([...ACCOUNT, ['leads[status][0]', '1']])),
      'leads[status][0]',
    );
    assertNotAmo(() => parseWebhook(form([...ACCOUNT, ['leads[status]', '1']])), 'leads[status]');
  });

  it('carries the offending key in details', () => {
    try {
      parse('invalid-lead-id-abc.txt');
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof PayloadError);
      assert.deepEqual(e.details, { key: 'leads[status][0][id]' });
    }
  });
});

describe('parseWebhook: behaviour on hand-written bodies', () => {
  it('orders events by the body order of actions, not by a fixed action list', () => {
    const b = form([['leads[status][0][id]', '2'], ['leads[add][0][id]', '1'], ...ACCOUNT]);
    assert.deepEqual(
      parseWebhook(b).events.map((e) => [e.action, e.lead.id]),
      [
        ['status', 2],
        ['add', 1],
      ],
    );
  });

  it('stores every lead action and ignores unknown ones', () => {
    const pairs: Array<[string, string]> = LEAD_ACTIONS.map((a, i) => [
      `leads[${a}][0][id]`,
      String(i + 1),
    ]);
    const b = form([
      ...ACCOUNT,
      ...pairs,
      ['leads[merge][0][id]', '9'],
      ['leads[merge][1][id]', '10'],
    ]);
    const parsed = parseWebhook(b);
    assert.deepEqual(
      parsed.events.map((e) => e.action),
      [...LEAD_ACTIONS],
    );
    assert.deepEqual(parsed.ignored, [{ entity: 'leads', action: 'merge', count: 2 }]);
  });

  it('lists other entities as ignored, in body order, with their entry counts', () => {
    const b = form([
      ...ACCOUNT,
      ['message[add][0][id]', 'a1'],
      ['talk[update][0][talk_id]', '5'],
      ['talk[update][1][talk_id]', '6'],
      ['leads[status][0][id]', '7'],
    ]);
    const parsed = parseWebhook(b);
    assert.equal(parsed.events.length, 1);
    assert.deepEqual(parsed.ignored, [
      { entity: 'message', action: 'add', count: 1 },
      { entity: 'talk', action: 'update', count: 2 },
    ]);
  });

  it('never throws on unknown extra keys', () => {
    const b = form([
      ...ACCOUNT,
      ['foo', 'bar'],
      ['x[y][z]', '1'],
      ['leads[status][0][id]', '7'],
      ['leads[status][0][loss_reason][0][name]', 'x'],
      ['leads[status][0][custom_fields][0][values][0][value][nested]', 'odd'],
      ['leads[status][0][custom_fields][1]', 'plain'],
      ['leads[status][0][tags][0]', 'plain'],
    ]);
    const event = only(parseWebhook(b));
    assert.deepEqual(event.lead.customFields, [{ id: null, name: null, code: null, values: [] }]);
    assert.deepEqual(event.lead.tags, []);
  });

  it('turns missing, empty or non-numeric numbers into null, never 0 or NaN', () => {
    const b = form([
      ...ACCOUNT,
      ['leads[update][0][id]', '7'],
      ['leads[update][0][status_id]', ''],
      ['leads[update][0][pipeline_id]', 'abc'],
      ['leads[update][0][price]', 'договорная'],
      ['leads[update][0][responsible_user_id]', '1e3'],
      ['leads[update][0][updated_at]', '2020-09-28 00:26:51'],
    ]);
    const { lead, occurredAt } = only(parseWebhook(b));
    assert.equal(lead.statusId, null);
    assert.equal(lead.pipelineId, null);
    assert.equal(lead.price, null);
    assert.equal(lead.responsibleUserId, null);
    assert.equal(lead.updatedAt, null);
    assert.equal(occurredAt, null);
  });

  it('picks occurredAt: add → created first, others → updated first, else the other one', () => {
    const at = (action: string, times: Record<string, string>): number | null => {
      const pairs = Object.entries(times).map(([k, v]): [string, string] => [
        `leads[${action}][0][${k}]`,
        v,
      ]);
      return only(parseWebhook(form([...ACCOUNT, [`leads[${action}][0][id]`, '1'], ...pairs])))
        .occurredAt;
    };
    assert.equal(at('add', { updated_at: '20' }), 20);
    assert.equal(at('add', { created_at: '10', updated_at: '20' }), 10);
    assert.equal(at('status', { created_at: '10', updated_at: '20' }), 20);
    assert.equal(at('status', { date_create: '10' }), 10);
    assert.equal(at('update', { created_at: '10', last_modified: '30' }), 30);
  });

  it('uses account[id] for accountId and keeps the subdomain beside it', () => {
    const b = form([
      ['account[id]', '42'],
      ['leads[add][0][id]', '1'],
      ['leads[add][0][account_id]', '99'],
    ]);
    const parsed = parseWebhook(b);
    assert.deepEqual(parsed.account, { id: '42', subdomain: null });
    assert.equal(only(parsed).accountId, '42');
    assert.equal(only(parsed).subdomain, null);
  });

  it('keeps customFields null only for Digital-Pipeline-shaped entries', () => {
    const dp = form([
      ...ACCOUNT,
      ['leads[status][0][id]', '1'],
      ['leads[status][0][status_id]', '142'],
    ]);
    assert.equal(only(parseWebhook(dp)).lead.customFields, null);
    const full = form([...ACCOUNT, ['leads[status][0][id]', '1'], ['leads[status][0][name]', '']]);
    assert.deepEqual(only(parseWebhook(full)).lead.customFields, []);
  });

  it('accepts a custom field whose values sit directly under values (single bare value)', () => {
    const b = form([
      ...ACCOUNT,
      ['leads[update][0][id]', '1'],
      ['leads[update][0][custom_fields][0][id]', '5'],
      ['leads[update][0][custom_fields][0][code]', ''],
      ['leads[update][0][custom_fields][0][values]', 'a &amp; b'],
    ]);
    assert.deepEqual(only(parseWebhook(b)).lead.customFields, [
      { id: 5, name: null, code: null, values: [{ value: 'a & b', enumId: null }] },
    ]);
  });
});

describe('decodeForm', () => {
  it('nests bracket keys, keeps indices as string keys, decodes +, %XX and UTF-8', () => {
    const tree = decodeForm(
      'leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0+1%2B1&leads[status][0][id]=7&account[subdomain]=demo',
    );
    assert.deepEqual(plain(tree), {
      leads: { status: { '0': { name: 'Сделка 1+1', id: '7' } } },
      account: { subdomain: 'demo' },
    });
    assert.equal(Object.getPrototypeOf(tree), null);
  });

  it('does not pollute Object.prototype', () => {
    const tree = decodeForm(
      '__proto__[polluted]=1&constructor[prototype][polluted]=1&a[__proto__][polluted]=1&a[b][prototype]=1&__proto__=1&ok=1',
    );
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    assert.deepEqual(Object.keys(tree), ['ok']);
  });

  it('treats inherited-looking names as plain data', () => {
    const tree = decodeForm('toString=1&hasOwnProperty[x]=2&valueOf=3');
    assert.deepEqual(plain(tree), { toString: '1', hasOwnProperty: { x: '2' }, valueOf: '3' });
  });

  it('keeps the object when a name is both a scalar and an object, in either order', () => {
    assert.deepEqual(plain(decodeForm('a=1&a[b]=2')), { a: { b: '2' } });
    assert.deepEqual(plain(decodeForm('a[b]=2&a=1')), { a: { b: '2' } });
    assert.deepEqual(plain(decodeForm('a[b]=1&a[b][c]=2&a[b]=3')), { a: { b: { c: '2' } } });
  });

  it('keeps the last of repeated scalars', () => {
    assert.deepEqual(plain(decodeForm('a=1&a=2')), { a: '2' });
  });

  it(`caps nesting at ${MAX_FORM_DEPTH} segments, dropping deeper keys whole`, () => {
    const key = (n: number): string => `k${'[x]'.repeat(n - 1)}`;
    const kept = decodeForm(`${key(MAX_FORM_DEPTH)}=deep`);
    let node: string | FormTree | undefined = kept;
    for (let i = 0; i < MAX_FORM_DEPTH - 1; i++) {
      node = (node as FormTree)[i === 0 ? 'k' : 'x'];
    }
    assert.deepEqual(plain(node as FormTree), { x: 'deep' });
    assert.deepEqual(plain(decodeForm(`${key(MAX_FORM_DEPTH + 1)}=deep&ok=1`)), { ok: '1' });
    assert.deepEqual(plain(decodeForm(`${key(5000)}=deep`)), {});
  });

  it('ignores empty keys and empty segments', () => {
    assert.deepEqual(plain(decodeForm('=x&[a]=1&a[]=2&a[b][]=3&&b=4&c=')), { b: '4', c: '' });
  });

  it('reads malformed brackets the way PHP does', () => {
    assert.deepEqual(plain(decodeForm('a[b]x=1')), { a: { b: '1' } });
    assert.deepEqual(plain(decodeForm('a[b]x[c]=1')), { a: { b: '1' } });
    assert.deepEqual(plain(decodeForm('a[b=1')), { 'a[b': '1' });
    assert.deepEqual(plain(decodeForm('a]b=1')), { 'a]b': '1' });
  });

  it('survives malformed percent-escapes', () => {
    assert.deepEqual(plain(decodeForm('a=%ZZ&b=%E0%A4%A')), { a: '%ZZ', b: '\ufffd%A' });
  });
});

describe('htmlUnescape', () => {
  it('returns the same string when there is no "&"', () => {
    const s = 'Сделка "без" сущностей <b>';
    assert.equal(htmlUnescape(s), s);
  });

  it('decodes the entities PHP htmlspecialchars produces', () => {
    assert.equal(
      htmlUnescape('&amp; &quot; &lt; &gt; &#39; &#039; &apos; &#x27; &#X27;'),
      `& " < > ' ' ' ' '`,
    );
  });

  it('decodes numeric and hex references to any code point', () => {
    assert.equal(htmlUnescape('&#1055;&#x440;&#x438;&#1074;&#x435;&#x442; &#128512;'), 'Привет 😀');
  });

  it('decodes once: a double escape stays escaped', () => {
    assert.equal(htmlUnescape('&amp;quot;'), '&quot;');
    assert.equal(htmlUnescape('&amp;amp;'), '&amp;');
  });

  it('leaves unknown names, bad numbers and unterminated entities as they are', () => {
    for (const s of [
      '&nbsp;',
      '&AMP;',
      '&amp',
      '& amp;',
      '&#0;',
      '&#xD800;',
      '&#1114112;',
      '&#99999999999;',
      '&#;',
      '&#x;',
      '&constructor;',
      'a & b',
    ]) {
      assert.equal(htmlUnescape(s), s);
    }
  });
});
