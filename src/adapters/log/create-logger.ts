/**
 * winston, set up once: JSON lines for machines (production, pipes), readable lines in a terminal.
 * Every line passes through the Redactor first, so no secret reaches any transport.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import { Redactor } from './redactor';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  redactor: Redactor;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  stream?: Writable;
}

export function chooseLogFormat(env: NodeJS.ProcessEnv, isTty: boolean): LogFormat {
  const f = env.LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  if (env.NODE_ENV === 'production') return 'json';
  return isTty ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions): winston.Logger {
  const redact = winston.format((info) => options.redactor.redact(info))();
  const format =
    options.format === 'pretty'
      ? winston.format.combine(
          redact,
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ level, message, timestamp, ...meta }) => {
            const rest = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : '';
            return `${String(timestamp)} ${level} ${String(message)}${rest}`;
          }),
        )
      : winston.format.combine(redact, winston.format.timestamp(), winston.format.json());
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  return winston.createLogger({ level: options.level ?? 'info', format, transports: [transport] });
}
