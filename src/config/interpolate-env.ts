/**
 * `${VAR}` and `${VAR:-default}` in config values, so secrets live in the environment, not in YAML.
 *
 * - Several references may appear anywhere in one value: `https://${HOST}:${PORT:-443}`.
 * - `${VAR:-default}` uses the default when VAR is unset or empty (as in a POSIX shell).
 * - `$${` writes a literal `${`.
 * - Only values are interpolated, never keys or comments.
 *
 * It rewrites the scalars of a parsed YAML Document in place, so line numbers survive for
 * messages. The result is always a string: a value that was a whole `${VAR}` and now reads `10000`
 * stays the string "10000", and the schema converts it where it wants a number.
 */
import { isPair, isScalar, isSeq, visit, type Document, type LineCounter } from 'yaml';

/** A reference that could not be resolved, located by path (load-config adds file and key). */
export interface EnvProblem {
  path: (string | number)[];
  line: number | null;
  message: string;
  fix: string;
  code: 'CONFIG_ENV_MISSING' | 'CONFIG_INVALID';
}

export interface InterpolatedString {
  value: string;
  /** Variables referenced without a default that are not set. */
  missing: string[];
  /** `${...}` texts that are not a valid reference. */
  malformed: string[];
}

const TOKEN = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Replace every reference in one string. Unset variables without a default become ''. */
export function interpolateString(input: string, env: NodeJS.ProcessEnv): InterpolatedString {
  const missing: string[] = [];
  const malformed: string[] = [];
  const value = input.replace(TOKEN, (token: string, inner: string | undefined) => {
    if (token === '$${') return '${';
    if (inner === undefined) {
      malformed.push(token);
      return token;
    }
    const m = REFERENCE.exec(inner);
    if (m === null || m[1] === undefined) {
      malformed.push(token);
      return token;
    }
    const name = m[1];
    const fallback = m[2];
    const set = env[name];
    if (fallback !== undefined) return set === undefined || set === '' ? fallback : set;
    if (set === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    return set;
  });
  return { value, missing, malformed };
}

/**
 * Interpolate every string value of `doc` in place. Returns one problem per unset variable
 * (code CONFIG_ENV_MISSING) and per malformed reference.
 */
export function interpolateEnv(
  doc: Document,
  env: NodeJS.ProcessEnv,
  lineCounter: LineCounter,
): EnvProblem[] {
  const problems: EnvProblem[] = [];
  visit(doc, {
    Scalar(key, node, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) {
        return undefined;
      }
      const result = interpolateString(node.value, env);
      node.value = result.value;
      const path = pathOf([...ancestors, node]);
      const line = node.range ? lineCounter.linePos(node.range[0]).line : null;
      for (const name of result.missing) {
        problems.push({
          path,
          line,
          code: 'CONFIG_ENV_MISSING',
          message: `the environment variable ${name} is not set`,
          fix: `set ${name} where closeloop runs (e.g. in .env or your hosting's settings), or give a default: \${${name}:-default}`,
        });
      }
      for (const text of result.malformed) {
        problems.push({
          path,
          line,
          code: 'CONFIG_INVALID',
          message: `"${text}" is not a valid reference to an environment variable`,
          fix: 'write ${NAME} or ${NAME:-default} (letters, digits and _ only), or $${ for a literal ${',
        });
      }
      return undefined;
    },
  });
  return problems;
}

/** The key path of a node from its ancestors: a Pair gives its key, a sequence the item's index. */
function pathOf(chain: readonly unknown[]): (string | number)[] {
  const path: (string | number)[] = [];
  chain.forEach((node, i) => {
    if (isPair(node)) {
      path.push(isScalar(node.key) ? String(node.key.value) : String(node.key));
    } else if (isSeq(node)) {
      path.push(node.items.indexOf(chain[i + 1]));
    }
  });
  return path;
}
