/**
 * `.env` files, as the docs promise: `KEY=value` lines read into the environment the commands see.
 *
 * Where, in order of precedence: the real environment first (a variable set by the shell, systemd
 * or the hosting platform is never overridden), then `.env` in the current folder, then `.env`
 * beside the config file (`config/.env` for `config/closeloop.yaml`). Node's own parser
 * (`util.parseEnv`, the one behind `node --env-file`) reads them: comments, quotes, `export`.
 * Nothing is interpolated: `${A}` in a value stays as written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { locateConfig } from './locate-config';

export interface DotEnvResult {
  /** The environment with the files' variables added under the real ones. */
  env: NodeJS.ProcessEnv;
  /** The files read, in order of precedence. */
  files: string[];
  /** Files that exist and could not be read, with why. */
  problems: string[];
}

export function withDotEnv(
  env: NodeJS.ProcessEnv,
  cwd: string,
  /** The config path given on the command line, if any. */
  configPath?: string,
): DotEnvResult {
  const files: string[] = [];
  const problems: string[] = [];
  const merged: NodeJS.ProcessEnv = { ...env };
  const read = (file: string): void => {
    if (files.includes(file)) return;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        problems.push(`${file} could not be read (${code ?? 'error'}); its variables are not used`);
      }
      return;
    }
    files.push(file);
    for (const [name, value] of Object.entries(parseEnv(text))) {
      if (merged[name] === undefined && value !== undefined) merged[name] = value;
    }
  };
  read(path.resolve(cwd, '.env'));
  let config: string | null = null;
  try {
    config = locateConfig(configPath, merged, cwd);
  } catch {
    // A config that is not there is reported by the command that needs it.
  }
  if (config !== null) read(path.join(path.dirname(config), '.env'));
  return { env: merged, files, problems };
}
