/** The console's password and API token are refused at start when easy to guess. */
import assert from 'node:assert/strict';
import { readConsoleSettings, weakPasswordReason } from '../../src/console/console-password';
import { readProcessSettings } from '../../src/cli/start';

/** The refusal's text (a test failure when there was none). */
function refusal(answer: unknown): string {
  assert.equal(typeof answer, 'string', 'expected a refusal');
  return answer as string;
}

describe('console password', () => {
  it('refuses short, repetitive and patterned passwords, and takes a long random one', () => {
    assert.match(weakPasswordReason('short1')!, /at least 12/);
    assert.match(weakPasswordReason('aaaaaaaaaaaaaaaaaaaa')!, /different character/);
    assert.match(weakPasswordReason('abcdefghabcdefgh')!, /repeated/);
    assert.match(weakPasswordReason('aabbaabbaabb')!, /different characters/);
    assert.equal(weakPasswordReason('correct horse battery staple'), null);
    assert.equal(weakPasswordReason('Xq7#pL2m!vR9'), null);
  });

  it('is off without CLOSELOOP_CONSOLE_PASSWORD; a weak one stops the start without quoting it', () => {
    assert.deepEqual(readConsoleSettings({}), { password: null, apiToken: null });
    const weak = readProcessSettings({ CLOSELOOP_CONSOLE_PASSWORD: 'password1234' });
    assert.equal(typeof weak, 'string');
    const strong = readProcessSettings({
      CLOSELOOP_CONSOLE_PASSWORD: 'correct horse battery staple',
    });
    assert.notEqual(typeof strong, 'string');
    const tooFew = readProcessSettings({ CLOSELOOP_CONSOLE_PASSWORD: 'aaaaaaaaaaaaaaaa' });
    assert.match(refusal(tooFew), /CLOSELOOP_CONSOLE_PASSWORD is easy to guess/);
    assert.ok(!refusal(tooFew).includes('aaaaaaaaaaaaaaaa'));
  });

  it('takes CLOSELOOP_API_TOKEN only with the console on and when long enough', () => {
    const password = 'correct horse battery staple';
    assert.match(
      refusal(readConsoleSettings({ CLOSELOOP_API_TOKEN: 'tok_7f3a9c2e5b8d1f4a6c0e9b2d' })),
      /CONSOLE_PASSWORD is not/,
    );
    assert.match(
      refusal(
        readConsoleSettings({ CLOSELOOP_CONSOLE_PASSWORD: password, CLOSELOOP_API_TOKEN: 'short' }),
      ),
      /at least 24/,
    );
    assert.deepEqual(
      readConsoleSettings({
        CLOSELOOP_CONSOLE_PASSWORD: password,
        CLOSELOOP_API_TOKEN: 'tok_7f3a9c2e5b8d1f4a6c0e9b2d',
      }),
      { password, apiToken: 'tok_7f3a9c2e5b8d1f4a6c0e9b2d' },
    );
  });
});
