/**
 * The environment variables of the README work whether or not the YAML mentions them.
 *
 * The rule (README, docs/configuration.md): a value written in the YAML wins; a value the YAML
 * leaves out or leaves empty is taken from its documented variable; without either, the default
 * applies. A `${VAR}` in the YAML is the YAML's value (it names where the YAML takes it from).
 * `check-config` prints where each of these values came from, never the value of a secret.
 *
 * Applied to the parsed YAML before validation, so a value from the environment is checked like
 * one written in the file, and a problem with it names the variable instead of a line.
 */
import type { SettingSource } from '../core/config-types';
import type { ConfigPath, EnvBinding } from '../ports/config-section';
import { ACCOUNT_SECTIONS } from './sections';

/**
 * The variables of the top level (the default account): each adapter section's, at its key, and
 * the core's own. Accounts under `accounts:` take theirs from the YAML (`${SHOP_GA4_SECRET}`).
 */
export const ENV_BINDINGS: readonly EnvBinding[] = [
  ...ACCOUNT_SECTIONS.flatMap((section) =>
    section.env.map((b) => ({
      ...b,
      path: [section.key, ...b.path],
      ...(b.unlessSet === undefined ? {} : { unlessSet: [section.key, ...b.unlessSet] }),
    })),
  ),
  { variable: 'CLOSELOOP_WEBHOOK_SECRET', path: ['webhook', 'secret'], secret: true },
];

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function getAt(tree: unknown, path: ConfigPath): unknown {
  let node = tree;
  for (const seg of path) {
    if (!isTree(node)) return undefined;
    node = node[String(seg)];
  }
  return node;
}

/** Sets `path` in `tree`, making missing or empty (null) sections; false when a parent is not a section. */
function setAt(tree: Tree, path: ConfigPath, value: string): boolean {
  let node = tree;
  for (const seg of path.slice(0, -1)) {
    const key = String(seg);
    const child = node[key];
    if (child === undefined || child === null) node[key] = {};
    else if (!isTree(child)) return false;
    node = node[key] as Tree;
  }
  node[String(path[path.length - 1])] = value;
  return true;
}

function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}

export interface EnvBindingInput {
  /** The parsed YAML after `${VAR}` interpolation; changed in place. */
  raw: Tree;
  env: NodeJS.ProcessEnv;
  /** The YAML text of a value before interpolation (to name the variables it references). */
  originalOf: (path: ConfigPath) => unknown;
  lineOf: (path: ConfigPath) => number | null;
  keyOf: (path: ConfigPath) => string;
}

/** Fills values the YAML leaves unset from their variables; says where every bound value came from. */
export function applyEnvBindings(input: EnvBindingInput): SettingSource[] {
  const { raw, env } = input;
  return ENV_BINDINGS.map((binding): SettingSource => {
    const key = input.keyOf(binding.path);
    const { variable, secret } = binding;
    const fallback = binding.fallback ?? null;
    const given = env[binding.variable];
    const fromEnv = given === undefined || given.trim() === '' ? null : given;
    const inYaml = getAt(raw, binding.path);
    if (!isEmpty(inYaml)) {
      const original = input.originalOf(binding.path);
      const references = typeof original === 'string' ? referencedVariables(original) : [];
      return {
        key,
        variable,
        secret,
        fallback,
        source: {
          kind: 'config',
          line: input.lineOf(binding.path),
          references,
          unset: references.filter((name) => isEmpty(env[name])),
        },
      };
    }
    if (fromEnv === null) return { key, variable, secret, fallback, source: { kind: 'default' } };
    if (binding.unlessSet && !isEmpty(getAt(raw, binding.unlessSet))) {
      return {
        key,
        variable,
        secret,
        fallback,
        source: {
          kind: 'ignored',
          variable: binding.variable,
          because: `the config sets ${input.keyOf(binding.unlessSet)}`,
        },
      };
    }
    // A parent that is not a section (`ga4: yes`) is the schema's to report.
    if (!setAt(raw, binding.path, fromEnv))
      return { key, variable, secret, fallback, source: { kind: 'default' } };
    return { key, variable, secret, fallback, source: { kind: 'env', variable } };
  });
}

/** `${A}-${B:-x}` → [A, B]. */
export function referencedVariables(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)) {
    if (m[1] !== undefined && !names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

/** How check-config shows where a value came from (never the value of a secret). */
export function describeSource(bound: SettingSource, file: string): string {
  const s = bound.source;
  switch (s.kind) {
    case 'config': {
      const where = `${file}${s.line === null ? '' : `:${s.line}`}`;
      if (s.references.length === 0) return `from ${where}`;
      const refs = `\${${s.references.join('}, ${')}}`;
      return s.unset.length === s.references.length
        ? `from ${where} (${refs} is not set: the default written there)`
        : `from ${where} (${refs})`;
    }
    case 'env':
      return `from the environment (${s.variable})`;
    case 'default':
      return bound.fallback === null
        ? `not set (neither in the config nor in ${bound.variable})`
        : `the default, ${bound.fallback} (neither in the config nor in ${bound.variable})`;
    case 'ignored':
      return `not used: ${s.variable} is set, but ${s.because}`;
  }
}
