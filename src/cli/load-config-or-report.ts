/** Every command loads the config the same way: problems go to stderr, and the command stops. */
import { loadConfig } from '../config/load-config';
import type { CloseloopConfig } from '../config/config-types';
import { ConfigError } from '../core/errors';
import type { CliIo } from './cli-io';

/** The help of a command's `[config]` argument. */
export const CONFIG_ARGUMENT =
  'the YAML config (default: CLOSELOOP_CONFIG, else config/closeloop.yaml, else config/closeloop.example.yaml)';

export function loadConfigOrReport(
  io: CliIo,
  env: NodeJS.ProcessEnv,
  cwd: string,
  path?: string,
  prefix = '',
): CloseloopConfig | null {
  try {
    return loadConfig({ path, env, cwd });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`${prefix}${e.message}`);
      return null;
    }
    throw e;
  }
}
