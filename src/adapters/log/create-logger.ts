/**
 * winston, set up once: JSON lines for machines (production, pipes), readable lines in a terminal.
 * Every line passes through the Redactor first, so no secret reaches any transport; then every
 * string in it is cut to a few kB (cap-fields.ts). With `sampleWindowMs`, repeated warnings and
 * errors are sampled first (repeat-sampler.ts): one line per reason per window, with a count.
 */
import winston from 'winston';
import type { Writable } from 'node:stream';
import { Redactor } from './redactor';
import { capFields, DEFAULT_MAX_FIELD_CHARS } from './cap-fields';
import { RepeatSampler } from './repeat-sampler';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  redactor: Redactor;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  stream?: Writable;
  /** Longest string kept whole in a line (default 4096 characters); longer ones are cut, marked. */
  maxFieldChars?: number;
  /**
   * Sample repeated warnings and errors over windows this long (the service: a minute); absent,
   * every line is written (commands, tests that count lines).
   */
  sampleWindowMs?: number;
}

/** The service's sampling window: one line per reason per minute. */
export const SERVICE_SAMPLE_WINDOW_MS = 60_000;

export function chooseLogFormat(env: NodeJS.ProcessEnv, isTty: boolean): LogFormat {
  const f = env.LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  if (env.NODE_ENV === 'production') return 'json';
  return isTty ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions): winston.Logger {
  const maxChars = options.maxFieldChars ?? DEFAULT_MAX_FIELD_CHARS;
  let logger: winston.Logger | null = null;
  const sampler =
    options.sampleWindowMs === undefined
      ? null
      : new RepeatSampler({
          windowMs: options.sampleWindowMs,
          write: (line) => logger?.log(line as winston.LogEntry),
        });
  const sample = winston.format((info) =>
    sampler === null || sampler.admit(info) ? info : false,
  )();
  const redact = winston.format((info) => capFields(options.redactor.redact(info), maxChars))();
  const format =
    options.format === 'pretty'
      ? winston.format.combine(
          sample,
          redact,
          winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
          winston.format.colorize(),
          winston.format.printf(({ level, message, timestamp, ...meta }) => {
            const rest = Object.keys(meta).length ? ` ${JSON.stringify(meta)}` : '';
            return `${String(timestamp)} ${level} ${String(message)}${rest}`;
          }),
        )
      : winston.format.combine(sample, redact, winston.format.timestamp(), winston.format.json());
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console();
  logger = winston.createLogger({
    level: options.level ?? 'info',
    format,
    transports: [transport],
  });
  return logger;
}
