/**
 * The README's environment variables work whatever the YAML says: a config of only `currency` and
 * `rules` takes the GA4, webhook and amoCRM settings from the environment; a value in the YAML wins;
 * a problem with a value from the environment names the variable.
 */
import { strict as assert } from 'node:assert';
import { parseConfig } from '../../src/config/load-config';
import { describeSource, referencedVariables } from '../../src/config/env-bindings';
import { ConfigError } from '../../src/core/errors';
import type { CloseloopConfig } from '../../src/config/config-types';

const TWO_LINES = 'currency: RUB\nrules: []\n';

const README_ENV = {
  GA4_MEASUREMENT_ID: 'G-ENV123',
  GA4_API_SECRET: 'env-api-secret',
  GA4_ENDPOINT: 'http://127.0.0.1:9999',
  CLOSELOOP_WEBHOOK_SECRET: 'env-webhook-secret-0123456789',
  AMOCRM_SUBDOMAIN: 'example',
  AMOCRM_TOKEN: 'env-amocrm-token',
  AMOCRM_BASE_URL: 'http://127.0.0.1:9998',
};

const parse = (text: string, env: NodeJS.ProcessEnv): CloseloopConfig =>
  parseConfig(text, 'closeloop.yaml', env);

function sourceOf(config: CloseloopConfig, key: string) {
  const found = config.sources.find((s) => s.key === key);
  assert.ok(found, `no source for ${key}`);
  return found;
}

function problemsOf(text: string, env: NodeJS.ProcessEnv): ConfigError {
  try {
    parse(text, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  assert.fail('expected a ConfigError');
}

describe('config: the README’s environment variables', () => {
  it('all work with a config of only currency and rules', () => {
    const config = parse(TWO_LINES, README_ENV);
    assert.equal(config.ga4.measurementId, 'G-ENV123');
    assert.equal(config.ga4.apiSecret, 'env-api-secret');
    assert.equal(config.ga4.endpoint, 'http://127.0.0.1:9999');
    assert.equal(config.ga4.dryRun, false);
    assert.equal(config.webhook.secret, 'env-webhook-secret-0123456789');
    assert.equal(config.amocrm.subdomain, 'example');
    assert.equal(config.amocrm.api?.baseUrl, 'http://127.0.0.1:9998');
    assert.deepEqual(config.amocrm.api?.auth, { kind: 'long-lived', token: 'env-amocrm-token' });
    for (const variable of Object.keys(README_ENV)) {
      const s = config.sources.find((x) => x.variable === variable);
      assert.deepEqual(s?.source, { kind: 'env', variable }, variable);
    }
  });

  it('fill a section the YAML opens but leaves the secret out of', () => {
    const config = parse('currency: RUB\nga4:\n  measurement_id: G-YAML1\nrules: []\n', {
      GA4_API_SECRET: 'env-api-secret',
    });
    assert.equal(config.ga4.measurementId, 'G-YAML1');
    assert.equal(config.ga4.apiSecret, 'env-api-secret');
    assert.equal(config.ga4.dryRun, false);
    assert.deepEqual(sourceOf(config, 'ga4.measurement_id').source, {
      kind: 'config',
      line: 3,
      references: [],
      unset: [],
    });
  });

  it('give way to a value written in the YAML, and fill an empty one', () => {
    const yaml = [
      'currency: RUB',
      'ga4:',
      '  measurement_id: G-YAML1',
      '  api_secret: ""',
      'webhook:',
      '  secret:',
      'rules: []',
    ].join('\n');
    const config = parse(yaml, README_ENV);
    assert.equal(config.ga4.measurementId, 'G-YAML1');
    assert.equal(config.ga4.apiSecret, 'env-api-secret');
    assert.equal(config.webhook.secret, 'env-webhook-secret-0123456789');
    assert.equal(sourceOf(config, 'ga4.measurement_id').source.kind, 'config');
    assert.equal(sourceOf(config, 'ga4.api_secret').source.kind, 'env');
  });

  it('name the variables a YAML value references', () => {
    const config = parse(
      'currency: RUB\nga4:\n  api_secret: ${MY_SECRET}\n  measurement_id: ${GA4_MEASUREMENT_ID:-}\nrules: []\n',
      { MY_SECRET: 'from-my-secret', GA4_MEASUREMENT_ID: 'G-ENV123', GA4_API_SECRET: 'ignored' },
    );
    assert.equal(config.ga4.apiSecret, 'from-my-secret');
    const secret = sourceOf(config, 'ga4.api_secret');
    assert.deepEqual(secret.source, {
      kind: 'config',
      line: 3,
      references: ['MY_SECRET'],
      unset: [],
    });
    assert.equal(describeSource(secret, 'closeloop.yaml'), 'from closeloop.yaml:3 (${MY_SECRET})');
    assert.deepEqual(referencedVariables('${A}-${B:-x}-${A}'), ['A', 'B']);
  });

  it('leave AMOCRM_TOKEN unused when the YAML authorises amoCRM by OAuth, and say so', () => {
    const yaml = [
      'currency: RUB',
      'amocrm:',
      '  subdomain: example',
      '  oauth:',
      '    client_id: id-1',
      '    client_secret: secret-1',
      '    redirect_uri: https://example.com/oauth',
      'rules: []',
    ].join('\n');
    const config = parse(yaml, { AMOCRM_TOKEN: 'env-amocrm-token' });
    assert.equal(config.amocrm.api?.auth.kind, 'oauth');
    const token = sourceOf(config, 'amocrm.token');
    assert.equal(token.source.kind, 'ignored');
    assert.equal(
      describeSource(token, 'closeloop.yaml'),
      'not used: AMOCRM_TOKEN is set, but the config sets amocrm.oauth',
    );
  });

  it('report a bad value from the environment by its variable, not by a line', () => {
    const e = problemsOf(TWO_LINES, { GA4_MEASUREMENT_ID: 'UA-1234-1', GA4_ENDPOINT: 'ftp://x' });
    assert.equal(e.problems.length, 2);
    for (const p of e.problems) assert.equal(p.line, null);
    assert.deepEqual(
      e.problems.map((p) => p.variable),
      ['GA4_MEASUREMENT_ID', 'GA4_ENDPOINT'],
    );
    assert.match(
      e.message,
      /- environment variable GA4_MEASUREMENT_ID \(for ga4\.measurement_id in closeloop\.yaml\): must be a GA4 measurement ID/,
    );
  });

  it('say where an unset value would come from, and its default', () => {
    const config = parse(TWO_LINES, {});
    assert.equal(config.ga4.dryRun, true);
    assert.equal(
      describeSource(sourceOf(config, 'ga4.api_secret'), 'closeloop.yaml'),
      'not set (neither in the config nor in GA4_API_SECRET)',
    );
    assert.equal(
      describeSource(sourceOf(config, 'ga4.endpoint'), 'closeloop.yaml'),
      'the default, https://www.google-analytics.com (neither in the config nor in GA4_ENDPOINT)',
    );
  });

  it('ignore a variable that holds only spaces', () => {
    const config = parse(TWO_LINES, { GA4_API_SECRET: '   ' });
    assert.equal(config.ga4.apiSecret, null);
    assert.equal(sourceOf(config, 'ga4.api_secret').source.kind, 'default');
  });
});
