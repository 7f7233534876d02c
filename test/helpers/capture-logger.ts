/** A real winston logger (JSON lines, redaction on) whose output the test can read. */
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/adapters/log/create-logger';
import { Redactor } from '../../src/adapters/log/redactor';

export function captureLogger() {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const redactor = new Redactor();
  const logger = createLogger({ format: 'json', redactor, stream, level: 'debug' });
  return {
    logger,
    redactor,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
