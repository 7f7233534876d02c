/**
 * Log lines are bounded: every string cut to a few kB with a marker (after redaction, so no half
 * secret survives), repeated warnings and errors sampled to one line per reason per window with a
 * count, and libraries' console output turned into JSON lines.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/adapters/log/create-logger';
import { Redactor } from '../../src/adapters/log/redactor';
import { captureConsole } from '../../src/adapters/log/capture-console';
import { waitFor } from '../helpers/wait-for';

function logger(options: { sampleWindowMs?: number; secret?: string } = {}) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString('utf8')));
  const redactor = new Redactor();
  redactor.add(options.secret);
  const log = createLogger({
    format: 'json',
    redactor,
    stream,
    level: 'debug',
    sampleWindowMs: options.sampleWindowMs,
  });
  return {
    log,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('log lines: bounded', () => {
  it('cuts a 900 kB field (and message) to a few kB, saying how much was cut', async () => {
    const l = logger();
    const huge = 'A'.repeat(900_000);
    l.log.warn(`request rejected: leads[status][${huge}] is a plain value`, {
      message: huge,
      nested: { deeper: [huge] },
    });
    await waitFor(() => l.text().includes('\n'));
    assert.ok(l.text().length < 20_000, `the line is ${l.text().length} characters`);
    const [line] = l.lines();
    assert.match(String(line!.message), /… \[\d+ more characters cut\]$/);
    const nested = line!.nested as { deeper: string[] };
    assert.equal(nested.deeper[0], `${'A'.repeat(4096)}… [${900_000 - 4096} more characters cut]`);
  });

  it('redacts a secret before cutting, so none of it is left at the cut', async () => {
    const secret = 'S3cretS3cretS3cret';
    const l = logger({ secret });
    // The secret straddles the 4,096th character.
    l.log.info('x', { field: `${'b'.repeat(4090)}${secret}${'c'.repeat(100)}` });
    await waitFor(() => l.text().includes('\n'));
    assert.equal(l.text().includes('S3cret'), false);
  });

  it('writes one line per reason per window, then one with the count of the others', async () => {
    const l = logger({ sampleWindowMs: 300 });
    for (let i = 0; i < 1234 + 1; i++) {
      l.log.warn('request rejected: not found', {
        code: 'HTTP_NOT_FOUND',
        route: '/webhooks/amocrm/:secret',
      });
    }
    // Another reason is not hidden by the flood; info lines are never sampled.
    l.log.warn('request rejected: expected a form', { code: 'WEBHOOK_NOT_AMOCRM', route: '/w' });
    for (let i = 0; i < 3; i++) l.log.info('conversion sent', { dealId: String(i) });
    await waitFor(() => l.lines().length >= 5);
    assert.deepEqual(
      l.lines().map((x) => x.message),
      [
        'request rejected: not found',
        'request rejected: expected a form',
        'conversion sent',
        'conversion sent',
        'conversion sent',
      ],
    );
    await waitFor(() => l.lines().length >= 6, { timeoutMs: 2000 });
    const summary = l.lines()[5]!;
    assert.equal(
      summary.message,
      'request rejected: not found (and 1,234 more like it in the last 0.3 s)',
    );
    assert.equal(summary.suppressed, 1234);
    assert.equal(summary.level, 'warn');
    assert.equal(summary.code, 'HTTP_NOT_FOUND');
  });

  it('keys lines with a code by code and route, whatever the message says', async () => {
    const l = logger({ sampleWindowMs: 60_000 });
    for (let i = 0; i < 100; i++) {
      l.log.warn(`request rejected: got text/x-${i}`, { code: 'WEBHOOK_NOT_AMOCRM', route: '/w' });
      l.log.error(`delivery failed for deal ${i}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    // Lines without a code are keyed by their message: each deal's line is its own reason.
    assert.equal(l.lines().length, 101);
    assert.equal(l.lines().filter((x) => x.code === 'WEBHOOK_NOT_AMOCRM').length, 1);
  });

  it('writes every line when not sampling (commands, tests)', async () => {
    const l = logger();
    for (let i = 0; i < 50; i++) l.log.warn('request rejected: not found', { code: 'X' });
    await waitFor(() => l.lines().length === 50);
  });
});

describe('captureConsole', () => {
  it("turns libraries' console output and process warnings into JSON lines", async () => {
    const l = logger();
    const release = captureConsole(l.log);
    try {
      console.warn('IMPORTANT! Eviction policy is %s. It should be "noeviction"', 'allkeys-lru');
      console.error('[ioredis] Unhandled error event:', new Error('connect ECONNREFUSED'));
      process.emitWarning('something odd', { code: 'CLOSELOOP_TEST_WARNING' });
      await waitFor(() => l.lines().length >= 3);
    } finally {
      release();
    }
    const lines = l.lines();
    assert.deepEqual(
      lines.map((x) => [x.level, x.origin]),
      [
        ['warn', 'console'],
        ['error', 'console'],
        ['warn', 'process'],
      ],
    );
    assert.equal(
      lines[0]!.message,
      'IMPORTANT! Eviction policy is allkeys-lru. It should be "noeviction"',
    );
    assert.match(
      String(lines[1]!.message),
      /^\[ioredis\] Unhandled error event: Error: connect ECONNREFUSED/,
    );
    assert.equal(lines[2]!.message, 'process warning: Warning: something odd');
    assert.equal(lines[2]!.warningCode, 'CLOSELOOP_TEST_WARNING');
    // Released: console is itself again.
    const before = l.lines().length;
    const original = console.log;
    console.log = () => undefined;
    try {
      console.log('not captured');
    } finally {
      console.log = original;
    }
    assert.equal(l.lines().length, before);
  });
});
