/**
 * Config loading: the example config, env interpolation, every fixture under
 * test/fixtures/config/, line numbers, and the order in which the config file is found.
 *
 * Golden messages: each test/fixtures/config/invalid/<name>.yaml has <name>.expected.txt with the
 * exact text a marketer sees. After changing a message, regenerate them with
 *   CLOSELOOP_UPDATE_GOLDEN=1 npm test
 * and review the diff line by line before committing: a wrong golden file locks a bug in.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LEAD_INTAKE_DISABLED, type Rule } from '../../src/core/config-types';
import type { CloseloopConfig } from '../../src/config/config-types';
import { ConfigError } from '../../src/core/errors';
import { interpolateString } from '../../src/config/interpolate-env';
import { formatKey, loadConfig, parseConfig } from '../../src/config/load-config';
import { locateConfig } from '../../src/config/locate-config';
import { parseByteSize, parseOrigin } from '../../src/config/schema';
import {
  closestMatch,
  editDistance,
  isPersonalName,
  personalValueKind,
} from '../../src/adapters/config-kit';

const FIXTURES = 'test/fixtures/config';
const UPDATE_GOLDEN = process.env.CLOSELOOP_UPDATE_GOLDEN === '1';

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(path.resolve(dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

/** Every object inside `value` is frozen. */
function assertDeepFrozen(value: unknown, where = 'config'): void {
  if (typeof value !== 'object' || value === null) return;
  assert.ok(Object.isFrozen(value), `${where} is not frozen`);
  for (const [key, child] of Object.entries(value)) assertDeepFrozen(child, `${where}.${key}`);
}

const parse = (text: string, env: NodeJS.ProcessEnv = {}): CloseloopConfig =>
  parseConfig(text, 'inline.yaml', env);

describe('config: the example config (config/closeloop.example.yaml)', () => {
  it('loads with no environment variables at all, in dry-run mode', () => {
    const config = loadConfig({ path: 'config/closeloop.example.yaml', env: {} });
    assert.equal(config.file, 'config/closeloop.example.yaml');
    assert.equal(config.currency, 'RUB');
    assert.deepEqual(config.ga4, {
      measurementId: null,
      apiSecret: null,
      endpoint: 'https://www.google-analytics.com',
      timeoutMs: 10_000,
      dryRun: true,
    });
    assert.deepEqual(config.amocrm, {
      subdomain: null,
      api: null,
      fields: { clientId: { code: 'GCLIENTID' }, sessionId: { name: 'ga_session_id' } },
    });
    assert.deepEqual(config.webhook, { secret: null, maxBodyBytes: 1024 * 1024 });
    assert.equal(config.generic, null, 'no signed intake without CLOSELOOP_INTAKE_SECRET');
    assert.deepEqual(config.accounts, []);
    assert.deepEqual(config.delivery, {
      retryWindowMs: 72 * 3_600_000,
      retryBaseMs: 5_000,
      retryMaxDelayMs: 60 * 60_000,
      concurrency: 8,
      resendUncertain: ['purchase', 'refund'],
      maxValue: 1_000_000_000,
    });
    assert.deepEqual(config.revenue, {
      wonAgain: 'ignore',
      lostAfterWon: 'ignore',
      amountChanged: 'record',
    });
    assert.equal(config.deliveryLogMaxRows, 100_000);
    assert.equal(config.deliveryLogMaxAgeMs, 90 * 86_400_000);
  });

  it('maps a new lead, a won deal and a lost deal, in any pipeline of any CRM', () => {
    const config = loadConfig({ path: 'config/closeloop.example.yaml', env: {} });
    const any = { pipelines: null, statuses: null, fromStatuses: null, sources: null };
    const expected: Rule[] = [
      {
        name: 'New lead',
        on: 'lead_added',
        ...any,
        outcomes: null,
        send: [
          {
            name: 'generate_lead',
            params: {
              lead_source: { kind: 'deal', attribute: 'source', required: false },
              value: { kind: 'deal', attribute: 'amount', required: false, default: 0 },
            },
          },
        ],
      },
      {
        name: 'Deal won',
        on: 'status_changed',
        ...any,
        outcomes: ['won'],
        send: [
          {
            name: 'close_convert_lead',
            params: { value: { kind: 'deal', attribute: 'amount', required: false } },
          },
          {
            name: 'purchase',
            params: {
              value: { kind: 'deal', attribute: 'amount', required: true },
              transaction_id: { kind: 'deal', attribute: 'id', required: true },
            },
          },
        ],
      },
      {
        name: 'Deal lost',
        on: 'status_changed',
        ...any,
        outcomes: ['lost'],
        send: [{ name: 'close_unconvert_lead', params: {} }],
      },
    ];
    assert.deepEqual(config.rules, expected);
  });

  it('takes the signed intake’s key from CLOSELOOP_INTAKE_SECRET', () => {
    const config = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: { CLOSELOOP_INTAKE_SECRET: 'an-intake-secret-9f8e7d6c5b4a' },
    });
    assert.deepEqual(config.generic, {
      secret: 'an-intake-secret-9f8e7d6c5b4a',
      accounts: null,
      mappings: {},
    });
  });

  it('is deeply frozen', () => {
    const config = loadConfig({ path: 'config/closeloop.example.yaml', env: {} });
    assertDeepFrozen(config);
    assert.throws(() => {
      (config.rules as Rule[]).push(config.rules[0]!);
    }, TypeError);
    assert.throws(() => {
      (config.ga4 as { dryRun: boolean }).dryRun = false;
    }, TypeError);
  });

  it('sends for real once both GA4 credentials are in the environment', () => {
    const config = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: {
        GA4_MEASUREMENT_ID: 'G-ABC123XYZ',
        GA4_API_SECRET: 'an-api-secret',
        GA4_ENDPOINT: 'http://127.0.0.1:9999/',
        CLOSELOOP_WEBHOOK_SECRET: 'abcdefghijklmnopqrstuvwxyz',
        AMOCRM_SUBDOMAIN: 'example',
      },
    });
    assert.equal(config.ga4.dryRun, false);
    assert.equal(config.ga4.measurementId, 'G-ABC123XYZ');
    assert.equal(config.ga4.apiSecret, 'an-api-secret');
    assert.equal(config.ga4.endpoint, 'http://127.0.0.1:9999');
    assert.equal(config.webhook.secret, 'abcdefghijklmnopqrstuvwxyz');
    assert.equal(config.amocrm.subdomain, 'example');
  });

  it('stays in dry-run mode when only one credential is set', () => {
    const onlyId = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: { GA4_MEASUREMENT_ID: 'G-ABC123XYZ' },
    });
    assert.equal(onlyId.ga4.dryRun, true);
    const onlySecret = loadConfig({
      path: 'config/closeloop.example.yaml',
      env: { GA4_API_SECRET: 'an-api-secret' },
    });
    assert.equal(onlySecret.ga4.dryRun, true);
  });
});

describe('config: environment variables', () => {
  it('replaces ${VAR} and ${VAR:-default}, several per value, anywhere in it', () => {
    const env = { HOST: 'example.com', PORT: '8443', EMPTY: '' };
    assert.deepEqual(interpolateString('https://${HOST}:${PORT}/x', env), {
      value: 'https://example.com:8443/x',
      missing: [],
      malformed: [],
    });
    assert.equal(interpolateString('${NOPE:-fallback}', env).value, 'fallback');
    assert.equal(interpolateString('${HOST:-fallback}', env).value, 'example.com');
    assert.equal(
      interpolateString('${EMPTY:-fallback}', env).value,
      'fallback',
      'empty uses the default',
    );
    assert.equal(interpolateString('${EMPTY}', env).value, '', 'set but empty is not missing');
    assert.equal(interpolateString('${NOPE:-}', env).value, '');
    assert.equal(interpolateString('${NOPE:-a:b/c d}', env).value, 'a:b/c d');
    assert.equal(interpolateString('no references', env).value, 'no references');
    assert.equal(interpolateString('$HOST and $ stay', env).value, '$HOST and $ stay');
  });

  it('writes a literal ${ for $${', () => {
    const env = { A: 'x' };
    assert.equal(interpolateString('$${A}', env).value, '${A}');
    assert.equal(interpolateString('$${A} is ${A}', env).value, '${A} is x');
    assert.deepEqual(interpolateString('$${UNSET}', env).missing, []);
  });

  it('reports unset variables without a default, and malformed references', () => {
    assert.deepEqual(interpolateString('${A}-${B}-${A}', {}), {
      value: '--',
      missing: ['A', 'B'],
      malformed: [],
    });
    assert.deepEqual(interpolateString('${1BAD} ${} ${open', {}).malformed, [
      '${1BAD}',
      '${}',
      '${',
    ]);
  });

  it('lets the schema turn interpolated text into numbers and booleans where it wants them', () => {
    const config = loadConfig({
      path: `${FIXTURES}/valid/env-defaults.yaml`,
      env: {
        CLOSELOOP_TEST_TIMEOUT: '750',
        CLOSELOOP_TEST_DRY_RUN: 'true',
        CLOSELOOP_TEST_WON_STATUS: '555003',
        CLOSELOOP_TEST_MAX_BODY: '512kb',
        CLOSELOOP_TEST_MEASUREMENT_ID: 'G-ENV123',
        CLOSELOOP_TEST_API_SECRET: 'from-env',
        CLOSELOOP_TEST_HOST: '127.0.0.1:8080',
        CLOSELOOP_TEST_SCHEME: 'http',
      },
    });
    assert.equal(config.ga4.timeoutMs, 750);
    assert.equal(config.ga4.dryRun, true, 'dry_run: true wins over credentials');
    assert.equal(config.ga4.measurementId, 'G-ENV123');
    assert.equal(config.ga4.endpoint, 'http://127.0.0.1:8080');
    assert.equal(config.webhook.maxBodyBytes, 512 * 1024);
    assert.deepEqual(config.rules[0]?.statuses, ['555003']);
  });

  it('uses the defaults when the variables are unset, and keeps a whole ${VAR} param a string', () => {
    const config = loadConfig({ path: `${FIXTURES}/valid/env-defaults.yaml`, env: {} });
    assert.equal(config.currency, 'RUB');
    assert.equal(config.ga4.timeoutMs, 2500);
    assert.equal(config.ga4.dryRun, true);
    assert.equal(config.ga4.endpoint, 'https://www.google-analytics.com');
    assert.equal(config.webhook.maxBodyBytes, 2 * 1024 * 1024);
    assert.deepEqual(config.rules[0]?.statuses, ['142']);
    const params = config.rules[0]?.send[0]?.params;
    assert.deepEqual(params?.label, { kind: 'literal', value: '123' });
    assert.deepEqual(params?.template, { kind: 'literal', value: '${not_a_variable}' });
  });

  it('does not touch keys or values written as numbers', () => {
    const config = parse(
      [
        'currency: RUB',
        'rules:',
        '  - name: ${NOT_A_VAR}',
        '    on: lead_added',
        '    send:',
        '      - event: generate_lead',
        '        params:',
        '          count: 5',
      ].join('\n'),
      { NOT_A_VAR: 'Interpolated' },
    );
    assert.equal(config.rules[0]?.name, 'Interpolated');
    assert.deepEqual(config.rules[0]?.send[0]?.params.count, { kind: 'literal', value: 5 });
  });

  it('reports a missing variable once, with its line, and code CONFIG_ENV_MISSING', () => {
    const error = configError(() => parse(['currency: ${CURRENCY}', 'rules: []'].join('\n'), {}));
    assert.equal(error.code, 'CONFIG_ENV_MISSING');
    assert.equal(error.problems.length, 1, 'not also "currency must be three letters"');
    assert.deepEqual(
      { ...error.problems[0], message: undefined, fix: undefined },
      {
        file: 'inline.yaml',
        line: 1,
        key: 'currency',
        code: 'CONFIG_ENV_MISSING',
        message: undefined,
        fix: undefined,
      },
    );
    assert.match(error.problems[0]!.message, /CURRENCY is not set/);
    assert.match(error.problems[0]!.fix, /\$\{CURRENCY:-default\}/);
  });
});

describe('config: valid fixtures', () => {
  for (const name of yamlFiles(`${FIXTURES}/valid`)) {
    it(`loads valid/${name}`, () => {
      const config = loadConfig({ path: `${FIXTURES}/valid/${name}`, env: {} });
      assert.equal(config.file, `${FIXTURES}/valid/${name}`);
      assertDeepFrozen(config);
    });
  }

  it('maps every setting of valid/full.yaml to the internal model', () => {
    const config = loadConfig({ path: `${FIXTURES}/valid/full.yaml`, env: {} });
    assert.equal(config.currency, 'EUR');
    assert.deepEqual(config.amocrm, {
      subdomain: 'example.kommo.com',
      api: {
        baseUrl: 'https://example.kommo.com',
        auth: { kind: 'long-lived', token: 'fake-long-lived-token' },
        requestsPerSecond: 5,
        timeoutMs: 8000,
        batchWindowMs: 300,
        reconcile: { enabled: false, intervalMs: 30 * 60_000 },
      },
      fields: { clientId: { id: 610951 }, sessionId: null },
    });
    assert.deepEqual(config.ga4, {
      measurementId: 'G-TEST123ABC',
      apiSecret: 'fake-api-secret-value',
      endpoint: 'https://region1.google-analytics.com',
      timeoutMs: 5000,
      dryRun: false,
    });
    assert.deepEqual(config.webhook, { secret: 'abcdefghijklmnop_0123-XYZ', maxBodyBytes: 524288 });
    assert.deepEqual(config.delivery, {
      retryWindowMs: 48 * 3_600_000,
      retryBaseMs: 2_000,
      retryMaxDelayMs: 30 * 60_000,
      concurrency: 16,
      resendUncertain: ['purchase'],
      maxValue: 25_000_000.5,
    });
    assert.deepEqual(config.revenue, {
      wonAgain: 'refund_and_resend',
      lostAfterWon: 'refund',
      amountChanged: 'refund_and_resend',
    });
    assert.equal(config.deliveryLogMaxRows, 5000);
    assert.equal(config.deliveryLogMaxAgeMs, 30 * 86_400_000);
    assert.deepEqual(
      config.rules.map((r) => [r.name, r.on, r.pipelines, r.statuses, r.fromStatuses]),
      [
        ['Lead in sales pipelines', 'lead_added', ['1234567', '7654321'], null, null],
        ['Paid after invoice', 'status_changed', ['1234567'], ['142', '555003'], ['555002']],
        ['Deleted', 'lead_deleted', null, null, null],
        ['Restored', 'lead_restored', null, null, null],
        ['Edited', 'lead_updated', null, ['555001'], null],
      ],
    );
    const params = config.rules[0]!.send[0]!.params;
    assert.deepEqual(Object.keys(params), [
      'lead_source',
      'form_version',
      'is_test',
      'value',
      'program',
      'roistat',
      'campaign',
    ]);
    assert.deepEqual(params, {
      lead_source: { kind: 'literal', value: 'website' },
      form_version: { kind: 'literal', value: 2 },
      is_test: { kind: 'literal', value: false },
      value: { kind: 'deal', attribute: 'amount', required: false, default: 0 },
      program: {
        kind: 'field',
        field: { name: 'Тип программы' },
        required: false,
        default: 'unknown',
      },
      roistat: { kind: 'field', field: { code: 'ROISTAT' }, required: false },
      campaign: { kind: 'utm', utm: 'campaign', required: false, default: 'none' },
    });
    assert.deepEqual(
      config.rules[1]!.send.map((e) => e.name),
      ['purchase', 'close_convert_lead'],
    );
    assert.deepEqual(config.rules[1]!.send[0]!.params.currency, { kind: 'literal', value: 'USD' });
  });

  it('gives every setting its default in valid/minimal.yaml and valid/empty-sections.yaml', () => {
    const minimal = loadConfig({ path: `${FIXTURES}/valid/minimal.yaml`, env: {} });
    const empty = loadConfig({ path: `${FIXTURES}/valid/empty-sections.yaml`, env: {} });
    for (const config of [minimal, empty]) {
      assert.equal(config.ga4.endpoint, 'https://www.google-analytics.com');
      assert.equal(config.ga4.timeoutMs, 10_000);
      assert.equal(config.ga4.dryRun, true);
      assert.deepEqual(config.amocrm.fields, { clientId: { code: 'GCLIENTID' }, sessionId: null });
      assert.equal(config.webhook.maxBodyBytes, 1024 * 1024);
      assert.equal(config.delivery.concurrency, 8);
      assert.equal(config.deliveryLogMaxRows, 100_000);
    }
    assert.deepEqual(minimal.rules, []);
    assert.deepEqual(empty.rules[0]?.send[0]?.params, {});
  });
});

describe('config: lead_intake', () => {
  const withIntake = (lines: string[], api = true): string =>
    [
      'currency: RUB',
      ...(api ? ['amocrm:', '  subdomain: example', '  token: fake-token'] : []),
      'lead_intake:',
      ...lines.map((l) => `  ${l}`),
      'rules: []',
    ].join('\n');

  it('is disabled, with every default, when the section is absent (the example config too)', () => {
    const example = loadConfig({ path: 'config/closeloop.example.yaml', env: {} });
    const minimal = loadConfig({ path: `${FIXTURES}/valid/minimal.yaml`, env: {} });
    for (const config of [example, minimal, parse('currency: RUB\nlead_intake:\nrules: []\n')]) {
      assert.deepEqual(config.leadIntake, {
        enabled: false,
        account: 'default',
        corsOrigins: [],
        honeypotField: 'website',
        perIpPerMinute: 10,
        pipeline: null,
        status: null,
        leadName: 'Заявка с сайта',
        sessionIdField: null,
        commentField: null,
        keepPersonalDataMs: 30 * 86_400_000,
      });
      assert.deepEqual(config.leadIntake, LEAD_INTAKE_DISABLED);
    }
    assert.ok(
      Object.isFrozen(LEAD_INTAKE_DISABLED) && Object.isFrozen(LEAD_INTAKE_DISABLED.corsOrigins),
    );
  });

  it('maps every setting of valid/lead-intake.yaml, origins normalised as browsers send them', () => {
    const config = loadConfig({ path: `${FIXTURES}/valid/lead-intake.yaml`, env: {} });
    assert.deepEqual(config.leadIntake, {
      enabled: true,
      account: 'default',
      corsOrigins: ['https://example.com', 'https://www.example.com', 'http://localhost:8080'],
      honeypotField: 'company_site',
      perIpPerMinute: 30,
      pipeline: '4542166',
      status: '41893093',
      leadName: 'Заявка с лендинга',
      sessionIdField: { id: 123456 },
      commentField: { code: 'COMMENT' },
      keepPersonalDataMs: 14 * 86_400_000,
    });
    assertDeepFrozen(config);
  });

  it('takes one origin written without a list, and values from the environment', () => {
    const config = parse(
      withIntake([
        'enabled: ${LEAD_INTAKE:-false}',
        'cors_origins: ${SITE}',
        'per_ip_per_minute: ${PER_MINUTE}',
      ]),
      { LEAD_INTAKE: 'true', SITE: 'https://example.com', PER_MINUTE: '1000' },
    );
    assert.equal(config.leadIntake?.enabled, true);
    assert.deepEqual(config.leadIntake?.corsOrigins, ['https://example.com']);
    assert.equal(config.leadIntake?.perIpPerMinute, 1000);
  });

  it('refuses enabled: true without amoCRM API access, also when it comes from the environment', () => {
    for (const enabled of ['true', '${LEAD_INTAKE}']) {
      const error = configError(() =>
        parse(withIntake([`enabled: ${enabled}`], false), { LEAD_INTAKE: 'true' }),
      );
      assert.deepEqual(
        error.problems.map((p) => [p.key, p.line]),
        [['lead_intake.enabled', 3]],
      );
      assert.match(error.problems[0]!.fix, /AMOCRM_SUBDOMAIN and AMOCRM_TOKEN/);
    }
    assert.equal(parse(withIntake(['enabled: false'], false)).leadIntake?.enabled, false);
  });

  it('refuses per_ip_per_minute outside 1..1000 and a lead name over 255 characters', () => {
    const error = configError(() =>
      parse(withIntake(['per_ip_per_minute: 1001', `lead_name: ${'я'.repeat(256)}`])),
    );
    assert.deepEqual(
      error.problems.map((p) => p.key),
      ['lead_intake.per_ip_per_minute', 'lead_intake.lead_name'],
    );
  });

  it('is valid as commented out in the example config, once uncommented (with API access)', () => {
    const example = fs.readFileSync(path.resolve('config/closeloop.example.yaml'), 'utf8');
    const block = example.split('\n# lead_intake:\n')[1]?.split('\n\n')[0];
    assert.ok(block !== undefined, 'the example has a commented-out lead_intake section');
    const uncommented = block.split('\n').map((line) => line.replace(/^# /, ''));
    const config = parse(withIntake(uncommented.map((line) => line.replace(/^ {2}/, ''))));
    assert.deepEqual(config.leadIntake, {
      enabled: true,
      account: 'default',
      corsOrigins: ['https://example.com', 'https://www.example.com'],
      honeypotField: 'website',
      perIpPerMinute: 10,
      pipeline: '4542166',
      status: '41893093',
      leadName: 'Заявка с сайта',
      sessionIdField: { id: 123456 },
      commentField: { id: 123457 },
      keepPersonalDataMs: 30 * 86_400_000,
    });
  });

  it('reads origins as browsers send them, and refuses anything else', () => {
    assert.equal(parseOrigin('https://example.com'), 'https://example.com');
    assert.equal(parseOrigin(' https://Example.COM/ '), 'https://example.com');
    assert.equal(parseOrigin('https://example.com:443'), 'https://example.com');
    assert.equal(parseOrigin('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(parseOrigin('https://пример.рф'), 'https://xn--e1afmkfd.xn--p1ai');
    for (const bad of [
      'example.com',
      'https://example.com/page',
      'https://example.com?x=1',
      'https://*.example.com',
      '*',
      'ftp://example.com',
      'https://user:pw@example.com',
      42,
    ]) {
      assert.equal(parseOrigin(bad), undefined, String(bad));
    }
  });
});

describe('config: the examples in docs/configuration.md', () => {
  const doc = fs.readFileSync(path.resolve('docs/configuration.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const configs = blocks
    .map((block) => {
      if (block.startsWith('currency:')) return block.includes('\nrules:') ? block : null;
      if (block.startsWith('rules:')) return `currency: RUB\n${block}`;
      if (block.startsWith('  - name:')) return `currency: RUB\nrules:\n${block}`;
      return null;
    })
    .filter((text): text is string => text !== null);

  it('finds the worked examples', () => {
    assert.ok(configs.length >= 8, `only ${configs.length} examples found`);
  });

  it('are all valid configs', () => {
    // What the operator sets for the examples' ${...}.
    const env = {
      SHOP_WEBHOOK_SECRET: 'shop-webhook-secret-0123456789',
      SHOP_AMOCRM_TOKEN: 'shop-amocrm-token',
      SHOP_GA4_MEASUREMENT_ID: 'G-SHOP1',
      SHOP_GA4_API_SECRET: 'shop-api-secret',
      SHOP_INTAKE_SECRET: 'shop-intake-secret-0a1b2c3d4e5f',
    };
    configs.forEach((text, i) => {
      try {
        parse(text, env);
      } catch (e) {
        assert.fail(`example ${i + 1} is not valid:\n${text}\n${String(e)}`);
      }
    });
  });
});

describe('config: invalid fixtures (the exact message a marketer sees)', () => {
  const dir = `${FIXTURES}/invalid`;
  const expectedCodes: Record<string, string> = {
    'yaml-syntax-error.yaml': 'CONFIG_YAML_SYNTAX',
    'alias-without-anchor.yaml': 'CONFIG_YAML_SYNTAX',
    'alias-expansion.yaml': 'CONFIG_YAML_SYNTAX',
    'missing-env-var.yaml': 'CONFIG_ENV_MISSING',
    'personal-data-param.yaml': 'CONFIG_PERSONAL_DATA',
    'personal-data-field.yaml': 'CONFIG_PERSONAL_DATA',
    'personal-data-literal.yaml': 'CONFIG_PERSONAL_DATA',
  };

  it('has an .expected.txt for every invalid fixture, and no orphan', () => {
    const yaml = yamlFiles(dir).map((f) => f.replace(/\.yaml$/, ''));
    const txt = fs
      .readdirSync(path.resolve(dir))
      .filter((f) => f.endsWith('.expected.txt'))
      .map((f) => f.replace(/\.expected\.txt$/, ''))
      .sort();
    if (!UPDATE_GOLDEN) assert.deepEqual(txt, yaml);
  });

  for (const name of yamlFiles(dir)) {
    it(`rejects invalid/${name} with the expected message`, () => {
      const file = `${dir}/${name}`;
      const error = configError(() => loadConfig({ path: file, env: {} }));
      const golden = path.resolve(dir, name.replace(/\.yaml$/, '.expected.txt'));
      if (UPDATE_GOLDEN) fs.writeFileSync(golden, `${error.message}\n`);
      const expected = fs.readFileSync(golden, 'utf8').replace(/\n$/, '');
      assert.equal(error.message, expected);
      assert.equal(error.code, expectedCodes[name] ?? 'CONFIG_INVALID');
      for (const problem of error.problems) assert.equal(problem.file, file);
    });
  }

  it('lists every problem of several-problems.yaml, in file order', () => {
    const error = configError(() => loadConfig({ path: `${dir}/several-problems.yaml`, env: {} }));
    assert.ok(error.problems.length >= 10, `only ${error.problems.length} problems`);
    const lines = error.problems.map((p) => p.line ?? 0);
    assert.deepEqual(
      lines,
      [...lines].sort((a, b) => a - b),
    );
  });
});

describe('config: where a problem is', () => {
  const text = [
    'currency: RUB', // 1
    'ga4:', // 2
    '  measurment_id: G-X', // 3
    'rules:', // 4
    '  - name: First', // 5
    '    on: lead_added', // 6
    '    send:', // 7
    '      - event: generate_lead', // 8
    '        params:', // 9
    '          value: { lead: cost }', // 10
    '  - on: status_changed', // 11
    '    status: 142', // 12
    '    send:', // 13
    '      - params: { a: 1 }', // 14
  ].join('\n');

  it('gives file, line and dotted key for each problem, and the parent line for a missing key', () => {
    const error = configError(() => parse(text));
    assert.deepEqual(
      error.problems.map((p) => [p.line, p.key]),
      [
        [3, 'ga4.measurment_id'],
        [10, 'rules[0].send[0].params.value.lead'],
        [11, 'rules[1].name'],
        [14, 'rules[1].send[0].event'],
      ],
    );
    for (const p of error.problems) {
      assert.equal(p.file, 'inline.yaml');
      assert.ok(p.message.length > 0 && p.fix.length > 0);
    }
  });

  it('reports a missing top-level key without a line', () => {
    const error = configError(() => parse('currency: RUB\n'));
    assert.deepEqual(
      error.problems.map((p) => [p.line, p.key]),
      [[null, 'rules']],
    );
  });

  it('points a YAML syntax error at its line', () => {
    const error = configError(() => parse('currency: RUB\nrules:\n\t- name: x\n'));
    assert.equal(error.code, 'CONFIG_YAML_SYNTAX');
    assert.equal(error.problems[0]?.line, 3);
    assert.match(error.problems[0].message, /tab/);
  });

  it('writes keys as dotted paths, quoting odd parameter names', () => {
    assert.equal(formatKey(['rules', 1, 'send', 0, 'event']), 'rules[1].send[0].event');
    assert.equal(
      formatKey(['rules', 0, 'send', 0, 'params', 'Lead source']),
      'rules[0].send[0].params["Lead source"]',
    );
    assert.equal(formatKey([]), '');
  });
});

describe('config: rules about names, values and personal data', () => {
  const withParams = (params: string[]): string =>
    [
      'currency: RUB',
      'rules:',
      '  - name: R',
      '    on: lead_added',
      '    send:',
      '      - event: generate_lead',
      '        params:',
      ...params.map((p) => `          ${p}`),
    ].join('\n');

  it('accepts up to 22 params, every lead attribute and UTM key, and overrides currency', () => {
    const params = [
      'currency: USD',
      ...[
        'id',
        'price',
        'status_id',
        'pipeline_id',
        'old_status_id',
        'old_pipeline_id',
        'responsible_user_id',
        'created_at',
      ].map((a) => `l_${a}: { lead: ${a} }`),
      ...['source', 'medium', 'campaign', 'content', 'term'].map((u) => `u_${u}: { utm: ${u} }`),
      ...Array.from({ length: 8 }, (_, i) => `x${i}: ${i}`),
    ];
    assert.equal(params.length, 22);
    const config = parse(withParams(params));
    assert.equal(Object.keys(config.rules[0]!.send[0]!.params).length, 22);
  });

  it('refuses a non-numeric fixed value for `value`, and closeloop’s own params', () => {
    const error = configError(() =>
      parse(withParams(['value: lots', 'engagement_time_msec: 1', 'google_x: 1', 'ok_value: 1'])),
    );
    assert.deepEqual(
      error.problems.map((p) => p.key),
      [
        'rules[0].send[0].params.value',
        'rules[0].send[0].params.engagement_time_msec',
        'rules[0].send[0].params.google_x',
      ],
    );
  });

  it('refuses an event name over 40 characters', () => {
    const error = configError(() =>
      parse(
        [
          'currency: RUB',
          'rules:',
          '  - name: R',
          '    on: lead_added',
          '    send:',
          `      - event: ${'a'.repeat(41)}`,
        ].join('\n'),
      ),
    );
    assert.match(error.problems[0]!.message, /41 characters long; GA4 takes at most 40/);
  });

  it('allows an empty rule list (nothing will be sent) but not a missing one', () => {
    assert.deepEqual(parse('currency: RUB\nrules: []\n').rules, []);
    assert.equal(configError(() => parse('currency: RUB\n')).problems[0]?.key, 'rules');
  });

  it('recognises personal names in English and Russian, and leaves ordinary names alone', () => {
    for (const name of [
      'email',
      'e_mail',
      'E-mail',
      'phone',
      'tel',
      'name',
      'first_name',
      'lastName',
      'full_name',
      'fio',
      'address',
      'user_name',
      'client_name',
      'Телефон',
      'Рабочий телефон',
      'Почта',
      'ФИО',
      'Имя',
      'Фамилия',
    ]) {
      assert.ok(isPersonalName(name), name);
    }
    for (const name of [
      'campaign_name',
      'item_name',
      'Тип программы',
      'lead_source',
      'value',
      'program',
      'GCLIENTID',
      'utm_source',
      'Источник',
    ]) {
      assert.ok(!isPersonalName(name), name);
    }
  });

  it('recognises email addresses and phone numbers in fixed values', () => {
    assert.equal(personalValueKind('someone@example.org'), 'an email address');
    for (const phone of [
      '+7 916 123-45-67',
      '+79161234567',
      '8 (916) 123-45-67',
      '89161234567',
      79161234567,
    ]) {
      assert.equal(personalValueKind(phone), 'a phone number', String(phone));
    }
    for (const harmless of [
      'website',
      '2024-01-15',
      '142',
      1500000,
      true,
      'utm@campaign',
      '12:30',
    ]) {
      assert.equal(personalValueKind(harmless), null, String(harmless));
    }
  });

  it('treats parameter names that are also JavaScript words as ordinary names', () => {
    const config = parse(withParams(['constructor: 1', 'toString: { lead: id }']));
    assert.deepEqual(Object.keys(config.rules[0]!.send[0]!.params), ['constructor', 'toString']);
    const error = configError(() => parse(withParams(['__proto__: 1'])));
    assert.equal(error.problems.length, 1);
  });

  it('refuses a file that is not a set of settings, and keys that are lists', () => {
    assert.match(
      configError(() => parse('- a\n- b\n')).message,
      /the file must be a set of settings/,
    );
    const error = configError(() => parse('currency: RUB\n? [a]\n: 1\nrules: []\n'));
    assert.equal(error.code, 'CONFIG_YAML_SYNTAX');
    assert.equal(error.problems[0]?.line, 2);
  });

  it('suggests the closest known key', () => {
    assert.equal(editDistance('measurment_id', 'measurement_id'), 1);
    assert.equal(editDistance('ab', 'ba'), 1);
    assert.equal(closestMatch('measurment_id', ['measurement_id', 'api_secret']), 'measurement_id');
    assert.equal(closestMatch('measurementId', ['measurement_id', 'api_secret']), 'measurement_id');
    assert.equal(closestMatch('statuses', ['status', 'send']), 'status');
    assert.equal(closestMatch('zzz', ['status', 'send']), null);
  });

  it('reads sizes in bytes, kb and mb', () => {
    assert.equal(parseByteSize(2048), 2048);
    assert.equal(parseByteSize('512kb'), 512 * 1024);
    assert.equal(parseByteSize('1 MB'), 1024 * 1024);
    assert.equal(parseByteSize('1.5mb'), 1.5 * 1024 * 1024);
    assert.equal(parseByteSize('big'), undefined);
  });
});

describe('config: locateConfig', () => {
  let dir: string;
  const write = (rel: string): string => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'currency: RUB\nrules: []\n');
    return file;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-config-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('takes the explicit path first, then CLOSELOOP_CONFIG, then config/closeloop.yaml, then the example', () => {
    const example = write('config/closeloop.example.yaml');
    assert.equal(locateConfig(undefined, {}, dir), example);
    const own = write('config/closeloop.yaml');
    assert.equal(locateConfig(undefined, {}, dir), own);
    const fromEnv = write('elsewhere/env.yaml');
    assert.equal(locateConfig(undefined, { CLOSELOOP_CONFIG: 'elsewhere/env.yaml' }, dir), fromEnv);
    const explicit = write('explicit.yaml');
    assert.equal(
      locateConfig('explicit.yaml', { CLOSELOOP_CONFIG: 'elsewhere/env.yaml' }, dir),
      explicit,
    );
    assert.equal(locateConfig(explicit, {}, '/'), explicit, 'absolute paths are kept');
    assert.equal(locateConfig(undefined, { CLOSELOOP_CONFIG: '' }, dir), own, 'empty means unset');
  });

  it('refuses a missing explicit file, naming the path and the fix', () => {
    write('config/closeloop.yaml');
    const error = configError(() => locateConfig('nope.yaml', {}, dir));
    assert.equal(error.code, 'CONFIG_NOT_FOUND');
    assert.equal(error.problems[0]?.file, 'nope.yaml');
    assert.match(error.message, /there is no config file at nope\.yaml/);
    assert.match(error.problems[0].fix, /config\/closeloop\.example\.yaml/);
  });

  it('refuses a CLOSELOOP_CONFIG that points nowhere, and says so', () => {
    write('config/closeloop.yaml');
    const error = configError(() =>
      locateConfig(undefined, { CLOSELOOP_CONFIG: 'gone.yaml' }, dir),
    );
    assert.equal(error.code, 'CONFIG_NOT_FOUND');
    assert.match(error.message, /CLOSELOOP_CONFIG points to gone\.yaml/);
  });

  it('returns the example path when no file exists, and loadConfig then says it is missing', () => {
    assert.equal(locateConfig(undefined, {}, dir), path.join(dir, 'config/closeloop.example.yaml'));
    const error = configError(() => loadConfig({ env: {}, cwd: dir }));
    assert.equal(error.code, 'CONFIG_NOT_FOUND');
    assert.equal(error.problems[0]?.file, 'config/closeloop.example.yaml');
  });

  it('loads relative to cwd and shows the path relative to it', () => {
    write('config/closeloop.yaml');
    const config = loadConfig({ env: {}, cwd: dir });
    assert.equal(config.file, 'config/closeloop.yaml');
  });
});
