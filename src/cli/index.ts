/**
 * `closeloop <command>`: one file per command, each declaring its own description, arguments and
 * options; this file composes them into one program with `--help`, `--version` and `help`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { processIo, type CliIo } from './cli-io';
import { CliRun } from './cli-run';
import { startCommand } from './start';
import { checkConfigCommand } from './check-config';
import { deliveriesCommand } from './deliveries';
import { replayCommand } from './replay';
import { statusesCommand } from './statuses';
import { authCommand } from './auth';
import { reconcileCommand } from './reconcile';
import { sendTestCommand } from './send-test';
import { bitrix24Command } from './bitrix24-create-fields';
import { metricaCommand } from './metrica';
import { withDotEnv } from '../config/load-dot-env';

const ENVIRONMENT = `
Environment:
  CLOSELOOP_CONFIG    the YAML config (default config/closeloop.yaml, else
                      config/closeloop.example.yaml)
  CLOSELOOP_DATA_DIR  the embedded store (default: the folder data beside the
                      config's folder, so config/closeloop.yaml → ./data,
                      wherever a command is run from)
  REDIS_URL           Redis instead of the embedded store, shared by processes
                      (redis://host:6379)
  PORT                the HTTP port of \`closeloop start\` (default 3000)
  HOST                the address it listens on (default 0.0.0.0; 127.0.0.1
                      for this machine only)
  CLOSELOOP_ROLE      all (default), web or worker

Every command has --help. More in README.md and docs/.`;

/**
 * Runs the command `args` name (the arguments after `closeloop`) and resolves with its exit code:
 * 0 done, 1 a problem the message explains, 2 a usage error. Never exits the process.
 */
export async function runCli(
  args: string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  /** Read `.env` files (bin/closeloop.js does; tests pass their whole environment instead). */
  options: { dotEnv?: boolean } = {},
): Promise<number> {
  let files: string[] = [];
  if (options.dotEnv === true) {
    const loaded = withDotEnv(env, cwd, explicitConfig(args));
    for (const problem of loaded.problems) io.err(`closeloop: ${problem}`);
    env = loaded.env;
    files = loaded.files;
  }
  const run = new CliRun(io, env, cwd, files);
  const program = createProgram(run);
  if (args.length === 0) {
    // Starting the service is `closeloop start`; a bare `closeloop` says what there is.
    program.outputHelp();
    return 0;
  }
  const [first, second] = args;
  if (first === 'help' && second !== undefined && !second.startsWith('-')) {
    // `closeloop help bogus`: commander would print the whole help as an error; name it instead.
    if (!program.commands.some((c) => c.name() === second)) return run.parse(program, [second]);
  }
  return run.parse(program, args);
}

/** The config path given to a command that takes one (`start path.yaml`), for its `.env`. */
function explicitConfig(args: readonly string[]): string | undefined {
  const [command, first] = args;
  const takesConfig =
    command === 'start' ||
    command === 'check-config' ||
    command === 'statuses' ||
    command === 'reconcile';
  return takesConfig && first !== undefined && !first.startsWith('-') ? first : undefined;
}

function createProgram(run: CliRun): Command {
  const program = run
    .command('closeloop')
    .description(
      'closeloop turns CRM deal changes (amoCRM, Bitrix24, any system through the signed intake) into Google Analytics 4 conversions: webhooks in, ' +
        'Measurement Protocol events out, durably and exactly once. `closeloop start` runs the ' +
        'service; the other commands work beside it, on the same store.',
    )
    .version(packageVersion(), '-V, --version', "print closeloop's version")
    .helpCommand('help [command]', 'show the help of closeloop, or of a command')
    .addHelpText('after', ENVIRONMENT);
  for (const command of [
    startCommand,
    checkConfigCommand,
    deliveriesCommand,
    replayCommand,
    statusesCommand,
    reconcileCommand,
    sendTestCommand,
    authCommand,
    bitrix24Command,
    metricaCommand,
  ]) {
    program.addCommand(command(run));
  }
  return program;
}

/** The version in package.json, found from the compiled file (dist/src/cli) upwards. */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'closeloop' && typeof pkg.version === 'string') return pkg.version;
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}
