/**
 * A TCP proxy on loopback in front of a real server (Redis), which a test can cut and restore:
 * `cut()` drops every connection and refuses new ones, as a Redis that went away does; `restore()`
 * listens again on the same port. The server behind it keeps its data, so the test sees what a
 * network outage or a failover does to closeloop without restarting the shared Redis.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (with the target's path, e.g. a db number). */
  readonly url: string;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Connections stay up but nothing reaches the server (a frozen Redis); `resume()` undoes it. */
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || 6379);
  const sockets = new Set<net.Socket>();
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let stalled = false;
  const onConnection = (client: net.Socket): void => {
    const upstream = net.connect(targetPort, target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const pair = { client, upstream };
    pairs.add(pair);
    upstream.pipe(client);
    if (stalled) client.pause();
    else client.pipe(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  };
  let server = net.createServer(onConnection);
  await listen(server, 0);
  const port = (server.address() as net.AddressInfo).port;
  const auth = target.password ? `${target.username}:${target.password}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}${target.pathname}`,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
    restore: async () => {
      server = net.createServer(onConnection);
      await listen(server, port);
    },
    stall: () => {
      stalled = true;
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        client.pause();
      }
    },
    resume: () => {
      stalled = false;
      for (const { client, upstream } of pairs) client.pipe(upstream);
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
