/**
 * In the service process, whatever libraries print with `console.*` (BullMQ's "IMPORTANT!
 * Eviction policy is allkeys-lru. It should be \"noeviction\"", ioredis's "[ioredis] Unhandled
 * error event") and Node's process warnings become JSON lines of the logger instead of plain text
 * inside the JSON log, redacted, capped and sampled like every other line.
 *
 * winston's Console transport writes to `process.stdout` itself (console._stdout), never through
 * the methods replaced here, so there is no loop; a guard stops one anyway should a transport
 * print through console while logging.
 */
import { format } from 'node:util';

export interface ConsoleLogger {
  log(level: string, message: string, meta?: Record<string, unknown>): unknown;
}

type Method = 'log' | 'info' | 'debug' | 'warn' | 'error' | 'trace';

const LEVELS: Readonly<Record<Method, string>> = {
  log: 'info',
  info: 'info',
  debug: 'debug',
  warn: 'warn',
  error: 'error',
  trace: 'debug',
};

/** Routes console output and process warnings to `logger`; returns a function that undoes it. */
export function captureConsole(logger: ConsoleLogger): () => void {
  const saved = new Map<Method, (...args: unknown[]) => void>();
  let inside = false;
  for (const method of Object.keys(LEVELS) as Method[]) {
    // Kept unbound and applied to console below: console's methods are bound already in Node.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = console[method] as (...args: unknown[]) => void;
    saved.set(method, original);
    console[method] = (...args: unknown[]): void => {
      if (inside) {
        original.apply(console, args);
        return;
      }
      inside = true;
      try {
        logger.log(LEVELS[method], format(...args), { origin: 'console' });
      } finally {
        inside = false;
      }
    };
  }
  // Node's own writer of process warnings prints plain text to stderr: replace it.
  const warningListeners = process.listeners('warning');
  process.removeAllListeners('warning');
  const onWarning = (warning: Error & { code?: string }): void => {
    logger.log('warn', `process warning: ${warning.name}: ${warning.message}`, {
      origin: 'process',
      ...(warning.code === undefined ? {} : { warningCode: warning.code }),
    });
  };
  process.on('warning', onWarning);
  return () => {
    for (const [method, original] of saved) console[method] = original;
    process.off('warning', onWarning);
    for (const l of warningListeners) process.on('warning', l);
  };
}
