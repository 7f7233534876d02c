/**
 * One run of the CLI, and what every command shares: commander set up to print through the CliIo
 * and never to exit the process (tests call runCli; bin/closeloop.js sets the exit code), usage
 * errors in one style with exit code 2, and actions that resolve with the command's exit code.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isAppError } from '../core/errors';
import type { CliIo } from './cli-io';

/** Exit code of a usage error (unknown command or option, a bad value), as most CLIs use. */
export const USAGE_ERROR = 2;

export class CliRun {
  /** What the command's action resolved with; 0 when only help or the version was printed. */
  exitCode = 0;
  /** The sentence of the last bad value, printed instead of commander's longer line. */
  #invalidValue: string | null = null;

  constructor(
    readonly io: CliIo,
    readonly env: NodeJS.ProcessEnv,
    readonly cwd: string,
    /** The `.env` files whose variables `env` holds (src/config/load-dot-env.ts). */
    readonly envFiles: readonly string[] = [],
  ) {}

  /** A command that prints through `io`, never exits the process, and explains usage errors. */
  command(name: string): Command {
    const command = new Command(name);
    command
      .exitOverride()
      .helpOption('-h, --help', 'show this help')
      .configureOutput({
        writeOut: (text) => this.io.out(text.replace(/\n$/, '')),
        writeErr: (text) => this.io.err(text.replace(/\n$/, '')),
        outputError: (text) => this.#usageError(command, text),
      });
    return command;
  }

  /**
   * An action whose promise resolves with the exit code. An AppError (Redis unreachable, no data
   * where the command looked) is a person's to act on: its message, exit 1. Anything else is a bug
   * and is thrown on, with its stack.
   */
  action<A extends unknown[]>(
    name: string,
    run: (...args: A) => Promise<number>,
  ): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        this.exitCode = await run(...args);
      } catch (e) {
        if (!isAppError(e)) throw e;
        this.io.err(`closeloop ${name}: ${e.message}`);
        this.exitCode = 1;
      }
    };
  }

  /**
   * An option's or argument's parser. `parse` throws commander's InvalidArgumentError with a
   * sentence naming the value (`nope is not an outcome; one of …`); commander would print it after
   * `error: option '--outcome <outcome>' argument 'nope' is invalid.`, so the sentence is kept and
   * printed alone, first.
   */
  value<T>(parse: (value: string) => T): (value: string) => T {
    return (value) => {
      try {
        return parse(value);
      } catch (e) {
        if (e instanceof InvalidArgumentError) this.#invalidValue = e.message;
        throw e;
      }
    };
  }

  /** Parses `args` (without the node and script names) and runs the command they name. */
  async parse(program: Command, args: readonly string[]): Promise<number> {
    try {
      await program.parseAsync([...args], { from: 'user' });
      return this.exitCode;
    } catch (e) {
      // Help and the version end with a CommanderError of exit code 0; every other one is a usage
      // error, already printed by #usageError.
      if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : USAGE_ERROR;
      throw e;
    }
  }

  #usageError(command: Command, text: string): void {
    const who = command.parent ? `closeloop ${command.name()}` : 'closeloop';
    const what = this.#invalidValue ?? text.trim().replace(/^error: /, '');
    const help = command.parent
      ? `See \`${who} --help\`.`
      : `See \`${who} --help\` for the commands.`;
    this.io.err(`${who}: ${what}\n${help}`);
  }
}

/** `""` for an empty value, so a message never starts with " is not …". */
export function shown(value: string): string {
  return value === '' ? '""' : value;
}
