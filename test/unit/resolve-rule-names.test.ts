import assert from 'node:assert/strict';
import { resolveRuleNames, type NamedPipeline } from '../../src/core/resolve-rule-names';
import type { Rule } from '../../src/core/config-types';
import { parseConfig } from '../../src/config/load-config';

const PIPELINES: NamedPipeline[] = [
  {
    id: '100',
    name: 'Продажи',
    stages: [
      { id: '1001', name: 'Неразобранное' },
      { id: '1002', name: 'Квалифицирован' },
      { id: '142', name: 'Успешно реализовано' },
      { id: '143', name: 'Закрыто и не реализовано' },
    ],
  },
  {
    id: '200',
    name: 'Партнёры',
    stages: [
      { id: '2002', name: 'Квалифицирован' },
      { id: '142', name: 'Успешно реализовано' },
    ],
  },
];

function rule(over: Partial<Rule>): Rule {
  return {
    name: 'r',
    on: 'status_changed',
    pipelines: null,
    statuses: null,
    fromStatuses: null,
    outcomes: null,
    sources: null,
    send: [{ name: 'qualify_lead', params: {} }],
    ...over,
  };
}

describe('resolveRuleNames', () => {
  it('turns pipeline and status names into ids, case-insensitively, in the rule’s pipeline', () => {
    const { rules, problems } = resolveRuleNames(
      {
        file: 'c.yaml',
        rules: [
          rule({
            pipelines: [],
            statuses: [],
            fromStatuses: ['1001'],
            names: { pipelines: ['продажи '], statuses: ['КВАЛИФИЦИРОВАН'], fromStatuses: [] },
          }),
        ],
      },
      PIPELINES,
      'amoCRM',
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      rules[0],
      rule({ pipelines: ['100'], statuses: ['1002'], fromStatuses: ['1001'] }),
    );
    assert.equal('names' in rules[0], false);
  });

  it('finds a status name in every pipeline when the rule names none, and treats ё as е', () => {
    const { rules } = resolveRuleNames(
      {
        file: 'c.yaml',
        rules: [
          rule({
            statuses: [],
            names: { pipelines: ['Партнеры'], statuses: [], fromStatuses: [] },
          }),
          rule({
            statuses: ['143'],
            names: { pipelines: [], statuses: ['Квалифицирован'], fromStatuses: [] },
          }),
        ],
      },
      PIPELINES,
      'amoCRM',
    );
    assert.deepEqual(rules[0]!.pipelines, ['200']);
    assert.deepEqual(rules[1]!.statuses, ['143', '1002', '2002']);
    assert.equal(rules[1]!.pipelines, null);
  });

  it('reports an unknown name with the real names to choose from', () => {
    const { problems } = resolveRuleNames(
      {
        file: 'c.yaml',
        rules: [
          rule({}),
          rule({
            pipelines: ['100'],
            statuses: [],
            names: { pipelines: [], statuses: ['Оплачен'], fromStatuses: [] },
          }),
          rule({ pipelines: [], names: { pipelines: ['Sales'], statuses: [], fromStatuses: [] } }),
        ],
      },
      PIPELINES,
      'amoCRM',
    );
    assert.deepEqual(
      problems.map((p) => [p.key, p.message]),
      [
        [
          'rules[1].status',
          'there is no status named "Оплачен" in the rule’s pipeline; the statuses are: "Неразобранное" (1001), "Квалифицирован" (1002), "Успешно реализовано" (142), "Закрыто и не реализовано" (143)',
        ],
        [
          'rules[2].pipeline',
          'there is no pipeline named "Sales" in amoCRM; the pipelines are: "Продажи" (100), "Партнёры" (200)',
        ],
      ],
    );
    assert.equal(problems[0]!.file, 'c.yaml');
  });

  it('gives a problem with a name the line of its list in the file, as other problems have', () => {
    const yaml = [
      'currency: RUB',
      'amocrm: { subdomain: example, token: t0ken-for-names }',
      'rules:',
      '  - name: Qualified',
      '    on: status_changed',
      '    pipeline: Sales',
      '    status: Оплачен',
      '    send: [{ event: qualify_lead }]',
    ].join('\n');
    const config = parseConfig(yaml, 'c.yaml', {});
    const { problems } = resolveRuleNames(config, PIPELINES, 'amoCRM');
    assert.deepEqual(
      problems.map((p) => [p.line, p.key]),
      [
        [6, 'rules[0].pipeline'],
        [7, 'rules[0].status'],
      ],
    );
  });
});
