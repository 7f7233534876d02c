/**
 * The CLI behaves like one: `--version`, `--help` for the program and every command, a bare
 * `closeloop` that prints the help (and does not start the service), usage errors that name what is
 * wrong with exit 2, and bad values named by their value.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli';
import { BIN } from '../helpers/closeloop-process';

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) }, env);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const VERSION = (
  JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')) as {
    version: string;
  }
).version;

const COMMANDS = ['start', 'check-config', 'deliveries', 'replay', 'statuses', 'auth', 'help'];

describe('CLI: version and help', function () {
  this.timeout(20_000);
  let cwd: string;
  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-cli-args-'));
  });
  afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

  function closeloop(args: string[]) {
    return spawnSync(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, PORT: '0', CLOSELOOP_DATA_DIR: path.join(cwd, 'data') },
      encoding: 'utf8',
      timeout: 10_000,
    });
  }

  it('prints the version of package.json for --version and -V', async () => {
    assert.match(VERSION, /^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-V']) {
      const r = closeloop([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`);
      assert.deepEqual(await cli([flag]), { code: 0, out: VERSION, err: '' });
    }
  });

  it('prints the help for a bare closeloop, exits 0 and starts nothing', () => {
    const r = closeloop([]);
    assert.equal(r.status, 0, `exit ${r.status}, signal ${r.signal}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^Usage: closeloop \[options\] \[command\]/);
    assert.equal(r.stderr, '');
    assert.equal(fs.existsSync(path.join(cwd, 'data')), false, 'a data folder was made');
  });

  it('lists every command and the environment variables that matter', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.equal(help.err, '');
    for (const command of COMMANDS) {
      assert.match(help.out, new RegExp(`^  ${command} `, 'm'), `${command} is not listed`);
    }
    for (const variable of [
      'CLOSELOOP_CONFIG',
      'CLOSELOOP_DATA_DIR',
      'REDIS_URL',
      'PORT',
      'HOST',
    ]) {
      assert.match(help.out, new RegExp(`^  ${variable} `, 'm'), `${variable} is not listed`);
    }
    assert.match(help.out, /-V, --version/);
    assert.equal((await cli(['help'])).out, help.out);
    assert.equal((await cli(['-h'])).out, help.out);
  });

  it('has --help for every command, saying what it does and its options', async () => {
    const expected: Record<string, RegExp[]> = {
      start: [/^Runs closeloop until SIGTERM/m, /\[config\]/, /^ {2}PORT /m, /^ {2}HOST /m],
      'check-config': [/^Loads the config as `closeloop start` would/m, /\[config\]/],
      deliveries: [
        /^The delivery log, newest first/m,
        /--lead <id>/,
        /--outcome <outcome> +only this outcome: sent, dry_run, skipped, duplicate,/,
        /--limit <n> +at most this many rows \(default: 50\)/,
        /--json/,
        /never creates a store/,
      ],
      replay: [/^Without arguments: lists failed deliveries/m, /\[id\.\.\.\]/, /--all/],
      statuses: [/^Prints every pipeline of the account’s CRM/m, /\[config\]/, /Bitrix24/],
      reconcile: [/^Runs one reconciliation pass now/m, /\[config\]/, /--account/],
      auth: [/^Exchanges an amoCRM authorization code/m, /<authorization-code>/],
    };
    for (const [command, patterns] of Object.entries(expected)) {
      for (const args of [
        [command, '--help'],
        [command, '-h'],
        ['help', command],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
        assert.match(r.out, new RegExp(`^Usage: closeloop ${command} `), args.join(' '));
        assert.match(r.out, /-h, --help +show this help/);
        for (const p of patterns) assert.match(r.out, p, `${args.join(' ')} lacks ${p}`);
      }
    }
    const help = await cli(['help', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^ {2}help \[command\] +show the help of closeloop, or of a command/m);
  });
});

describe('CLI: usage errors', function () {
  this.timeout(10_000);

  it('names an unknown command, after help too, with a suggestion when one is close', async () => {
    for (const args of [['delivery'], ['help', 'delivery']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.equal(
        r.err,
        "closeloop: unknown command 'delivery'\n(Did you mean deliveries?)\nSee `closeloop --help` for the commands.",
      );
    }
  });

  it('names a bad value, not the flag, and exits 2', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['deliveries', '--outcome', 'nope'],
        'nope is not an outcome; one of sent, dry_run, skipped, duplicate, retrying, failed, uncertain, expired',
      ],
      [
        ['deliveries', '--since', 'yesterday'],
        'yesterday is not a moment; write how long ago (30m, 12h, 7d) or a date (2026-12-01, 2026-12-01T10:00:00Z)',
      ],
      [
        ['deliveries', '--limit', 'abc'],
        'abc is not a number of rows; give a whole number from 1, e.g. 100',
      ],
      [
        ['deliveries', '--deal', 'a b'],
        `a b is not a deal id; give the id as your CRM shows it (amoCRM: the number in the deal's address, …/leads/detail/4242)`,
      ],
      [
        ['deliveries', '--account', 'Shop!'],
        `Shop! is not an account name; use default or a name listed under accounts: in the config`,
      ],
    ];
    for (const [args, sentence] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.out, '');
      assert.equal(
        r.err,
        `closeloop deliveries: ${sentence}\nSee \`closeloop deliveries --help\`.`,
      );
    }
  });

  it('names an unknown option, a missing value and extra arguments, and exits 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['deliveries', '--bogus'], /^closeloop deliveries: unknown option '--bogus'/],
      [
        ['deliveries', '--outcome'],
        /^closeloop deliveries: option '--outcome <outcome>' argument missing/,
      ],
      [['deliveries', 'failed'], /^closeloop deliveries: too many arguments for 'deliveries'/],
      [['start', 'a.yaml', 'b.yaml'], /^closeloop start: too many arguments for 'start'/],
      [['--bogus'], /^closeloop: unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, message);
      assert.match(r.err, /\nSee `closeloop( [a-z-]+)? --help`/);
    }
  });
});
