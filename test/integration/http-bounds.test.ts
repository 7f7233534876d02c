/**
 * The HTTP server is bounded: a connection that does not send a whole request in time is answered
 * 408 and closed (slow-loris, slow bodies), at most CLOSELOOP_MAX_CONNECTIONS connections are open
 * at once, and the service stays answerable through it. In-process with short timeouts for the
 * behaviour, and `closeloop start` in a child process with the defaults (10 s, a cap from the
 * environment) to count its file descriptors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../../src/main';
import { loopbackService, testConfig } from '../helpers/builders';
import { captureLogger } from '../helpers/capture-logger';
import {
  startCloseloopProcess,
  terminate,
  type CloseloopProcess,
} from '../helpers/closeloop-process';
import { skipBecause } from '../helpers/skip-because';
import { waitFor } from '../helpers/wait-for';

interface SlowClient {
  socket: net.Socket;
  /** What the server sent, and when the connection closed (ms after it opened), once it did. */
  received: () => string;
  closedAfterMs: () => number | null;
  stop: () => void;
}

/** Opens a connection that sends `head` and then one more byte of it every `everyMs`. */
function slowClient(port: number, head: string, trickle: string, everyMs: number): SlowClient {
  const socket = net.connect(port, '127.0.0.1');
  const opened = Date.now();
  let received = '';
  let closedAt: number | null = null;
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined);
  socket.on('close', () => (closedAt = Date.now()));
  socket.once('connect', () => socket.write(head));
  let i = 0;
  const timer = setInterval(() => {
    if (!socket.destroyed && socket.writable) socket.write(trickle[i++ % trickle.length]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
  return {
    socket,
    received: () => received,
    closedAfterMs: () => (closedAt === null ? null : closedAt - opened),
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

const HEAD = 'POST /webhooks/amocrm/test-webhook-secret-0123456789 HTTP/1.1\r\nHost: closeloop\r\n';

describe('HTTP bounds', function () {
  this.timeout(30_000);
  let dir: string;
  let service: RunningService | null = null;
  let child: CloseloopProcess | null = null;
  let clients: SlowClient[] = [];
  let log: ReturnType<typeof captureLogger>;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'closeloop-bounds-'));
    log = captureLogger();
  });
  afterEach(async () => {
    for (const c of clients) c.stop();
    clients = [];
    await service?.close();
    service = null;
    if (child) await terminate(child);
    child = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(requestTimeoutMs: number, maxConnections = 1024): Promise<RunningService> {
    service = await startService(
      loopbackService(testConfig(), log, dir, {
        serverBounds: { requestTimeoutMs, maxConnections },
      }),
    );
    return service;
  }

  const healthy = async (port: number): Promise<boolean> =>
    (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }))
      .status === 200;

  it('closes connections that send headers slowly (slow-loris) with a 408, and keeps answering', async () => {
    const { port } = await start(1000);
    clients = Array.from({ length: 50 }, () => slowClient(port, HEAD, 'X-Slow: 1\r\n', 100));
    await waitFor(() => clients.every((c) => c.socket.readyState === 'open'));
    // While they trickle, the server answers others at once.
    assert.equal(await healthy(port), true);
    await waitFor(() => clients.every((c) => c.closedAfterMs() !== null), {
      timeoutMs: 4000,
      message: () => `${clients.filter((c) => c.closedAfterMs() === null).length} still open`,
    });
    for (const c of clients) {
      assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(c.closedAfterMs()! < 2500, `closed after ${c.closedAfterMs()} ms`);
    }
    assert.equal(await healthy(port), true);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^closeloop_http_request_timeouts_total 50$/m);
    const line = log.lines().find((l) => l.code === 'HTTP_REQUEST_TIMEOUT');
    assert.equal(line?.level, 'warn');
    assert.match(
      String(line?.message),
      /^request rejected: no whole request \(headers and body\) within 1 s/,
    );
  });

  it('closes a connection whose body comes too slowly, whatever its headers promised', async () => {
    const { port } = await start(1000);
    const c = slowClient(
      port,
      `${HEAD}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n`,
      'a',
      50,
    );
    clients = [c];
    await waitFor(() => c.closedAfterMs() !== null, { timeoutMs: 4000 });
    assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('keeps at most maxConnections open: more are closed at once, and counted', async () => {
    const { port } = await start(1500, 20);
    clients = Array.from({ length: 40 }, () => slowClient(port, '', ' ', 1_000_000));
    // 20 refused within moments; 20 held until their timeout.
    await waitFor(() => clients.filter((c) => c.closedAfterMs() !== null).length >= 20, {
      timeoutMs: 1000,
    });
    assert.equal(clients.filter((c) => c.closedAfterMs() !== null).length, 20);
    assert.ok(clients.every((c) => c.closedAfterMs() === null || c.closedAfterMs()! < 1000));
    await waitFor(() => clients.every((c) => c.closedAfterMs() !== null), { timeoutMs: 4000 });
    assert.equal(await healthy(port), true);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^closeloop_http_connections_refused_total 20$/m);
    const line = log.lines().find((l) => l.code === 'HTTP_TOO_MANY_CONNECTIONS');
    assert.match(String(line?.message), /^connection refused: 20 connections are open already/);
  });

  it('does not run out of file descriptors under 500 slow connections, and closes them within about 10 s', async function () {
    if (!fs.existsSync('/proc/self/fd')) skipBecause(this, 'no /proc to count descriptors');
    child = await startCloseloopProcess({
      CLOSELOOP_DATA_DIR: dir,
      CLOSELOOP_WEBHOOK_SECRET: 'test-webhook-secret-0123456789',
      CLOSELOOP_MAX_CONNECTIONS: '50',
    });
    const pid = child.proc.pid!;
    const fds = (): number => fs.readdirSync(`/proc/${pid}/fd`).length;
    const before = fds();
    clients = Array.from({ length: 500 }, () =>
      slowClient(child!.port, HEAD, 'X-Slow: 1\r\n', 500),
    );
    await waitFor(() => clients.filter((c) => c.closedAfterMs() !== null).length >= 450, {
      timeoutMs: 5000,
      message: () => `${clients.filter((c) => c.closedAfterMs() !== null).length} closed`,
    });
    const during = fds();
    assert.ok(during <= before + 50 + 5, `${during} descriptors open, ${before} before`);
    const held = clients.filter((c) => c.closedAfterMs() === null);
    await waitFor(() => held.every((c) => c.closedAfterMs() !== null), {
      timeoutMs: 13_000,
      intervalMs: 100,
    });
    for (const c of held) {
      assert.ok(
        c.closedAfterMs()! >= 9000 && c.closedAfterMs()! < 12_500,
        `${c.closedAfterMs()} ms`,
      );
      assert.match(c.received(), /^HTTP\/1\.1 408 /);
    }
    assert.equal(await healthy(child.port), true);
    assert.ok(fds() <= before + 5, `${fds()} descriptors open after, ${before} before`);
  });
});
