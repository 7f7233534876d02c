/**
 * Load the YAML config once at start: locate, parse (keeping line numbers), interpolate `${VAR}`,
 * validate (joi, then meaning checks), and either return a deeply frozen CloseloopConfig or throw a
 * ConfigError listing every problem with file, line, key and fix.
 */
import { readFileSync } from 'node:fs';
import {
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type YAMLError,
} from 'yaml';
import type { CloseloopConfig } from './config-types';
import { ConfigError, type ConfigProblem, type ErrorCode } from '../core/errors';
import { interpolateEnv } from './interpolate-env';
import { applyEnvBindings, ENV_BINDINGS } from './env-bindings';
import { displayPath, locateConfig } from './locate-config';
import { configSchema, VALIDATION_OPTIONS, type ConfigPath, type SchemaProblem } from './schema';
import { describeSchemaError } from './describe-problem';
import { checkMeaning } from './check-meaning';
import { buildConfig } from './build-config';

export interface LoadConfigOptions {
  /** Config file; default: CLOSELOOP_CONFIG, else config/closeloop.yaml, else the example. */
  path?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Find, read and validate the config. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): CloseloopConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = locateConfig(options.path, env, cwd);
  const shown = displayPath(file, cwd);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const reason =
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(
      [
        {
          file: shown,
          line: null,
          key: '',
          message: `the config file ${reason}`,
          fix: `copy config/closeloop.example.yaml to config/closeloop.yaml, or name the file with CLOSELOOP_CONFIG`,
          code: 'CONFIG_NOT_FOUND',
        },
      ],
      'CONFIG_NOT_FOUND',
    );
  }
  return parseConfig(text, shown, env);
}

/** Validate config text. `file` is only used in messages and as `CloseloopConfig.file`. */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): CloseloopConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(syntaxProblems(doc.errors, file, lineCounter), 'CONFIG_YAML_SYNTAX');
  }

  const oddKeys = collectionKeyProblems(doc, file, lineCounter);
  if (oddKeys.length > 0) throw new ConfigError(oddKeys, 'CONFIG_YAML_SYNTAX');
  const badAliases = aliasProblems(doc, file, lineCounter);
  if (badAliases.length > 0) throw new ConfigError(badAliases, 'CONFIG_YAML_SYNTAX');

  const lineOf = (path: ConfigPath): number | null => lineOfPath(doc, lineCounter, path);
  const located = (p: SchemaProblem): ConfigProblem => ({
    file,
    line: lineOf(p.path),
    key: formatKey(p.path),
    message: p.message,
    fix: p.fix,
    code: p.code,
  });

  const originals = new Map(ENV_BINDINGS.map((b) => [formatKey(b.path), valueAt(doc, b.path)]));
  const envProblems: ConfigProblem[] = interpolateEnv(doc, env, lineCounter).map((p) => ({
    file,
    line: p.line,
    key: formatKey(p.path),
    message: p.message,
    fix: p.fix,
    code: p.code,
  }));
  const raw: unknown = toPlainData(doc, file);
  if (raw === null || raw === undefined) {
    throw new ConfigError([
      {
        file,
        line: null,
        key: '',
        message: 'the config file is empty',
        fix: 'start from a copy of config/closeloop.example.yaml',
        code: 'CONFIG_INVALID',
      },
    ]);
  }

  const bound = isMap(doc.contents)
    ? applyEnvBindings({
        raw: raw as Record<string, unknown>,
        env,
        originalOf: (path) => originals.get(formatKey(path)),
        lineOf,
        keyOf: formatKey,
      })
    : [];
  // A problem with a value taken from the environment names the variable, not a line of the file.
  const fromEnv = new Map(
    bound.flatMap((b) => (b.source.kind === 'env' ? [[b.key, b.source.variable] as const] : [])),
  );
  const locatedOrEnv = (p: SchemaProblem): ConfigProblem => {
    const problem = located(p);
    const variable = fromEnv.get(problem.key);
    return variable === undefined ? problem : { ...problem, line: null, variable };
  };

  const result = configSchema.validate(raw, VALIDATION_OPTIONS);
  const schemaProblems = (result.error?.details ?? []).map(describeSchemaError);
  const found = [...schemaProblems, ...checkMeaning(raw, lineOf)].map(locatedOrEnv);

  // A value whose ${VAR} is unset is reported once, as the missing variable (for a list such as
  // `status: [${A}]`, the list's own problem is the same one).
  const envKeys = envProblems.map((p) => p.key);
  const coveredByEnv = (key: string): boolean =>
    key !== '' && envKeys.some((k) => k === key || k.startsWith(`${key}[`));
  const problems = [...envProblems, ...found.filter((p) => !coveredByEnv(p.key))];
  if (problems.length > 0) {
    throw new ConfigError(sortByLine(dedupe(problems)), commonCode(problems));
  }
  if (result.error !== undefined) throw result.error; // unreachable: its details are problems
  return deepFreeze({ ...buildConfig(result.value, file, lineOf), sources: bound });
}

/** A scalar's value as written (before interpolation), or undefined. */
function valueAt(doc: Document, path: ConfigPath): unknown {
  try {
    return doc.getIn(path);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Where: lines and keys
// ---------------------------------------------------------------------------------------------

/**
 * The line of the key at `path`: a map entry's key line, a list item's first line. For a key that
 * is not there (a missing setting), the line of the deepest part that is.
 */
export function lineOfPath(
  doc: Document,
  lineCounter: LineCounter,
  path: ConfigPath,
): number | null {
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
  let node: unknown = doc.contents;
  // A problem with the whole file (a missing top-level key) has no line of its own.
  let line: number | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
      );
      if (pair === undefined) return line;
      if (isScalar(pair.key) && pair.key.range) line = lineAt(pair.key.range[0]);
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item: unknown = node.items[seg];
      if (item === undefined) return line;
      if ((isMap(item) || isSeq(item) || isScalar(item)) && item.range)
        line = lineAt(item.range[0]);
      node = item;
    } else {
      return line;
    }
  }
  return line;
}

/** `['rules', 1, 'send', 0, 'event']` → `rules[1].send[0].event`; odd names as `params["Lead source"]`. */
export function formatKey(path: ConfigPath): string {
  let key = '';
  for (const seg of path) {
    if (typeof seg === 'number') key += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) key += key === '' ? seg : `.${seg}`;
    else key += `[${JSON.stringify(seg)}]`;
  }
  return key;
}

function sortByLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const id = `${p.key}\n${p.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function commonCode(problems: readonly ConfigProblem[]): ErrorCode {
  const codes = new Set(problems.map((p) => p.code ?? 'CONFIG_INVALID'));
  const [only] = codes;
  return codes.size === 1 && only !== undefined ? only : 'CONFIG_INVALID';
}

// ---------------------------------------------------------------------------------------------
// YAML syntax errors
// ---------------------------------------------------------------------------------------------

const INDENTATION_FIX =
  'check the indentation of this line and the one above: a nested setting goes two spaces further right than the setting it belongs to, settings of one section start in the same column, and a colon after a key needs a space after it';

const SYNTAX_HELP: Partial<Record<YAMLError['code'], { message: string; fix: string }>> = {
  TAB_AS_INDENT: {
    message: 'a tab is used for indentation; YAML allows only spaces',
    fix: 'replace the tab with spaces',
  },
  MISSING_CHAR: {
    message: 'a quote or a bracket is opened but not closed',
    fix: 'close it on the same line (e.g. "text" or [1, 2]), or remove it',
  },
  DUPLICATE_KEY: {
    message: 'this setting appears twice in the same section',
    fix: 'keep only one of them',
  },
  BAD_DQ_ESCAPE: {
    message: 'a backslash in "double-quoted" text starts an unknown escape',
    fix: "use 'single quotes' instead, or write \\\\ for a backslash",
  },
  MULTIPLE_DOCS: {
    message: 'the file holds more than one YAML document (a line with ---)',
    fix: 'keep one document: remove the --- line and everything after it that is not config',
  },
  BAD_INDENT: { message: 'the indentation is wrong here', fix: INDENTATION_FIX },
  BLOCK_AS_IMPLICIT_KEY: {
    message:
      'the next line is indented further than this one, as if it belonged to it, but this line already has a value',
    fix: 'indent the next line like this one: settings of one section start in the same column',
  },
  MULTILINE_IMPLICIT_KEY: { message: 'a key runs over more than one line', fix: INDENTATION_FIX },
  UNEXPECTED_TOKEN: {
    message: 'the file is not valid YAML here',
    fix: `${INDENTATION_FIX}; a value containing { } [ ] # or ": " must be put in quotes`,
  },
};

/** YAML allows a list or a section as a key (`? [a, b]`); a config never needs one. */
function collectionKeyProblems(
  doc: Document,
  file: string,
  lineCounter: LineCounter,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const offset = isNode(pair.key) ? (pair.key.range?.[0] ?? 0) : 0;
        problems.push({
          file,
          line: lineCounter.linePos(offset).line,
          key: '',
          message: 'a key here is a list or a section; keys must be plain names',
          fix: 'write each setting as `name: value`',
          code: 'CONFIG_YAML_SYNTAX',
        });
      }
    },
  });
  return problems;
}

/**
 * `*name` must name an `&name` set above it; `yaml` throws a ReferenceError from `toJS` otherwise,
 * which used to escape as a crash instead of a problem with its line.
 */
function aliasProblems(doc: Document, file: string, lineCounter: LineCounter): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return;
      const name = alias.source.slice(0, 40);
      problems.push({
        file,
        line: lineCounter.linePos(alias.range?.[0] ?? 0).line,
        key: '',
        message: `the alias *${name} names no anchor &${name} above it`,
        fix: `set the anchor (&${name}) on a value above this line, or write the value out here`,
        code: 'CONFIG_YAML_SYNTAX',
      });
    },
  });
  return problems;
}

/**
 * The document as plain data. Aliases that expand to a huge tree ("billion laughs") make `yaml`
 * stop with a ReferenceError (its `maxAliasCount`, 100 by default): a problem, not a crash.
 */
function toPlainData(doc: Document, file: string): unknown {
  try {
    return doc.toJS();
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    throw new ConfigError(
      [
        {
          file,
          line: null,
          key: '',
          message: 'the aliases (*name) in the file expand to too much data',
          fix: 'write the repeated values out, or use fewer nested aliases',
          code: 'CONFIG_YAML_SYNTAX',
        },
      ],
      'CONFIG_YAML_SYNTAX',
    );
  }
}

function syntaxProblems(
  errors: readonly YAMLError[],
  file: string,
  lineCounter: LineCounter,
): ConfigProblem[] {
  const byLine = new Map<number, ConfigProblem>();
  for (const error of errors) {
    const line = lineCounter.linePos(error.pos[0]).line;
    if (byLine.has(line)) continue;
    // Only the first line of YAML's own words, without the source text it quotes (it could be a secret).
    const said = (error.message.split('\n')[0] ?? '')
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/: ".*"$/, '');
    const help = SYNTAX_HELP[error.code] ?? {
      message: 'the file is not valid YAML here',
      fix: INDENTATION_FIX,
    };
    byLine.set(line, {
      file,
      line,
      key: '',
      message: `${help.message} (YAML says: ${said})`,
      fix: help.fix,
      code: 'CONFIG_YAML_SYNTAX',
    });
  }
  return [...byLine.values()].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Freeze an object and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
