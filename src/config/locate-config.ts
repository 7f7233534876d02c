/**
 * Which config file to read: an explicit path, else `CLOSELOOP_CONFIG`, else
 * `config/closeloop.yaml` when it exists, else `config/closeloop.example.yaml` (so a fresh checkout
 * runs in dry-run mode with the tutorial's rules). Relative paths are taken from `cwd`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';

export const DEFAULT_CONFIG = 'config/closeloop.yaml';
export const EXAMPLE_CONFIG = 'config/closeloop.example.yaml';

/** How a path is shown in messages: relative to `cwd` when inside it, with `/` separators. */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const relative = path.relative(cwd, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return file;
  return relative.split(path.sep).join('/');
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of the config file to load. Throws ConfigError CONFIG_NOT_FOUND. */
export function locateConfig(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): string {
  if (explicit !== undefined && explicit !== '') {
    const file = path.resolve(cwd, explicit);
    if (!isFile(file)) {
      throw notFound(
        file,
        cwd,
        `there is no config file at ${displayPath(file, cwd)}`,
        `check the path, or copy ${EXAMPLE_CONFIG} to ${DEFAULT_CONFIG} and edit it`,
      );
    }
    return file;
  }
  const fromEnv = env.CLOSELOOP_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') {
    const file = path.resolve(cwd, fromEnv);
    if (!isFile(file)) {
      throw notFound(
        file,
        cwd,
        `the environment variable CLOSELOOP_CONFIG points to ${displayPath(file, cwd)}, and there is no config file there`,
        `correct CLOSELOOP_CONFIG, or unset it to use ${DEFAULT_CONFIG}`,
      );
    }
    return file;
  }
  const own = path.resolve(cwd, DEFAULT_CONFIG);
  if (existsSync(own)) return own;
  return path.resolve(cwd, EXAMPLE_CONFIG);
}

function notFound(file: string, cwd: string, message: string, fix: string): ConfigError {
  return new ConfigError(
    [{ file: displayPath(file, cwd), line: null, key: '', message, fix, code: 'CONFIG_NOT_FOUND' }],
    'CONFIG_NOT_FOUND',
  );
}
