/**
 * Lead intake, pure part: reading a posted site form (what is refused, what is dropped, what is
 * normalised) and the exact `POST /api/v4/leads/complex` element built from it.
 */
import assert from 'node:assert/strict';
import {
  buildComplexLead,
  MAX_FIELD_VALUES_PER_ENTITY,
  type ComplexLeadSettings,
} from '../../src/adapters/crm/amocrm/build-complex-lead';
import { LEAD_FORM_FIELDS, parseLeadForm, type LeadForm } from '../../src/core/lead-form';

const SETTINGS: ComplexLeadSettings = {
  leadName: 'Заявка с сайта',
  pipeline: null,
  status: null,
  sessionIdField: null,
  commentField: null,
};

/** Everything the snippet posts, as it posts it. */
const SNIPPET_FORM = {
  name: '  Анна  ',
  phone: '+7 (916) 123-45-67',
  email: 'anna@example.org',
  comment: 'Перезвоните\r\nпосле 18:00',
  ga_client_id: 'GA1.1.1234567890.1700000000',
  ga_session_id: 'GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0',
  utm_source: 'yandex',
  utm_medium: 'cpc',
  utm_campaign: 'spring_sale',
  utm_content: 'banner_1',
  utm_term: 'купить диван',
  gclid: 'Cj0KCQjw-abc_DEF',
  yclid: '2841736581836046335',
  ym_uid: '1700000000123456789',
};

function form(input: Record<string, unknown>): LeadForm {
  const parsed = parseLeadForm(input);
  if ('problems' in parsed) assert.fail(`unexpected problems: ${parsed.problems.join('; ')}`);
  return parsed.form;
}

function problems(input: Record<string, unknown>): string[] {
  const parsed = parseLeadForm(input);
  if ('form' in parsed) assert.fail('expected problems');
  return parsed.problems;
}

describe('parseLeadForm', () => {
  it('reads every field the snippet posts: trimmed, the client ID and session ID normalised', () => {
    assert.deepEqual(form(SNIPPET_FORM), {
      name: 'Анна',
      phone: '+7 (916) 123-45-67',
      email: 'anna@example.org',
      comment: 'Перезвоните\nпосле 18:00',
      clientId: '1234567890.1700000000',
      sessionId: '1747132561',
      utmSource: 'yandex',
      utmMedium: 'cpc',
      utmCampaign: 'spring_sale',
      utmContent: 'banner_1',
      utmTerm: 'купить диван',
      gclid: 'Cj0KCQjw-abc_DEF',
      yclid: '2841736581836046335',
      ymUid: '1700000000123456789',
    });
    assert.equal(LEAD_FORM_FIELDS.length, Object.keys(SNIPPET_FORM).length);
  });

  it('needs a phone or an email, nothing else', () => {
    assert.deepEqual(problems({ name: 'Анна' }), ['phone or email is required']);
    assert.deepEqual(problems({ phone: '   ', email: '' }), ['phone or email is required']);
    assert.equal(form({ phone: '89161234567' }).phone, '89161234567');
    assert.equal(form({ email: 'a@b.co' }).email, 'a@b.co');
    const only = form({ email: 'a@b.co' });
    assert.equal(only.name, null);
    assert.equal(only.clientId, null);
  });

  it('lists every problem, without repeating what the visitor typed', () => {
    const listed = problems({
      name: { first: 'Анна' },
      phone: 'call me maybe',
      email: 'anna at example.org',
      comment: ['a', 'b'],
    });
    assert.deepEqual(listed, [
      'name must be text, not object',
      'comment must be text, not a list',
      'phone is not a phone number (digits, spaces, +, brackets and dashes; 5 to 20 digits)',
      'email is not an email address',
    ]);
    assert.ok(!listed.join(' ').includes('anna'), 'the email is not echoed');
  });

  it('refuses phones with too few or too many digits, and overlong emails', () => {
    assert.equal(problems({ phone: '1234' }).length, 1);
    assert.equal(problems({ phone: '1'.repeat(21) }).length, 1);
    assert.equal(problems({ email: `${'a'.repeat(250)}@b.co` }).length, 1);
    assert.equal(form({ phone: 79161234567 }).phone, '79161234567', 'a JSON number is taken');
    assert.equal(form({ phone: '+7  916\t1234567' }).phone, '+7 916 1234567');
  });

  it('drops a malformed analytics ID instead of refusing the lead', () => {
    const f = form({
      phone: '89161234567',
      ga_client_id: 'not-a-client-id',
      ga_session_id: 'GS2.1.o1$g0',
      gclid: 'has spaces in it',
      yclid: { nested: true },
      ym_uid: 'x'.repeat(256),
      utm_source: ['a'],
    });
    assert.deepEqual(
      [f.clientId, f.sessionId, f.gclid, f.yclid, f.ymUid, f.utmSource],
      [null, null, null, null, null, null],
    );
  });

  it('accepts the bare client ID, and the session ID as a bare number or the GS1 cookie', () => {
    const bare = form({ phone: '89161234567', ga_client_id: '123.456', ga_session_id: 1747132561 });
    assert.equal(bare.clientId, '123.456');
    assert.equal(bare.sessionId, '1747132561');
    const gs1 = form({
      phone: '89161234567',
      ga_session_id: 'GS1.1.1746825440.14.0.1746825440.0.0',
    });
    assert.equal(gs1.sessionId, '1746825440');
  });

  it('caps long texts, flattens line breaks outside the comment, and removes control characters', () => {
    const f = form({
      phone: '89161234567',
      name: `Анна\nМария\u0000 ${'я'.repeat(300)}`,
      comment: `${'ж'.repeat(4100)}`,
      utm_campaign: 'c'.repeat(300),
    });
    assert.equal(Array.from(f.name!).length, 255);
    assert.ok(f.name!.startsWith('Анна Мария '));
    assert.equal(f.comment!.length, 4000);
    assert.equal(f.utmCampaign!.length, 255);
  });

  it('ignores fields it does not know (sites post their own fields too)', () => {
    const f = form({ phone: '89161234567', product: 'диван', __proto__: { email: 'x' } });
    assert.equal(f.email, null);
    assert.ok(!('product' in f));
  });
});

describe('buildComplexLead', () => {
  it('builds the exact complex-add element: tracking fields by code, contact, tag', () => {
    assert.deepEqual(buildComplexLead(form(SNIPPET_FORM), SETTINGS), {
      name: 'Заявка с сайта',
      custom_fields_values: [
        { field_code: 'GCLIENTID', values: [{ value: '1234567890.1700000000' }] },
        { field_code: 'UTM_SOURCE', values: [{ value: 'yandex' }] },
        { field_code: 'UTM_MEDIUM', values: [{ value: 'cpc' }] },
        { field_code: 'UTM_CAMPAIGN', values: [{ value: 'spring_sale' }] },
        { field_code: 'UTM_CONTENT', values: [{ value: 'banner_1' }] },
        { field_code: 'UTM_TERM', values: [{ value: 'купить диван' }] },
        { field_code: 'GCLID', values: [{ value: 'Cj0KCQjw-abc_DEF' }] },
        { field_code: 'YCLID', values: [{ value: '2841736581836046335' }] },
        { field_code: '_YM_UID', values: [{ value: '1700000000123456789' }] },
      ],
      _embedded: {
        contacts: [
          {
            first_name: 'Анна',
            custom_fields_values: [
              { field_code: 'PHONE', values: [{ value: '+7 (916) 123-45-67', enum_code: 'WORK' }] },
              { field_code: 'EMAIL', values: [{ value: 'anna@example.org', enum_code: 'WORK' }] },
            ],
          },
        ],
        tags: [{ name: 'closeloop' }],
      },
      request_id: '1',
    });
  });

  it('adds pipeline, status, the session ID and the comment where the settings say', () => {
    const body = buildComplexLead(form(SNIPPET_FORM), {
      leadName: 'Заявка с лендинга',
      pipeline: '4542166',
      status: '41893093',
      sessionIdField: { id: 123456 },
      commentField: { code: 'COMMENT' },
    }) as Record<string, unknown>;
    assert.equal(body.name, 'Заявка с лендинга');
    assert.equal(body.pipeline_id, 4542166);
    assert.equal(body.status_id, 41893093);
    const fields = body.custom_fields_values as unknown[];
    assert.deepEqual(fields.slice(-2), [
      { field_id: 123456, values: [{ value: '1747132561' }] },
      { field_code: 'COMMENT', values: [{ value: 'Перезвоните\nпосле 18:00' }] },
    ]);
    assert.equal(fields.length, 11);
    assert.ok(fields.length <= MAX_FIELD_VALUES_PER_ENTITY);
  });

  it('leaves out what the form did not have: no fields, no first name, no email', () => {
    const body = buildComplexLead(form({ phone: '89161234567' }), {
      ...SETTINGS,
      sessionIdField: { code: 'GA_SESSION' },
      commentField: { id: 1 },
    });
    assert.deepEqual(body, {
      name: 'Заявка с сайта',
      _embedded: {
        contacts: [
          {
            custom_fields_values: [
              { field_code: 'PHONE', values: [{ value: '89161234567', enum_code: 'WORK' }] },
            ],
          },
        ],
        tags: [{ name: 'closeloop' }],
      },
      request_id: '1',
    });
  });

  it('drops the session ID and the comment when no field is configured for them', () => {
    const body = buildComplexLead(form(SNIPPET_FORM), SETTINGS) as {
      custom_fields_values: Array<{ field_code?: string }>;
    };
    assert.ok(body.custom_fields_values.every((f) => f.field_code !== undefined));
    assert.ok(!JSON.stringify(body).includes('1747132561'));
    assert.ok(!JSON.stringify(body).includes('Перезвоните'));
  });
});
