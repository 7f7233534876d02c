/**
 * `closeloop start` and where it listens: HOST chooses the address; a port already taken or a HOST
 * that is not this machine's is explained (which one, and how to choose another), exit 1. Real
 * processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  BIN,
  EXAMPLE_CONFIG,
  startCloseloopProcess,
  terminate,
} from '../helpers/closeloop-process';

interface Exit {
  code: number | null;
  output: string;
}

/** `closeloop start` until it exits by itself (within 15 s), with JSON logs. */
function startUntilExit(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, 'start'], {
      env: { PATH: process.env.PATH, CLOSELOOP_CONFIG: EXAMPLE_CONFIG, LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`closeloop start did not exit:\n${output}`));
    }, 15_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function errorLine(output: string): { message: string; code?: string } {
  const line = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; message: string; code?: string })
    .find((l) => l.level === 'error');
  assert.ok(line, `no error line in:\n${output}`);
  return line;
}

describe('closeloop start: PORT and HOST', function () {
  this.timeout(30_000);
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-listen-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('says which port is in use and how to choose another, and exits 1', async () => {
    const occupier = net.createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '0.0.0.0', resolve));
    const { port } = occupier.address() as net.AddressInfo;
    try {
      const r = await startUntilExit({ PORT: String(port), CLOSELOOP_DATA_DIR: dataDir });
      assert.equal(r.code, 1, r.output);
      const line = errorLine(r.output);
      assert.equal(
        line.message,
        `closeloop cannot start: port ${port} is in use (another closeloop, or another program). Fix: stop it, or set PORT to a free port, e.g. PORT=${port + 1}`,
      );
      assert.equal(line.code, 'HTTP_LISTEN_FAILED');
      assert.equal(r.output.includes('closeloop started'), false);
    } finally {
      await new Promise((resolve) => occupier.close(resolve));
    }
  });

  it('says HOST is not an address of this machine, and exits 1', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address.
    const r = await startUntilExit({ HOST: '192.0.2.1', PORT: '0', CLOSELOOP_DATA_DIR: dataDir });
    assert.equal(r.code, 1, r.output);
    const line = errorLine(r.output);
    assert.match(
      line.message,
      /^closeloop cannot start: HOST=192\.0\.2\.1 is not an address of this machine, so closeloop cannot listen on it\. Fix: set HOST to/,
    );
    assert.equal(line.code, 'HTTP_LISTEN_FAILED');
  });

  it('refuses a HOST that is no host at all before opening anything', async () => {
    const r = await startUntilExit({ HOST: 'my host', PORT: '0', CLOSELOOP_DATA_DIR: dataDir });
    assert.equal(r.code, 1, r.output);
    assert.match(
      r.output,
      /closeloop cannot start: HOST="my host" is not a host name or an IP address\. Fix: set HOST=0\.0\.0\.0/,
    );
    assert.deepEqual(fs.readdirSync(dataDir), []);
  });

  it('listens where HOST says, and names it in the start-up line', async () => {
    const child = await startCloseloopProcess({ HOST: '127.0.0.1', CLOSELOOP_DATA_DIR: dataDir });
    try {
      const started = child
        .output()
        .split('\n')
        .find((l) => l.includes('"message":"closeloop started"'));
      assert.ok(started);
      const fields = JSON.parse(started) as { host: string; port: number };
      assert.deepEqual([fields.host, fields.port], ['127.0.0.1', child.port]);
      const res = await fetch(`http://127.0.0.1:${child.port}/healthz`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      assert.equal(await terminate(child), 0, child.output());
    }
  });

  it('listens on every IPv4 interface by default, and says so', async () => {
    const child = await startCloseloopProcess({ CLOSELOOP_DATA_DIR: dataDir });
    try {
      const started = child
        .output()
        .split('\n')
        .find((l) => l.includes('"message":"closeloop started"'));
      assert.equal((JSON.parse(started!) as { host: string }).host, '0.0.0.0');
    } finally {
      assert.equal(await terminate(child), 0, child.output());
    }
  });
});
