/**
 * bench/intake-server.ts in a child process of its own, as `bench:intake` and `bench:e2e` run it:
 * started, its port read from its `READY <port>` line, and stopped with SIGTERM, after which a
 * durable server prints `STORED <jobs>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface IntakeServer {
  proc: ChildProcess;
  port: number;
  /** Stops the server; resolves with how many jobs it had stored (NaN for `bare`). */
  stop(): Promise<number>;
}

export function startIntakeServer(mode: 'bare' | 'durable'): Promise<IntakeServer> {
  const proc = spawn(process.execPath, [path.join(__dirname, 'intake-server.js'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const stop = async (): Promise<number> => {
    await new Promise<void>((resolve) => {
      proc.removeAllListeners('exit');
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
    const stored = lines.find((l) => l.startsWith('STORED'));
    return Number(/^STORED (\d+)/.exec(stored ?? '')?.[1] ?? NaN);
  };
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (c: Buffer) => {
      for (const line of c.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        const m = /^READY (\d+)/.exec(line);
        if (m) resolve({ proc, port: Number(m[1]), stop });
      }
    });
    proc.once('exit', (code) => reject(new Error(`${mode} intake server exited with ${code}`)));
  });
}
