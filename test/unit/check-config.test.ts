/**
 * `closeloop check-config`: what it prints for a valid config, the exact problems for an invalid
 * one, exit codes, and that secrets never appear in its output.
 */
import { strict as assert } from 'node:assert';
import fs from 'node:fs';
import path from 'node:path';
import { describeRule } from '../../src/config/describe-config';
import { runCli } from '../../src/cli';
import type { Rule } from '../../src/core/config-types';

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function check(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    ['check-config', ...args],
    { out: (l) => out.push(l), err: (l) => err.push(l) },
    env,
  );
  return { code, out, err };
}

const EXAMPLE = 'config/closeloop.example.yaml';
const FIXTURES = 'test/fixtures/config';

describe('check-config', () => {
  it('describes the example config: file, dry run and why, currency, client ID field, rules', async () => {
    const { code, out, err } = await check([EXAMPLE]);
    assert.equal(code, 0);
    assert.deepEqual(err, []);
    assert.deepEqual(out, [
      'Config file: config/closeloop.example.yaml (valid)',
      'GA4: DRY RUN, events are checked and recorded but not sent (measurement_id is not set; api_secret is not set)',
      '     to send events, set GA4_MEASUREMENT_ID and GA4_API_SECRET (or ga4.measurement_id and ga4.api_secret)',
      '     measurement_id: not set, api_secret: not set, endpoint: https://www.google-analytics.com',
      'Currency: RUB',
      'Revenue already sent: a deal won again is counted once (won_again: ignore); lost after won, kept (lost_after_won: ignore); an amount changed, recorded (amount_changed: record)',
      'Client ID field: code GCLIENTID',
      'Session ID field: name "ga_session_id"',
      'Webhook secret: not set (closeloop generates one and keeps it in the data folder)',
      'amoCRM API: not configured (webhook data only; set AMOCRM_SUBDOMAIN and AMOCRM_TOKEN to read deals through the API)',
      'Bitrix24: off (set BITRIX24_WEBHOOK_URL and BITRIX24_APPLICATION_TOKEN to take its deals)',
      'Signed intake: off (set CLOSELOOP_INTAKE_SECRET to take deal events from other systems)',
      'Settings with an environment variable (a value in the config wins; a missing or empty one comes from the variable):',
      '  amocrm.subdomain            not set (neither in the config nor in AMOCRM_SUBDOMAIN)',
      '  amocrm.token                not set (neither in the config nor in AMOCRM_TOKEN)',
      '  amocrm.base_url             not set (neither in the config nor in AMOCRM_BASE_URL)',
      '  bitrix24.webhook_url        not set (neither in the config nor in BITRIX24_WEBHOOK_URL)',
      '  bitrix24.application_token  not set (neither in the config nor in BITRIX24_APPLICATION_TOKEN)',
      '  ga4.measurement_id          not set (neither in the config nor in GA4_MEASUREMENT_ID)',
      '  ga4.api_secret              not set (neither in the config nor in GA4_API_SECRET)',
      '  ga4.endpoint                from config/closeloop.example.yaml:88 (${GA4_ENDPOINT} is not set: the default written there)',
      '  generic.secret              not set (neither in the config nor in CLOSELOOP_INTAKE_SECRET)',
      '  metrica.counter_id          not set (neither in the config nor in METRICA_COUNTER_ID)',
      '  metrica.token               not set (neither in the config nor in METRICA_TOKEN)',
      '  metrica.endpoint            from config/closeloop.example.yaml:414 (${METRICA_ENDPOINT} is not set: the default written there)',
      '  metrica.flush_seconds       from config/closeloop.example.yaml:415 (${METRICA_FLUSH_SECONDS} is not set: the default written there)',
      '  metrica.poll_seconds        from config/closeloop.example.yaml:416 (${METRICA_POLL_SECONDS} is not set: the default written there)',
      '  metrica.mode                the default, conversions (neither in the config nor in METRICA_MODE)',
      '  webhook.secret              not set (neither in the config nor in CLOSELOOP_WEBHOOK_SECRET)',
      'Rules (3):',
      '  New lead: lead_added, any pipeline → generate_lead',
      '  Deal won: status_changed, any pipeline, outcome won → close_convert_lead, purchase',
      '  Deal lost: status_changed, any pipeline, outcome lost → close_unconvert_lead',
    ]);
  });

  it('describes amoCRM API access without printing the token', async () => {
    const { code, out } = await check([EXAMPLE], {
      AMOCRM_SUBDOMAIN: 'acme',
      AMOCRM_TOKEN: 'very-secret-long-lived-token',
    });
    assert.equal(code, 0);
    assert.ok(
      out.includes(
        'amoCRM API: https://acme.amocrm.ru, long-lived token set, at most 7 requests/s, missed webhooks polled every 10 min',
      ),
      out.join('\n'),
    );
    assert.equal(out.join('\n').includes('very-secret-long-lived-token'), false);
  });

  it('takes the README’s variables for a config of only currency and rules, and says so', async () => {
    const { code, out } = await check([`${FIXTURES}/valid/minimal.yaml`], {
      GA4_MEASUREMENT_ID: 'G-ABC123',
      GA4_API_SECRET: 'an-api-secret-from-env',
      CLOSELOOP_WEBHOOK_SECRET: 'a-webhook-secret-from-env-0123',
    });
    assert.equal(code, 0);
    assert.equal(out[1], 'GA4: events are sent to https://www.google-analytics.com');
    assert.ok(out.includes('Webhook secret: set'), out.join('\n'));
    assert.ok(out.includes('  ga4.api_secret              from the environment (GA4_API_SECRET)'));
    assert.ok(
      out.includes('  webhook.secret              from the environment (CLOSELOOP_WEBHOOK_SECRET)'),
    );
    assert.ok(!out.join('\n').includes('an-api-secret-from-env'));
  });

  it('reads CLOSELOOP_CONFIG when no path is given', async () => {
    const { code, out } = await check([], { CLOSELOOP_CONFIG: `${FIXTURES}/valid/minimal.yaml` });
    assert.equal(code, 0);
    assert.equal(out[0], `Config file: ${FIXTURES}/valid/minimal.yaml (valid)`);
  });

  it('names the one missing credential', async () => {
    const { out } = await check([EXAMPLE], { GA4_MEASUREMENT_ID: 'G-ABC123' });
    assert.equal(
      out[1],
      'GA4: DRY RUN, events are checked and recorded but not sent (api_secret is not set)',
    );
    assert.match(out[3] ?? '', /measurement_id: G-ABC123, api_secret: not set/);
  });

  it('says dry_run is on when credentials are set but the config asks for a dry run', async () => {
    const { out } = await check([`${FIXTURES}/valid/env-defaults.yaml`], {
      CLOSELOOP_TEST_MEASUREMENT_ID: 'G-ABC123',
      CLOSELOOP_TEST_API_SECRET: 'abc',
      CLOSELOOP_TEST_DRY_RUN: 'true',
    });
    assert.equal(
      out[1],
      'GA4: DRY RUN, events are checked and recorded but not sent (dry_run: true in the config)',
    );
  });

  it('never prints the GA4 api_secret or the webhook secret, only set / not set', async () => {
    const apiSecret = 'Sup3rSecretApiValue';
    const webhookSecret = 'WebhookSecret_0123456789';
    const { code, out, err } = await check([EXAMPLE], {
      GA4_MEASUREMENT_ID: 'G-ABC123',
      GA4_API_SECRET: apiSecret,
      CLOSELOOP_WEBHOOK_SECRET: webhookSecret,
    });
    assert.equal(code, 0);
    const all = [...out, ...err].join('\n');
    assert.ok(!all.includes(apiSecret), 'api_secret printed');
    assert.ok(!all.includes(webhookSecret), 'webhook secret printed');
    assert.equal(out[1], 'GA4: events are sent to https://www.google-analytics.com');
    assert.match(all, /api_secret: set/);
    assert.match(all, /Webhook secret: set/);
  });

  it('never prints secrets written into the YAML either', async () => {
    const { out } = await check([`${FIXTURES}/valid/full.yaml`]);
    const all = out.join('\n');
    assert.ok(!all.includes('fake-api-secret-value'));
    assert.ok(!all.includes('abcdefghijklmnop_0123-XYZ'));
    assert.ok(
      out.includes(
        '  Paid after invoice: status_changed, pipeline 1234567, statuses 142, 555003, from status 555002 → purchase, close_convert_lead',
      ),
    );
    assert.ok(out.includes('Client ID field: id 610951'));
    assert.ok(out.includes('Session ID field: none (no session ID is sent)'));
  });

  it('says that nothing will be sent when the rule list is empty', async () => {
    const { code, out } = await check([`${FIXTURES}/valid/minimal.yaml`]);
    assert.equal(code, 0);
    assert.match(out[out.length - 1] ?? '', /^Rules: none, so nothing will be sent to GA4/);
  });

  it('prints every problem to stderr, exactly as the marketer should see it, and exits 1', async () => {
    const file = `${FIXTURES}/invalid/several-problems.yaml`;
    const { code, out, err } = await check([file]);
    assert.equal(code, 1);
    assert.deepEqual(out, []);
    const expected = fs
      .readFileSync(path.resolve(`${FIXTURES}/invalid/several-problems.expected.txt`), 'utf8')
      .replace(/\n$/, '');
    assert.deepEqual(err, [expected]);
    assert.ok(!err.join('\n').includes('"short"'), 'the bad webhook secret is not echoed');
  });

  it('exits 1 with CONFIG_NOT_FOUND wording for a missing file', async () => {
    const { code, err } = await check(['no/such/file.yaml']);
    assert.equal(code, 1);
    assert.match(
      err.join('\n'),
      /no\/such\/file\.yaml: there is no config file at no\/such\/file\.yaml/,
    );
  });

  it('prints its help for --help (exit 0), and a usage error for bad arguments (exit 2)', async () => {
    const help = await check(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out[0] ?? '', /^Usage: closeloop check-config \[options\] \[config\]/);
    const bad = await check(['a.yaml', 'b.yaml']);
    assert.equal(bad.code, 2);
    assert.match(bad.err[0] ?? '', /^closeloop check-config: too many arguments/);
  });

  it('describes rules in one line each', () => {
    const rule = (over: Partial<Rule>): Rule => ({
      name: 'R',
      on: 'status_changed',
      pipelines: null,
      statuses: null,
      fromStatuses: null,
      outcomes: null,
      sources: null,
      send: [{ name: 'qualify_lead', params: {} }],
      ...over,
    });
    assert.equal(
      describeRule(rule({})),
      'R: status_changed, any pipeline, any status → qualify_lead',
    );
    assert.equal(
      describeRule(rule({ pipelines: ['1', '2'], statuses: ['3'], fromStatuses: ['4', '5'] })),
      'R: status_changed, pipelines 1, 2, status 3, from statuses 4, 5 → qualify_lead',
    );
    assert.equal(
      describeRule(rule({ on: 'lead_updated', pipelines: ['7'] })),
      'R: lead_updated, pipeline 7 → qualify_lead',
    );
    assert.equal(
      describeRule(rule({ outcomes: ['won'], sources: ['generic'] })),
      'R: status_changed, any pipeline, outcome won, from generic → qualify_lead',
    );
  });

  it('describes Bitrix24 without printing the webhook URL’s secret or the token', async () => {
    const c = await check([EXAMPLE], {
      BITRIX24_WEBHOOK_URL: 'https://example.bitrix24.ru/rest/1/s3cretpath0123/',
      BITRIX24_APPLICATION_TOKEN: 'app-token-0123456789abcdef',
    });
    const r = { code: c.code, out: c.out.join('\n'), err: c.err.join('\n') };
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /Bitrix24: REST at example\.bitrix24\.ru, webhooks at POST \/webhooks\/bitrix24\/<webhook secret>, application token set, bucket 2\/s burst 50, stage history read every 10 min, client ID field UF_CRM_GA_CLIENT_ID/,
    );
    assert.equal(r.out.includes('s3cretpath0123'), false);
    assert.equal(r.out.includes('app-token-0123456789abcdef'), false);
    assert.match(r.out, /bitrix24\.webhook_url +from the environment \(BITRIX24_WEBHOOK_URL\)/);
  });
});
