/** `closeloop <command>`: one file per command. */
import { processIo, type CliIo } from './cli-io';
import { runStart } from './start';
import { runCheckConfig } from './check-config';
import { runDeliveries } from './deliveries';
import { runReplay } from './replay';
import { runStatuses } from './statuses';
import { runAuth } from './auth';
import { isAppError } from '../core/errors';

const USAGE = `usage: closeloop <command>

commands:
  start [config]          run the service (HTTP + worker)
  check-config [config]   check the config and list every problem
  deliveries [options]    the delivery log: sent, skipped and why, failed and why
  replay [--all | <id>…]  list failed deliveries, or send them again
  statuses [config]       amoCRM pipelines and their statuses, with ids
  auth <code>             exchange an amoCRM OAuth authorization code for the first tokens
  help                    this text

The config is CLOSELOOP_CONFIG, else config/closeloop.yaml, else config/closeloop.example.yaml.`;

export async function runCli(
  args: string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command = 'start', ...rest] = args;
  try {
    return await runCommand(command, rest, io, env);
  } catch (e) {
    // Errors a person must act on (Redis unreachable, a store that cannot open) read as such.
    if (!isAppError(e)) throw e;
    io.err(`closeloop ${command}: ${e.message}`);
    return 1;
  }
}

async function runCommand(
  command: string,
  rest: string[],
  io: CliIo,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  switch (command) {
    case 'start':
      return runStart(rest, io, env);
    case 'check-config':
      return runCheckConfig(rest, io, env);
    case 'deliveries':
      return runDeliveries(rest, io, env);
    case 'replay':
      return runReplay(rest, io, env);
    case 'statuses':
      return runStatuses(rest, io, env);
    case 'auth':
      return runAuth(rest, io, env);
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return 0;
    default:
      io.err(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
