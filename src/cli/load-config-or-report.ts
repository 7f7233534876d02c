/** Every command loads the config the same way: problems go to stderr, and the command stops. */
import { loadConfig } from '../config/load-config';
import { accountsOf, type AccountConfig, type CloseloopConfig } from '../config/config-types';
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

/**
 * The named accounts of the config (all of them when `name` is undefined), or null after saying
 * which accounts there are.
 */
export function accountsOrReport(
  io: CliIo,
  config: CloseloopConfig,
  name: string | undefined,
): AccountConfig[] | null {
  const all = accountsOf(config);
  const chosen = all.filter((a) => name === undefined || a.name === name);
  if (chosen.length > 0) return chosen;
  io.err(
    `there is no account named ${name} in the config; the accounts are: ${all.map((a) => a.name).join(', ')}`,
  );
  return null;
}

/** The config and one account of it, for a command that works on one account; null: reported. */
export function loadAccountOrReport(
  io: CliIo,
  env: NodeJS.ProcessEnv,
  cwd: string,
  path: string | undefined,
  name: string,
): { config: CloseloopConfig; account: AccountConfig } | null {
  const config = loadConfigOrReport(io, env, cwd, path);
  const account = config === null ? undefined : accountsOrReport(io, config, name)?.[0];
  return config === null || account === undefined ? null : { config, account };
}
