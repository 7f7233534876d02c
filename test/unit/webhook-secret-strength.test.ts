/** A webhook secret that is easy to guess stops the start, from the YAML or the environment. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseConfig } from '../../src/config/load-config';
import { weakSecretReason } from '../../src/config/check-meaning';
import { ConfigError } from '../../src/core/errors';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(text, 'inline.yaml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

describe('webhook secret strength', () => {
  it('refuses one letter, a few letters, and a short piece repeated', () => {
    assert.equal(weakSecretReason('aaaaaaaaaaaaaaaa'), 'it has only 1 different character');
    assert.equal(weakSecretReason('abababababababab12'), 'it has only 4 different characters');
    assert.equal(
      weakSecretReason('abcdefgh12abcdefgh12'),
      'it is a piece of 10 characters repeated',
    );
  });

  it('takes random secrets and the project’s own examples', () => {
    for (let i = 0; i < 50; i++) {
      assert.equal(weakSecretReason(randomBytes(16).toString('hex')), null);
      assert.equal(weakSecretReason(randomBytes(12).toString('base64url')), null);
    }
    assert.equal(weakSecretReason('test-webhook-secret-0123456789'), null);
    assert.equal(weakSecretReason('abcdefghijklmnop_0123-XYZ'), null);
  });

  it('leaves a short one to the schema’s own message', () => {
    assert.equal(weakSecretReason('short'), null);
  });

  it('stops the start for CLOSELOOP_WEBHOOK_SECRET, naming the variable, never the secret', () => {
    const message = problemsOf('currency: RUB\nrules: []\n', {
      CLOSELOOP_WEBHOOK_SECRET: 'aaaaaaaaaaaaaaaa',
    });
    assert.match(
      message,
      /environment variable CLOSELOOP_WEBHOOK_SECRET \(for webhook\.secret in inline\.yaml\): the webhook secret is easy to guess \(it has only 1 different character\)/,
    );
    assert.match(message, /openssl rand -hex 16/);
    assert.ok(!message.includes('aaaaaaaaaaaaaaaa'));
  });

  it('takes a strong secret from the environment', () => {
    const config = parseConfig('currency: RUB\nrules: []\n', 'inline.yaml', {
      CLOSELOOP_WEBHOOK_SECRET: 'f3a9c2e05b1d4c7e9a600c4b7d2e1a55',
    });
    assert.equal(config.webhook.secret, 'f3a9c2e05b1d4c7e9a600c4b7d2e1a55');
  });
});
