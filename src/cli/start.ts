/** `closeloop start`: load and check the config, then run the service until SIGTERM/SIGINT. */
import { isAppError } from '../core/errors';
import { chooseLogFormat, createLogger } from '../adapters/log/create-logger';
import { Redactor } from '../adapters/log/redactor';
import { startService } from '../main';
import type { CliIo } from './cli-io';
import { errorMessage } from '../core/error-message';
import { loadConfigOrReport } from './load-config-or-report';

export async function runStart(
  args: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const config = loadConfigOrReport(io, env, args[0], 'closeloop cannot start: ');
  if (config === null) return 1;
  const redactor = new Redactor();
  const logger = createLogger({
    level: env.LOG_LEVEL ?? 'info',
    format: chooseLogFormat(env, Boolean(process.stdout.isTTY)),
    redactor,
  });
  const port = parsePort(env.PORT);
  if (port === null) {
    io.err(
      `closeloop cannot start: PORT="${env.PORT}" is not a port number (0-65535). Fix: set PORT=3000 or unset it.`,
    );
    return 1;
  }
  let service;
  try {
    service = await startService({
      config,
      logger,
      redactor,
      dataDir: env.CLOSELOOP_DATA_DIR || './data',
      port,
    });
  } catch (e) {
    logger.error(`closeloop cannot start: ${errorMessage(e)}`, {
      code: isAppError(e) ? e.code : undefined,
    });
    return 1;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info(`${signal} received: finishing work in flight`);
      service.close().then(
        () => resolve(0),
        (e: unknown) => {
          logger.error('error while stopping', { error: errorMessage(e) });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

function parsePort(raw: string | undefined): number | null {
  if (raw === undefined || raw === '') return 3000;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
}
