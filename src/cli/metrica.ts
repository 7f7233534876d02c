/**
 * `closeloop metrica check`, `closeloop metrica create-goal` and `closeloop metrica resume`
 * (metrica-resume.ts): set-up help for a Yandex Metrica
 * counter (docs/metrica.md). `check` lists the counter's goals, says whether the goal offline
 * conversions go to (`deal_won` unless `--goal` names another) exists as a JavaScript-event goal
 * with an exact condition, and whether the token may upload; `create-goal` creates that goal
 * (the token needs `metrika:write`). Both read METRICA_COUNTER_ID, METRICA_TOKEN and
 * METRICA_ENDPOINT from the environment or `.env`; `--counter` overrides the first.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isAppError } from '../core/errors';
import {
  findJsEventGoal,
  MetricaManagementApi,
  type MetricaGoal,
} from '../adapters/destinations/metrica/metrica-management-api';
import { shown, type CliRun } from './cli-run';
import { metricaResumeCommand } from './metrica-resume';

const DEFAULT_ENDPOINT = 'https://api-metrika.yandex.net';
const DEFAULT_GOAL = 'deal_won';
const DEFAULT_NAME = 'Сделка выиграна (closeloop)';

interface Options {
  counter?: string;
  goal?: string;
  name?: string;
}

function parseCounter(value: string): string {
  if (!/^\d{1,12}$/.test(value)) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a counter number; it is the number in Metrica's address, metrika.yandex.ru/dashboard?id=12345678`,
    );
  }
  return value;
}

function parseGoal(value: string): string {
  if (!/^[\w.:-]{1,255}$/.test(value)) {
    throw new InvalidArgumentError(
      `${shown(value)} is not a goal identifier; use Latin letters, digits and _ - . : (deal_won)`,
    );
  }
  return value;
}

export function metricaCommand(run: CliRun): Command {
  const withOptions = (c: Command): Command =>
    c
      .option(
        '--counter <id>',
        'the counter number (default METRICA_COUNTER_ID)',
        run.value(parseCounter),
      )
      .option(
        '--goal <identifier>',
        `the JavaScript event offline conversions go to (default ${DEFAULT_GOAL})`,
        run.value(parseGoal),
      );
  const check = withOptions(
    run
      .command('check')
      .summary("check the counter's goal and the token")
      .description(
        "Lists the counter's goals, says whether the goal offline conversions are uploaded to " +
          `(${DEFAULT_GOAL}) exists as a JavaScript-event goal with an exact condition, and ` +
          'whether the token may upload offline conversions. Exit code 0 when both are ready. ' +
          'Needs METRICA_COUNTER_ID and METRICA_TOKEN (a token with metrika:read and ' +
          'metrika:offline_data); METRICA_ENDPOINT is optional.',
      ),
  ).action(run.action('metrica check', (o: Options) => checkCounter(o, run)));
  const createGoal = withOptions(
    run
      .command('create-goal')
      .summary('create the JavaScript-event goal')
      .description(
        `Creates the JavaScript-event goal (identifier ${DEFAULT_GOAL}, condition exact) that ` +
          'offline conversions are uploaded to, unless it exists. The token needs metrika:write.',
      ),
  )
    .option('--name <name>', `the goal's name in Metrica (default "${DEFAULT_NAME}")`)
    .action(run.action('metrica create-goal', (o: Options) => createCounterGoal(o, run)));
  return run
    .command('metrica')
    .summary('Yandex Metrica set-up: check, create-goal, resume')
    .description(
      'Commands that set up a Yandex Metrica counter for closeloop, and resume its stopped upload queue.',
    )
    .addCommand(check)
    .addCommand(createGoal)
    .addCommand(metricaResumeCommand(run, parseCounter));
}

/** The client for the counter, or null after saying what is missing. */
function clientOf(options: Options, run: CliRun): MetricaManagementApi | null {
  const counterId = options.counter ?? run.env.METRICA_COUNTER_ID?.trim();
  const token = run.env.METRICA_TOKEN?.trim();
  const problems: string[] = [];
  if (!counterId) {
    problems.push(
      'no counter: set METRICA_COUNTER_ID (in the environment or .env) or pass --counter 12345678',
    );
  } else if (!/^\d{1,12}$/.test(counterId)) {
    problems.push(`METRICA_COUNTER_ID ${shown(counterId)} is not a counter number`);
  }
  if (!token) {
    problems.push(
      'no token: set METRICA_TOKEN (docs/metrica.md, "The token", says how to get one)',
    );
  }
  if (problems.length > 0 || !counterId || !token) {
    for (const p of problems) run.io.err(`closeloop metrica: ${p}`);
    return null;
  }
  const endpoint = run.env.METRICA_ENDPOINT?.trim() || DEFAULT_ENDPOINT;
  return new MetricaManagementApi({ endpoint, token, counterId });
}

const describeGoal = (g: MetricaGoal): string =>
  `${g.id}  ${g.type}  ${JSON.stringify(g.name)}` +
  (g.conditions.length
    ? `  ${g.conditions.map((c) => `${c.type} ${JSON.stringify(c.url)}`).join(', ')}`
    : '');

async function checkCounter(options: Options, run: CliRun): Promise<number> {
  const api = clientOf(options, run);
  if (api === null) return 1;
  const { io } = run;
  const identifier = options.goal ?? DEFAULT_GOAL;
  let ready = true;
  const goals = await api.listGoals();
  io.out(
    `Goals of counter ${options.counter ?? run.env.METRICA_COUNTER_ID?.trim()}: ${goals.length}`,
  );
  for (const g of goals) io.out(`  ${describeGoal(g)}`);
  const found = findJsEventGoal(goals, identifier);
  if (run.env.METRICA_MODE?.trim() === 'orders' && options.goal === undefined) {
    // CRM orders carry a status, not a goal (docs/metrica.md, "Conversions or orders?").
    io.out(
      'ok: METRICA_MODE=orders: deals go to Metrica as CRM orders, which need no goal (their statuses are the funnel).',
    );
  } else if (found.exact) {
    io.out(`ok: goal ${identifier} is the JavaScript-event goal ${found.exact.id} (exact).`);
  } else {
    ready = false;
    for (const g of found.nearMisses) {
      io.out(
        `not this one: goal ${g.id} names ${identifier} but is not a JavaScript event with the condition "exact" (совпадает); offline conversions would count as "goal not found".`,
      );
    }
    io.out(
      `missing: no JavaScript-event goal with identifier ${identifier} (condition exact). Create it: closeloop metrica create-goal (the token needs metrika:write), or in Metrica: Настройки → Цели → Добавить цель → JavaScript-событие, идентификатор цели «совпадает» ${identifier}.`,
    );
  }
  try {
    const probe = await api.probeUpload();
    if (probe.canUpload) {
      io.out(
        'ok: the token may upload offline conversions (Metrica refused only the empty probe, as it should; nothing was uploaded).',
      );
    } else {
      ready = false;
      io.out(`cannot upload: ${probe.why}`);
    }
  } catch (e) {
    if (!isAppError(e)) throw e;
    ready = false;
    io.out(`upload check failed: ${e.message} [${e.code}]`);
  }
  io.out(ready ? 'Ready for offline conversions.' : 'Not ready: fix what is listed above.');
  return ready ? 0 : 1;
}

async function createCounterGoal(options: Options, run: CliRun): Promise<number> {
  const api = clientOf(options, run);
  if (api === null) return 1;
  const identifier = options.goal ?? DEFAULT_GOAL;
  const found = findJsEventGoal(await api.listGoals(), identifier);
  if (found.exact) {
    run.io.out(
      `exists: goal ${identifier} is the JavaScript-event goal ${found.exact.id} (exact); nothing created.`,
    );
    return 0;
  }
  const goal = await api.createJsEventGoal(identifier, options.name ?? DEFAULT_NAME);
  run.io.out(
    `created: goal ${goal.id} ${JSON.stringify(goal.name)}, JavaScript event ${identifier} (exact).`,
  );
  return 0;
}
