/**
 * Which folder holds the embedded store, found the same way by `start` and by every command, from
 * wherever they are run: `CLOSELOOP_DATA_DIR` when set (relative to the current folder), else the
 * folder `data` beside the config the command reads, taking the config's folder, or its parent when
 * that folder is named `config` (so `config/closeloop.yaml` → `./data`, and `/srv/shop/closeloop.yaml`
 * → `/srv/shop/data`). A command run from another folder, with the service's CLOSELOOP_CONFIG,
 * finds the service's data; before, `./data` was taken from wherever the command ran.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG, displayPath, locateConfig } from './locate-config';

export interface DataDirLocation {
  /** The absolute path of the data folder. */
  path: string;
  /** Where it came from: the variable, or the config's place. */
  source: 'CLOSELOOP_DATA_DIR' | 'config';
  /** How it was found, for messages: `set by CLOSELOOP_DATA_DIR`, `the data folder beside <config>`. */
  foundBy: string;
}

/**
 * The data folder for the config `configPath` (a command-line argument; else CLOSELOOP_CONFIG or the
 * default, as locateConfig finds it). Throws locateConfig's ConfigError CONFIG_NOT_FOUND when
 * CLOSELOOP_CONFIG or `configPath` names a file that is not there.
 */
export function locateDataDir(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  configPath?: string,
): DataDirLocation {
  const fromEnv = env.CLOSELOOP_DATA_DIR;
  if (fromEnv !== undefined && fromEnv !== '') {
    return {
      path: path.resolve(cwd, fromEnv),
      source: 'CLOSELOOP_DATA_DIR',
      foundBy: 'set by CLOSELOOP_DATA_DIR',
    };
  }
  const config = locateConfig(configPath, env, cwd);
  const folder = path.dirname(config);
  const base = path.basename(folder) === 'config' ? path.dirname(folder) : folder;
  const shown = displayPath(config, cwd);
  return {
    path: path.join(base, 'data'),
    source: 'config',
    foundBy: existsSync(config)
      ? `the data folder beside ${shown}`
      : `the default: CLOSELOOP_CONFIG is not set, and there is no ${DEFAULT_CONFIG} here`,
  };
}
