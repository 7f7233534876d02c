/**
 * Rules may name pipelines and stages ("Продажи", "Квалифицирован") as well as give ids. Names
 * are looked up in the CRM's pipelines (its CrmCatalog) at start and by check-config. Pure: the
 * pipelines are passed in.
 *
 * A stage name is looked up in the rule's pipelines when it names any, else in every pipeline;
 * the same name in several pipelines gives every matching id. Comparison ignores case and
 * surrounding spaces, and treats ё as е. An unknown name is a config problem that lists the real
 * names, so the marketer can pick one.
 */
import type { Rule } from './config-types';
import type { ConfigProblem } from './errors';

export interface NamedPipeline {
  id: string;
  name: string;
  stages: ReadonlyArray<{ id: string; name: string }>;
}

export interface ResolvedRules {
  rules: Rule[];
  problems: ConfigProblem[];
}

const norm = (s: string): string => s.trim().toLowerCase().replace(/ё/g, 'е');

export function resolveRuleNames(
  config: { rules: readonly Rule[]; file: string },
  pipelines: readonly NamedPipeline[],
  /** The CRM, as messages name it. */
  crm = 'the CRM',
): ResolvedRules {
  const problems: ConfigProblem[] = [];
  const rules = config.rules.map((rule, i): Rule => {
    if (!rule.names) return rule;
    const lines = rule.names.lines;
    const problem = (
      key: 'pipeline' | 'status' | 'from_status',
      message: string,
      fix: string,
    ): void => {
      problems.push({
        file: config.file,
        line: lines?.[key] ?? null,
        key: `rules[${i}].${key}`,
        message,
        fix,
        code: 'CONFIG_INVALID',
      });
    };

    // A name found becomes the CRM's id; one not found stays as written, an id a sender may use.
    const pipelineIds = (rule.pipelines ?? []).filter((id) => !rule.names?.pipelines.includes(id));
    for (const name of rule.names.pipelines) {
      const found = pipelines.filter((p) => norm(p.name) === norm(name) || p.id === name);
      if (found.length === 0) {
        problem(
          'pipeline',
          `there is no pipeline named "${name}" in ${crm}; the pipelines are: ${pipelines.map((p) => `"${p.name}" (${p.id})`).join(', ')}`,
          `write one of these names or ids exactly as ${crm} shows it`,
        );
      }
      if (found.length === 0) pipelineIds.push(name);
      for (const p of found) if (!pipelineIds.includes(p.id)) pipelineIds.push(p.id);
    }
    const namedPipelines = (rule.pipelines?.length ?? 0) > 0 || rule.names.pipelines.length > 0;
    const scope = namedPipelines ? pipelines.filter((p) => pipelineIds.includes(p.id)) : pipelines;

    const statusIds = (
      ids: readonly string[] | null,
      names: readonly string[],
      key: 'status' | 'from_status',
    ): string[] | null => {
      if (ids === null && names.length === 0) return null;
      const out = (ids ?? []).filter((id) => !names.includes(id));
      for (const name of names) {
        const found = scope.flatMap((p) =>
          p.stages.filter((s) => norm(s.name) === norm(name) || s.id === name),
        );
        if (found.length === 0) {
          const known = [
            ...new Set(scope.flatMap((p) => p.stages.map((s) => `"${s.name}" (${s.id})`))),
          ];
          problem(
            key,
            `there is no status named "${name}"${namedPipelines ? ' in the rule’s pipeline' : ''}; the statuses are: ${known.join(', ')}`,
            `write one of these names or ids exactly as ${crm} shows it (\`closeloop statuses\` prints them all)`,
          );
        }
        if (found.length === 0) out.push(name);
        for (const s of found) if (!out.includes(s.id)) out.push(s.id);
      }
      return out;
    };

    const { names: _names, ...rest } = rule;
    return {
      ...rest,
      pipelines: namedPipelines ? pipelineIds : null,
      statuses: statusIds(rule.statuses, rule.names.statuses, 'status'),
      fromStatuses: statusIds(rule.fromStatuses, rule.names.fromStatuses, 'from_status'),
    };
  });
  return { rules, problems };
}

export function hasRuleNames(config: { rules: readonly Rule[] }): boolean {
  return config.rules.some((r) => r.names !== undefined);
}
