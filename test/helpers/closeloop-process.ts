/**
 * `closeloop start` as a real child process, as operators run it: its own environment, JSON logs
 * collected, the port read from the start-up line. For crash, shutdown and scale-out tests and the
 * end-to-end benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './wait-for';

export interface CloseloopProcess {
  proc: ChildProcess;
  /** The HTTP port, 0 when the process runs no HTTP server (a worker without PORT). */
  port: number;
  /** Everything it printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves with the exit code (null when killed by a signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Where the compiled CLI is, from dist/test/helpers. */
export const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'closeloop.js');
export const EXAMPLE_CONFIG = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  'config',
  'closeloop.example.yaml',
);

/**
 * Starts `closeloop start` with `env` on top of a minimal environment (PATH, PORT 0, the example
 * config, JSON logs; a key set to undefined removes it) and waits for "closeloop started". With a
 * LOG_LEVEL that hides that info line (warn, error), it picks a free PORT itself and waits for
 * `/healthz` instead. Rejects with the output when the process exits first.
 */
export async function startCloseloopProcess(
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number; cwd?: string } = {},
): Promise<CloseloopProcess> {
  const quiet = env.LOG_LEVEL === 'warn' || env.LOG_LEVEL === 'error';
  const merged: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    PORT: '0',
    CLOSELOOP_CONFIG: EXAMPLE_CONFIG,
    LOG_FORMAT: 'json',
    ...env,
    ...(quiet ? { PORT: String(await freePort()) } : {}),
  };
  // A variable given as undefined is left out (spawn would pass the string "undefined").
  const childEnv = Object.fromEntries(
    Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const proc = spawn(process.execPath, [BIN, 'start'], {
    env: childEnv,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let port = quiet ? Number(merged.PORT) : -1;
  const started = waitFor(
    async () => {
      if (quiet) {
        if (proc.exitCode !== null) throw new Error(`closeloop exited early:\n${out}`);
        return isHealthy(port);
      }
      const line = out.split('\n').find((l) => l.includes('"message":"closeloop started"'));
      if (line) port = Number((JSON.parse(line) as { port: number }).port);
      if (port < 0 && proc.exitCode !== null) throw new Error(`closeloop exited early:\n${out}`);
      return port >= 0;
    },
    {
      timeoutMs: options.timeoutMs ?? 15_000,
      intervalMs: quiet ? 50 : 10,
      message: () => `closeloop to start:\n${out}`,
    },
  );
  try {
    await started;
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    throw e;
  }
  return { proc, port, output: () => out, exited };
}

/** SIGKILL, and wait until it is gone. */
export async function kill9(child: CloseloopProcess): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  await child.exited;
}

/** SIGTERM, and the exit code once it stopped. */
export async function terminate(child: CloseloopProcess): Promise<number | null> {
  child.proc.kill('SIGTERM');
  return (await child.exited).code;
}

/** POSTs a webhook body to the process's webhook URL; resolves with the status. */
export async function postWebhook(port: number, secret: string, body: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/amocrm/${secret}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

/** A port free on loopback now (for a process that must be told its port before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function isHealthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
