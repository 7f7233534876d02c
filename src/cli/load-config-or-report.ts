/** Every command loads the config the same way: problems go to stderr, and the command stops. */
import { loadConfig } from '../config/load-config';
import type { CloseloopConfig } from '../core/config-types';
import { ConfigError } from '../core/errors';
import type { CliIo } from './cli-io';

export function loadConfigOrReport(
  io: CliIo,
  env: NodeJS.ProcessEnv,
  path?: string,
  prefix = '',
): CloseloopConfig | null {
  try {
    return loadConfig({ path, env });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`${prefix}${e.message}`);
      return null;
    }
    throw e;
  }
}
